"""The levers as Slack shows them: leading beside lagging for a manager's reps (a table and a trend
chart), a team's make-up, and the organisation's for admins. Figures are always in the text too, for
notifications and clients that do not draw tables or charts. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.levers.composition import Composition
from bot.levers.lagging import WINDOWS, Reading, ReadingRules, RepRecord, TrendPoint, Verdict, read, trend
from bot.levers.retention import Group
from bot.playbook.models import with_article
from bot.slack import Message
from bot.slack import limits as L
from bot.slack.blocks import chart, context, header, section, table
from bot.slack.text import escape_mrkdwn, truncate

SHORT = {
    Verdict.NOT_SHOWING_UP: "re-diagnose",
    Verdict.FLAT: "environment or seat?",
    Verdict.IMPROVING: "working",
    Verdict.FALLING: "numbers falling",
    Verdict.TOO_EARLY: "needs a quarter",
    Verdict.NO_HISTORY: "too few cycles",
}
TABLE_REPS = L.TABLE_ROWS - 1  # the first row is the header


def _change(value: float | None) -> str:
    return "-" if value is None else f"{value:+g} pts"


def _met(pair: tuple[int, int]) -> str:
    met, closed = pair
    return f"{met}/{closed}" if closed else "-"


def numbers_message(records: Sequence[RepRecord], today: date, rules: ReadingRules) -> Message:
    """Each rep read side by side, and the team's trend."""
    readings = [(r.name, read(r.closed, r.figures, today, rules)) for r in records]
    return lagging_message(readings, trend(records, today))


def lagging_message(readings: Sequence[tuple[str, Reading]], trend: Sequence[TrendPoint]) -> Message:
    """For the manager alone: each rep's leading and lagging side, then the team's trend."""
    rows = [["Rep", *(f"Met {w}w" for w in WINDOWS), "Attainment", "Pipeline quality", "Reading"]]
    lines = []
    for name, r in list(readings)[:TABLE_REPS]:
        rows.append([
            truncate(name, 40), *(_met(r.met[w]) for w in WINDOWS),
            _change(r.attainment_change), _change(r.quality_change), SHORT[r.verdict],
        ])  # fmt: skip
        lines.append(f"• {escape_mrkdwn(truncate(name, 40))}: {SHORT[r.verdict]}. {r.text}")
    blocks: list[dict[str, Any]] = [
        header("Coached behaviors beside the numbers"),
        section(
            "Met = commitments met of those closed in the last 4, 8 and 12 weeks. Attainment and pipeline "
            "quality = change over the last quarter, from the imported figures."
        ),
        table(rows, right_aligned=(1, 2, 3, 4, 5)),
    ]
    if len(readings) > TABLE_REPS:
        blocks.append(context(f"{len(readings) - TABLE_REPS} more reps are in the export (`coachbot export`)."))
    blocks += trend_blocks(trend)
    blocks.append(section(truncate("\n".join(lines), L.SECTION_TEXT)))
    text = "Coached behaviors beside the numbers: " + "; ".join(
        f"{escape_mrkdwn(n)}: {SHORT[r.verdict]}" for n, r in readings
    )  # names are user text: inert in the notification text as in the blocks
    return {"text": truncate(text, 3000), "blocks": blocks[: L.MESSAGE_BLOCKS]}


def trend_blocks(trend: Sequence[TrendPoint]) -> list[dict[str, Any]]:
    """A line chart of the team's share met beside its average figures, one series per measure that
    has a value in every window (a gap would draw a false zero), with the same figures as text."""
    if not trend:
        return []
    measures = {
        "Met %": [p.met_share for p in trend],
        "Attainment %": [p.attainment for p in trend],
        "Pipeline quality %": [p.quality for p in trend],
    }
    complete = {name: [v for v in values if v is not None] for name, values in measures.items()}
    complete = {name: values for name, values in complete.items() if len(values) == len(trend)}
    text = "; ".join(
        f"{p.label}: met {_share(p.met_share)}, attainment {_share(p.attainment)}, quality {_share(p.quality)}"
        for p in trend
    )
    blocks: list[dict[str, Any]] = []
    if complete:
        blocks.append(chart("line", "Team: behaviors met vs numbers", [p.label for p in trend], complete, "percent"))
    return [*blocks, context(truncate(f"Team trend: {text}", L.TEXT_OBJECT))]


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:g}%"


