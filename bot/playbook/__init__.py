"""The playbook: coaching content as data (archetypes, gaps, drills, prompts) and how wiring is read."""
