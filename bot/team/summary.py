"""The manager's weekly picture, built from TeamData by pure rules, and rendered to Block Kit.

Honest by construction: it reports what was logged and what closed, not activity for its own sake.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from bot.cases import opinion as second
from bot.cases.views import second_opinion_flag
from bot.coaching.rules import GENERAL_GAP, ONBOARDING_GAP
from bot.levers.lagging import Figure, read
from bot.onboarding.rules import PLAN_DAYS, behind_reason, plan_day
from bot.pip.rules import MIN_CYCLES, Cycle, running_status
from bot.pip.rules import stalled_gap as pip_stalled_gap
from bot.pip.views import shared_channel_lines, status_lines
from bot.playbook.models import Playbook, with_article
from bot.playbook.wiring import onboarding_status, seat_fit_risk
from bot.slack import limits as L
from bot.slack.blocks import context, header, section
from bot.slack.text import escape_mrkdwn, truncate
from bot.team.debt import debt_lines

if TYPE_CHECKING:  # the data module reads the database; the rules only need its shapes
    from bot.onboarding.progress import Progress
    from bot.team.data import RepData, TeamData

# The kinds of coaching session a manager logs, by what they may type, and how each is named.
SESSION_KINDS = {
    "1:1": "one_on_one",
    "1on1": "one_on_one",
    "one_on_one": "one_on_one",
    "one-on-one": "one_on_one",
    "call_review": "call_review",
    "call-review": "call_review",
    "review": "call_review",
    "role_play": "role_play",
    "role-play": "role_play",
    "roleplay": "role_play",
    "group": "group",
}
KIND_NAMES = {"one_on_one": "1:1", "call_review": "call review", "role_play": "role-play", "group": "group session"}
MINUTES_MIN, MINUTES_MAX = 5, 480
BASELINE_MINUTES = 60  # coaching each rep should get in a week: half in a 1:1, half reviewing calls or rehearsing
TARGET_INDIVIDUAL_SHARE = 70  # percent of the manager's coaching time spent 1:1 (the rest in groups)
GROUP_SESSION_MIN_REPS = 3
LINE_BUDGET = 2900


@dataclass
class Summary:
    manager_id: str
    week_start: date
    today: date
    rep_lines: list[str] = field(default_factory=list)
    team_lines: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    pips: list[str] = field(default_factory=list)
    debt: list[str] = field(default_factory=list)  # where the next coaching hour goes (bot/team/debt.py)


def _share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "n/a"


def _gap_name(playbook: Playbook, key: str) -> str:
    gap = playbook.gaps.get(key)
    if gap is not None:
        return gap.name
    return "general focus" if key == GENERAL_GAP else ("onboarding plan" if key.startswith(ONBOARDING_GAP) else key)


def cycles_on(rep: RepData, gap: str) -> list[str]:
    """Outcomes of closed cycles on one gap, oldest first."""
    return [c.status for c in rep.closed if c.gap == gap and c.status in ("met", "missed")]


def deal_killer_names(rep: RepData, playbook: Playbook | None = None) -> list[str]:
    """Display names of the deal-killer traits flagged on the rep's latest profile (raw keys without a playbook)."""
    flagged = rep.profile.deal_killers if rep.profile else []
    if playbook is None:
        return list(flagged)
    return [playbook.deal_killers[k].name for k in flagged if k in playbook.deal_killers]


def stalled_gap(rep: RepData) -> str | None:
    """A specific gap coached for more than one cycle with no cycle met (the cycle-count half of PIP
    readiness), picked the way `/coach pip` picks it, so the summary and the check name the same gap."""
    cycles = [
        Cycle(c.gap, c.starts_on, c.ends_on, c.status == "met") for c in rep.closed if c.status in ("met", "missed")
    ]
    gap = pip_stalled_gap(cycles)
    return gap if gap is not None and len(cycles_on(rep, gap)) >= MIN_CYCLES else None


def seat_comes_first(rep: RepData, playbook: Playbook | None = None) -> bool:
    """Seat fit diagnosed, a wiring/seat mismatch, or a deal-killer flagged: a seat conversation, not a PIP."""
    if rep.diagnoses and rep.diagnoses[0].cause == "seat_fit":
        return True
    if rep.profile and rep.seat and seat_fit_risk(rep.profile.archetype, rep.seat.archetype):
        return True
    return bool(deal_killer_names(rep, playbook))


def pip_ready_gap(rep: RepData, playbook: Playbook | None = None) -> str | None:
    """A stalled, specific gap, and never for seat, wiring or deal-killer problems whatever the cycle count.

    Deal-killer keys are the playbook's; without one, any flagged trait counts.
    """
    if seat_comes_first(rep, playbook):
        return None
    return stalled_gap(rep)


