"""The Fit Risk Diagnostic's pure layer: the playbook section and its one-line problems, pre-filled
answers and where they came from, checking a submission (numbers, ranges, overrides and their
reason), scoring into a leak with its evidence, the line on what changed, and the Block Kit."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.levers.fitrisk import (
    ESTIMATE,
    FACT_KEYS,
    LEVERS,
    REASON_BLOCK,
    Fact,
    Prefilled,
    Result,
    block_id,
    check_answers,
    compare,
    leak_of,
    prefill,
    score,
)
from bot.levers.fitrisk_views import fitrisk_modal, read_metadata, result_message
from bot.playbook import file as playbook_file
from bot.playbook import fit_risk as fit_risk_file
from bot.playbook.models import Playbook, PlaybookError, load_playbook, parse_playbook
from bot.slack import limits as L
from bot.slack.ids import Form
from bot.slack.limits import check_message, check_view
from tests.test_block_limits import _sdk_problem, _sdk_view_problem

DEFAULT_YML = Path(__file__).resolve().parent.parent / "bot" / "playbook" / "default.yml"
# Answers that pass no threshold of the default playbook: every lever at zero.
CALM = {
    "seat_misfit": 5.0,
    "deal_killer_hires": 0.0,
    "coaching_minutes": 60.0,
    "skill_diagnoses": 30.0,
    "commitments_met": 80.0,
    "one_to_one": 70.0,
    "manager_selling": 40.0,
    "span": 7.0,
    "ramp_behind": 10.0,
    "first_year_exits": 10.0,
}


@cache
def _pb() -> Playbook:
    return load_playbook()


def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_YML.read_text(encoding="utf-8"))
    return data


def _raw(**answers: str | None) -> dict[str, str | None]:
    """A submission: the calm answers as typed, with some replaced."""
    raw: dict[str, str | None] = {block_id(k): f"{v:g}" for k, v in CALM.items()}
    raw.update({block_id(k): v for k, v in answers.items()})
    return raw


def _score(**changes: float) -> Result:
    return score(_pb(), {**CALM, **changes})


# --- scoring -----------------------------------------------------------------------------------------


def test_calm_answers_score_nothing_and_the_tie_break_names_hiring() -> None:
    result = _score()
    assert result.points == {"hiring": 0, "coaching": 0, "composition": 0} and result.clear
    assert result.leak == "hiring" and result.evidence == ()


@pytest.mark.parametrize(
    ("changes", "leak", "points"),
    [
        ({"deal_killer_hires": 30, "first_year_exits": 20}, "hiring", {"hiring": 7, "coaching": 0, "composition": 0}),
        ({"coaching_minutes": 20, "manager_selling": 55}, "coaching", {"hiring": 0, "coaching": 8, "composition": 0}),
        ({"seat_misfit": 30, "span": 13}, "composition", {"hiring": 1, "coaching": 0, "composition": 10}),
    ],
)
def test_every_lever_can_win(changes: dict[str, float], leak: str, points: dict[str, int]) -> None:
    result = _score(**changes)
    assert result.leak == leak and result.points == points and not result.clear
    entry = getattr(_pb().fit_risk.levers, leak)
    assert result.first_move == entry.first_move and result.meaning == entry.meaning


def test_evidence_names_the_answers_behind_the_leak_most_points_first() -> None:
    result = _score(coaching_minutes=20, one_to_one=95, deal_killer_hires=5)
    assert result.leak == "coaching" and result.points["hiring"] == 2
    assert result.evidence == (
        "Coaching minutes per rep a week: 20 minutes, below 60 minutes and below 30 minutes (+5)",
        "Coaching time spent one-to-one: 95%, above 90% (+1)",
    )


@pytest.mark.parametrize(
    ("changes", "leak"),
    [
        ({"deal_killer_hires": 10, "span": 10}, "hiring"),  # 2 each: hiring before composition
        ({"span": 10, "coaching_minutes": 45}, "composition"),  # 2 each: composition before coaching
        ({"deal_killer_hires": 10, "coaching_minutes": 45}, "hiring"),  # 2 each: hiring before coaching
    ],
)
def test_ties_go_upstream(changes: dict[str, float], leak: str) -> None:
    result = _score(**changes)
    assert sorted(result.points.values())[1:] == [2, 2]
    assert result.leak == leak


def test_leak_of_stored_points_uses_the_same_tie_break() -> None:
    assert leak_of({"hiring": 3, "coaching": 3, "composition": 3}) == "hiring"
    assert leak_of({"coaching": 4, "composition": 4}) == "composition"
    assert leak_of({"coaching": 5, "composition": 4, "hiring": 1}) == "coaching"
    assert leak_of({}) == "hiring"


@pytest.mark.parametrize(
    ("key", "value", "lever", "points"),
    [
        ("coaching_minutes", 60, "coaching", 0),  # on the threshold: nothing
        ("coaching_minutes", 59, "coaching", 2),
        ("coaching_minutes", 30, "coaching", 2),
        ("coaching_minutes", 29, "coaching", 5),
        ("seat_misfit", 10, "composition", 0),
        ("seat_misfit", 10.01, "composition", 3),
        ("seat_misfit", 25, "composition", 3),
        ("seat_misfit", 25.5, "composition", 6),
        ("deal_killer_hires", 0, "hiring", 0),
        ("deal_killer_hires", 0.5, "hiring", 2),
        ("span", 6, "composition", 0),
        ("span", 5.9, "composition", 2),
        ("span", 8, "composition", 0),
        ("span", 8.1, "composition", 2),
        ("manager_selling", 50, "coaching", 0),
        ("manager_selling", 51, "coaching", 3),
        ("manager_selling", 30, "coaching", 0),
        ("manager_selling", 29, "coaching", 1),
    ],
)
def test_thresholds_are_passed_only_strictly(key: str, value: float, lever: str, points: int) -> None:
    assert _score(**{key: value}).points[lever] == points


def test_a_question_without_an_answer_adds_nothing() -> None:
    answers = {k: v for k, v in CALM.items() if k != "coaching_minutes"}
    assert score(_pb(), answers).clear


# --- pre-fill ----------------------------------------------------------------------------------------


def test_prefill_without_facts_leaves_every_answer_blank() -> None:
    filled = prefill(_pb(), {})
    assert [p.key for p in filled] == [q.key for q in _pb().fit_risk.questions]
    assert all(p.value is None and p.source == ESTIMATE for p in filled)
    missing = {key: Fact.missing() for key in FACT_KEYS}
    assert prefill(_pb(), missing) == filled


def test_prefill_with_facts_says_where_each_came_from() -> None:
    facts = {
        "seat_misfit_share": Fact(21.4286, "from 14 reps' wiring and seats"),
        "coaching_minutes_per_rep": Fact(24.6, "from 12 weeks of logged sessions"),
        "reps_per_manager": Fact(7.0, "from 3 managers' teams"),
        "one_to_one_share": Fact(140.0, "from logged sessions"),  # held within 0-100
        "commitments_met_share": Fact(float("nan"), "from nowhere"),
        "ramp_behind_share": Fact(-0.01, "from 4 plans"),
    }
    by_key = {p.key: p for p in prefill(_pb(), facts)}
    assert by_key["seat_misfit"] == Prefilled(
        "seat_misfit", "21.4", "Coachbot's figure, from 14 reps' wiring and seats."
    )
    assert by_key["coaching_minutes"].value == "25"  # minutes are whole
    assert by_key["span"].value == "7"
    assert by_key["one_to_one"].value == "100"
    assert by_key["ramp_behind"].value == "0"
    assert by_key["commitments_met"] == Prefilled("commitments_met", None, ESTIMATE)
    assert by_key["manager_selling"].value is None  # Coachbot cannot know this one


# --- checking a submission ---------------------------------------------------------------------------


def test_a_complete_submission_without_changes_passes() -> None:
    answers, errors = check_answers(_pb(), _raw(seat_misfit="35%", span=" 7.5 "), {}, None)
    assert errors == {} and answers is not None
    assert answers.values == {**CALM, "seat_misfit": 35.0, "span": 7.5}
    assert answers.overridden == () and answers.reason is None


@pytest.mark.parametrize(
    ("key", "typed", "problem"),
    [
        ("coaching_minutes", None, "Answer this one"),
        ("coaching_minutes", "  ", "Answer this one"),
        ("coaching_minutes", "1e3", "whole number of minutes"),
        ("coaching_minutes", "45.5", "whole number of minutes"),
        ("coaching_minutes", "4²", "whole number of minutes"),
        ("coaching_minutes", "٤٥", "whole number of minutes"),
        ("coaching_minutes", "601", "from 0 minutes to 600 minutes"),
        ("seat_misfit", "101", "from 0% to 100%"),
        ("seat_misfit", "-1", "from 0% to 100%"),
        ("seat_misfit", "12.345", "percentage, like 35"),
        ("seat_misfit", "35 percent", "percentage, like 35"),
        ("seat_misfit", "1,5", "percentage, like 35"),
        ("span", "7%", "a number, like 7"),
        ("span", "seven", "a number, like 7"),
        ("span", "inf", "a number, like 7"),
    ],
)
def test_each_bad_answer_is_a_field_error_on_its_input(key: str, typed: str | None, problem: str) -> None:
    answers, errors = check_answers(_pb(), _raw(**{key: typed}), {}, None)
    assert answers is None and list(errors) == [block_id(key)]
    assert problem.lower() in errors[block_id(key)].lower()


def test_every_unanswered_question_is_named() -> None:
    answers, errors = check_answers(_pb(), {}, {}, None)
    assert answers is None and set(errors) == {block_id(q.key) for q in _pb().fit_risk.questions}


def test_changing_a_prefilled_figure_needs_a_reason() -> None:
    filled = {"seat_misfit": "21.4", "coaching_minutes": "25"}
    raw = _raw(seat_misfit="30", coaching_minutes="25")
    answers, errors = check_answers(_pb(), raw, filled, None)
    assert answers is None and list(errors) == [REASON_BLOCK]
    assert "Reps in a seat that does not fit" in errors[REASON_BLOCK]
    assert "Coaching minutes" not in errors[REASON_BLOCK]  # kept as filled in
    for reason, problem in [
        ("too short", "at least 10 characters"),
        ("x" * 501, "500 characters or fewer (this is 501)"),
        ("two reps moved \u200b seats", "can't be shown"),
    ]:
        assert problem in check_answers(_pb(), raw, filled, reason)[1][REASON_BLOCK]
    answers, errors = check_answers(_pb(), raw, filled, "  Two reps were\nre-seated last week. ")
    assert errors == {} and answers is not None
    assert answers.overridden == ("seat_misfit",) and answers.reason == "Two reps were re-seated last week."
    assert answers.values["seat_misfit"] == 30.0


def test_the_same_figure_typed_differently_is_no_change() -> None:
    filled = [Prefilled("seat_misfit", "21.4", "Coachbot's figure, from 14 reps."), Prefilled("span", None, ESTIMATE)]
    answers, errors = check_answers(_pb(), _raw(seat_misfit="21.40%", span="9"), filled, None)
    assert errors == {} and answers is not None and answers.overridden == ()


def test_a_reason_without_a_change_is_kept_but_still_checked() -> None:
    answers, _ = check_answers(_pb(), _raw(), {}, "Our data misses the new team.")
    assert answers is not None and answers.reason == "Our data misses the new team."
    assert check_answers(_pb(), _raw(), {}, "short")[1] == {
        REASON_BLOCK: "Say why in a sentence (at least 10 characters)."
    }


# --- what changed ------------------------------------------------------------------------------------


def test_compare_says_what_changed_since_the_last_run() -> None:
    coaching = _score(coaching_minutes=20)  # coaching 5
    assert compare(None, coaching) is None
    assert compare(coaching, coaching) == "No change since the last run: every lever has the same points."
    hiring = _score(coaching_minutes=20, deal_killer_hires=30, first_year_exits=20)  # hiring 7, coaching 5
    assert compare(coaching, hiring) == (
        "Since the last run the biggest leak moved from Coaching to Hiring (Hiring 0 → 7)."
    )
    worse = _score(coaching_minutes=20, manager_selling=55)
    assert compare(coaching, worse) == (
        "Coaching is still the biggest leak, its points up since the last run (Coaching 5 → 8)."
    )
    stored = {"hiring": 1, "coaching": 8, "composition": 0}  # a stored run's points
    assert compare(stored, coaching) == (
        "Coaching is still the biggest leak, its points down since the last run (Hiring 1 → 0, Coaching 8 → 5)."
    )
    same_leak_others_moved = _score(coaching_minutes=20, span=10)
    assert "its points unchanged" in (compare(coaching, same_leak_others_moved) or "")
    assert compare(_score(), coaching) == "Last run, no answer passed a threshold; now Coaching leads with 5 points."
    assert compare(coaching, _score()) == "No answer passes a threshold now; last run, Coaching led with 5 points."


# --- the playbook section ----------------------------------------------------------------------------


def _problems(mutate: Any) -> list[str]:
    data = _data()
    mutate(data["fit_risk"])
    with pytest.raises(PlaybookError) as err:
        parse_playbook(data, "ours.yml")
    return err.value.problems


def _rule(section: dict[str, Any], question: int, rule: int) -> dict[str, Any]:
    found: dict[str, Any] = section["questions"][question]["rules"][rule]
    return found


@pytest.mark.parametrize(
    ("mutate", "problems"),
    [
        (
            lambda s: _rule(s, 0, 0).update(lever="sales"),
            ["fit_risk.questions.0.rules.0.lever: 'sales' is not a lever; use hiring, coaching, composition"],
        ),
        (lambda s: s["questions"].pop(), ["fit_risk.questions: list exactly 10 questions (found 9)"]),
        (
            lambda s: s["questions"].append(copy.deepcopy(s["questions"][0]) | {"key": "extra"}),
            ["fit_risk.questions: list exactly 10 questions (found 11)"],
        ),
        (
            lambda s: s["questions"][1].update(fact="gut_feeling"),
            [
                "fit_risk.questions.1.fact: 'gut_feeling' is not a fact Coachbot knows; use "
                + ", ".join(FACT_KEYS)
                + " (or leave `fact` out)"
            ],
        ),
        (
            lambda s: _rule(s, 2, 0).update(below=700),
            ["fit_risk.questions.2.rules.0.below: 700 can never be passed: answers run 0 to 600"],
        ),
        (
            lambda s: _rule(s, 0, 0).update(above=100),
            ["fit_risk.questions.0.rules.0.above: 100 can never be passed: answers run 0 to 100"],
        ),
        (
            lambda s: _rule(s, 2, 0).update(above=5),
            ["fit_risk.questions.2.rules.0: give exactly one threshold: `above` or `below`"],
        ),
        (
            lambda s: s["questions"][2].update(unit="hours"),
            ["fit_risk.questions.2.unit: 'hours' is not a unit; use percent, minutes, count, number"],
        ),
        (
            lambda s: s["questions"][0].update(max=150),
            ["fit_risk.questions.0.max: a percent question runs within 0 to 100"],
        ),
        (lambda s: s["questions"][2].update(min=600), ["fit_risk.questions.2.max: must be greater than min (600)"]),
        (
            lambda s: s["questions"][0].update(text="Q" * 151),
            ["fit_risk.questions.0.text: 151 characters, at most 150 allowed"],
        ),
        (
            lambda s: s["questions"][1].update(key="seat_misfit"),
            ["fit_risk.questions: each question needs its own key (seat_misfit used twice)"],
        ),
        (
            lambda s: s["levers"].update(sales=s["levers"]["hiring"]),
            ["fit_risk.levers.sales: unknown key; use hiring, coaching, composition"],
        ),
        (lambda s: s["levers"].pop("coaching"), ["fit_risk.levers.coaching: missing (must be a non-empty mapping)"]),
    ],
)
def test_a_broken_section_is_one_line_per_problem(mutate: Any, problems: list[str]) -> None:
    assert _problems(mutate) == problems


def test_several_problems_in_the_section_are_reported_together() -> None:
    def two(section: dict[str, Any]) -> None:
        _rule(section, 0, 0)["lever"] = "sales"
        section["questions"][3]["fact"] = "gut_feeling"

    assert [line.split(":")[0] for line in _problems(two)] == [
        "fit_risk.questions.0.rules.0.lever",
        "fit_risk.questions.3.fact",
    ]


def test_a_custom_playbook_without_the_section_gets_the_shipped_one() -> None:
    data = _data()
    del data["fit_risk"]
    assert parse_playbook(data, "ours.yml").fit_risk == _pb().fit_risk


def test_a_custom_section_is_used_as_written() -> None:
    data = _data()
    data["fit_risk"]["levers"]["hiring"]["name"] = "Recruiting"
    data["fit_risk"]["questions"][1]["rules"] = [{"lever": "composition", "above": 50, "points": 9}]
    custom = parse_playbook(data, "ours.yml")
    result = score(custom, {**CALM, "deal_killer_hires": 60})
    assert result.points == {"hiring": 0, "coaching": 0, "composition": 9} and result.names["hiring"] == "Recruiting"


def test_the_default_section_asks_ten_questions_about_every_lever() -> None:
    questions = _pb().fit_risk.questions
    assert len(questions) == 10 and all(len(q.text) <= 150 for q in questions)
    assert {rule.lever for q in questions for rule in q.rules} == set(LEVERS)
    assert {q.fact for q in questions} - {None} == set(FACT_KEYS)


def test_fit_risk_shares_the_playbook_conventions() -> None:
    """bot.playbook.fit_risk repeats two conventions of bot.playbook.file (it cannot import them)."""
    assert fit_risk_file.PROBLEM == playbook_file.PROBLEM
    assert fit_risk_file.KEY_PATTERN == playbook_file.KEY_PATTERN


# --- Block Kit ---------------------------------------------------------------------------------------


def _oversized() -> Playbook:
    """A playbook whose every fit-risk text is as long as the section allows."""
    data = _data()
    for lever in data["fit_risk"]["levers"].values():
        lever.update(name="N" * 40, meaning="<!channel> " + "m" * 139, first_move="F" * 600)
    for i, q in enumerate(data["fit_risk"]["questions"]):
        q.update(key=f"q{i}_" + "k" * 36, label="L" * 40, text="T" * 150)
    return parse_playbook(data, "big.yml")


def test_the_modal_stays_within_limits_and_carries_scope_and_figures() -> None:
    facts = {key: Fact(12.5, "from " + "s" * 500) for key in FACT_KEYS}
    for pb in (_pb(), _oversized()):
        for filled in (prefill(pb, {}), prefill(pb, facts)):
            view = fitrisk_modal(pb, filled, "U0MANAGER")
            assert check_view(view) == [] and _sdk_view_problem(view) is None, check_view(view)
            assert view["callback_id"] == Form.FIT_RISK.value == "fit_risk"
            inputs = [b for b in view["blocks"] if b["type"] == "input"]
            assert [b["block_id"] for b in inputs] == [*(block_id(q.key) for q in pb.fit_risk.questions), REASON_BLOCK]
            assert inputs[-1]["optional"] and not any(b["optional"] for b in inputs[:-1])
            read = read_metadata(view["private_metadata"])
            assert read == ("U0MANAGER", {p.key: p.value for p in filled if p.value is not None})
    view = fitrisk_modal(
        _pb(), prefill(_pb(), {"seat_misfit_share": Fact(20.0, "from 10 reps' wiring and seats")}), "org"
    )
    first = next(b for b in view["blocks"] if b["type"] == "input")
    assert first["element"]["initial_value"] == "20"
    assert first["hint"]["text"].startswith("Coachbot's figure, from 10 reps' wiring and seats.")
    second = [b for b in view["blocks"] if b["type"] == "input"][1]
    assert "initial_value" not in second["element"] and second["hint"]["text"].startswith(ESTIMATE)
    assert "whole organization" in view["blocks"][0]["text"]["text"]


def test_an_override_is_noticed_through_the_modal_metadata() -> None:
    filled = prefill(_pb(), {"seat_misfit_share": Fact(20.0, "from 10 reps' wiring and seats")})
    view = fitrisk_modal(_pb(), filled, "U0MANAGER")
    read = read_metadata(view["private_metadata"])
    assert read is not None
    scope, figures = read
    answers, errors = check_answers(_pb(), _raw(seat_misfit="40"), figures, None)
    assert answers is None and list(errors) == [REASON_BLOCK]
    assert read_metadata("not json") is None and read_metadata('{"scope": 3}') is None and read_metadata("") is None


@pytest.mark.parametrize("clear", [False, True])
def test_the_result_stays_within_limits_with_the_figures_in_text(clear: bool) -> None:
    for pb in (_pb(), _oversized()):
        keys = [q.key for q in pb.fit_risk.questions]
        worst = {keys[i]: v for i, v in enumerate([90, 90, 0, 90, 0, 0, 90, 90, 90, 90])}
        result = score(pb, dict(zip(keys, CALM.values(), strict=True)) if clear else worst)
        assert result.clear is clear
        change = compare({"hiring": 1, "coaching": 2, "composition": 3}, result)
        for message in (result_message(result, change, "U0MANAGER"), result_message(result, None, "org")):
            assert check_message(message) == [], check_message(message)
            drawn = [b for b in message["blocks"] if b["type"] != "data_visualization"]  # slack_sdk has no chart
            assert [_sdk_problem(b) for b in drawn] == [None] * len(drawn)
            figures = ", ".join(f"{result.names[lever]} {result.points[lever]}" for lever in LEVERS)
            assert figures in message["text"] and "<!channel>" not in str(message["blocks"])
            charts = [b for b in message["blocks"] if b["type"] == "data_visualization"]
            assert len(charts) == (0 if clear else 1)
            for chart in charts:
                series = chart["chart"]["series"]
                assert [p["value"] for p in series[0]["data"]] == [float(result.points[lever]) for lever in LEVERS]
                assert len(chart["title"]) <= L.CHART_TITLE


def test_the_result_says_the_leak_evidence_first_move_and_change() -> None:
    result = _score(coaching_minutes=20, manager_selling=55)
    message = result_message(result, compare(_score(coaching_minutes=20), result), "U0MANAGER")
    shown = str(message["blocks"])
    assert message["blocks"][0]["text"]["text"] == "Fit Risk: the biggest leak is Coaching"
    assert "Hiring 0, Coaching 8, Composition 0" in shown and "<@U0MANAGER>'s team" in shown
    assert all(line in shown for line in result.evidence) and result.first_move in shown
    assert "Coaching 5 → 8" in shown and "Coaching 5 → 8" in message["text"]
    first = result_message(result, None, "org")
    assert "First run" in str(first["blocks"]) and "the whole organization" in first["text"]
