"""What works for whom, as arithmetic: the credible range at its edges, the five-case floor, weekly
bands, the best-evidenced shapes and sizing at the playbook's lines. Pure: no database, no Slack."""

from __future__ import annotations

import itertools
import math

import pytest

from bot.learning import rules as R
from bot.learning import views as V
from bot.playbook.learning import LearningRules

RULES = LearningRules()


_REPS = itertools.count(1)


def cell(fmt: str, pace: int, met: int, missed: int, cause: str = "coaching_gap", reps: int | None = None):
    """A ledger cell whose commitments come from `reps` distinct reps (by default one rep each)."""
    n = met + missed if reps is None else reps
    return R.LedgerCell(cause, fmt, pace, met, missed, frozenset(next(_REPS) for _ in range(n)))


# --- the credible range ------------------------------------------------------------------------


@pytest.mark.parametrize(("x", "b"), [(0.05, 1.0), (0.3, 6.0), (0.9, 11.0)])
def test_incomplete_beta_matches_closed_forms(x, b):
    assert R.beta_cdf(x, 1.0, b) == pytest.approx(1 - (1 - x) ** b, abs=1e-12)
    assert R.beta_cdf(x, b, 1.0) == pytest.approx(x**b, abs=1e-12)


def test_incomplete_beta_symmetry_and_bounds():
    assert R.beta_cdf(0.5, 4.0, 4.0) == pytest.approx(0.5, abs=1e-12)
    assert R.beta_cdf(0.3, 3.0, 7.0) == pytest.approx(1 - R.beta_cdf(0.7, 7.0, 3.0), abs=1e-12)
    assert R.beta_cdf(0.0, 2.0, 2.0) == 0.0 and R.beta_cdf(1.0, 2.0, 2.0) == 1.0
    # Beta(2, 2): I_x = 3x^2 - 2x^3
    assert R.beta_cdf(0.2, 2.0, 2.0) == pytest.approx(3 * 0.04 - 2 * 0.008, abs=1e-12)


def test_range_with_none_met_is_the_closed_form_and_not_zero():
    low, high = R.credible_range(0, 5, 80)  # Beta(1, 6)
    assert low == pytest.approx(1 - 0.9 ** (1 / 6), abs=1e-9)
    assert high == pytest.approx(1 - 0.1 ** (1 / 6), abs=1e-9)
    assert 0 < low < 0.02 and 0.3 < high < 0.35


def test_range_with_all_met_is_the_closed_form_and_not_certainty():
    low, high = R.credible_range(5, 0, 80)  # Beta(6, 1)
    assert low == pytest.approx(0.1 ** (1 / 6), abs=1e-9)
    assert high == pytest.approx(0.9 ** (1 / 6), abs=1e-9)
    assert high < 1


def test_range_without_data_is_the_uniform_and_narrows_with_counts():
    assert R.credible_range(0, 0, 80) == pytest.approx((0.1, 0.9), abs=1e-9)
    few, many = R.credible_range(7, 2, 80), R.credible_range(70, 20, 80)
    assert few[0] < many[0] < 7 / 9 < many[1] < few[1]
    assert R.credible_range(7, 2, 80) == R.credible_range(7, 2, 80)  # deterministic
    assert R.credible_range(7, 2, 95)[0] < few[0]  # wider at a higher credibility


# --- what counts, paces and bands ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("gap", "status", "counted"),
    [
        ("discovery", "met", True),
        ("discovery", "missed", True),
        ("discovery", "active", False),
        ("discovery", "replaced", False),
        ("discovery", "draft", False),
        ("general", "met", False),
        ("onboarding:12", "met", False),
    ],
)
def test_which_commitments_count(gap, status, counted):
    assert R.counts_in_ledger(gap, status) is counted


