"""A PIP's evidence pack shared as a Slack canvas: asked for by the rep's manager or an admin, made at
most once, and readable by the rep, their manager and Coachbot admins only (never a channel).

canvases.create makes something new each time, so the PIP is claimed in the database first (state
`creating`), the canvas is made with no transaction open, and its id is stored straight after. Slack
refusing the call releases the claim (nothing was made); an answer lost on the way (a 5xx, a
timeout) leaves the state `unknown`, and no second canvas is ever made for that PIP. canvases.access.set
is safe to repeat, so a click after a failed share only tries that step again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.pip import service, views
from bot.pip.export import Document, document_of
from bot.roster.access import in_workspace, may_coach
from bot.slack.delivery import SLACK_FAILURES, UNKNOWN_OUTCOME, NotSent, OutcomeUnknown, dm_once, failure_reason
from bot.slack.text import escape_mrkdwn, truncate
from bot.slack.users import fetch_user
from storage import queries
from storage.db import session_scope
from storage.models import Person

log = logging.getLogger("coachbot.pip")

CREATING, MADE, SHARED, UNKNOWN = "creating", "made", "shared", "unknown"
MARKDOWN_MAX = 1_000_000  # canvases.create takes at most 1 MiB of Markdown
TITLE_MAX = 150
ACCESS_BATCH = 20  # canvases.access.set takes at most 20 user ids per call
# Slack's ways of saying that this workspace (its plan, its settings, or the app's scopes) allows no canvas.
NOT_ALLOWED = frozenset(
    {
        "free_teams_cannot_create_non_messaging_canvases",
        "free_teams_cannot_create_non_tabbed_canvases",
        "team_tier_cannot_create_channel_canvases",
        "canvas_disabled_user_team",
        "not_allowed",
        "not_allowed_token_type",
        "missing_scope",
        "restricted_action",
        "access_denied",
        "ekm_access_denied",
        "enterprise_is_restricted",
        "accesslimited",
        "team_access_not_granted",
    }
)
NOT_YOURS = "Only a rep's manager or a Coachbot admin can share the evidence pack of a PIP."


def fallback(pip_id: int) -> str:
    return (
        "Whoever runs Coachbot can write the same evidence pack to a Markdown file with "
        f"`coachbot export --pip {pip_id} FILE.md`."
    )


def _unconfirmed(pip_id: int) -> str:
    return (
        "A canvas for this PIP was already asked for, and I could not confirm that Slack made it (or it is "
        "still being made). So that there is never a second copy, I won't make another one. " + fallback(pip_id)
    )


@dataclass(frozen=True)
class Made:
    canvas_id: str


@dataclass(frozen=True)
class Refused:
    error: str
    reached: bool = True  # False: the request never got to Slack


@dataclass(frozen=True)
class Lost:
    reason: str


def _read(ctx: AppContext, team_id: str, pip_id: int) -> tuple[Document, Person | None] | None:
    with ctx.session() as session:
        document = document_of(session, team_id, pip_id, ctx.playbook)
        if document is None:
            return None
        return document, queries.get_person(session, team_id, document.plan.rep_id)


def share(ctx: AppContext, client: WebClient, team_id: str, caller: str, pip_id: int) -> str:
    """Share PIP `pip_id`'s evidence pack as a canvas (once); the answer for the caller."""
    found = _read(ctx, team_id, pip_id)
    document, person = found if found else (None, None)
    if not may_coach(ctx.settings, client, caller, person, team_id):
        return NOT_YOURS
    if document is None or person is None:
        return f"There is no PIP number {pip_id} in this workspace."
    if document.canvas_state == SHARED and document.canvas_id:
        return _already(client, team_id, document, document.canvas_id)
    if document.canvas_state in (CREATING, UNKNOWN):
        return _unconfirmed(document.plan.id)
    made = _make(ctx, client, team_id, document) if document.canvas_state != MADE else Made(document.canvas_id or "")
    if isinstance(made, str):
        return made
    return _open_to(ctx, client, team_id, caller, document, person, made.canvas_id)