def _mix_chart(team: Composition) -> dict[str, Any] | None:
    kinds = sorted(set(team.mix) | set(team.seats))
    if not kinds:
        return None
    series = {"Reps wired as": [float(team.mix.get(k, 0)) for k in kinds]}
    if team.seats:
        series["Seats needing"] = [float(team.seats.get(k, 0)) for k in kinds]
    return chart("bar", "Archetypes: reps vs seats", kinds, series, "people")


def composition_lines(team: Composition, named: bool) -> list[str]:
    """The make-up in plain lines; `named` only for a viewer who may see these reps."""
    mix = ", ".join(f"{n} {k}" for k, n in team.mix.most_common()) or "no reps"
    seats = ", ".join(f"{n} {k}" for k, n in team.seats.most_common()) or "no seats recorded"
    lines = [f"*Mix*: {mix}. *Seats*: {seats}."]
    if team.mismatches:
        where = "; ".join(f"{rep} ({wired} in {with_article(needs)} seat)" for rep, wired, needs in team.mismatches)
        lines.append(f"*Seat-fit mismatches*: {len(team.mismatches)}" + (f": {where}" if named else ""))
    if team.unknown_seats:
        lines.append(f"*Seats with an archetype this playbook does not know*: {team.unknown_seats}")
    if team.dna:
        spread = ", ".join(f"{s} middle {d.middle:g}, spread {d.width} points" for s, d in team.dna.items())
        lines.append(f"*Sales DNA*: {spread}")
    elif team.size:
        lines.append("*Sales DNA*: shown from five profiles on, so no one's scores can be read off it")
    lines.append(f"*Deal-killer flags*: {team.flagged} rep{'s' if team.flagged != 1 else ''}")
    if team.span_note:
        lines.append(f"*Span*: {team.span_note}")
    for seat, rep in team.single_points:
        lines.append(f"*Single point of failure*: only {rep if named else 'one rep'} is wired for the {seat} seats")
    lines.append(f"*Next hire*: {team.next_hire}")
    return [escape_mrkdwn(line) for line in lines]


def team_message(title: str, team: Composition, named: bool) -> Message:
    blocks: list[dict[str, Any]] = [header(title), section(truncate("\n".join(composition_lines(team, named)), 3000))]
    if (mix := _mix_chart(team)) is not None:
        blocks.append(mix)
    return {"text": f"{title}: {team.size} reps, {len(team.mismatches)} seat-fit mismatches", "blocks": blocks}


@dataclass(frozen=True)
class TeamRow:
    manager: str
    team: Composition


def org_message(
    rows: Sequence[TeamRow], org: Composition, retention: dict[str, list[Group]], org_trend: Sequence[TrendPoint] = ()
) -> Message:
    """For admins: every team in one table, the organisation's mix and trend, and retention by group."""
    table_rows = [["Manager", "Reps", "Span", "Mismatches", "Flags", "Single points"]]
    for row in list(rows)[:TABLE_REPS]:
        t = row.team
        span = "ok" if t.span_note is None else ("over 8" if t.size > 8 else "under 6")
        table_rows.append([truncate(row.manager, 40), str(t.size), span, str(len(t.mismatches)), str(t.flagged),
                           str(len(t.single_points))])  # fmt: skip
    blocks: list[dict[str, Any]] = [
        header("The organisation's make-up"),
        section(truncate("\n".join(composition_lines(org, named=False)), 3000)),
        table(table_rows, right_aligned=(1, 3, 4, 5)),
    ]
    if len(rows) > TABLE_REPS:
        blocks.append(context(f"{len(rows) - TABLE_REPS} more teams are not in the table (Slack shows 100 rows)."))
    if (mix := _mix_chart(org)) is not None:
        blocks.append(mix)
    blocks += trend_blocks(org_trend)
    for kind, groups in retention.items():
        lines = "\n".join(f"• {escape_mrkdwn(g.line)}" for g in groups) or "• nobody yet"
        blocks.append(section(truncate(f"*Retention by {kind}*\n{lines}", 3000)))
    blocks.append(context("Groups of fewer than five people are not shown, so no figure points at one person."))
    text = f"The organisation: {org.size} reps in {len(rows)} teams, {len(org.mismatches)} seat-fit mismatches"
    return {"text": text, "blocks": blocks[: L.MESSAGE_BLOCKS]}
