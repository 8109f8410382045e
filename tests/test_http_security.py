"""The HTTP surface: signatures, health, redeliveries, lifecycle events, retries and log hygiene."""

from __future__ import annotations

import logging
import time

import pytest
from sqlmodel import Session, select

from storage import queries
from storage.models import ManagerRequest, ProcessedDelivery, Workspace
from tests.conftest import MANAGER, OTHER_MANAGER, REP, STANDARD_ROWS
from tests.harness import BOT_TOKEN, SIGNING_SECRET
from tests.rows import present


def _request_rows(engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(ManagerRequest)).all())


@pytest.mark.parametrize(
    "tamper",
    ["wrong_secret", "stale", "body_changed", "no_signature"],
)
@pytest.mark.sqlite_only
def test_bad_signatures_get_401_and_change_nothing(harness, engine, import_csv, tamper):
    import_csv(*STANDARD_ROWS)
    body = harness.command_body(OTHER_MANAGER, f"request <@{REP}>")
    kwargs: dict = {}
    if tamper == "wrong_secret":
        kwargs["secret"] = "not-the-secret"
    elif tamper == "stale":
        kwargs["timestamp"] = int(time.time()) - 6 * 60
    elif tamper == "body_changed":
        kwargs["sign_body"] = harness.command_body(OTHER_MANAGER, "help")
    if tamper == "no_signature":
        import urllib.error
        import urllib.request

        req = urllib.request.Request(harness.url + "/slack/events", data=body, method="POST")
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        status = err.value.code
    else:
        status = harness.post(body, "application/x-www-form-urlencoded", **kwargs).status
    harness.executor.drain()
    assert status == 401
    assert harness.fake.calls == []
    assert _request_rows(engine) == 0


@pytest.mark.sqlite_only
def test_a_four_minute_old_signature_is_still_accepted(harness):
    r = harness.post(
        harness.command_body(REP, "help"), "application/x-www-form-urlencoded", timestamp=int(time.time()) - 4 * 60
    )
    assert r.status == 200 and harness.fake.responses()


def test_healthz_and_unknown_paths(harness):
    r = harness.get("/healthz")
    assert r.status == 200 and '"ok": true' in r.body
    assert harness.get("/nope").status == 404
    assert harness.get("/slack/events").status == 405


@pytest.mark.sqlite_only
def test_oversized_body_is_refused_before_parsing(harness):
    r = harness.post(b"x" * (1024 * 1024 + 10), "application/x-www-form-urlencoded")
    assert r.status == 413 and harness.fake.calls == []


@pytest.mark.sqlite_only
def test_malformed_payload_is_not_a_500(harness):
    r = harness.post(b"payload=%7Bnot-json", "application/x-www-form-urlencoded")
    assert r.status == 400 and "malformed_body" in r.body
    assert harness.fake.calls == []


def test_uninstall_marks_workspace_inactive_once_even_when_redelivered(harness, engine, import_csv):
    import_csv(*STANDARD_ROWS)
    assert harness.event({"type": "app_uninstalled"}, event_id="EvU1").status == 200
    with Session(engine) as s:
        ws = queries.get_workspace(s, "T0TEAM")
        assert ws is not None and ws.active is False and ws.uninstalled_at is not None
        first = ws.uninstalled_at
    r = harness.event({"type": "app_uninstalled"}, event_id="EvU1", retry=1)
    assert r.status == 200  # acknowledged like the first; handled once (after the acknowledgement)
    with Session(engine) as s:
        assert present(queries.get_workspace(s, "T0TEAM")).uninstalled_at == first
        assert len(s.exec(select(ProcessedDelivery)).all()) == 1


def test_tokens_revoked_marks_workspace_inactive(harness, engine, import_csv):
    import_csv(*STANDARD_ROWS)
    harness.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}, event_id="EvT1")
    with Session(engine) as s:
        assert s.exec(select(Workspace)).one().active is False


@pytest.mark.sqlite_only
def test_rate_limited_call_is_retried_after_retry_after(harness, import_csv):
    import_csv(*STANDARD_ROWS)
    harness.fake.fail_next("users.info", status=429, retry_after=1)
    started = time.monotonic()
    harness.command(MANAGER, f"profile <@{REP}>")
    assert time.monotonic() - started >= 1.0
    statuses = [c.status for c in harness.fake.calls if c.method == "users.info"]
    assert statuses[:2] == [429, 200]
    assert "Wiring card: Riley" in harness.fake.responses()[-1].text_dump()


@pytest.mark.sqlite_only
def test_server_errors_are_retried(harness, import_csv):
    import_csv(*STANDARD_ROWS)
    harness.fake.fail_next("users.info", status=503, times=1)
    harness.command(MANAGER, f"profile <@{REP}>")
    assert "Wiring card: Riley" in harness.fake.responses()[-1].text_dump()


@pytest.mark.sqlite_only
def test_unexpected_slack_error_gives_polite_answer_not_a_trace(harness, import_csv):
    import_csv(*STANDARD_ROWS)
    harness.fake.fail_next("users.info", error="internal_error")
    harness.command(MANAGER, f"profile <@{REP}>")
    text = harness.fake.responses()[-1].text_dump()
    assert "something went wrong on my side" in text and "Traceback" not in text


@pytest.mark.sqlite_only
def test_one_log_line_per_request_without_secrets_or_scores(harness, import_csv):
    import io

    from bot.logging_setup import configure_logging

    import_csv(*STANDARD_ROWS)
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("DEBUG", [SIGNING_SECRET, BOT_TOKEN], stream=stream)
        logging.getLogger("coachbot.test").info("leak attempt %s %s xoxb-another-token", BOT_TOKEN, SIGNING_SECRET)
        harness.command(MANAGER, f"profile <@{REP}>")
        harness.fake.fail_next("users.info", error="internal_error")
        harness.command(MANAGER, f"profile <@{REP}>")
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    text = stream.getvalue()
    lines = [line for line in text.splitlines() if "coachbot.requests request " in line]
    assert len(lines) == 2
    assert f"team=T0TEAM user={MANAGER} kind=command name=/coach outcome=200" in lines[0]
    assert "failed team=T0TEAM" in text and "error=SlackApiError" in text
    assert BOT_TOKEN not in text and SIGNING_SECRET not in text and "xoxb-another" not in text
    assert "[redacted]" in text
    assert "coachability" not in text.lower() and "Riley" not in text
    assert "Traceback" in text  # errors carry their (scrubbed) stack trace: frames, never messages


def test_user_change_keeps_time_zone_and_deactivation_current(harness, engine, import_csv):
    import_csv(*STANDARD_ROWS)
    user = {**harness.fake.users[REP], "tz": "Asia/Tokyo"}
    harness.event({"type": "user_change", "user": user}, event_id="EvTz")
    with Session(engine) as s:
        person = present(queries.get_person(s, "T0TEAM", REP))
        assert (person.tz, person.active) == ("Asia/Tokyo", True)
    harness.event({"type": "user_change", "user": {**user, "deleted": True}}, event_id="EvGone2")
    with Session(engine) as s:
        assert present(queries.get_person(s, "T0TEAM", REP)).active is False
    harness.event(
        {"type": "user_change", "user": {**harness.fake.users[STRANGER_ID], "tz": "UTC"}}, event_id="EvStranger"
    )
    with Session(engine) as s:
        assert queries.get_person(s, "T0TEAM", STRANGER_ID) is None  # not on the roster: nothing created


STRANGER_ID = "USTRANGER"
