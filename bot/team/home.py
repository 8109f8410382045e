"""The App Home tab: a live dashboard per role (rep, manager, admin), always within 100 blocks."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, col, select

from bot.coaching import service as svc
from bot.context import AppContext
from bot.levers.lagging import read
from bot.levers.service import figures_of
from bot.levers.views import SHORT
from bot.onboarding.progress import Progress
from bot.onboarding.rules import counted
from bot.onboarding.service import progress_of
from bot.pip import service as pips
from bot.pip.views import Card as PipCard
from bot.pip.views import home_blocks as pip_home_blocks
from bot.practice.schedule import WEEKDAYS, local_today, zone_for
from bot.roster.access import user_is_admin
from bot.slack import limits as L
from bot.slack.blocks import actions, button, context, divider, header, section
from bot.slack.ids import Action
from bot.slack.text import escape_mrkdwn, truncate
from bot.team.data import load_team
from bot.team.service import all_summary_channels, numbers_records
from bot.team.summary import Summary, build_summary, chunk_lines
from storage import queries
from storage.models import CheckIn, Commitment, Workspace

log = logging.getLogger("coachbot.home")
MAX_REP_SECTIONS = 20
MAX_FLAG_SECTIONS = 5
MAX_COMMITMENTS = 5


@dataclass
class RepView:
    active: list[tuple[Commitment, int]] = field(default_factory=list)
    recent_checkins: list[CheckIn] = field(default_factory=list)
    outcomes: list[Commitment] = field(default_factory=list)
    onboarding: Progress | None = None
    phase_name: str = ""
    pip: PipCard | None = None  # their running PIP: only they, their manager and admins see it


@dataclass
class HomeData:
    user_id: str
    today: date
    rep: RepView | None = None
    team: Summary | None = None
    team_size: int = 0
    numbers: list[str] = field(default_factory=list)  # each rep's reading of behaviors beside the numbers
    workspace: Workspace | None = None
    channels: list[tuple[str, str]] = field(default_factory=list)
    default_tz: str = "UTC"


def load_home(session: Session, ctx: AppContext, team_id: str, user_id: str, is_admin: bool) -> HomeData:
    person = queries.get_person(session, team_id, user_id)
    today = local_today(ctx.clock(), zone_for(person.tz if person else None, ctx.settings.default_tz))
    data = HomeData(user_id=user_id, today=today, default_tz=ctx.settings.default_tz)
    if person is not None and person.id is not None:
        commitments = list(
            session.exec(
                select(Commitment)
                .where(Commitment.team_id == team_id, Commitment.person_id == person.id)
                .order_by(col(Commitment.id).desc())
                .limit(20)
            )
        )
        active = [c for c in commitments if c.status == "active"]
        rep = RepView(
            active=[(c, svc.logged_count(session, team_id, c.id or 0)) for c in active[:MAX_COMMITMENTS]],
            outcomes=[c for c in commitments if c.status in ("met", "missed")][:3],
        )
        ids = [c.id for c in commitments]
        if ids:
            rep.recent_checkins = list(
                session.exec(
                    select(CheckIn)
                    .where(CheckIn.team_id == team_id, col(CheckIn.commitment_id).in_(ids))
                    .order_by(col(CheckIn.created_at).desc())
                    .limit(5)
                )
            )
        rep.onboarding = progress_of(session, team_id, [person], today).get(person.id)
        if rep.onboarding is not None and rep.onboarding.phase is not None:
            rep.phase_name = ctx.playbook.onboarding.phases[rep.onboarding.phase - 1].name
        running = pips.active_pip(session, team_id, person.id)
        rep.pip = pips.card(running, user_id, ctx.playbook) if running else None
        if rep.active or rep.outcomes or rep.recent_checkins or rep.onboarding or rep.pip:
            data.rep = rep
    team = load_team(session, team_id, user_id, today)
    team.pip_detail = True  # the Home tab is the manager's alone
    if team.reps:
        # the imported figures once, for the numbers line and for the "met but flat" second opinion among
        # the flags (as in the weekly summary): one line per rep, never a message of its own
        figures = figures_of(session, team_id, [r.person.id for r in team.reps if r.person.id is not None], today)
        data.team, data.team_size = build_summary(team, ctx.playbook, figures), len(team.reps)
        data.numbers = [
            f"{escape_mrkdwn(r.name)}: {SHORT[read(r.closed, r.figures, today, ctx.playbook.lagging).verdict]}"
            for r in numbers_records(session, team, today, figures)
        ]
    if is_admin:
        data.workspace = queries.ensure_workspace(session, team_id)
        data.channels = all_summary_channels(session, team_id)
    return data


def _plan_blocks(progress: Progress, phase_name: str) -> list[dict[str, Any]]:
    """The rep's plan in brief, with the next open steps to check off."""
    state = "behind" if progress.status.behind else "on track"
    where = f"day {progress.day} of 90 ({escape_mrkdwn(phase_name)})" if progress.phase else "finished"
    blocks = [
        header("Your 30/60/90 plan"),
        section(f"{where} · {progress.status.done} of {progress.status.due} steps due so far are done: {state}"),
    ]
    for step in progress.next_steps:
        target, words = counted(step.title)
        title = escape_mrkdwn(truncate(words, 150))
        if target is not None and step.due_day >= progress.day:  # its commitment is open: check-ins count it
            blocks.append(section(f":repeat: {title} _({target}× by day {step.due_day}, counted by check-ins)_"))
            continue
        block = section(f":white_square: {escape_mrkdwn(truncate(step.title, 150))} _(by day {step.due_day})_")
        block["accessory"] = button("Done", Action.MILESTONE_DONE, str(step.id))
        blocks.append(block)
    return blocks