def plan_line(progress: Progress, playbook: Playbook) -> str:
    """Day, phase and plan progress in a few words, with the ramp among earlier hires when there are enough."""
    phase = playbook.onboarding.phases[(progress.phase or 1) - 1].name
    state = "behind" if progress.status.behind else "on track"
    done, due = progress.status.done, progress.status.due
    line = f"day {progress.day}/90 ({escape_mrkdwn(phase)}) · plan {done}/{due} due, {state}"
    if progress.ramp is not None:
        line += f" · ramp: ahead of {progress.ramp}% of {progress.peers} earlier hires"
    else:
        line += " · ramp: not enough earlier hires of this wiring to compare yet"
    return line


def rep_line(rep: RepData, playbook: Playbook, today: date) -> str:
    p = rep.person
    parts = [f"*<@{p.slack_user_id}>*"]
    if rep.profile:
        arch = playbook.archetype_name(rep.profile.archetype)
        if rep.seat:
            risk = " :warning:" if seat_fit_risk(rep.profile.archetype, rep.seat.archetype) else ""
            seat = with_article(playbook.archetype_name(rep.seat.archetype))
            parts.append(f"{escape_mrkdwn(arch)} in {escape_mrkdwn(seat)} seat{risk}")
        else:
            parts.append(escape_mrkdwn(arch))
    else:
        parts.append("no wiring profile")
    status = onboarding_status(p.start_date, today)
    if rep.onboarding is not None and rep.onboarding.phase is not None:
        parts.append(plan_line(rep.onboarding, playbook))
    elif status.day is not None:
        parts.append(f"day {status.day}/90")
    elif "ramped" in status.label:
        parts.append("ramped")
    line = " · ".join(parts)
    details = []
    for c in rep.active[:2]:
        logged = rep.logged.get(c.id or -1, 0)
        details.append(
            f"now: “{escape_mrkdwn(truncate(c.behavior, 70))}” {logged}/{c.target_count}, "
            f"until {c.ends_on.strftime('%a %d %b')}"
        )
    if not rep.active:
        details.append("no active commitment")
    if rep.closed:
        last = rep.closed[-1]
        details.append(f"last cycle: {last.status} ({rep.logged.get(last.id or -1, 0)}/{last.target_count})")
    focus = rep.active[0].gap if rep.active else (rep.closed[-1].gap if rep.closed else None)
    if focus:
        n = len(cycles_on(rep, focus))
        details.append(f"{n} closed cycle{'s' if n != 1 else ''} on {escape_mrkdwn(_gap_name(playbook, focus))}")
    minutes = rep.minutes_individual + rep.minutes_group
    details.append(f"coaching {minutes}/{BASELINE_MINUTES} min")
    return truncate(line + "\n" + " · ".join(details), 600)


def _rep_flags(r: RepData, playbook: Playbook, today: date, four_weeks_start: date, pip_detail: bool) -> list[str]:
    """What the manager should know about one rep this week: PIP readiness, seat fit, escalations, pauses, blocks."""
    flags: list[str] = []
    uid = f"<@{r.person.slack_user_id}>"
    # A running PIP has its own line; readiness is named only where PIP lines may name the rep.
    gap = pip_ready_gap(r, playbook) if r.pip is None and pip_detail else None
    if gap:
        outcomes = cycles_on(r, gap)
        flags.append(
            f":clipboard: *PIP readiness* {uid}: {escape_mrkdwn(_gap_name(playbook, gap))} coached for "
            f"{len(outcomes)} cycles without a cycle met. Specific and measurable; check it is "
            "still the right diagnosis before anything formal."
        )
    reasons = []
    if r.diagnoses and r.diagnoses[0].cause == "seat_fit":
        reasons.append("latest diagnosis is seat fit")
    if r.profile and r.seat and seat_fit_risk(r.profile.archetype, r.seat.archetype):
        reasons.append(
            f"{escape_mrkdwn(playbook.archetype_name(r.profile.archetype))} wiring in "
            f"{escape_mrkdwn(with_article(playbook.archetype_name(r.seat.archetype)))} seat"
        )
    killers = deal_killer_names(r, playbook)
    if killers:
        reasons.append("deal-killer flags: " + escape_mrkdwn(", ".join(killers)))
    if reasons:
        flag = f":chair: *Seat conversation* {uid}: {'; '.join(reasons)}."
        stalled = stalled_gap(r)
        if stalled:  # would be PIP-ready on cycles alone
            n = len(cycles_on(r, stalled))
            flag += (
                f" {escape_mrkdwn(_gap_name(playbook, stalled))}: {n} coached cycles, none met, but this is "
                "not a PIP case. Have the seat conversation first: a PIP cannot fix wiring or a deal-killer trait."
            )
        flags.append(flag)
    for d in r.diagnoses:
        if d.escalate and d.created_at.date() >= four_weeks_start:
            owner = playbook.escalation_owners.get(d.drag or "", "the leader who owns it")
            flags.append(
                f":arrow_up: *Environmental drag* {uid}: {escape_mrkdwn(truncate(d.evidence, 160))} "
                f"→ escalate to {escape_mrkdwn(owner)}."
            )
    if r.onboarding is not None and r.onboarding.behind_two_weeks:
        latest = r.diagnoses[0].cause if r.diagnoses else None
        risk = bool(r.profile and r.seat and seat_fit_risk(r.profile.archetype, r.seat.archetype))
        reason = behind_reason(latest, risk, deal_killer_names(r, playbook))
        flags.append(f":hourglass: *Onboarding behind two weeks running* {uid}: {escape_mrkdwn(reason)}")
    if r.person.nudges_paused_until and r.person.nudges_paused_until > today:
        flags.append(f":double_vertical_bar: *Paused* {uid} until {r.person.nudges_paused_until.isoformat()}.")
    for reason in r.blocked:
        flags.append(f":construction: *Blocked* {uid}: {escape_mrkdwn(truncate(reason, 200))}")
    return flags


