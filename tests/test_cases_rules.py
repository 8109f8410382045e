"""Similar cases and the second opinion as pure rules: BM25 ranking, ties, wiring likeness, and when
a second opinion is (and is not) given."""

from __future__ import annotations

import importlib.util
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.cases import rules
from bot.cases.opinion import Cycle, Diagnosed, Pattern, second_opinion
from bot.cases.rules import Doc, Wiring
from bot.levers.lagging import Verdict
from bot.playbook.thresholds import SecondOpinionRules

T0 = datetime(2026, 10, 1, tzinfo=UTC)
RULES = SecondOpinionRules()
NO_WIRING = Wiring()


def _doc(case_id: int, text: str, days: int = 0, wiring: Wiring = NO_WIRING) -> Doc:
    return Doc(case_id, T0 + timedelta(days=days), wiring, rules.term_counts(text))


def test_tokens_drop_stop_words_short_words_and_plain_plurals():
    assert rules.tokens("The rep pitches on 4 of 5 Discovery calls, and it's LOUD!") == [
        "rep",
        "pitche",
        "discovery",
        "call",
        "loud",
    ]
    assert rules.tokens("business process") == ["business", "process"]  # "ss" is not a plural
    assert rules.tokens("x" * 60) == ["x" * rules.TERM_MAX]


def test_migration_backfill_tokenizes_like_the_app():
    path = Path(__file__).resolve().parent.parent / "storage/migrations/versions/0013_case_index.py"
    spec = importlib.util.spec_from_file_location("migration_0013", path)
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.STOPWORDS == rules.STOPWORDS and migration.TERM_MAX == rules.TERM_MAX
    sample = "Pitches early; no discovery questions. Über-long_words and 12 calls, processes, CRM's notes " + "y" * 50
    assert migration.tokens(sample) == rules.tokens(sample)


def test_bm25_prefers_the_rarer_shared_word():
    docs = [
        _doc(1, "discovery call pitched early"),
        _doc(2, "discovery call forecast"),
        _doc(3, "discovery call pipeline"),
        _doc(4, "renewal negotiation"),
    ]
    ranked = rules.rank(NO_WIRING, "pitched early", docs)
    assert ranked[0][0].case_id == 1 and ranked[0][1] > 0
    # "discovery" is in three of four cases: it counts, but less than a rare word
    weights = rules.query_weights(rules.term_counts("discovery pitched"), {"discovery": 3, "pitched": 1}, 4)
    assert weights["pitched"] > weights["discovery"] > 0


def test_bm25_repeats_add_less_and_less_and_long_texts_count_less():
    weights = {"pitch": 1.0}
    once, twice, thrice = (rules.bm25(weights, {"pitch": n}, 10, 10.0) for n in (1, 2, 3))
    assert once < twice < thrice and (thrice - twice) < (twice - once)
    assert rules.bm25(weights, {"pitch": 1}, 40, 10.0) < once
    assert rules.bm25(weights, {"other": 3}, 10, 10.0) == 0.0
    assert once < rules.words_ceiling(weights)


def test_equal_scores_go_to_the_more_recent_case_then_the_higher_id():
    docs = [_doc(1, "pitch early", days=1), _doc(2, "pitch early", days=5), _doc(3, "pitch early", days=5)]
    assert [d.case_id for d, _ in rules.rank(NO_WIRING, "pitch early", docs)] == [3, 2, 1]
    # and with no words in common at all, still deterministic
    assert [d.case_id for d, _ in rules.rank(NO_WIRING, "", docs)] == [3, 2, 1]


def test_rank_keeps_three():
    docs = [_doc(i, "pitch", days=i) for i in range(1, 6)]
    assert len(rules.rank(NO_WIRING, "pitch", docs)) == rules.SHOWN == 3


def test_wiring_counts_archetype_seat_flags_and_gap():
    me = Wiring("engine", False, frozenset({"coaching_resistance"}), frozenset({"discovery"}), "discovery", True)
    twin = Wiring("engine", False, frozenset({"coaching_resistance"}), frozenset({"discovery"}), "discovery", True)
    other = Wiring("root", True, frozenset(), frozenset({"closing"}), "closing", True)
    unknown = Wiring(gap="discovery")
    assert rules.wiring_score(me, twin) == rules.W_ARCHETYPE + rules.W_SEAT + rules.W_KILLERS + rules.W_FLAGGED + 2
    assert rules.wiring_score(me, other) == 0.0
    assert rules.wiring_score(me, unknown) == rules.W_GAP  # no profile: only the gap can match
    assert rules.overlap(frozenset(), frozenset()) == 1.0
    assert rules.overlap(frozenset({"a", "b"}), frozenset({"b"})) == 0.5
    assert rules.matched_on(me, twin, ["pitch"]) == [
        "archetype",
        "seat fit",
        "deal-killer flags",
        "flagged gaps",
        "the gap",
        "words: pitch",
    ]


