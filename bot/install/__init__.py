"""Installs and uninstalls: workspaces coming and going (OAuth mode), their data's retention and purge,
and each workspace's own playbook."""
