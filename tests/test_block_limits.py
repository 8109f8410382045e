"""Every renderer stays inside Block Kit limits, even with oversized content."""

from __future__ import annotations

from datetime import date

from bot.roster import views as render
from bot.roster.views import WiringCard
from bot.slack.blocks import button, header, section
from bot.slack.limits import check_message, check_view
from bot.slack.text import escape_mrkdwn, parse_user_mention


def _card(**kw):  # type: ignore[no-untyped-def]
    base = dict(
        rep_user_id="U1",
        rep_name="R" * 500,
        manager_user_id="U2",
        archetype="root",
        seat_name="S" * 100,
        seat_archetype="engine",
        coachability=1,
        drive=100,
        resilience=50,
        deal_killers=["coaching_resistance", "ethical_flexibility", "commission_breath"],
        gaps=[
            "time_pressure",
            "discovery",
            "objection_handling",
            "closing",
            "pipeline_discipline",
            "prospecting_consistency",
        ],
        start_date=date(2026, 1, 1),
        version=3,
        assessed_on=date(2026, 1, 1),
        versions=3,
    )
    base.update(kw)
    return WiringCard(**base)


def test_checker_catches_violations():  # type: ignore[no-untyped-def]
    too_many = {"text": "x", "blocks": [{"type": "divider"}] * 51}
    assert check_message(too_many) == ["51 blocks, at most 50"]
    long_header = {"text": "x", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]}
    assert check_message(long_header)
    long_section = {"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}]}
    assert check_message(long_section)
    assert check_view({"type": "modal", "title": {"type": "plain_text", "text": "t" * 25}, "blocks": []})


def test_builders_truncate_to_limits():  # type: ignore[no-untyped-def]
    msg = {"text": "x", "blocks": [header("h" * 500), section("s" * 5000, button("b" * 200, "a"))]}
    assert check_message(msg) == []


def test_wiring_card_within_limits_with_oversized_names(playbook):  # type: ignore[no-untyped-def]
    for card in (_card(), _card(archetype=None), _card(start_date=None, seat_archetype=None)):
        msg = render.wiring_card(card, playbook, date(2026, 2, 1))
        assert check_message(msg) == [], msg


def test_other_messages_within_limits(playbook):  # type: ignore[no-untyped-def]
    reps = [(f"U{i:05d}", "engine") for i in range(500)]
    for msg in (
        render.help_message(),
        render.team_list("U1", reps, playbook),
        render.team_list("U1", [], playbook),
        render.manager_request_dm(1, "U1", "U2"),
        render.text_message("x"),
    ):
        assert check_message(msg) == []


def test_user_text_is_escaped_in_cards(playbook):  # type: ignore[no-untyped-def]
    msg = render.wiring_card(
        _card(rep_name="<!channel> boss", seat_name="<https://evil|click>"), playbook, date(2026, 2, 1)
    )
    dump = str(msg["blocks"][1:])
    assert "<!channel>" not in dump and "<https://evil" not in dump
    assert escape_mrkdwn("<!here> & <@U1>") == "&lt;!here&gt; &amp; &lt;@U1&gt;"


def test_mention_forms():  # type: ignore[no-untyped-def]
    assert parse_user_mention("<@U123ABC|jo>").user_id == "U123ABC"
    assert parse_user_mention("<@W123ABC>").user_id == "W123ABC"
    assert parse_user_mention("@jo").problem and parse_user_mention("jo").problem
    assert "group mention" in parse_user_mention("<!subteam^S123|@sales>").problem
