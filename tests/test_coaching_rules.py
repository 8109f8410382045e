"""The Diagnose/Prescribe rules over the playbook, and the limits of everything they render."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from bot.coaching import views as rc
from bot.coaching.rules import HistoryItem, RepWiring, build_brief, check_commitment
from bot.playbook.models import CAUSES, load_playbook, with_article
from bot.practice import views as pv
from bot.roster.views import WiringCard
from bot.slack.limits import check_message, check_view

DEFAULT_YML = Path(__file__).resolve().parent.parent / "bot" / "playbook" / "default.yml"


def _custom_playbook(tmp_path):
    data = yaml.safe_load(DEFAULT_YML.read_text())
    data["archetypes"] = {
        "hunter": {**data["archetypes"]["engine"], "name": "Hunter"},
        "farmer": {**data["archetypes"]["root"], "name": "Farmer"},
        "architect": {**data["archetypes"]["grandmaster"], "name": "Architect"},
        "closer": {**data["archetypes"]["engine"], "name": "Closer"},
    }
    for gap in data["gaps"].values():
        gap["drills"] = {"default": gap["drills"]["default"], "farmer": "Farmer drill " + "x" * 500}
    for cause in data["causes"].values():
        cause["briefs"] = {"default": cause["briefs"]["default"]}
    data["onboarding"]["by_archetype"] = {"default": data["onboarding"]["by_archetype"]["default"]}
    path = tmp_path / "custom.yml"
    path.write_text(yaml.safe_dump(data))
    return load_playbook(str(path))


@pytest.fixture(params=["default", "custom"])
def any_playbook(request, tmp_path):
    return load_playbook() if request.param == "default" else _custom_playbook(tmp_path)


def test_every_archetype_and_cause_has_a_full_brief_within_limits(any_playbook):
    pb = any_playbook
    for arch in [*pb.archetypes, None]:
        for cause in CAUSES:
            wiring = RepWiring(
                archetype=arch,
                seat_archetype=next(iter(pb.archetypes)),
                deal_killers=tuple(pb.deal_killers),
                gaps=tuple(pb.gaps),
            )
            brief = build_brief(pb, cause, wiring, gap=next(iter(pb.gaps)), drag=None)
            assert brief.hypothesis and brief.opening_question and brief.move and brief.cause_name
            # every deal-killer is flagged here, so a skill pick becomes a seat conversation without a drill
            assert brief.drill is None
            if cause in ("coaching_gap", "seat_fit"):
                assert brief.next_step == "seat_conversation"
            assert (brief.escalate_to != []) == (cause == "environmental_drag")
            msg = rc.brief_message("U1", brief, 1, "e" * 5000, has_profile=arch is not None)
            assert check_message(msg) == [], (arch, cause)


def test_pushback_rules(playbook):
    fits = RepWiring("engine", "engine", (), ("closing",))
    mismatch = RepWiring("root", "engine", (), ())
    flagged = RepWiring("engine", "engine", ("ethical_flexibility",), ())
    resistant = RepWiring("engine", "engine", ("coaching_resistance",), ())
    assert build_brief(playbook, "coaching_gap", fits).pushback == []
    mismatch_brief = build_brief(playbook, "coaching_gap", mismatch)
    assert "wired as a Root, but the seat needs an Engine" in mismatch_brief.pushback[0]
    assert "Ethical flexibility" in build_brief(playbook, "coaching_gap", flagged).pushback[0]
    # pushback is about picking "skill"; a seat-fit pick on a mismatched rep agrees with the data
    assert build_brief(playbook, "seat_fit", mismatch).pushback == []
    resistant_brief = build_brief(playbook, "environmental_drag", resistant)
    assert resistant_brief.data_first and resistant_brief.opening_question == playbook.prompts.data_first_opening
    assert not build_brief(playbook, "coaching_gap", fits).data_first


def _buttons(msg):
    return [e for b in msg["blocks"] if b["type"] == "actions" for e in b["elements"]]


@pytest.mark.parametrize(
    "wiring",
    [
        RepWiring("root", "engine", (), ("discovery",)),  # wiring does not fit the seat
        RepWiring("engine", "engine", ("commission_breath",), ("discovery",)),  # a deal-killer is flagged
    ],
    ids=["seat_mismatch", "deal_killer"],
)
def test_pushed_back_skill_pick_leads_with_the_seat_conversation(playbook, wiring):
    brief = build_brief(playbook, "coaching_gap", wiring, gap="discovery")
    assert brief.pushback
    assert brief.next_step == "seat_conversation" and brief.drill is None
    assert brief.move == playbook.causes["seat_fit"].move and playbook.prompts.seat_conversation in brief.notes
    assert brief.fallback_step == "prescribe"
    msg = rc.brief_message("U1", brief, 7, "Pitched early on four calls", has_profile=True)
    dump = str(msg)
    assert "Drill to practise" not in dump and "Recommended move: a seat conversation" in dump
    assert "seat conversation first" in msg["text"]
    buttons = _buttons(msg)
    assert buttons[0]["action_id"] == "brief_log_session" and buttons[0]["style"] == "primary"
    assert "seat conversation" in buttons[0]["text"]["text"]
    (prescribe,) = [b for b in buttons if b["action_id"] == "prescribe_open"]
    assert "style" not in prescribe and prescribe["value"] == "7"  # still there, but not the main action
    assert [b for b in buttons if b.get("style") == "primary"] == [buttons[0]]
    assert check_message(msg) == []


def test_skill_pick_that_fits_the_data_still_prescribes_with_a_drill(playbook):
    brief = build_brief(playbook, "coaching_gap", RepWiring("engine", "engine", (), ("discovery",)), gap="discovery")
    assert (brief.next_step, brief.fallback_step) == ("prescribe", None)
    assert brief.drill == playbook.gaps["discovery"].drill_for("engine")
    buttons = _buttons(rc.brief_message("U1", brief, 7, "Pitched early on four calls", has_profile=True))
    assert buttons[0]["action_id"] == "prescribe_open" and buttons[0]["style"] == "primary"


def test_data_first_opening_is_for_performance_conversations_only(playbook):
    resistant = RepWiring("root", "root", ("coaching_resistance",), ())
    for cause in ("coaching_gap", "seat_fit", "environmental_drag"):
        brief = build_brief(playbook, cause, resistant)
        assert brief.data_first and brief.opening_question == playbook.prompts.data_first_opening, cause
    life = build_brief(playbook, "motivation", resistant)
    assert not life.data_first
    assert life.opening_question == playbook.causes["motivation"].brief_for("root").opening_question
    dump = str(rc.brief_message("U1", life, 1, "Quiet for two weeks after a family move", has_profile=True))
    assert "Open with the data" not in dump and "How are you doing, away from the number?" in dump


def test_article_before_archetype_names(tmp_path):
    assert [with_article(n) for n in ("Engine", "Root", "Grandmaster", "Architect", "oracle", "Hunter")] == [
        "an Engine",
        "a Root",
        "a Grandmaster",
        "an Architect",
        "an oracle",
        "a Hunter",
    ]
    custom = _custom_playbook(tmp_path)  # Hunter, Farmer, Architect, Closer
    assert custom.archetype_with_article("architect") == "an Architect"
    assert custom.archetype_with_article("farmer") == "a Farmer"
    pushback = build_brief(custom, "coaching_gap", RepWiring("hunter", "architect")).pushback[0]
    assert "wired as a Hunter, but the seat needs an Architect" in pushback


def test_measurability(playbook):
    draft, errors = check_commitment(
        playbook, "  Three   discovery calls with no pitch before minute 12 ", "3", "", "drill", "recordings"
    )
    assert errors == {} and draft is not None
    assert draft.behavior == "Three discovery calls with no pitch before minute 12"
    assert draft.window_days == 7
    _, errors = check_commitment(playbook, "Improve my discovery on calls", "3", "7", "drill", "recordings")
    assert "'improve' can't be counted" in errors["behavior"]
    _, errors = check_commitment(playbook, "Discovery calls with questions", "2.5", "-1", None, "x" * 400)
    assert set(errors) == {"target", "window", "format", "evidence"}


def test_modals_within_limits_with_oversized_content(any_playbook):
    pb = any_playbook
    card = WiringCard(
        "U1",
        "N" * 300,
        "U2",
        next(iter(pb.archetypes)),
        "S" * 100,
        next(iter(pb.archetypes)),
        1,
        2,
        3,
        list(pb.deal_killers),
        list(pb.gaps),
        date(2026, 1, 1),
        9,
        None,
        9,
    )
    history = [HistoryItem(date(2026, 1, i + 1), "commitment", "b" * 400, "missed, 0/3 logged") for i in range(6)]
    for view in (
        rc.diagnose_modal("U1", card, history, pb, date(2026, 2, 1), note="n" * 5000),
        rc.diagnose_modal("U1", None, [], pb, date(2026, 2, 1)),
        rc.prescribe_modal(
            1,
            "U1",
            "G" * 200,
            "d" * 600,
            SimpleNamespace(behavior="b" * 300, target_count=3, ends_on=date(2026, 1, 1)),
            2,
            pb,
        ),
        pv.pause_modal("U1", date(2026, 1, 1)),
        rc.profile_modal("U1", pb),
        *(pv.note_modal(1, callback) for callback in pv.NOTE_FORMS),
    ):
        assert check_view(view) == [], view["callback_id"]
    commitment = SimpleNamespace(
        id=1,
        behavior="b" * 300,
        target_count=50,
        window_days=30,
        practice_format="drill",
        evidence="e" * 300,
        ends_on=date(2026, 1, 30),
    )
    assert check_message(rc.commitment_dm(commitment, "U2", "f" * 600, "d" * 600, 49, pb)) == []


def test_user_text_in_briefs_and_dms_is_escaped(playbook):
    brief = build_brief(playbook, "coaching_gap", RepWiring())
    msg = rc.brief_message("U1", brief, 1, "<!channel> look <https://x|here>", has_profile=False)
    assert "<!channel>" not in str(msg) and "&lt;!channel&gt;" in str(msg)
    commitment = SimpleNamespace(
        id=1,
        behavior="<!here> calls",
        target_count=1,
        window_days=1,
        practice_format="drill",
        evidence="<@U999>",
        ends_on=date(2026, 1, 1),
    )
    dm = str(rc.commitment_dm(commitment, "U2", None, None, 0, playbook))
    assert "<!here>" not in dm and "<@U999>" not in dm