def share_for_rep(ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str) -> str:
    """`/coach pip canvas @rep`: the rep's running PIP, else the one that ended last."""
    with ctx.session() as session:
        person = queries.get_person(session, team_id, rep_id)
        pip = service.latest_pip(session, team_id, person.id) if person and person.id else None
    if not may_coach(ctx.settings, client, caller, person, team_id):
        return NOT_YOURS
    if pip is None or pip.id is None:
        return f"<@{rep_id}> has no PIP on record, so there is no evidence pack to share."
    return share(ctx, client, team_id, caller, pip.id)


def _create(client: WebClient, document: Document) -> Made | Refused | Lost:
    """One canvases.create, never repeated here (the client does not retry it after a 5xx either)."""
    title = truncate(f"PIP {document.plan.id} evidence pack: {document.plan.gap_name}", TITLE_MAX)
    try:
        resp = client.canvases_create(title=title, document_content={"type": "markdown", "markdown": document.markdown})
    except SlackApiError as exc:
        if exc.response.status_code >= 500:
            return Lost(failure_reason(exc))
        return Refused(failure_reason(exc))
    except URLError as exc:  # never reached Slack (the client already retried those)
        return Refused(type(exc.reason).__name__, reached=False)
    except UNKNOWN_OUTCOME as exc:
        return Lost(failure_reason(exc))
    canvas_id = str(resp.get("canvas_id") or "")
    return Made(canvas_id) if canvas_id else Lost("no canvas id in the answer")


def _refused(result: Refused, pip_id: int) -> str:
    if not result.reached:
        return f"I couldn't reach Slack, so no canvas was made. Try again in a minute. {fallback(pip_id)}"
    if result.error in NOT_ALLOWED:
        return (
            f"This workspace doesn't let Coachbot make canvases (Slack answered `{result.error}`), so nothing "
            "was made. Canvases need a paid Slack plan with canvases turned on, and Coachbot needs the "
            "`canvases:write` permission (reinstall the app from manifest.yml if it was installed before). "
            + fallback(pip_id)
        )
    return f"Slack turned the canvas down (`{result.error}`), so nothing was made. {fallback(pip_id)}"


def _make(ctx: AppContext, client: WebClient, team_id: str, document: Document) -> Made | str:
    """The canvas made once, or what to tell the caller instead."""
    pip_id = document.plan.id
    if len(document.markdown) > MARKDOWN_MAX:
        return f"This evidence pack is too long for a canvas. {fallback(pip_id)}"
    with session_scope(ctx.engine) as session:
        claimed = service.move_canvas(session, team_id, pip_id, None, CREATING)
    if not claimed:  # another request got there first
        again = _read(ctx, team_id, pip_id)
        if again and again[0].canvas_state == SHARED and again[0].canvas_id:
            return _already(client, team_id, again[0], again[0].canvas_id)
        return _unconfirmed(pip_id)
    result = _create(client, document)
    after = MADE if isinstance(result, Made) else UNKNOWN if isinstance(result, Lost) else None
    with session_scope(ctx.engine) as session:
        service.move_canvas(session, team_id, pip_id, CREATING, after, getattr(result, "canvas_id", None))
    if isinstance(result, Made):
        return result
    if isinstance(result, Lost):
        log.warning("pip canvas outcome unknown pip=%s error=%s", pip_id, result.reason)
        return (
            f"I asked Slack for the canvas, but its answer was lost ({result.reason}), so I can't confirm "
            "whether it was made. So that there is never a second copy, I won't make another one for this "
            "PIP; if it was made, nobody but Coachbot can open it. " + fallback(pip_id)
        )
    log.info("pip canvas refused pip=%s error=%s", pip_id, result.error)
    return _refused(result, pip_id)


