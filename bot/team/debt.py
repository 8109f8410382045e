"""Coaching debt: the minutes each rep is owed against the weekly baseline over the last four weeks,
and where the manager's next hour is worth most. Pure rules on TeamData; advice, never a decision.

Minutes are counted the way the summary counts them: a 1:1 counts fully for its rep and a group
session counts for every attendee, while the manager's 1:1 share is of their own time (each session
once). The weights live in the playbook (`coaching_debt`), so an organisation can tune the ranking.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.coaching.rules import GENERAL_GAP, ONBOARDING_GAP
from bot.onboarding.rules import PLAN_DAYS, plan_day
from bot.playbook.models import Playbook
from bot.playbook.thresholds import CoachingDebt
from bot.slack.text import escape_mrkdwn

if TYPE_CHECKING:  # the data module reads the database; the rules only need its shapes
    from bot.team.data import RepData, TeamData

DEBT_WEEKS = 4
TOP_ITEMS = 3
MISSES_COUNTED, UNMET_COUNTED = 3, 4  # one bad month should not drown every other signal
GROUP_NAMES_SHOWN = 6


@dataclass(frozen=True)
class RepFacts:
    """What the ranking weighs for one rep; each reason already in words, None when it does not apply."""

    user_id: str
    minutes: int  # coaching received over the four weeks
    weeks: float = DEBT_WEEKS  # how many of those weeks the rep was on the team
    recent_misses: int = 0
    unmet_cycles: int = 0  # closed cycles in a row not met on the gap being coached
    focus_gap: str = ""
    closing: str | None = None
    onboarding: str | None = None
    onboarding_behind: bool = False
    pip: str | None = None
    gaps: frozenset[str] = frozenset()  # gap keys, for proposing a group session


@dataclass(frozen=True)
class Item:
    user_id: str
    score: float
    owed: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    gap: str
    user_ids: tuple[str, ...]


@dataclass(frozen=True)
class Debt:
    owed: dict[str, int]  # rep -> minutes owed
    ranked: list[Item]  # every rep with anything to weigh, best use of the next hour first
    share: int | None  # the manager's 1:1 share of their own minutes, percent; None with none logged
    lean: str  # "1:1", "group" or "balanced": which way the next sessions should tip the 70/30 balance
    group: Group | None


def owed_minutes(minutes: int, weeks: float, weekly: int) -> int:
    """Minutes short of the baseline over the weeks counted; never negative (extra time is not banked)."""
    return max(0, round(weekly * weeks - minutes))


def score(f: RepFacts, rules: CoachingDebt) -> tuple[float, int, tuple[str, ...]]:
    """(score, minutes owed, reasons in words), the weightiest reason first."""
    owed = owed_minutes(f.minutes, f.weeks, rules.weekly_minutes)
    parts: list[tuple[float, str]] = []
    if f.pip:
        parts.append((rules.pip_question, f.pip))
    if f.recent_misses:
        n = f.recent_misses
        parts.append((rules.recent_miss * min(n, MISSES_COUNTED), f"missed {n} cycle{'s' if n != 1 else ''} lately"))
    if f.unmet_cycles:
        n = f.unmet_cycles
        parts.append(
            (
                rules.unmet_cycle * min(n, UNMET_COUNTED),
                f"{n} closed cycle{'s' if n != 1 else ''} unmet on {f.focus_gap}",
            )
        )
    if f.closing:
        parts.append((rules.closing_soon, f.closing))
    if f.onboarding:
        weight = rules.onboarding + (rules.onboarding_behind if f.onboarding_behind else 0)
        parts.append((weight, f.onboarding + (", plan behind" if f.onboarding_behind else "")))
    total = sum(w for w, _ in parts) + rules.owed_hour * owed / 60
    parts.sort(key=lambda p: -p[0])
    return round(total, 2), owed, tuple(text for weight, text in parts if weight > 0)


def rank(facts: Sequence[RepFacts], rules: CoachingDebt) -> list[Item]:
    """Highest score first; ties go to the rep owed more time, then keep the team's order."""
    items = [Item(f.user_id, *score(f, rules)) for f in facts]
    return sorted((i for i in items if i.score > 0), key=lambda i: (-i.score, -i.owed))


def one_on_one_share(individual: int, group: int) -> int | None:
    total = individual + group
    return round(100 * individual / total) if total else None


def lean(share: int | None, rules: CoachingDebt) -> str:
    """Which kind of session the next hour should be to move toward the target split."""
    if share is None or share < rules.one_on_one_share - rules.share_tolerance:
        return "1:1"
    return "group" if share > rules.one_on_one_share + rules.share_tolerance else "balanced"


