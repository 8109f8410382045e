"""Coachbot: the application (settings, coaching domain, services, rendering, CLI)."""