def _member(client: WebClient, user_id: str, team_id: str) -> bool:
    """A person of this workspace who can open a canvas (Slack failures propagate: decide later)."""
    user = fetch_user(client, user_id)
    return in_workspace(user, team_id) and user is not None and not user.deleted and not user.is_bot


def audience(ctx: AppContext, client: WebClient, team_id: str, caller: str, rep_id: str, manager_id: str) -> list[str]:
    """Exactly who may read the canvas: the rep, their manager, the caller (their manager or an admin)
    and the configured admins, each only while a member of this workspace."""
    wanted = dict.fromkeys((rep_id, manager_id, caller, *sorted(ctx.settings.admin_user_ids)))
    return [user_id for user_id in wanted if _member(client, user_id, team_id)]


def _link(client: WebClient, team_id: str, canvas_id: str) -> str:
    try:
        url = str(client.auth_test().get("url") or "")
    except SLACK_FAILURES:
        url = ""
    base = url.rstrip("/") if url.startswith("https://") else "https://app.slack.com"
    return f"{base}/docs/{team_id}/{canvas_id}"


def _already(client: WebClient, team_id: str, document: Document, canvas_id: str) -> str:
    link = _link(client, team_id, canvas_id)
    return (
        f"The evidence pack for <@{document.plan.rep_id}>'s PIP on {escape_mrkdwn(document.plan.gap_name)} is "
        f"already a canvas: <{link}|open it>. No second canvas was made."
    )


def _open_to(
    ctx: AppContext, client: WebClient, team_id: str, caller: str, document: Document, person: Person, canvas_id: str
) -> str:
    """Give the rep, their manager and the admins read access; tell the rep (and the manager) once."""
    pip_id, rep_id = document.plan.id, document.plan.rep_id
    manager_id = person.manager_user_id or document.plan.manager_id  # the rep's manager now
    try:
        readers = audience(ctx, client, team_id, caller, rep_id, manager_id)
        for i in range(0, len(readers), ACCESS_BATCH):
            client.canvases_access_set(canvas_id=canvas_id, access_level="read", user_ids=readers[i : i + ACCESS_BATCH])
    except SLACK_FAILURES as exc:
        log.warning("pip canvas access not set pip=%s error=%s", pip_id, failure_reason(exc))
        return (
            f"I made the canvas, but Slack didn't let me share it yet ({failure_reason(exc)}), so for now "
            "nobody else can open it. Ask again to retry the sharing; no second canvas will be made."
        )
    with session_scope(ctx.engine) as session:
        first = service.move_canvas(session, team_id, pip_id, MADE, SHARED)
    link = _link(client, team_id, canvas_id)
    note = (
        _tell(client, team_id, caller, document, [r for r in (rep_id, manager_id) if r in readers], link)
        if first
        else ""
    )
    return (
        f"Shared: the evidence pack for <@{document.plan.rep_id}>'s PIP on "
        f"{escape_mrkdwn(document.plan.gap_name)} is now a canvas: <{link}|open it>. Only the rep, their "
        f"manager and Coachbot admins can open it.{note}"
    )


def _tell(client: WebClient, team_id: str, caller: str, document: Document, told: list[str], link: str) -> str:
    """The link by DM to the rep, and to the manager when someone else shared it; a note when not confirmed."""
    plan, note = document.plan, ""
    for user_id in told:
        if user_id == caller:
            continue
        message = views.canvas_message(plan.gap_name, link, for_rep=user_id == plan.rep_id)
        try:
            dm_once(client, user_id, message, f"pip-canvas:{team_id}:{plan.id}")
        except (SlackApiError, NotSent, OutcomeUnknown) as exc:
            log.warning("pip canvas DM not confirmed pip=%s error=%s", plan.id, failure_reason(exc))
            note += f" I couldn't confirm my DM with the link to <@{user_id}>."
    return note