def shared_gap(facts: Sequence[RepFacts], rules: CoachingDebt) -> Group | None:
    """The gap most reps share (active commitments or flagged gaps), when at least `group_min_reps` do."""
    by_gap: dict[str, list[str]] = defaultdict(list)
    for f in facts:
        for gap in sorted(f.gaps):
            by_gap[gap].append(f.user_id)
    best = sorted(by_gap.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    if not best or len(best[0][1]) < rules.group_min_reps:
        return None
    return Group(best[0][0], tuple(best[0][1]))


def assess(facts: Sequence[RepFacts], own: tuple[int, int], rules: CoachingDebt) -> Debt:
    share = one_on_one_share(*own)
    return Debt(
        owed={f.user_id: owed_minutes(f.minutes, f.weeks, rules.weekly_minutes) for f in facts},
        ranked=rank(facts, rules),
        share=share,
        lean=lean(share, rules),
        group=shared_gap(facts, rules),
    )


def _weeks_on_team(start: date | None, today: date) -> float:
    """A rep who started within the four weeks is owed only for the days since their start."""
    first = today - timedelta(days=7 * DEBT_WEEKS - 1)
    if start is None or start <= first:
        return DEBT_WEEKS
    return max(0, (today - start).days + 1) / 7


def facts_of(
    rep: RepData,
    data: TeamData,
    playbook: Playbook,
    pip_ready: Callable[[RepData, Playbook], str | None],
    gap_name: Callable[[Playbook, str], str],
) -> RepFacts:
    """One rep's record in the terms the ranking weighs. PIP facts only where the reader may see them."""
    today, rules = data.today, playbook.coaching_debt
    since = today - timedelta(days=7 * DEBT_WEEKS - 1)
    misses = sum(1 for c in rep.closed if c.status == "missed" and c.closed_at and c.closed_at.date() >= since)
    focus = rep.active[0].gap if rep.active else (rep.closed[-1].gap if rep.closed else None)
    unmet = 0
    for c in reversed([c for c in rep.closed if c.gap == focus and c.status in ("met", "missed")]):
        if c.status == "met":
            break
        unmet += 1
    closing = None
    for c in sorted(rep.active, key=lambda c: c.ends_on):
        logged = rep.logged.get(c.id or -1, 0)
        if 0 <= (c.ends_on - today).days <= rules.closing_days and logged < c.target_count:
            when = "today" if c.ends_on == today else c.ends_on.strftime("%a %d %b")
            closing = f"window ends {when} with {logged} of {c.target_count} logged"
            break
    onboarding, behind = None, False
    if rep.onboarding is not None and rep.onboarding.phase is not None:
        onboarding, behind = f"onboarding day {rep.onboarding.day}/{PLAN_DAYS}", rep.onboarding.status.behind
    elif rep.person.start_date and 1 <= (day := plan_day(rep.person.start_date, today)) <= PLAN_DAYS:
        onboarding = f"onboarding day {day}/{PLAN_DAYS}, no plan yet"
    pip = None
    if data.pip_detail and rep.pip is not None:
        pip = f"PIP running on {escape_mrkdwn(gap_name(playbook, rep.pip.gap))}"
    elif data.pip_detail and (ready := pip_ready(rep, playbook)):
        pip = f"PIP question on {escape_mrkdwn(gap_name(playbook, ready))}"
    gaps = {c.gap for c in rep.active if c.gap != GENERAL_GAP and not c.gap.startswith(ONBOARDING_GAP)}
    return RepFacts(
        user_id=rep.person.slack_user_id,
        minutes=rep.minutes_4w,
        weeks=_weeks_on_team(rep.person.start_date, today),
        recent_misses=misses,
        unmet_cycles=unmet,
        focus_gap=escape_mrkdwn(gap_name(playbook, focus)) if focus else "",
        closing=closing,
        onboarding=onboarding,
        onboarding_behind=behind,
        pip=pip,
        gaps=frozenset(gaps | set(rep.profile.gaps if rep.profile else [])),
    )


def debt_lines(
    data: TeamData,
    playbook: Playbook,
    pip_ready: Callable[[RepData, Playbook], str | None],
    gap_name: Callable[[Playbook, str], str],
) -> list[str]:
    """A heading, one line per item of the top three, and a group session when reps share a gap.

    Names and minutes owed per rep appear wherever the summary already shows each rep's coaching
    minutes; anything about a PIP only where `pip_detail` allows (the manager's own DM or Home)."""
    if not data.reps:
        return []
    rules = playbook.coaching_debt
    facts = [facts_of(r, data, playbook, pip_ready, gap_name) for r in data.reps]
    debt = assess(facts, data.own_minutes_4w, rules)
    owing = [m for m in debt.owed.values() if m > 0]
    share = f"your 1:1 share {debt.share}%" if debt.share is not None else "no coaching logged"
    lines = [
        f"*Where your next hour goes* · owed over four weeks: {sum(owing)} min across {len(owing)} of "
        f"{len(facts)} reps · {share} (aim for about {rules.one_on_one_share}%)"
    ]
    group = debt.group
    for n, item in enumerate(debt.ranked[:TOP_ITEMS], start=1):
        in_group = group is not None and debt.lean == "group" and item.user_id in group.user_ids
        kind = "the group session below" if in_group else "a 1:1"
        why = "; ".join(item.reasons) or "behind on coaching time"
        baseline = round(rules.weekly_minutes * next(f.weeks for f in facts if f.user_id == item.user_id))
        lines.append(f"{n}. <@{item.user_id}> → {kind}: {why} · owed {item.owed} of {baseline} min")
    if not debt.ranked:
        lines.append("Nothing pressing: every rep has had their coaching time and no cycle is at risk.")
    if group is not None:
        names = ", ".join(f"<@{u}>" for u in group.user_ids[:GROUP_NAMES_SHOWN])
        more = f" and {len(group.user_ids) - GROUP_NAMES_SHOWN} more" if len(group.user_ids) > GROUP_NAMES_SHOWN else ""
        tip = {
            "group": f"; it also brings your 1:1 share ({debt.share}%) down toward {rules.one_on_one_share}%",
            "1:1": f"; keep it short, as your 1:1 share ({debt.share}%) is under {rules.one_on_one_share}%",
        }.get(debt.lean, "")
        tip = tip if debt.share is not None else ""
        lines.append(
            f":busts_in_silhouette: Group session on *{escape_mrkdwn(gap_name(playbook, group.gap))}*: "
            f"{names}{more} share it{tip}."
        )
    return lines
