"""The Web API budget every dispatcher shares: per workspace and method, the moment the next call may
go. Written on a 429 (Slack's Retry-After, so other processes stop claiming that workspace's rows
until then) and taken slot by slot for calls with a hard budget (conversations.history: one a minute
per workspace for apps distributed outside Slack's Marketplace)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class SlackBudget(SQLModel, table=True):
    __tablename__ = "slack_budget"

    team_id: str = Field(primary_key=True, max_length=32)
    method: str = Field(primary_key=True, max_length=48)
    available_at: datetime  # no call of this method for this workspace before this moment (UTC)