def rep_second_opinion(
    rep: RepData, playbook: Playbook, today: date, figures: Sequence[Figure] = ()
) -> second.SecondOpinion | None:
    """The diagnose form's second-opinion rule, over what the summary has already loaded (closed
    cycles with their check-in totals, diagnoses) and the rep's imported figures, when given."""
    cycles = [
        second.Cycle(
            c.id or 0, c.gap, c.behavior, c.status, rep.logged.get(c.id or -1, 0), c.target_count, c.closed_at.date()
        )
        for c in rep.closed
        if c.closed_at and c.status in ("met", "missed")
    ]
    diagnoses = [second.Diagnosed(d.gap or GENERAL_GAP, d.cause, d.created_at.date()) for d in rep.diagnoses]
    closed = [(c.closed_on, c.status == "met") for c in cycles]
    verdict = read(closed, figures, today, playbook.lagging).verdict if figures else None
    return second.second_opinion(cycles, diagnoses, verdict, playbook.second_opinion)


def _plan_suggestion(rep: RepData, today: date) -> str | None:
    """A hire in (or about to start) their first 90 days with no plan: the manager is asked to start one."""
    start = rep.person.start_date
    if rep.onboarding is not None or start is None or plan_day(start, today) > PLAN_DAYS:
        return None
    uid = f"<@{rep.person.slack_user_id}>"
    day = plan_day(start, today)
    when = f"is on day {day} of 90" if day >= 1 else f"starts on {start.isoformat()}"
    return f":seedling: {uid} {when} with no onboarding plan: `/coach plan {uid}` drafts one from their wiring."


def pip_lines(data: TeamData, playbook: Playbook) -> list[str]:
    """Each running PIP's week, and a plain line for promised sessions not logged; counts only when the
    summary goes to a channel that people other than the manager read."""
    statuses = [
        (
            r.person.slack_user_id,
            r.pip.gap,
            running_status(
                r.pip,
                [(c.gap, c.closed_at.date(), c.status) for c in r.closed if c.closed_at],
                data.week_start,
                data.today,
            ),
        )
        for r in data.reps
        if r.pip is not None
    ]
    if not statuses:
        return []
    if not data.pip_detail:
        return shared_channel_lines(len(statuses), sum(status.short_this_week for _, _, status in statuses))
    return [line for rep, gap, status in statuses for line in status_lines(rep, _gap_name(playbook, gap), status)]


