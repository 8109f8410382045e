"""Diagnose and prescribe: pure rules, the use cases over the database, and their Slack views."""
