"""Many workspaces: Slack's OAuth install, a bot token per workspace, token rotation, uninstall.

OAuth mode (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET set) keeps every workspace's installation in
slack_sdk's SQLAlchemy installation store, in Coachbot's own database (tables made by migration 0014):

- `GET /slack/install` and `GET /slack/oauth_redirect` are Bolt's OAuth flow. Its state values live
  in slack_sdk's SQLAlchemy state store and are signed with SLACK_STATE_SECRET (`SignedStateStore`),
  so a state that this app did not issue is refused before the database is asked.
- Each request is authorized by Bolt's `InstallationStoreAuthorize` (the workspace's own token,
  rotated when it is about to expire); a request from a workspace with no installation is answered
  that Coachbot is not installed there, and logged in one line (`Authorize`).
- Work outside a request (scheduled messages, Home refreshes, CLI commands) asks `TeamClients` for a
  workspace's WebClient: cached per workspace until shortly before its token expires, then rotated
  through the same store and rotator, under one lock per workspace.

Tokens, refresh tokens and secrets never reach a log line (bot.logging_setup scrubs them as well).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import CallbackOptions, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import delete, desc, func, select
from sqlalchemy.engine import Engine

from bot.settings import Settings
from bot.slack.install_pages import WorkspaceOnlyFlow, failure_page

log = logging.getLogger("coachbot.installs")
# slack_sdk's stores log whole rows (tokens, states) at DEBUG: they log under slack_sdk's name, which
# bot.logging_setup keeps at WARNING even when COACHBOT_LOG_LEVEL=DEBUG.
STORE_LOG = logging.getLogger("slack_sdk.oauth.coachbot")
# What the app asks for at install time: manifest.oauth.yml lists the same (tests/test_manifest.py).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "im:history",
    "channels:read",
    "groups:read",
    "groups:history",
    "users:read",
    "users:read.email",
    "canvases:write",
)
ROTATE_MINUTES = 120  # a token is rotated when it expires within this (Bolt's default)
RECHECK_SECONDS = 300  # a cached client is checked against the store at least this often
STATE_SECONDS = 600  # an install link is good for ten minutes
NOT_INSTALLED = (
    "Coachbot isn't installed in this workspace (or it was removed). A workspace admin can install it "
    "again from the install link your Coachbot operator gave you."
)


class NotInstalled(Exception):
    """No installation (no bot token) for this workspace: never installed, uninstalled or revoked."""

    def __init__(self, team_id: str):
        super().__init__(f"no installation for team {team_id}")
        self.team_id = team_id


class TokenUnavailable(Exception):
    """The workspace is installed but its token could not be rotated just now (Slack unreachable, an
    error other than a revoked or spent refresh token): try again later; nothing was sent."""

    def __init__(self, team_id: str, reason: str):
        super().__init__(f"token rotation failed for team {team_id}: {reason}")
        self.team_id = team_id


# Refresh-token errors after which the stored installation is no good (unless another process rotated it).
DEAD_REFRESH = frozenset({"invalid_refresh_token", "token_revoked", "invalid_auth", "account_inactive"})
REREAD_WAITS = (0.0, 0.2, 0.5, 1.0)  # another process rotating the same token saves it within moments


class SignedStateStore(SQLAlchemyOAuthStateStore):
    """slack_sdk's SQLAlchemy state store, with each state signed (HMAC-SHA256, SLACK_STATE_SECRET)."""

    def __init__(self, secret: str, engine: Engine, expiration_seconds: int = STATE_SECONDS):
        super().__init__(expiration_seconds=expiration_seconds, engine=engine, logger=STORE_LOG)
        self._key = secret.encode()

    def _sign(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()[:40]

    def issue(self, *args: Any, **kwargs: Any) -> str:
        value = str(super().issue(*args, **kwargs))
        return f"{value}.{self._sign(value)}"

    def consume(self, state: str) -> bool:
        value, _, signature = (state or "").rpartition(".")
        if not value or not hmac.compare_digest(signature, self._sign(value)):
            log.warning("install refused: the state was not issued here")
            return False
        return bool(super().consume(value))


@dataclass
class _Token:
    token: str
    expires_at: int | None  # epoch seconds; None for a token that does not expire
    checked_at: float
    clients: dict[str, WebClient] = field(default_factory=dict)


class TeamClients:
    """A WebClient per workspace and kind ("web" for interactive work, "dispatch" for scheduled
    messages: the two retry differently, see bot.slack.client), for work outside a request."""

    def __init__(
        self,
        store: SQLAlchemyInstallationStore,
        rotator: TokenRotator,
        factories: dict[str, Callable[[str], WebClient]],
        rotate_minutes: int = ROTATE_MINUTES,
    ):
        self.store, self.rotator, self.factories = store, rotator, factories
        self.rotate_minutes = rotate_minutes
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()
        self._team_locks: dict[str, threading.Lock] = {}

    def get(self, team_id: str, kind: str = "web") -> WebClient:
        """The workspace's client, its token rotated first when it expires soon. Raises NotInstalled."""
        cached = self._fresh(team_id)
        if cached is None:
            with self._team_lock(team_id):  # one rotation per workspace at a time in this process
                cached = self._fresh(team_id) or self._load(team_id)
        with self._lock:
            client = cached.clients.get(kind)
            if client is None:
                client = cached.clients[kind] = self.factories[kind](cached.token)
            return client

    def forget(self, team_id: str) -> None:
        with self._lock:
            self._tokens.pop(team_id, None)

    def _team_lock(self, team_id: str) -> threading.Lock:
        with self._lock:
            return self._team_locks.setdefault(team_id, threading.Lock())

    def _fresh(self, team_id: str) -> _Token | None:
        now = time.time()
        with self._lock:
            cached = self._tokens.get(team_id)
        if cached is None or now - cached.checked_at > RECHECK_SECONDS:
            return None
        if cached.expires_at is not None and cached.expires_at - now < self.rotate_minutes * 60:
            return None
        return cached

    def _load(self, team_id: str) -> _Token:
        installation = find_installation(self.store, team_id)
        if installation is None or not installation.bot_token:
            self.forget(team_id)
            raise NotInstalled(team_id)
        if installation.bot_refresh_token:
            try:
                refreshed = self.rotator.perform_token_rotation(
                    installation=installation, minutes_before_expiration=self.rotate_minutes
                )
            except SlackTokenRotationError as exc:
                refreshed = self._rotated_elsewhere(team_id, installation, _api_error(exc))
            else:
                if refreshed is not None:
                    self.store.save(refreshed)
                    log.info("bot token rotated team=%s", team_id)
            installation = refreshed or installation
        entry = _Token(str(installation.bot_token), installation.bot_token_expires_at, time.time())
        with self._lock:
            self._tokens[team_id] = entry
        return entry

    def _rotated_elsewhere(self, team_id: str, tried: Installation, error: str) -> Installation:
        """Rotation failed. Several processes share the store and each refresh token is good once: when
        two rotate the same workspace at once, the loser's refresh token is spent, and the winner saves
        the new token within moments. So the store is read again; a newer token there is used."""
        for wait in REREAD_WAITS:
            time.sleep(wait)
            latest = find_installation(self.store, team_id)
            if latest is None or not latest.bot_token:
                self.forget(team_id)
                raise NotInstalled(team_id)
            if latest.bot_token != tried.bot_token:
                log.info("bot token rotated by another process team=%s", team_id)
                return latest
        log.error("token rotation failed team=%s error=%s", team_id, error)
        if error in DEAD_REFRESH:
            raise NotInstalled(team_id)
        raise TokenUnavailable(team_id, error)


def _api_error(exc: SlackTokenRotationError) -> str:
    cause = exc.api_error
    return str(cause.response.get("error")) if isinstance(cause, SlackApiError) else type(cause).__name__


def find_installation(store: SQLAlchemyInstallationStore, team_id: str) -> Installation | None:
    """The workspace's latest installation, whatever Enterprise Grid organisation it belongs to (work
    outside a request knows the team id only)."""
    c = store.installations.c
    query = (
        select(c.enterprise_id)
        .where(c.client_id == store.client_id, c.team_id == team_id)
        .order_by(desc(c.installed_at))
        .limit(1)
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    return store.find_installation(enterprise_id=row[0], team_id=team_id)


class Authorize(InstallationStoreAuthorize):
    """Bolt's authorize with the workspace's own token, logging a workspace that is not installed once
    per request (one line, ids only).

    A token about to expire is rotated by `clients` (TeamClients) first, not by Bolt: with several
    instances two requests may rotate one workspace's token at once, and only TeamClients settles
    that race (the one refused reads the token the other saved). Bolt then finds a fresh token."""

    clients: TeamClients | None = None
    _rotated = threading.local()  # set while a request's token was just settled by `clients`

    def __call__(self, *, context: Any, enterprise_id: str | None, team_id: str | None, **kw: Any) -> Any:
        settled = False
        if self.clients is not None and team_id:
            # not installed, or no token just now: Bolt below answers as it would have (and may rotate itself)
            with contextlib.suppress(NotInstalled, TokenUnavailable):
                self.clients.get(team_id)
                settled = True
        self._rotated.settled = settled
        try:
            result: AuthorizeResult | None = super().__call__(
                context=context, enterprise_id=enterprise_id, team_id=team_id, **kw
            )
        finally:
            self._rotated.settled = False
        if result is None:
            log.warning("request from team=%s enterprise=%s: not installed here; told so", team_id, enterprise_id)
        return result

    def _rotate_and_save_tokens_if_necessary(self, installation: Installation | None) -> Installation | None:
        if getattr(self._rotated, "settled", False):  # rotated (or found fresh) by `clients` a moment ago
            return None
        rotated: Installation | None = super()._rotate_and_save_tokens_if_necessary(installation)
        return rotated


class _QuietNotFound(logging.Filter):
    """Bolt logs its own error line for a workspace that is not installed; `Authorize` already did."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "AuthorizeResult" not in str(record.msg)


logging.getLogger("slack_bolt.MultiTeamsAuthorization").addFilter(_QuietNotFound())


class Installs:
    """Everything OAuth mode needs, built once per process from the settings and the database."""

    def __init__(
        self, settings: Settings, engine: Engine, client: WebClient, factories: dict[str, Callable[[str], WebClient]]
    ):
        self.settings = settings
        self.store = SQLAlchemyInstallationStore(client_id=settings.client_id, engine=engine, logger=STORE_LOG)
        self.states = SignedStateStore(settings.state_secret, engine)
        self.rotator = TokenRotator(client_id=settings.client_id, client_secret=settings.client_secret, client=client)
        self.clients = TeamClients(self.store, self.rotator, factories)
        self.client = client

    def authorize(self) -> Authorize:
        auth = Authorize(
            logger=logging.getLogger("coachbot.bolt"),
            installation_store=self.store,
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            token_rotation_expiration_minutes=ROTATE_MINUTES,
            cache_enabled=True,  # auth.test once per token, not once per request
            client=self.client,
        )
        auth.token_rotator = self.rotator
        auth.clients = self.clients
        return auth

    def oauth_settings(self, on_installed: Callable[[Installation], None]) -> OAuthSettings:
        def success(args: SuccessArgs) -> BoltResponse:
            on_installed(args.installation)
            return args.default.success(args)

        return OAuthSettings(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            scopes=list(BOT_SCOPES),
            user_scopes=[],
            installation_store=self.store,
            installation_store_bot_only=False,
            token_rotation_expiration_minutes=ROTATE_MINUTES,
            state_store=self.states,
            state_expiration_seconds=STATE_SECONDS,
            callback_options=CallbackOptions(success=success, failure=failure_page),
            logger=logging.getLogger("coachbot.bolt"),
        )

    def oauth_flow(self, on_installed: Callable[[Installation], None]) -> OAuthFlow:
        return WorkspaceOnlyFlow(
            client=self.client, logger=logging.getLogger("coachbot.bolt"), settings=self.oauth_settings(on_installed)
        )

    def remove(self, team_id: str, until: datetime | None = None) -> tuple[int, int]:
        """Delete the workspace's installations and bot tokens made up to `until` (an uninstall's or a
        revocation's time; None: all of them) at once. Returns (rows deleted, installations kept because
        they came later: the workspace was installed again before Slack's event arrived)."""
        cutoff = (until or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)  # stored as naive UTC
        removed = 0
        with self.store.engine.begin() as conn:
            for table in (self.store.installations, self.store.bots):
                mine = (table.c.client_id == self.store.client_id) & (table.c.team_id == team_id)
                gone = conn.execute(delete(table).where(mine, table.c.installed_at <= cutoff))
                removed += int(gone.rowcount or 0)
            i = self.store.installations
            newer = conn.execute(
                select(func.count()).where(i.c.client_id == self.store.client_id, i.c.team_id == team_id)
            ).scalar_one()
        self.clients.forget(team_id)
        return removed, int(newer)


def build_installs(settings: Settings, engine: Engine, client: WebClient | None = None) -> Installs:
    """OAuth mode's stores, authorize and per-workspace clients, for this process."""
    from bot.slack.client import make_dispatch_client, make_web_client

    factories: dict[str, Callable[[str], WebClient]] = {
        "web": lambda token: make_web_client(settings, token),
        "dispatch": lambda token: make_dispatch_client(settings, token),
    }
    return Installs(settings, engine, client or make_web_client(settings), factories)