@pytest.mark.parametrize(
    ("target", "days", "pace"), [(3, 7, 3), (10, 14, 5), (1, 30, 1), (5, 2, 18), (50, 1, 350), (3, 6, 4), (7, 14, 4)]
)
def test_weekly_pace_rounds_half_up(target, days, pace):
    assert R.weekly_pace(target, days) == pace == max(1, math.floor(target * 7 / days + 0.5))


def test_paused_days_do_not_shrink_the_pace():
    assert R.practice_days(10, 3) == 7 and R.practice_days(2, 5) == 1


@pytest.mark.parametrize(
    ("pace", "label"), [(1, "1–2"), (2, "1–2"), (3, "3–5"), (10, "6–10"), (11, "11+"), (99, "11+")]
)
def test_bands_from_the_playbook(pace, label):
    assert R.band_of(pace, RULES).label == label


def test_bands_follow_a_custom_playbook():
    custom = LearningRules(size_bands=(1, 4))
    assert [b.label for b in R.bands(custom)] == ["1", "2–4", "5+"]
    with pytest.raises(ValueError):
        LearningRules(size_bands=(5, 3))
    with pytest.raises(ValueError):
        LearningRules(min_closed=4)  # never below five
    with pytest.raises(ValueError):
        LearningRules(too_big=90, too_easy=40)


# --- the floor and the best shapes ---------------------------------------------------------------


def test_nothing_below_five_closed():
    assert R.figure(4, 0, RULES, 4) is None and R.figure(0, 4, RULES, 4) is None
    shown = R.figure(1, 4, RULES, 5)
    assert shown is not None and (shown.met, shown.closed) == (1, 5)


def test_nothing_from_fewer_than_five_distinct_reps_however_many_commitments():
    """Twenty commitments of four reps is a figure about those four: hidden, in shapes, bands and sizing."""
    assert R.figure(20, 0, RULES, 4) is None
    with pytest.raises(ValueError):
        LearningRules(min_reps=4)
    few = [cell("call_review", 3, 12, 8, reps=4)]
    assert R.best_shapes(few, RULES) == [] and set(R.band_records(few, RULES).values()) == {None}
    assert not R.enough_reps(few, RULES)
    # the same reps in two cells count once
    shared = R.LedgerCell("coaching_gap", "drill", 3, 5, 0, frozenset({1, 2, 3, 4}))
    other = R.LedgerCell("seat_fit", "drill", 3, 5, 0, frozenset({1, 2, 3, 4}))
    assert R.best_shapes([shared, other], RULES) == []
    assert R.best_shapes([shared, other, R.LedgerCell("seat_fit", "drill", 4, 1, 0, frozenset({9}))], RULES)


def test_best_shapes_rank_by_evidence_and_hide_thin_ones():
    cells = [
        cell("call_review", 3, 5, 1),
        cell("call_review", 8, 2, 1),
        cell("drill", 3, 1, 4),
        cell("role_play", 2, 4, 0),  # 4 closed: under the floor, never shown
    ]
    shapes = R.best_shapes(cells, RULES)
    assert [s.practice_format for s in shapes] == ["call_review", "drill"]
    top = shapes[0]
    assert (top.overall.met, top.overall.closed) == (7, 9)
    assert top.band is not None and top.band.label == "3–5" and top.in_band is not None
    assert (top.in_band.met, top.in_band.closed) == (5, 6)
    drills = shapes[1]  # all five drills were at 3-5 a week: the line does not repeat the same figure
    assert drills.in_band == drills.overall
    assert "a week" not in V._shape_line(drills, _playbook()) and "at 3–5 a week" in V._shape_line(top, _playbook())


def test_a_high_rate_on_few_cases_ranks_below_a_solid_one():
    cells = [cell("role_play", 3, 5, 0), cell("call_review", 3, 40, 10)]
    assert [s.practice_format for s in R.best_shapes(cells, RULES)] == ["call_review", "role_play"]


