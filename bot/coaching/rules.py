"""The Diagnose and Prescribe rules, as pure functions over the playbook. No Slack, no SQL."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from bot.playbook.models import Playbook, with_article
from bot.playbook.wiring import seat_fit_risk

NEXT_STEP = {
    "coaching_gap": "prescribe",
    "seat_fit": "seat_conversation",
    "environmental_drag": "escalate",
    "motivation": "conversation",
}
BEHAVIOR_MIN, BEHAVIOR_MAX = 15, 300
EVIDENCE_MIN, EVIDENCE_MAX = 10, 2000
HOW_MIN, HOW_MAX = 5, 300
TARGET_MIN, TARGET_MAX = 1, 50
WINDOW_MIN, WINDOW_MAX, WINDOW_DEFAULT = 1, 30, 7
GENERAL_GAP = "general"  # a commitment prescribed with no specific gap
# A counted milestone of a 30/60/90 plan is a commitment on "onboarding:<milestone id>": not a
# diagnosed gap, and its own one, since a rep has one active commitment per gap.
ONBOARDING_GAP = "onboarding"


def milestone_gap(milestone_id: int) -> str:
    return f"{ONBOARDING_GAP}:{milestone_id}"


def coached_gap(gap: str) -> bool:
    """A gap someone was coached on: neither the general focus nor a plan's milestone. Only these
    can stall, and only these can be the subject of a PIP."""
    return gap != GENERAL_GAP and not gap.startswith(f"{ONBOARDING_GAP}:")


@dataclass(frozen=True)
class HistoryItem:
    when: date
    kind: str  # diagnosis | commitment
    summary: str  # plain words, user text not yet escaped
    outcome: str


@dataclass(frozen=True)
class RepWiring:
    """What the rules need to know about a rep; archetype None means no profile yet."""

    archetype: str | None = None
    seat_archetype: str | None = None
    deal_killers: tuple[str, ...] = ()
    gaps: tuple[str, ...] = ()


# Performance conversations open with the data when coaching resistance is flagged; a motivation
# or life-event conversation opens with the person instead.
DATA_FIRST_CAUSES = frozenset({"coaching_gap", "seat_fit", "environmental_drag"})


@dataclass(frozen=True)
class Brief:
    cause: str
    cause_name: str
    hypothesis: str
    opening_question: str
    data_first: bool
    move: str
    next_step: str
    pushback: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    drill: str | None = None
    escalate_to: list[str] = field(default_factory=list)
    # the manager's own pick, still on offer as a secondary option when the brief leads elsewhere
    fallback_step: str | None = None


def _prompt_values(playbook: Playbook, wiring: RepWiring, traits: str = "") -> dict[str, str]:
    arch = playbook.archetype_name(wiring.archetype) if wiring.archetype else "unknown"
    seat = playbook.archetype_name(wiring.seat_archetype)
    return {
        "archetype": arch,
        "seat_archetype": seat,
        "a_archetype": with_article(arch),
        "a_seat_archetype": with_article(seat),
        "traits": traits,
    }


def build_brief(
    playbook: Playbook, cause: str, wiring: RepWiring, gap: str | None = None, drag: str | None = None
) -> Brief:
    """The coaching brief for one rep and one chosen root cause, pushing back where the data disagrees.

    A "skill" pick on a rep whose wiring does not fit the seat, or who has a deal-killer trait
    flagged, is turned into a seat conversation: no drill, and prescribing is only a fallback.
    """
    spec = playbook.causes[cause]
    brief_text = spec.brief_for(wiring.archetype)
    prompts = playbook.prompts
    pushback: list[str] = []
    if cause == "coaching_gap":
        if seat_fit_risk(wiring.archetype, wiring.seat_archetype):
            pushback.append(prompts.pushback_seat_fit.format(**_prompt_values(playbook, wiring)))
        killers = [playbook.deal_killers[k].name for k in wiring.deal_killers if k in playbook.deal_killers]
        if killers:
            pushback.append(prompts.pushback_deal_killer.format(**_prompt_values(playbook, wiring, ", ".join(killers))))
    seat_first = bool(pushback)
    data_first = "coaching_resistance" in wiring.deal_killers and cause in DATA_FIRST_CAUSES
    notes: list[str] = []
    if wiring.archetype is None:
        notes.append(prompts.no_profile)
    if cause == "seat_fit" or seat_first:
        notes.append(prompts.seat_conversation)
    if cause == "motivation":
        notes.append(prompts.pause_offer)
    drill = None
    if cause == "coaching_gap" and not seat_first and gap and gap in playbook.gaps:
        drill = playbook.gaps[gap].drill_for(wiring.archetype)
    escalate_to: list[str] = []
    if cause == "environmental_drag":
        if drag and drag in playbook.escalation_owners:
            escalate_to = [playbook.escalation_owners[drag]]
        else:
            escalate_to = list(playbook.escalation_owners.values())
    return Brief(
        cause=cause,
        cause_name=spec.name,
        hypothesis=brief_text.hypothesis,
        opening_question=prompts.data_first_opening if data_first else brief_text.opening_question,
        data_first=data_first,
        move=playbook.causes["seat_fit"].move if seat_first else spec.move,
        next_step=NEXT_STEP["seat_fit"] if seat_first else NEXT_STEP[cause],
        pushback=pushback,
        notes=notes,
        drill=drill,
        escalate_to=escalate_to,
        fallback_step=NEXT_STEP[cause] if seat_first else None,
    )


def _as_int(text: str | None) -> int | None:
    if text is None or not re.fullmatch(r"\s*-?\d{1,6}\s*", str(text)):
        return None
    return int(text)


@dataclass(frozen=True)
class CommitmentDraft:
    behavior: str
    target_count: int
    window_days: int
    practice_format: str
    evidence: str


def check_commitment(
    playbook: Playbook,
    behavior: str | None,
    target: str | None,
    window: str | None,
    practice_format: str | None,
    evidence: str | None,
) -> tuple[CommitmentDraft | None, dict[str, str]]:
    """Validate a prescription. Returns (draft, {}) or (None, {field: reason}) for Slack's field errors."""
    errors: dict[str, str] = {}
    behavior = " ".join((behavior or "").split())
    lowered = behavior.lower()
    vague = next((p for p in playbook.prompts.vague_phrases if re.search(rf"\b{re.escape(p)}\b", lowered)), None)
    if len(behavior) < BEHAVIOR_MIN:
        errors["behavior"] = (
            "Describe one specific behavior someone could count, e.g. 'discovery calls with no pitch before minute 12'."
        )
    elif len(behavior) > BEHAVIOR_MAX:
        errors["behavior"] = f"Keep it to one behavior in {BEHAVIOR_MAX} characters or fewer (this is {len(behavior)})."
    elif vague:
        errors["behavior"] = f"'{vague}' can't be counted. Name the action and where it shows up instead."
    elif not behavior.isprintable():
        errors["behavior"] = "There is a character here that can't be shown; retype the behavior."
    count = _as_int(target)
    if count is None:
        errors["target"] = "Give a whole number: how many times should the behavior show up?"
    elif not TARGET_MIN <= count <= TARGET_MAX:
        errors["target"] = f"Pick a count between {TARGET_MIN} and {TARGET_MAX}."
    days = _as_int(window) if window not in (None, "") else WINDOW_DEFAULT
    if days is None or not WINDOW_MIN <= days <= WINDOW_MAX:
        errors["window"] = f"The window is {WINDOW_MIN} to {WINDOW_MAX} days (a week is the usual rhythm)."
    if practice_format not in playbook.practice_formats:
        errors["format"] = "Pick how the rep will practise it."
    how = " ".join((evidence or "").split())
    if len(how) < HOW_MIN:
        errors["evidence"] = "Say how it will be evidenced, e.g. 'recordings shared in the team channel'."
    elif len(how) > HOW_MAX:
        errors["evidence"] = f"Keep this to {HOW_MAX} characters or fewer (this is {len(how)})."
    elif not how.isprintable():
        errors["evidence"] = "There is a character here that can't be shown; retype it."
    if errors:
        return None, errors
    assert count is not None and days is not None and practice_format is not None
    return CommitmentDraft(behavior, count, days, practice_format, how), {}


def check_evidence(text: str | None) -> str | None:
    """The reason diagnosis evidence is not usable, or None."""
    text = (text or "").strip()
    if len(text) < EVIDENCE_MIN:
        return "Write what you saw, in a sentence or two (numbers help), so the diagnosis can be checked later."
    if len(text) > EVIDENCE_MAX:
        return f"Keep the evidence to {EVIDENCE_MAX} characters or fewer (this is {len(text)})."
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in "".join(text.split())):
        # line breaks are fine; NUL (PostgreSQL refuses it), terminal escapes and lone surrogates are not
        return "There is a character here that can't be shown; retype the evidence."
    return None