def _rep_blocks(rep: RepView, today: date) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if rep.pip is not None:
        blocks += pip_home_blocks(rep.pip, today)
    if rep.onboarding is not None:
        blocks += _plan_blocks(rep.onboarding, rep.phase_name)
    blocks.append(header("Your practice"))
    for commitment, logged in rep.active:
        assert commitment.id is not None
        left = (commitment.ends_on - today).days + 1
        blocks.append(
            section(
                f"*{escape_mrkdwn(truncate(commitment.behavior, 300))}*\n"
                f"{logged} of {commitment.target_count} · "
                f"{'last day' if left == 1 else f'{max(left, 0)} days left'}"
            )
        )
        blocks.append(
            actions(
                button("Log one", Action.CHECKIN_LOG, str(commitment.id), style="primary"),
                button("Log with a note", Action.CHECKIN_NOTE_OPEN, str(commitment.id)),
                button("I'm blocked", Action.BLOCKED_OPEN, str(commitment.id)),
            )
        )
    if not rep.active:
        blocks.append(section("No active commitment right now."))
    if rep.recent_checkins:
        lines = [
            f"{c.created_at.strftime('%a %d %b')}: "
            + (
                "blocked: " + escape_mrkdwn(truncate(c.note, 80))
                if c.source == "blocked"
                else f"+{c.count}" + (f" ({escape_mrkdwn(truncate(c.note, 80))})" if c.note else "")
            )
            for c in rep.recent_checkins
        ]
        blocks.append(context("*Recent check-ins*\n" + "\n".join(lines)))
    if rep.outcomes:
        lines = [f"{escape_mrkdwn(truncate(c.behavior, 80))}: *{c.status}*" for c in rep.outcomes]
        blocks.append(context("*Recent outcomes*\n" + "\n".join(lines)))
    return blocks


def _team_blocks(data: HomeData) -> list[dict[str, Any]]:
    assert data.team is not None
    blocks: list[dict[str, Any]] = []
    blocks += [divider(), header(f"Your team ({data.team_size})")]
    blocks += [section(t) for t in chunk_lines(data.team.team_lines)][:2]
    blocks += [section(t) for t in chunk_lines(data.team.debt)][:1]  # where the next hour goes: top three
    if data.team.pips:
        blocks += [section(t) for t in chunk_lines(["*PIPs you are running*", *data.team.pips])][:MAX_FLAG_SECTIONS]
    if data.team.flags or data.team.suggestions:
        blocks += [section(t) for t in chunk_lines(["*Flags*", *data.team.flags, *data.team.suggestions])][
            :MAX_FLAG_SECTIONS
        ]
    if data.numbers:
        heading = "*Coached behaviors beside the numbers* (`/coach numbers` has the table)"
        blocks += [section(t) for t in chunk_lines([heading, "; ".join(data.numbers)])][:2]
    rep_sections = chunk_lines(data.team.rep_lines)
    blocks += [section(t) for t in rep_sections[:MAX_REP_SECTIONS]]
    if len(rep_sections) > MAX_REP_SECTIONS:
        blocks.append(context("More reps than fit here: the weekly summary and `coachbot export` have all."))
    blocks.append(
        actions(
            button("Diagnose a rep", Action.HOME_DIAGNOSE, style="primary"),
            button("Log a coaching session", Action.HOME_LOG_SESSION),
            button("Post the summary now", Action.HOME_POST_SUMMARY),
            button("Summary channel", Action.HOME_SUMMARY_CHANNEL),
        )
    )
    return blocks