def test_what_works_text_shows_counts_or_says_not_enough(playbook):
    advice = V.Advice("engine", "discovery", R.best_shapes([cell("call_review", 3, 7, 2)], RULES))
    text = V.what_works_text(advice, playbook, 5)
    assert "Engine reps on Discovery" in text and "met 7 of 9 (78%, likely" in text
    thin = V.what_works_text(V.Advice("engine", "discovery", []), playbook, 5)
    assert "not enough history yet" in thin and "met" not in thin.split("history yet")[1]


# --- sizing --------------------------------------------------------------------------------------


def history(*logged: int, met: bool = True) -> list[R.PastOutcome]:
    return [R.past_outcome(3, n, 7, met) for n in logged]


NO_RECORD: dict = {}


def test_too_big_below_forty_percent_and_not_at_it():
    # Beta(2, 2) prior and six of the rep's own: chance = (2 + reached) / 10
    at_line = R.size(4, history(4, 4, 1, 1, 1, 1), NO_RECORD, RULES)
    assert (at_line.reached, at_line.verdict) == (2, None) and at_line.chance == pytest.approx(0.4)
    under = R.size(4, history(4, 1, 1, 1, 1, 1), NO_RECORD, RULES)
    assert (under.reached, under.verdict) == (1, "too_big")
    assert under.chance == pytest.approx(0.3)


def test_too_easy_above_the_line_and_not_at_it():
    six = history(5, 5, 5, 5, 5, 5)
    at_line = R.size(3, six, NO_RECORD, LearningRules(too_easy=80))
    assert at_line.verdict is None and at_line.chance == pytest.approx(0.8)
    assert R.size(3, six, NO_RECORD, LearningRules(too_easy=79)).verdict == "too_easy"
    assert R.size(3, six, NO_RECORD, RULES).verdict is None  # the rep's six alone never reach 90%


def test_the_workspace_record_moves_the_sizing():
    six = history(5, 5, 5, 5, 5, 5)
    easy = R.band_records([cell("call_review", 3, 20, 0)], RULES)
    hard = R.band_records([cell("call_review", 3, 0, 20)], RULES)
    assert R.size(3, six, easy, RULES).verdict == "too_easy"
    sized = R.size(3, six, hard, RULES)
    assert sized.similar is not None and (sized.similar.met, sized.similar.closed) == (0, 20)
    assert sized.chance < R.size(3, six, NO_RECORD, RULES).chance
    thin = R.band_records([cell("call_review", 3, 4, 0)], RULES)  # under the floor: ignored
    assert R.size(3, six, thin, RULES) == R.size(3, six, NO_RECORD, RULES)


def test_no_history_no_record_says_nothing():
    sized = R.size(3, [], NO_RECORD, RULES)
    assert sized.verdict is None and not R.has_evidence(sized)
    assert V.sizing_note(sized, [], "U1", "Engine reps on Discovery", _playbook()) == ""


def test_streak_usual_pace_and_comfortable_targets():
    past = history(3, 4, 2, met=True)[:2] + history(1, met=False)
    assert R.streak_of(past) == 2 and R.usual_pace(past) == pytest.approx(3.0)
    steady = history(4, 4, 4, 5, 5, 6)
    low, high = R.comfortable_targets(steady, [], RULES) or (0, 0)
    assert (low, high) == (1, 5)
    assert R.size(high, steady, NO_RECORD, RULES).verdict is None
    assert R.size(high + 1, steady, NO_RECORD, RULES).verdict == "too_big"


def _playbook():
    from bot.playbook.models import load_playbook

    return load_playbook()


def test_sizing_note_gives_the_reason_and_never_blocks(playbook):
    past = history(1, 1, 1, 2, 1, 1, met=False)
    sized = R.size(8, past, R.band_records([cell("drill", 8, 3, 8)], RULES), RULES, R.streak_of(past))
    note = V.sizing_note(sized, past, "UREP1", "Engine reps on Discovery", playbook)
    assert sized.verdict == "too_big"
    assert "likely too big" in note and "<@UREP1> logged that pace in 0 of their last 6" in note
    assert "at 6–10 a week met 3 of 11" in note and "went out as you wrote it" in note