def test_wiring_outweighs_a_weak_word_match_and_words_break_wiring_ties():
    me = Wiring("engine", False, frozenset(), frozenset(), "discovery", True)
    alike = Wiring("engine", False, frozenset(), frozenset(), "discovery", True)
    docs = [
        _doc(1, "forecast notes missing", wiring=alike),
        _doc(2, "pitched early again", wiring=alike),
        _doc(3, "pitched early again", wiring=Wiring("root", True, frozenset(), frozenset(), "closing", True)),
    ]
    assert [d.case_id for d, _ in rules.rank(me, "pitched early", docs)] == [2, 1, 3]


def _cycle(n: int, status: str, logged: int, gap: str = "discovery") -> Cycle:
    return Cycle(n, gap, f"behavior {n}", status, logged, 3, date(2026, 10, 1) + timedelta(days=7 * n))


DIAGNOSED = [Diagnosed("discovery", "coaching_gap", date(2026, 9, 30))]


def test_missed_cycles_with_check_ins_are_effort_without_movement():
    opinion = second_opinion(
        [_cycle(1, "met", 3), _cycle(2, "missed", 1), _cycle(3, "missed", 2)], DIAGNOSED, None, RULES
    )
    assert opinion is not None and opinion.pattern == Pattern.EFFORT_WITHOUT_MOVEMENT
    assert opinion.gap == "discovery" and [c.commitment_id for c in opinion.trail] == [2, 3]
    reading = RULES.patterns.of(opinion.pattern).reading  # the default playbook's words
    assert "seat" in reading and "environment" in reading


def test_missed_cycles_without_check_ins_are_not_bought_in():
    opinion = second_opinion([_cycle(1, "missed", 0), _cycle(2, "missed", 0)], DIAGNOSED, None, RULES)
    assert opinion is not None and opinion.pattern == Pattern.NOT_BOUGHT_IN
    assert "bought into the change" in RULES.patterns.of(opinion.pattern).reading


def test_met_cycles_with_flat_numbers_point_at_environment_or_seat():
    opinion = second_opinion([_cycle(1, "met", 3), _cycle(2, "met", 3)], DIAGNOSED, Verdict.FLAT, RULES)
    assert opinion is not None and opinion.pattern == Pattern.MET_BUT_FLAT and opinion.gap is None


@pytest.mark.parametrize(
    ("cycles", "diagnoses", "verdict"),
    [
        ([_cycle(1, "missed", 2)], DIAGNOSED, None),  # one miss is not a pattern
        ([_cycle(1, "missed", 2), _cycle(2, "met", 3)], DIAGNOSED, None),  # the streak was broken
        ([_cycle(1, "missed", 0), _cycle(2, "missed", 2)], DIAGNOSED, None),  # mixed: neither reading fits
        (
            [_cycle(1, "missed", 2), _cycle(2, "missed", 2)],
            [Diagnosed("discovery", "seat_fit", date(2026, 9, 30))],
            None,
        ),
        ([_cycle(1, "missed", 2), _cycle(2, "missed", 2)], [], None),  # never diagnosed as a coaching gap
        # diagnosed again after the streak's last cycle: the manager has taken the second look
        (
            [_cycle(1, "missed", 2), _cycle(2, "missed", 2)],
            [Diagnosed("discovery", "coaching_gap", date(2026, 12, 1))],
            None,
        ),
        ([_cycle(1, "missed", 2, "onboarding:7"), _cycle(2, "missed", 2, "onboarding:7")], DIAGNOSED, None),
        ([_cycle(1, "met", 3), _cycle(2, "met", 3)], DIAGNOSED, Verdict.IMPROVING),  # numbers move
        ([_cycle(1, "met", 3), _cycle(2, "met", 3)], DIAGNOSED, None),  # no figures imported
        ([_cycle(1, "met", 3), _cycle(2, "missed", 3)], DIAGNOSED, Verdict.FLAT),  # not "keeps meeting"
    ],
)
def test_no_second_opinion(cycles, diagnoses, verdict):
    assert second_opinion(cycles, diagnoses, verdict, RULES) is None


def test_every_pattern_has_its_words_in_the_playbook():
    """The pattern keys are Coachbot's; the playbook's `second_opinion.patterns` has one entry per key."""
    assert set(type(RULES.patterns).model_fields) == {p.value for p in Pattern}
    for pattern in Pattern:
        assert RULES.patterns.of(pattern).label and RULES.patterns.of(pattern).reading
    with pytest.raises(KeyError):
        RULES.patterns.of("model_dump")


def test_the_threshold_comes_from_the_playbook():
    cycles = [_cycle(1, "missed", 1), _cycle(2, "missed", 1)]
    assert second_opinion(cycles, DIAGNOSED, None, SecondOpinionRules(missed_cycles=3)) is None
    assert second_opinion([*cycles, _cycle(3, "missed", 1)], DIAGNOSED, None, SecondOpinionRules(missed_cycles=3))
