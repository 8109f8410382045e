"""One PIP's evidence pack as a Markdown file (`coachbot export --pip ID FILE.md`), for the record a
PIP should leave: what was diagnosed, what was asked each week, what showed up, and the coaching given."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from bot.pip.rules import OUTCOMES, EvidencePack, review_dates
from bot.pip.service import card, evidence_of, pip_with_rep
from bot.pip.views import Card
from bot.playbook.models import Playbook

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md(text: str) -> str:
    """User text made inert in Markdown: one line, no HTML, no emphasis, links or tables."""
    flat = " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", flat)


@dataclass(frozen=True)
class Closure:
    outcome: str
    note: str
    by: str
    on: str


def _plan_lines(plan: Card, status: str, closure: Closure | None) -> list[str]:
    reviews = ", ".join(d.isoformat() for d in review_dates(plan.starts_on, plan.weeks))
    lines = [
        f"- Rep: {plan.rep_id}",
        f"- Manager (support promised by): {plan.manager_id}",
        f"- Gap: {md(plan.gap_name)}",
        f"- Weekly target: {md(plan.behavior)}, {plan.weekly_count} times a week",
        f"- Support: {plan.sessions_per_week} coaching session(s) a week",
        f"- Runs: {plan.starts_on.isoformat()} to {plan.ends_on.isoformat()} ({plan.weeks} weeks)",
        f"- Reviews: {reviews}",
        f"- Status: {status}",
    ]
    if closure is not None:
        lines.append(f"- Ended {closure.on} by {closure.by}: {closure.outcome} ({OUTCOMES[closure.outcome]})")
        if closure.note:
            lines.append(f"- Note: {md(closure.note)}")
    return lines


def pack_markdown(plan: Card, status: str, closure: Closure | None, pack: EvidencePack, playbook: Playbook) -> str:
    """The whole document; pure, so the tests read exactly what the file holds."""
    out = [f"# PIP {plan.id}: {md(plan.gap_name)}", "", *_plan_lines(plan, status, closure), "", "## Diagnoses"]
    for d in pack.diagnoses:
        cause = playbook.causes[d.cause].name if d.cause in playbook.causes else d.cause
        out += ["", f"### {d.on.isoformat()}: {md(cause)}", "", f"Evidence: {md(d.evidence)}"]
        out += [f"- Push-back shown: {md(p)}" for p in d.pushback]
    if not pack.diagnoses:
        out += ["", "None on record."]
    out += ["", f"## Commitments ({pack.met} met, {pack.missed} missed)"]
    for c in pack.commitments:
        out += [
            "",
            f"### {c.starts_on.isoformat()} to {c.ends_on.isoformat()}: {c.status}",
            "",
            f"Behavior: {md(c.behavior)} (target {c.target}, logged {c.logged})",
        ]
        for log in c.check_ins:
            what = "blocked" if log.blocked else f"+{log.count}"
            out.append(f"- {log.on.isoformat()}: {what}" + (f", {md(log.note)}" if log.note else ""))
        if not c.check_ins:
            out.append("- No check-ins.")
    if not pack.commitments:
        out += ["", "None on record."]
    out += ["", "## Coaching minutes a week over those cycles", "", "| week of | minutes |", "| --- | --- |"]
    out += [f"| {w.starts_on.isoformat()} | {w.minutes} |" for w in pack.weeks]
    out += ["", "_Visible only to the rep, their manager and Coachbot admins._", ""]
    return "\n".join(out)


class NotFound(Exception):
    """No PIP with that id in that workspace."""


@dataclass(frozen=True)
class Document:
    """One PIP's evidence pack as Markdown, and where its canvas stands."""

    plan: Card
    markdown: str
    canvas_state: str | None
    canvas_id: str | None


def document_of(session: Session, team_id: str, pip_id: int, playbook: Playbook) -> Document | None:
    """The evidence pack of this workspace's PIP `pip_id`; None when there is no such PIP here."""
    found = pip_with_rep(session, team_id, pip_id)
    if found is None:
        return None
    pip, person = found
    assert person.id is not None
    plan = card(pip, person.slack_user_id, playbook)
    closure = None
    if pip.status != "active" and pip.status in OUTCOMES:
        on = pip.closed_at.date().isoformat() if pip.closed_at else "?"
        closure = Closure(pip.status, pip.close_note or "", pip.closed_by or "?", on)
    pack = evidence_of(session, team_id, person.id, pip.gap)
    markdown = pack_markdown(plan, pip.status, closure, pack, playbook)
    return Document(plan, markdown, pip.canvas_state, pip.canvas_id)


def export_pip(session: Session, team_id: str, pip_id: int, path: str, playbook: Playbook) -> Card:
    """Write the PIP's evidence pack to `path`; NotFound when it is not this workspace's."""
    document = document_of(session, team_id, pip_id, playbook)
    if document is None:
        raise NotFound(pip_id)
    Path(path).write_text(document.markdown, encoding="utf-8")
    return document.plan