def _workspace_blocks(data: HomeData) -> list[dict[str, Any]]:
    assert data.workspace is not None
    blocks: list[dict[str, Any]] = []
    ws = data.workspace
    channels = ", ".join(f"<@{m}> → <#{c}>" for m, c in data.channels[:30]) or "none set (summaries go by DM)"
    blocks += [
        divider(),
        header("Workspace settings (admins)"),
        section(
            f"Practice nudges: *{WEEKDAYS[ws.nudge_weekday].capitalize()} "
            f"{ws.nudge_hour:02d}:{ws.nudge_minute:02d}* "
            f"in each rep's time zone · mid-window reminders *{'on' if ws.reminders_enabled else 'off'}*\n"
            f"Manager summaries: *{WEEKDAYS[ws.summary_weekday].capitalize()} "
            f"{ws.summary_hour:02d}:{ws.summary_minute:02d}* in each manager's time zone\n"
            f"Default time zone: *{escape_mrkdwn(data.default_tz)}* (set with COACHBOT_DEFAULT_TZ)\n"
            f"Summary channels: {channels}"
        ),
        actions(button("Edit settings", Action.HOME_SETTINGS)),
    ]
    return blocks


def render_home(data: HomeData) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [header("Coachbot")]
    if data.rep is None and data.team is None and data.workspace is None:
        blocks.append(
            section(
                "Nothing to coach yet. When your manager sets a weekly commitment for you, it shows "
                "up here. Managers start with `/diagnose @rep`; `/coach help` lists everything."
            )
        )
    if data.rep is not None:
        blocks += _rep_blocks(data.rep, data.today)
    if data.team is not None:
        blocks += _team_blocks(data)
    if data.workspace is not None:
        blocks += _workspace_blocks(data)
    blocks.append(
        context("Only you see this tab. Wiring and coaching data are visible to the rep, their manager and admins.")
    )
    if len(blocks) > L.HOME_BLOCKS:  # keep the footer; cut from the middle (never reached with the caps above)
        blocks = blocks[: L.HOME_BLOCKS - 1] + blocks[-1:]
    return {"type": "home", "blocks": blocks}


class HomeRefresher:
    """Coalesced Home refreshes on the listener pool: while a refresh for a user is queued, asking
    again adds nothing (fifty check-ins by one manager's reps refresh the manager's Home once).

    The coalescing is this process's own, and harmless with several: a refresh reads the database
    after the change that asked for it was committed, and views.publish replaces the whole tab, so
    two processes publish at most one extra fresh copy each; opening the tab publishes it again."""

    def __init__(self, ctx: AppContext, client: WebClient, executor: Executor):
        self.ctx, self.client, self.executor = ctx, client, executor
        self.pending: set[tuple[str, str]] = set()
        self.lock = threading.Lock()

    def request(self, team_id: str, user_id: str) -> None:
        key = (team_id, user_id)
        with self.lock:
            if key in self.pending:
                return
            self.pending.add(key)
        self.executor.submit(self._run, key)

    def _run(self, key: tuple[str, str]) -> None:
        with self.lock:
            self.pending.discard(key)  # a change after this point queues a fresh refresh
        client = self.client
        if self.ctx.installs is not None:  # many workspaces: the workspace's own token
            try:
                client = self.ctx.installs.clients.get(key[0])
            except Exception as exc:  # not installed (any more): nothing to refresh
                log.warning("home not published team=%s error=%s", key[0], type(exc).__name__)
                return
        publish_home(self.ctx.for_team(key[0]), client, *key)


def refresh_home(ctx: AppContext, client: WebClient, team_id: str, user_id: str) -> None:
    """Refresh a Home tab after an action changed it: coalesced in the app, direct elsewhere."""
    refresher = ctx.home_refresher
    if isinstance(refresher, HomeRefresher):
        refresher.request(team_id, user_id)
    else:
        publish_home(ctx, client, team_id, user_id)


def publish_home(ctx: AppContext, client: WebClient, team_id: str, user_id: str, is_admin: bool | None = None) -> bool:
    """Refresh one user's Home tab; failures are logged, never raised (the action itself succeeded)."""
    try:
        if is_admin is None:
            is_admin = user_is_admin(ctx.settings, client, user_id, team_id)
        with ctx.session() as session:
            data = load_home(session, ctx, team_id, user_id, is_admin)
        client.views_publish(user_id=user_id, view=render_home(data))
        return True
    except SlackApiError as exc:
        log.warning("home not published user=%s error=%s", user_id, exc.response.get("error"))
        return False
