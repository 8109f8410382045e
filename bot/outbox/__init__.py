"""Scheduled sends: planning, claiming, sending exactly once and recovering after a crash."""
