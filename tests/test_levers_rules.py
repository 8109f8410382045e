"""The three levers' pure rules: reading a metrics file, leading beside lagging, team composition and
retention. No database, no Slack."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import pytest

from bot.levers.composition import Member, compose, span_note
from bot.levers.lagging import Figure, ReadingRules, Verdict, change_over_quarter, read
from bot.levers.metrics_file import LAYOUT, Period, check_rows, parse_period
from bot.levers.retention import MIN_GROUP, Tenure, retention
from bot.playbook.models import Playbook
from bot.roster.import_rows import ImportRejected, parse_rows

TODAY = date(2026, 12, 6)  # a Sunday
ROSTER = {"UREP1": 1, "riley@example.com": 1, "UREP2": 2}


def _rows(text: str, json_format: bool = False) -> list:
    return parse_rows(text, json_format, LAYOUT)


def _check(text: str, json_format: bool = False):
    return check_rows(_rows(text, json_format), ROSTER.get, TODAY)


def _problems(text: str, json_format: bool = False) -> list[str]:
    with pytest.raises(ImportRejected) as err:
        _check(text, json_format)
    return err.value.errors


# --- the metrics file ----------------------------------------------------------------------------


def test_periods() -> None:
    assert parse_period("2026-W45") == Period("week", date(2026, 11, 2))
    assert parse_period("2026-11") == Period("month", date(2026, 11, 1))
    assert (
        Period("week", date(2026, 11, 2)).label == "2026-W45" and Period("month", date(2026, 11, 1)).label == "2026-11"
    )
    for bad in ("2026-W54", "2026-13", "2026-00", "26-11", "2026-11-01", "W45"):
        assert parse_period(bad) is None, bad


def test_a_clean_file_with_figures_and_events() -> None:
    rows = _check(
        "rep,period,quota_attainment,pipeline_created,pipeline_quality,event,event_date,exit_type\n"
        "UREP1,2026-W45,87.5,12000,64,,,\n"
        "riley@example.com,2026-10,102,,,,,\n"
        "UREP2,,,,,exit,2026-11-20,voluntary\n"
        "UREP2,2026-W46,40,,,start,2025-01-15,\n"
    )
    assert [(r.person_id, r.period, r.figures) for r in rows[:2]] == [
        (
            1,
            Period("week", date(2026, 11, 2)),
            {"quota_attainment": 87.5, "pipeline_created": 12000.0, "pipeline_quality": 64.0},
        ),
        (1, Period("month", date(2026, 10, 1)), {"quota_attainment": 102.0}),
    ]
    assert (rows[2].event, rows[2].event_date, rows[2].exit_type, rows[2].period) == (
        "exit",
        date(2026, 11, 20),
        "voluntary",
        None,
    )
    assert (rows[3].event, rows[3].figures) == ("start", {"quota_attainment": 40.0})


def test_json_numbers_are_figures_but_true_false_is_not() -> None:
    rows = _check('{"metrics": [{"rep": "UREP1", "period": "2026-W45", "quota_attainment": 91}]}', True)
    assert rows[0].figures == {"quota_attainment": 91.0}
    problems = _problems('[{"rep": "UREP1", "period": "2026-W45", "quota_attainment": true}]', True)
    assert problems == ["row 1: quota_attainment must be a single value"]


def test_every_problem_is_listed_by_row_and_nothing_is_kept() -> None:
    problems = _problems(
        "rep,period,quota_attainment,pipeline_created,pipeline_quality,event,event_date,exit_type\n"
        "UNOBODY,2026-W45,80,,,,,\n"  # 1 not on the roster
        "UREP1,2026-W99,80,,,,,\n"  # 2 no such week
        "UREP1,2027-01,80,,,,,\n"  # 3 in the future
        "UREP1,2026-W40,1e3,,,,,\n"  # 4 not a plain number
        "UREP1,2026-W41,,,101,,,\n"  # 5 quality over 100
        "UREP1,2026-W42,,,,,,\n"  # 6 a period with no figures
        "UREP1,,77,,,,,\n"  # 7 figures without a period
        "UREP1,,,,,exit,2026-11-01,\n"  # 8 an exit without its type
        "UREP1,,,,,start,2026-11-01,voluntary\n"  # 9 a start with an exit type
        "UREP1,,,,,promotion,2026-11-01,\n"  # 10 not an event
        ",2026-W43,50,,,,,\n"  # 11 no rep
        "UREP2,2026-W44,50,,,,,\n"  # 12 fine
        "UREP2,2026-W44,60,,,,,\n"  # 13 repeats 12
        "UREP2,,,,,,,\n"  # 14 nothing at all
    )
    assert problems == [
        "row 1: rep UNOBODY is not on this workspace's roster; import the roster first",
        "row 2: period '2026-W99' is not a week like 2026-W45 or a month like 2026-11",
        "row 3: period 2027-01 has not started yet",
        "row 4: quota_attainment '1e3' is not a plain number like 87.5",
        "row 5: pipeline_quality must be between 0 and 100",
        "row 6: period 2026-W42 has no figures: give at least one of "
        "quota_attainment, pipeline_created, pipeline_quality",
        "row 7: figures need the period they are for",
        "row 8: an exit needs exit_type voluntary or involuntary",
        "row 9: exit_type belongs to exit events only",
        "row 10: event 'promotion' is not one of: start, exit",
        "row 11: rep is empty",
        "row 13: repeats row 12 (same rep and period)",
        "row 14: nothing to import: give a period with figures, an event, or both",
    ]


def test_file_level_checks_are_the_roster_imports() -> None:
    with pytest.raises(ImportRejected) as err:
        _rows("rep,period,quota,xoxb-123-secret\nUREP1,2026-W45,1,2\n")
    assert err.value.errors[0].startswith("unknown column(s): quota, 1 more not shown")
    assert "xoxb" not in " ".join(err.value.errors)
    with pytest.raises(ImportRejected) as err:
        _rows("period\n2026-W45\n")
    assert err.value.errors == ["missing column(s): rep"]
    with pytest.raises(ImportRejected) as err:
        _rows('{"people": []}', True)
    assert err.value.errors == ["JSON must be a list of objects, or an object with a 'metrics' list"]


def test_a_token_in_a_cell_is_never_echoed() -> None:
    problems = _problems("rep,period,quota_attainment\nxoxb-1234-abcd,2026-W45,1\n")
    assert problems == ["row 1: rep is neither a Slack user id (U…) nor an email"] or "xoxb" not in problems[0]


# --- leading beside lagging ----------------------------------------------------------------------

RULES = ReadingRules()


def _weekly(values: Sequence[float | None], quality: Sequence[float | None] | None = None) -> list[Figure]:
    """Weekly figures ending this week, oldest first."""
    monday = TODAY - timedelta(days=TODAY.weekday())
    start = monday - timedelta(weeks=len(values) - 1)
    quality = quality or [None] * len(values)
    return [Figure(start + timedelta(weeks=i), a, q) for i, (a, q) in enumerate(zip(values, quality, strict=True))]


def _closed(*outcomes: bool, every: int = 7) -> list[tuple[date, bool]]:
    """Commitments closed every `every` days going back from today, newest first."""
    return [(TODAY - timedelta(days=every * i), met) for i, met in enumerate(outcomes)]


def test_behaviors_not_showing_up_is_a_diagnosis_problem() -> None:
    reading = read(_closed(False, False, True), _weekly([80] * 13), TODAY, RULES)
    assert reading.verdict is Verdict.NOT_SHOWING_UP and "Re-diagnose" in reading.text
    assert reading.met == {4: (1, 3), 8: (1, 3), 12: (1, 3)}


def test_showing_up_and_flat_for_a_quarter_points_at_environment_or_seat() -> None:
    reading = read(_closed(True, True, False, True), _weekly([80, 82, 79, 81] * 3 + [80]), TODAY, RULES)
    assert reading.verdict is Verdict.FLAT and reading.quarter_covered
    assert abs(reading.attainment_change or 0) < RULES.flat_band and "environment" in reading.text


def test_both_improving() -> None:
    rising = [60 + 2 * i for i in range(13)]
    reading = read(_closed(True, True, True), _weekly(rising, [50 + i for i in range(13)]), TODAY, RULES)
    assert reading.verdict is Verdict.IMPROVING
    assert reading.attainment_change == pytest.approx(26.0, abs=0.1)


def test_falling_numbers_while_behaviors_show_up() -> None:
    reading = read(_closed(True, True), _weekly([100 - 3 * i for i in range(13)]), TODAY, RULES)
    assert reading.verdict is Verdict.FALLING


def test_too_early_without_a_full_quarter_and_no_history_without_closed_commitments() -> None:
    assert read(_closed(True, True), _weekly([80, 90, 95]), TODAY, RULES).verdict is Verdict.TOO_EARLY
    assert read(_closed(True), _weekly([80] * 13), TODAY, RULES).verdict is Verdict.NO_HISTORY
    assert read([], [], TODAY, RULES).verdict is Verdict.NO_HISTORY


def test_older_closed_commitments_count_in_the_twelve_week_window_only() -> None:
    closed = _closed(False, False, every=50)  # today and 50 days ago
    reading = read(closed, [], TODAY, RULES)
    assert reading.met[4] == (0, 1) and reading.met[8] == (0, 2) and reading.met[12] == (0, 2)


def test_monthly_figures_make_a_trend_too() -> None:
    months = [Figure(date(2026, m, 1), 70 + 5 * (m - 9), days=30) for m in (9, 10, 11, 12)]
    assert change_over_quarter([(f.start, f.attainment or 0) for f in months]) == pytest.approx(14.9, abs=0.2)
    assert read(_closed(True, True), months, TODAY, RULES).verdict is Verdict.IMPROVING
    assert change_over_quarter([(TODAY, 1.0)]) is None


# --- composition ---------------------------------------------------------------------------------


def test_an_empty_team(playbook: Playbook) -> None:
    team = compose(playbook, [], manager_reps=0)
    assert team.size == 0 and not team.mix and team.span_note is None and team.next_hire == "No reps on this team yet."


def test_all_one_archetype_in_matching_seats(playbook: Playbook) -> None:
    members = [Member(f"R{i}", "engine", "engine", (70, 80, 60 + i)) for i in range(7)]
    team = compose(playbook, members, manager_reps=7)
    assert team.mix == {"Engine": 7} and not team.mismatches and team.span_note is None
    assert team.single_points == [] and team.dna["resilience"].middle == 63 and team.dna["resilience"].width == 6
    assert team.next_hire.startswith("An Engine for depth in its most common seat")


def test_mismatches_single_points_flags_and_the_next_hire(playbook: Playbook) -> None:
    members = [
        Member("Ana", "engine", "grandmaster", (60, 90, 70), ("coaching_resistance",)),
        Member("Bo", "grandmaster", "grandmaster", (80, 70, 75)),
        Member("Cy", "root", "root", (85, 60, 80)),
        Member("Di", "root", "root", (75, 65, 85)),
        Member("Ed", "root", None, (70, 62, 77)),
        Member("Flo", None, None),
    ]
    team = compose(playbook, members, manager_reps=5)
    assert team.mix == {"Engine": 1, "Grandmaster": 1, "Root": 3, "no profile": 1}
    assert team.mismatches == [("Ana", "Engine", "Grandmaster")]
    assert team.single_points == [("Grandmaster", "Bo")] and team.flagged == 1
    assert team.span_note == "5 reps: fewer than 6; the manager may be selling more than coaching"
    assert team.next_hire.startswith("A Grandmaster where the team is short of fitting reps")
    assert "above the team's middle drive score (65)" in team.next_hire  # the thinnest Sales DNA score
    fewer = compose(playbook, members[:4], manager_reps=4)  # four profiles: no spread, no middle score
    assert fewer.dna == {} and "middle" not in fewer.next_hire


def test_an_unknown_seat_archetype_is_counted_not_judged(playbook: Playbook) -> None:
    team = compose(playbook, [Member("Ana", "engine", "wizard"), Member("Bo", "engine", "engine")], manager_reps=2)
    assert team.unknown_seats == 1 and team.mismatches == [] and team.seats == {"wizard": 1, "Engine": 1}


def test_span_notes() -> None:
    assert span_note(6) is None and span_note(8) is None and span_note(0) is None
    assert span_note(9) == "9 reps: more than 8 leaves under an hour a week of coaching for each"


# --- retention -----------------------------------------------------------------------------------


def test_retention_withholds_small_groups_and_names_nobody() -> None:
    start = date(2025, 1, 1)
    people = [Tenure("Engine", True, False, start) for _ in range(MIN_GROUP)]
    people[0] = Tenure("Engine", True, False, start, date(2025, 6, 1), voluntary=True)
    people += [Tenure("Root", False, True, start, date(2025, 3, 1), voluntary=False) for _ in range(2)]
    groups = retention(people, TODAY)
    engine, root = groups["archetype"]
    assert engine.shown and (engine.people, engine.exits, engine.voluntary, engine.first_year_exits) == (5, 1, 1, 1)
    assert engine.median_months == pytest.approx(23.2, abs=0.1)
    assert not root.shown and root.line == f"Root: fewer than {MIN_GROUP} people, not shown"
    fits = {g.label: g for g in groups["seat fit"]}
    assert fits["in a seat that fits"].shown and not fits["in a seat that does not fit"].shown


def test_the_shipped_example_metrics_file_reads_cleanly() -> None:
    from pathlib import Path

    from bot.roster.import_rows import read_rows

    example = Path(__file__).resolve().parent.parent / "examples" / "metrics.csv"
    people = {"alex.rivera@example.com": 1, "blake.chen@example.com": 2, "casey.nguyen@example.com": 3}
    people["drew.patel@example.com"] = 4
    rows = check_rows(read_rows(str(example), LAYOUT), people.get, TODAY)
    assert len(rows) == 41 and sum(1 for r in rows if r.event) == 2


def test_the_reading_lines_come_from_the_playbook() -> None:
    from bot.playbook.models import PlaybookError, parse_playbook
    from tests.test_onboarding_rules import _default_data

    data = _default_data()
    data["lagging"] = {"showing_up": 50, "min_closed": 2, "flat_band": 30}
    wide = parse_playbook(data, "wide.yml").lagging
    rising = [60 + 2 * i for i in range(13)]  # +26 points over the quarter: flat inside a 30-point band
    assert read(_closed(True, True), _weekly(rising), TODAY, wide).verdict is Verdict.FLAT
    assert read(_closed(True, True), _weekly(rising), TODAY, RULES).verdict is Verdict.IMPROVING
    data["lagging"] = {"showing_up": 0, "flat_band": 5, "colour": "red"}
    with pytest.raises(PlaybookError) as err:
        parse_playbook(data, "bad.yml")
    assert len(err.value.problems) == 2 and err.value.problems[0].startswith("lagging.")
