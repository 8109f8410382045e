"""Persistence: tables, engine set-up, migrations and typed queries. Knows nothing about Slack."""
