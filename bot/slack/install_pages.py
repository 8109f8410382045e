"""OAuth mode's install pages: what a browser sees when an install fails or is refused, and the flow that
refuses an install for a whole Enterprise Grid organisation (Coachbot works per workspace). Never a 500,
never an echo of what came in, never a secret or an install code in a page or a log line."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from slack_bolt.error import BoltError
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import FailureArgs
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Installation

log = logging.getLogger("coachbot.installs")
PAGE_HEAD = '<html><head><meta charset="utf-8"><title>Coachbot</title></head><body style="font-family: sans-serif">'
ORG_INSTALL_PAGE = (
    PAGE_HEAD
    + """
<h2>Coachbot is installed one workspace at a time</h2>
<p>This was an install for a whole Enterprise Grid organisation, which Coachbot does not support, so nothing
was kept and the access Slack granted has been handed back. An admin of each workspace that wants Coachbot
can install it there from the same install link.</p></body></html>"""
)
FAILURE_PAGE = (
    PAGE_HEAD
    + """
<h2>Coachbot was not installed</h2><p>{why}</p>
<p>Nothing was changed. To try again, open the install link your Coachbot operator gave you.</p></body></html>"""
)
FAILURE_REASONS = {
    "access_denied": "The install was cancelled in Slack (access_denied).",
    "invalid_browser": "This page was not opened from the install link in this browser, or the link was used already.",
    "invalid_state": "The install link has expired or was used already.",
    "missing_code": "Slack did not hand over the install code.",
    "invalid_code": "Slack refused the install code (it may have been used already).",
    "storage_error": "The install could not be stored just now; please try again in a minute.",
}


class OrgInstallRefused(BoltError):
    """An install for a whole Enterprise Grid organisation: Coachbot works per workspace (team id)."""


class WorkspaceOnlyFlow(OAuthFlow):
    """Bolt's OAuth flow, refusing an organisation-wide (Enterprise Grid) install before anything is
    stored, and handing its token back to Slack."""

    def store_installation(self, request: Any, installation: Installation) -> None:
        if installation.is_enterprise_install or not installation.team_id:
            log.warning("install refused: organisation-wide install enterprise=%s", installation.enterprise_id)
            try:
                self.client.auth_revoke(token=installation.bot_token)
            except Exception as exc:  # best effort: Slack keeps an unused grant, nothing is stored here
                log.warning("could not hand the refused install's token back (%s)", type(exc).__name__)
            raise OrgInstallRefused("organisation-wide install refused")
        super().store_installation(request, installation)


def failure_page(args: FailureArgs) -> BoltResponse:
    """A short page saying why, never a 500 nor an echo of what came in; `reason` is logged only when it is
    one of Bolt's own or a plain Slack error code."""
    if isinstance(args.error, OrgInstallRefused):
        return _page(403, ORG_INSTALL_PAGE)
    reason = args.reason if re.fullmatch(r"[a-z_]{1,40}", args.reason or "") else "?"
    log.warning("install failed reason=%s", reason)
    why = FAILURE_REASONS.get(reason) or ("Slack reported a problem." if reason == "?" else f"Slack answered {reason}.")
    status = args.suggested_status_code if 200 <= args.suggested_status_code < 500 else 503
    return _page(status, FAILURE_PAGE.format(why=why), args.default)


def _page(status: int, body: str, default: Any = None) -> BoltResponse:
    headers: dict[str, str | Sequence[str]] = {"Content-Type": "text/html; charset=utf-8"}
    builder = getattr(default, "_response_builder", None)  # Bolt's: it also expires the state cookie
    utils = getattr(builder, "_state_utils", None)
    if utils is not None:
        headers["Set-Cookie"] = utils.build_set_cookie_for_deletion()
    return BoltResponse(status=status, headers=headers, body=body)


class _NoInstallCode(logging.Filter):
    """Bolt logs a refused install code as it came in: the line is kept, the code is not."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Failed to fetch oauth.v2.access result"):
            record.msg, record.args = "install: Slack refused the code (oauth.v2.access)", ()
        return True


logging.getLogger("coachbot.bolt").addFilter(_NoInstallCode())
