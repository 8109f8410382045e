"""30/60/90 onboarding: a new hire's first ninety days as a plan drafted from their own wiring and
flagged gaps, tracked milestone by milestone so a slipping ramp is seen while it can still move."""
