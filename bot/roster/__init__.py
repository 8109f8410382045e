"""Who is on which team: import, the roster use cases, access rules and wiring cards."""
