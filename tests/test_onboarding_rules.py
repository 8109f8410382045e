"""The 30/60/90 plan rules, and the playbook's onboarding section they read."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.onboarding.rules import (
    PHASE_ENDS,
    PLAN_DAYS,
    MilestoneDraft,
    PlanStatus,
    behind_reason,
    draft_plan,
    parse_milestones,
    phase_of,
    plan_day,
    plan_status,
    ramp_percentile,
)
from bot.playbook.models import Playbook, PlaybookError, load_playbook, parse_playbook

DEFAULT_YML = Path(__file__).resolve().parent.parent / "bot" / "playbook" / "default.yml"
EIGHT_DAYS = {1: [4, 8, 12, 15, 19, 23, 27, 30], 2: [34, 38, 42, 45, 49, 53, 57, 60]}


def _default_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_YML.read_text(encoding="utf-8"))
    return data


def _titles(drafts: list[MilestoneDraft], phase: int) -> list[str]:
    return [d.title for d in drafts if d.phase == phase]


def _days(drafts: list[MilestoneDraft], phase: int) -> list[int]:
    return [d.due_day for d in drafts if d.phase == phase]


@pytest.fixture(scope="module")
def default_pb() -> Playbook:
    return load_playbook()


def _small_playbook(onboarding: dict[str, Any] | None) -> Playbook:
    """Two archetypes of its own and two gaps; `onboarding` None leaves the section out."""
    data = _default_data()
    data["archetypes"] = {
        "hunter": {**data["archetypes"]["engine"], "name": "Hunter"},
        "farmer": {**data["archetypes"]["root"], "name": "Farmer"},
    }
    data["gaps"] = {key: data["gaps"][key] for key in ("discovery", "closing")}
    for gap in data["gaps"].values():
        gap["drills"] = {"default": gap["drills"]["default"]}
    for cause in data["causes"].values():
        cause["briefs"] = {"default": cause["briefs"]["default"]}
    data.pop("onboarding")
    if onboarding is not None:
        data["onboarding"] = onboarding
    return parse_playbook(data, "small.yml")


SMALL_PLAN = {
    "phases": [
        {"name": "Watch", "focus": "See it done.", "milestones": ["Shadow two calls"]},
        {"name": "Try", "focus": "Do it, observed.", "milestones": ["Run a call with me listening", "Debrief it"]},
        {"name": "Own", "focus": "Carry the number.", "milestones": ["Own three deals"]},
    ],
    "by_archetype": {"hunter": {"2": ["Hunter call block"]}, "default": {1: ["Say what energizes you"]}},
    "by_gap": {"discovery": {1: ["Discovery drill", "shadow TWO calls"], 3: ["Own discovery on every deal"]}},
}


# --- days and phases -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "phase"), [(-5, None), (0, None), (1, 1), (30, 1), (31, 2), (60, 2), (61, 3), (90, 3), (91, None)]
)
def test_phase_boundaries(day: int, phase: int | None) -> None:
    assert phase_of(day) == phase


def test_plan_day_counts_the_start_as_day_one() -> None:
    start = date(2025, 3, 1)
    assert (PLAN_DAYS, PHASE_ENDS) == (90, (30, 60, 90))
    assert plan_day(start, date(2025, 3, 1)) == 1
    assert plan_day(start, date(2025, 3, 30)) == 30
    assert plan_day(start, date(2025, 3, 31)) == 31
    assert plan_day(start, date(2025, 5, 29)) == 90
    assert plan_day(start, date(2025, 5, 30)) == 91
    assert phase_of(plan_day(start, date(2025, 5, 30))) is None


def test_a_future_start_is_before_the_plan() -> None:
    day = plan_day(date(2025, 3, 10), date(2025, 3, 1))
    assert day == -8
    assert phase_of(day) is None
    assert plan_status([(10, False)], day) == PlanStatus(due=0, done=0, behind=False)


# --- the draft plan --------------------------------------------------------------------------------


def test_default_playbook_has_onboarding_content_for_every_archetype_and_gap(default_pb: Playbook) -> None:
    content = default_pb.onboarding
    assert [p.name for p in content.phases] == ["Absorb and observe", "Supervised execution", "Accountability"]
    assert set(content.by_archetype) == {*default_pb.archetypes, "default"}
    assert set(content.by_gap) == set(default_pb.gaps)
    for table in (*content.by_archetype.values(), *content.by_gap.values()):
        assert set(table) == {1, 2, 3}


@pytest.mark.parametrize(
    ("archetype", "own_first"),
    [
        ("engine", "Sit in on a top rep's full call block and count the conversations it produces"),
        ("root", "Join a renewal or expansion meeting and map who the customer trusts and why"),
        ("grandmaster", "Study one won and one lost complex deal and present what decided each"),
        (None, "Tell your manager which parts of the role give you energy and which wear you down"),
        ("oracle", "Tell your manager which parts of the role give you energy and which wear you down"),
    ],
)
def test_draft_for_each_archetype_with_one_gap(default_pb: Playbook, archetype: str | None, own_first: str) -> None:
    drafts = draft_plan(default_pb, archetype, ["discovery", "no_such_gap"])
    content = default_pb.onboarding
    assert _titles(drafts, 1) == [
        *content.phases[0].milestones,
        own_first,
        "3× Listen to a recorded discovery call and list the questions that uncovered cost and decision makers",
    ]
    assert _days(drafts, 1) == [6, 12, 18, 24, 30]
    assert _days(drafts, 2) == [36, 42, 48, 54, 60]
    assert _days(drafts, 3) == [66, 72, 78, 84, 90]
    assert _titles(drafts, 3)[-1] == "Show on three of your own deals that you know the problem, its cost and who signs"


def test_every_archetype_gets_a_full_plan_within_limits(default_pb: Playbook) -> None:
    every_gap = list(default_pb.gaps)
    for archetype in default_pb.archetypes:
        for gaps in ([], every_gap):
            drafts = draft_plan(default_pb, archetype, gaps)
            assert [d.phase for d in drafts] == sorted(d.phase for d in drafts)
            for phase in (1, 2, 3):
                titles = _titles(drafts, phase)
                assert 4 <= len(titles) <= 8 and len(set(titles)) == len(titles)
                assert all(0 < len(t) <= 150 and "\n" not in t for t in titles)
                assert _days(drafts, phase)[-1] == PHASE_ENDS[phase - 1]
                assert all(phase_of(d.due_day) == phase for d in drafts if d.phase == phase)
        assert len(draft_plan(default_pb, archetype, [])) == 12  # three phase milestones and one of its own


def test_too_many_milestones_keep_the_gap_ones(default_pb: Playbook) -> None:
    gaps = list(default_pb.gaps)
    drafts = draft_plan(default_pb, "engine", [*reversed(gaps), "discovery"])
    by_gap = default_pb.onboarding.by_gap
    for phase in (1, 2):
        generic = default_pb.onboarding.phases[phase - 1].milestones[:2]
        assert _titles(drafts, phase) == [*generic, *(by_gap[g][phase][0] for g in reversed(gaps))]
        assert _days(drafts, phase) == EIGHT_DAYS[phase]


def test_custom_playbook_draft() -> None:
    pb = _small_playbook(SMALL_PLAN)
    # hunter has extras of its own (phase 2 only), so `default`'s do not apply; "shadow TWO calls" repeats
    # a phase milestone and is kept once, where it first appears; closing has no extras in this playbook
    assert draft_plan(pb, "hunter", ["closing", "discovery", "discovery"]) == [
        MilestoneDraft(1, "Shadow two calls", 15),
        MilestoneDraft(1, "Discovery drill", 30),
        MilestoneDraft(2, "Run a call with me listening", 40),
        MilestoneDraft(2, "Debrief it", 50),
        MilestoneDraft(2, "Hunter call block", 60),
        MilestoneDraft(3, "Own three deals", 75),
        MilestoneDraft(3, "Own discovery on every deal", 90),
    ]
    assert draft_plan(pb, "farmer", []) == [
        MilestoneDraft(1, "Shadow two calls", 15),
        MilestoneDraft(1, "Say what energizes you", 30),
        MilestoneDraft(2, "Run a call with me listening", 45),
        MilestoneDraft(2, "Debrief it", 60),
        MilestoneDraft(3, "Own three deals", 90),
    ]


def test_custom_playbook_without_onboarding_gets_the_default_plan(default_pb: Playbook) -> None:
    pb = _small_playbook(None)
    content, shipped = pb.onboarding, default_pb.onboarding
    assert content.phases == shipped.phases
    assert content.by_archetype == {"default": shipped.by_archetype["default"]}
    assert content.by_gap == {"discovery": shipped.by_gap["discovery"], "closing": shipped.by_gap["closing"]}
    assert [len(_titles(draft_plan(pb, "hunter", ["closing"]), p)) for p in (1, 2, 3)] == [5, 5, 5]


# --- the manager's edits ---------------------------------------------------------------------------


def test_parse_milestones_drops_blanks_and_bullets() -> None:
    text = "- Shadow two calls\n\n•  Read the   pricing page \n   \nOwn a deal\n-\n"
    assert parse_milestones(text, 2) == (
        [
            MilestoneDraft(2, "Shadow two calls", 40),
            MilestoneDraft(2, "Read the pricing page", 50),
            MilestoneDraft(2, "Own a deal", 60),
        ],
        None,
    )
    eight = "\n".join(f"Step {n}" for n in range(1, 9))
    drafts, problem = parse_milestones(eight, 1)
    assert problem is None and [d.due_day for d in drafts] == EIGHT_DAYS[1]
    assert parse_milestones("x" * 150, 3) == ([MilestoneDraft(3, "x" * 150, 90)], None)
    assert parse_milestones("-5 calls a day", 1) == ([MilestoneDraft(1, "-5 calls a day", 30)], None)


@pytest.mark.parametrize(
    ("text", "phase", "problem"),
    [
        ("", 1, "Phase 1 needs at least one milestone, one per line."),
        ("\n  \n- \n•\n", 2, "Phase 2 needs at least one milestone, one per line."),
        ("\n".join(f"Step {n}" for n in range(9)), 1, "Phase 1 has 9 milestones; keep it to 8 or fewer."),
        ("Fine\n" + "y" * 151, 3, "Phase 3, milestone 2 is 151 characters; shorten it to 150 or fewer."),
        ("Own a deal\nRead\n- own A  deal", 1, "Phase 1, milestone 3 repeats milestone 1."),
    ],
)
def test_parse_milestones_refuses(text: str, phase: int, problem: str) -> None:
    assert parse_milestones(text, phase) == ([], problem)


def test_parse_milestones_needs_a_real_phase() -> None:
    with pytest.raises(ValueError, match="phase must be 1, 2 or 3, not 4"):
        parse_milestones("Own a deal", 4)


# --- progress --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "status"),
    [
        (9, PlanStatus(due=0, done=0, behind=False)),
        (10, PlanStatus(due=1, done=1, behind=False)),
        (29, PlanStatus(due=2, done=1, behind=True)),
        (95, PlanStatus(due=4, done=2, behind=True)),
    ],
)
def test_plan_status(day: int, status: PlanStatus) -> None:
    assert plan_status([(10, True), (20, False), (30, True), (40, False)], day) == status


def test_plan_status_counts_only_what_is_due() -> None:
    assert plan_status([(10, False), (20, True)], 15) == PlanStatus(due=1, done=0, behind=True)
    assert plan_status([(10, True), (20, True)], 20) == PlanStatus(due=2, done=2, behind=False)
    assert plan_status([], 50) == PlanStatus(due=0, done=0, behind=False)


SEAT = (
    "Their wiring does not match what this seat asks for, so extra drills will not close the gap. "
    "Talk about the seat before adding to the plan."
)
TRAIT = (
    "Their assessment flags a trait that weekly coaching rarely shifts. Treat the slip as a question "
    "about the seat, not a reason for more drills."
)
DRAG = (
    "The last diagnosis found something outside their control holding them back. Escalate it to the "
    "leader who owns it rather than adding milestones."
)
PERSONAL = (
    "The last diagnosis pointed to something personal. Make time for an honest conversation before asking for more."
)
SKILL = (
    "A skill is still missing. Narrow the next commitment to one small behavior they can show this week, "
    "and practise it first."
)
UNKNOWN = "Nothing on record explains it yet. Diagnose them before changing the plan."


@pytest.mark.parametrize(
    ("cause", "seat_risk", "killers", "reason"),
    [
        ("coaching_gap", True, [], SEAT),
        ("seat_fit", False, [], SEAT),
        ("motivation", False, ["commission_breath"], TRAIT),
        (None, False, ["coaching_resistance"], TRAIT),
        ("environmental_drag", False, [], DRAG),
        ("motivation", False, [], PERSONAL),
        ("coaching_gap", False, [], SKILL),
        (None, False, [], UNKNOWN),
        ("weather", False, [], UNKNOWN),
    ],
)
def test_behind_reason(cause: str | None, seat_risk: bool, killers: list[str], reason: str) -> None:
    assert behind_reason(cause, seat_risk, killers) == reason


@pytest.mark.parametrize(
    ("value", "peers", "percentile"),
    [
        (5, [], None),
        (5, [1, 9], None),
        (2, [1, 2, 3], 50),
        (4, [1, 2, 3], 100),
        (0, [1, 2, 3], 0),
        (1, [1, 2, 3], 17),
        (2, [1, 2, 3, 4], 38),
        (7, list(range(1, 11)), 65),
        (5, [5, 5, 5, 5, 1, 1, 9, 9, 9, 9], 40),
        (3, [3, 3, 3], 50),
    ],
)
def test_ramp_percentile(value: int, peers: list[int], percentile: int | None) -> None:
    assert ramp_percentile(value, peers) == percentile


# --- a broken onboarding section -------------------------------------------------------------------


def test_every_onboarding_problem_is_one_line_naming_the_key(tmp_path: Path) -> None:
    data = _default_data()
    section = data["onboarding"]
    section["phases"][0]["milestones"].append("m" * 151)
    section["phases"][1]["milestones"] = []
    section["phases"][2].pop("name")
    section["by_archetype"]["wizard"] = {1: ["Cast a spell"]}
    section["by_gap"]["luck"] = {2: ["Be lucky"]}
    section["by_gap"]["discovery"][4] = ["A fourth phase"]
    section["by_gap"]["closing"] = {"x": ["Nope"]}
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(PlaybookError) as err:
        load_playbook(str(path))
    assert err.value.problems == [
        "onboarding.phases.0.milestones.3: 151 characters, at most 150 allowed",
        "onboarding.phases.1.milestones: list 1 to 8 milestones, one per item (found 0)",
        "onboarding.phases.2.name: missing or empty text",
        "onboarding.by_gap.closing.x: phase numbers are 1, 2 and 3",  # the file's order (safe_dump sorts keys)
        "onboarding.by_gap.discovery.4: phase numbers are 1, 2 and 3",
        "onboarding.by_archetype.wizard: 'wizard' is not an archetype in this playbook",
        "onboarding.by_gap.luck: 'luck' is not a gap in this playbook",
    ]
    assert (
        str(err.value).splitlines()[0]
        == f"playbook {path}: onboarding.phases.0.milestones.3: 151 characters, at most 150 allowed"
    )


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (
            lambda s: s["phases"].pop(),
            "onboarding.phases: list exactly three phases, in order: days 1-30, 31-60, 61-90 (found 2)",
        ),
        (
            lambda s: s["phases"][2].update(milestones=["a"] * 9),
            "onboarding.phases.2.milestones: list 1 to 8 milestones, one per item (found 9)",
        ),
        (
            lambda s: s["phases"][0].update(colour="red"),
            "onboarding.phases.0.colour: unknown key; use name, focus, milestones",
        ),
        (
            lambda s: s["phases"][1].update(focus="f" * 151),
            "onboarding.phases.1.focus: 151 characters, at most 150 allowed",
        ),
        (lambda s: s["phases"][1].pop("milestones"), "onboarding.phases.1.milestones: missing (must be a list)"),
        (lambda s: s.update(by_team={}), "onboarding.by_team: unknown key; use phases, by_archetype, by_gap"),
        (lambda s: s["by_gap"].update(discovery={}), "onboarding.by_gap.discovery: must be a non-empty mapping"),
        (lambda s: s["by_gap"].update(discovery={1: "One line"}), "onboarding.by_gap.discovery.1: must be a list"),
        (lambda s: s["by_archetype"].update({"Bad Key": {1: ["x"]}}), "onboarding.by_archetype.Bad Key: keys must be"),
        (lambda s: s.pop("phases"), "onboarding.phases: missing (must be a list)"),
    ],
)
def test_a_bad_onboarding_section_names_the_key(mutate: Any, problem: str) -> None:
    data = _default_data()
    mutate(data["onboarding"])
    with pytest.raises(PlaybookError) as err:
        parse_playbook(data, "bad.yml")
    assert len(err.value.problems) == 1
    assert err.value.problems[0].startswith(problem)


def test_phase_numbers_may_be_text_and_titles_become_one_line() -> None:
    data = _default_data()
    data["onboarding"]["by_gap"]["discovery"] = {"2": ["Ask   about\ncost first"]}
    pb = parse_playbook(copy.deepcopy(data), "ok.yml")
    assert pb.onboarding.by_gap["discovery"] == {2: ["Ask about cost first"]}
