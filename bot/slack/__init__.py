"""Slack plumbing: the Web API client, users, Block Kit helpers and limits, the HTTP server and request checks."""
