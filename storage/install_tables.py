"""Many workspaces: the installations (one bot token per workspace) and the OAuth state values, in
the tables of slack_sdk's SQLAlchemy stores, and each workspace's own playbook.

The store tables are built here by slack_sdk's own table builders on SQLModel's metadata, so they are
exactly the tables its `SQLAlchemyInstallationStore` and `SQLAlchemyOAuthStateStore` read and write;
migration 0014 creates them, and tests/test_schema_drift.py fails if a slack_sdk upgrade changes them
without a migration. They hold tokens: only `bot.slack.installs` reads them, and nothing logs them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

INSTALLATIONS_TABLE = "slack_installations"
BOTS_TABLE = "slack_bots"
STATES_TABLE = "slack_oauth_states"

installations = SQLAlchemyInstallationStore.build_installations_table(SQLModel.metadata, INSTALLATIONS_TABLE)
bots = SQLAlchemyInstallationStore.build_bots_table(SQLModel.metadata, BOTS_TABLE)
oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(SQLModel.metadata, STATES_TABLE)


def _now() -> datetime:
    return datetime.now(UTC)


class WorkspacePlaybook(SQLModel, table=True):
    """A workspace's own playbook (`coachbot playbook --team T FILE`): the YAML as it was validated, kept
    in the database so that every process serving the workspace uses the same one."""

    __tablename__ = "workspace_playbook"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, unique=True, index=True)
    source_name: str = Field(default="", max_length=200)  # the file it came from, for messages
    content: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(default_factory=_now)