def build_summary(data: TeamData, playbook: Playbook, figures: Mapping[int, Sequence[Figure]] | None = None) -> Summary:
    """`figures` (imported numbers by person id) let the second opinion read "met but flat" too."""
    s = Summary(manager_id=data.manager_id, week_start=data.week_start, today=data.today)
    s.rep_lines = [rep_line(r, playbook, data.today) for r in data.reps]
    week = [
        c for r in data.reps for c in r.closed if c.closed_at and data.week_start <= c.closed_at.date() <= data.today
    ]
    four_weeks_start = data.today - timedelta(days=27)
    month = [
        c for r in data.reps for c in r.closed if c.closed_at and four_weeks_start <= c.closed_at.date() <= data.today
    ]
    met_w, met_m = sum(c.status == "met" for c in week), sum(c.status == "met" for c in month)
    s.team_lines.append(
        f"Commitments met this week: *{met_w} of {len(week)}* ({_share(met_w, len(week))}) · "
        f"last four weeks: {met_m} of {len(month)} ({_share(met_m, len(month))})"
    )
    # The split is of the manager's time: a group session counts once, not once per attendee.
    own = data.minutes_individual + data.minutes_group
    received = sum(r.minutes_individual + r.minutes_group for r in data.reps)
    s.team_lines.append(
        f"Coaching time: *{own} min* of yours · reps got {received} min in all "
        f"(baseline {BASELINE_MINUTES * len(data.reps)} for {len(data.reps)} reps) · "
        f"of your coaching time, 1:1 {_share(data.minutes_individual, own)} / group {_share(data.minutes_group, own)} "
        f"(aim for about {TARGET_INDIVIDUAL_SHARE}/{100 - TARGET_INDIVIDUAL_SHARE})"
    )
    uncoached = [r for r in data.reps if r.minutes_individual + r.minutes_group == 0]
    if uncoached:
        names = ", ".join(f"<@{r.person.slack_user_id}>" for r in uncoached[:40])
        more = f" and {len(uncoached) - 40} more" if len(uncoached) > 40 else ""
        s.team_lines.append(f"No coaching logged this week: {names}{more}")
    for r in data.reps:
        s.flags += _rep_flags(r, playbook, data.today, four_weeks_start, data.pip_detail)
        if opinion := rep_second_opinion(r, playbook, data.today, (figures or {}).get(r.person.id or -1, ())):
            s.flags.append(second_opinion_flag(opinion, r.person.slack_user_id, playbook))
    s.suggestions += [line for r in data.reps if (line := _plan_suggestion(r, data.today))]
    s.pips = pip_lines(data, playbook)
    shared: dict[str, list[str]] = defaultdict(list)
    for r in data.reps:
        for g in r.profile.gaps if r.profile else []:
            shared[g].append(r.person.slack_user_id)
    for g, users in sorted(shared.items(), key=lambda kv: -len(kv[1])):
        if len(users) >= GROUP_SESSION_MIN_REPS:
            names = ", ".join(f"<@{u}>" for u in users[:15]) + (
                f" and {len(users) - 15} more" if len(users) > 15 else ""
            )
            gap_name = escape_mrkdwn(_gap_name(playbook, g))
            s.suggestions.append(
                f":busts_in_silhouette: {len(users)} reps share *{gap_name}* ({names}): "
                "one group session on it saves time and adds peer learning."
            )
    s.debt = debt_lines(data, playbook, pip_ready_gap, _gap_name)
    return s


def chunk_lines(lines: list[str], budget: int = LINE_BUDGET) -> list[str]:
    """Join lines into texts that each fit one section."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = truncate(line, budget)
        if current and len(current) + 1 + len(line) > budget:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def summary_blocks(s: Summary, title: str = "Weekly coaching summary") -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        header(title),
        context(
            f"For <@{s.manager_id}> · {s.week_start.strftime('%a %d %b')} – {s.today.strftime('%a %d %b %Y')} · "
            "visible to this channel only; wiring data is sensitive"
        ),
    ]
    blocks += [section(t) for t in chunk_lines(s.team_lines)]
    blocks += [section(t) for t in chunk_lines(s.debt)]
    if s.pips:
        blocks += [section(t) for t in chunk_lines(["*PIPs*", *s.pips])]
    if s.flags:
        blocks += [section(t) for t in chunk_lines(["*Flags*", *s.flags])]
    if s.suggestions:
        blocks += [section(t) for t in chunk_lines(s.suggestions)]
    blocks += [section(t) for t in chunk_lines(["*Reps*", *s.rep_lines] if s.rep_lines else ["*Reps*\nNone yet."])]
    return blocks


def summary_messages(s: Summary) -> list[dict[str, Any]]:
    """The summary as one message, or a first message plus threaded continuations, each within limits."""
    blocks = summary_blocks(s)
    text = f"Weekly coaching summary for <@{s.manager_id}>"
    messages = [{"text": text, "blocks": blocks[: L.MESSAGE_BLOCKS]}]
    rest = blocks[L.MESSAGE_BLOCKS :]
    while rest:
        part = [context(f"Weekly summary, continued ({len(messages) + 1})"), *rest[: L.MESSAGE_BLOCKS - 1]]
        rest = rest[L.MESSAGE_BLOCKS - 1 :]
        messages.append({"text": text + " (continued)", "blocks": part})
    return messages
