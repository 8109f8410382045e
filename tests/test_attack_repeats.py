"""Attacks on "every user action is stored and answered once" and on "a DM whose outcome is unknown
is verified, never lost", through faults that strike *after* a listener already wrote something.

handlers/__init__.py releases a delivery's claim whenever the listener raises, on the assumption
that "nothing was done". A connection-level fault (a reset, a timeout, a malformed answer) in a
Slack call made after the listener committed breaks that assumption.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, func, select

from storage.models import CheckIn, Commitment, Diagnosis
from tests import seed
from tests.conftest import MANAGER, REP, REP2, STANDARD_ROWS
from tests.harness import num, opened_view, sel, txt
from tests.test_diagnose import EVIDENCE, prescribe_values

NOW = datetime(2026, 11, 17, 15, 0, tzinfo=UTC)  # a Tuesday, inside a window that started Monday
FORM = "application/x-www-form-urlencoded"
RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


@pytest.fixture
def h(harness, import_csv, engine, playbook):
    import_csv(*STANDARD_ROWS)
    harness.ctx.clock = lambda: NOW
    harness.cid = seed.commitment(engine, playbook, seed.slack_user(REP), MANAGER, date(2026, 11, 16))
    harness.fake.reset_calls()
    return harness


def _count(engine, model) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def _dm_texts(fake, user: str) -> list[str]:
    with fake.lock:
        return [str(m.get("text")) for m in fake.history.get(f"D{user}", [])]


# --- FAIL today -----------------------------------------------------------------------------------


def test_a_click_whose_answer_fails_after_storing_is_still_stored_once_on_replay(h, engine):
    """The check-in is committed, then the ephemeral answer (response_url) gets a malformed reply.
    The claim is released as if nothing happened, the user is told "nothing was changed", and the
    same click delivered again is stored a second time."""
    body = h.action_body(REP, "checkin_log", str(h.cid))
    h.fake.lose_answer("response_url", status=0)  # Slack's answer to the response_url post is garbage
    assert h.post(body, FORM).status == 200
    assert _count(engine, CheckIn) == 1
    told = [r.text_dump() for r in h.fake.responses()]
    assert h.post(body, FORM, headers=RETRY).status == 200
    assert _count(engine, CheckIn) == 1, "the same click, delivered twice, was stored twice"
    assert not any("nothing was changed" in t for t in told), "the user was told nothing changed, yet it was stored"


def test_a_note_form_whose_confirmation_dm_fails_is_stored_once_on_replay(h, engine):
    """The check-in from the note form is committed; the confirmation DM's conversations.open then
    loses its connection three times (the client's retries). The form's claim is released, and the
    same submission delivered again is stored again."""
    h.action(REP, "checkin_note_open", str(h.cid))
    body = h.submit_body(
        REP, opened_view(h.fake), {"count": num("2"), "note": txt("Two calls, no pitch")}, view_id="VNOTEX"
    )
    h.fake.lose_answer("conversations.open", status=0, times=3)
    assert h.post(body, FORM).status == 200
    assert _count(engine, CheckIn) == 1
    assert h.post(body, FORM).status == 200
    with Session(engine) as s:
        counts = [c.count for c in s.exec(select(CheckIn)).all()]
    assert counts == [2], f"one form, delivered twice, was stored as {counts}"


def _diagnoses(engine, view_id: str = "VDIAG1") -> list[Diagnosis]:
    with Session(engine) as s:
        return list(s.exec(select(Diagnosis).where(Diagnosis.submission_key == view_id)))


def _submit_diagnosis(h, view_id: str = "VDIAG1") -> bytes:
    """A diagnosis of REP2 (who, unlike REP, has no active commitment for the gap yet)."""
    h.command(MANAGER, f"<@{REP2}> noticed early pitching", command="/diagnose")
    values = {
        "cause": sel("coaching_gap", "radio_buttons"),
        "gap": sel("discovery"),
        "drag": sel(None),
        "evidence": txt(EVIDENCE),
    }
    return h.submit_body(MANAGER, opened_view(h.fake), values, view_id=view_id)


def test_a_brief_lost_to_a_reset_conversations_open_is_delivered_when_the_form_comes_again(h, engine):
    """The diagnosis is stored, then conversations.open for the brief DM keeps losing its connection.
    Nothing tells the manager; and when the same form arrives again, the handler sees the stored
    diagnosis and returns, so the brief (with its Prescribe button) is never sent."""
    body = _submit_diagnosis(h)
    h.fake.lose_answer("conversations.open", status=0, times=3)
    assert h.post(body, FORM).status == 200
    assert len(_diagnoses(engine)) == 1
    assert h.post(body, FORM, headers=RETRY).status == 200  # the same form once more
    briefs = [t for t in _dm_texts(h.fake, MANAGER) if "brief" in t.lower() or "diagnos" in t.lower()]
    assert len(briefs) == 1, f"the coaching brief reached the manager {len(briefs)} times"


def test_a_prescribe_whose_conversations_open_resets_leaves_no_silent_draft(h, engine):
    """conversations.open for the commitment DM loses its connection (three times: past the client's
    retries). The draft stays behind, the rep has nothing, the manager is told nothing; the same
    form delivered again is taken for a duplicate and also does nothing."""
    body = _submit_diagnosis(h)
    h.post(body, FORM)
    (diagnosis,) = _diagnoses(engine)
    h.action(MANAGER, "prescribe_open", str(diagnosis.id))
    form = h.submit_body(MANAGER, opened_view(h.fake), prescribe_values(), view_id="VPRESC1")
    h.fake.reset_calls()
    h.fake.lose_answer("conversations.open", status=0, times=3)
    assert h.post(form, FORM).status == 200
    assert h.post(form, FORM, headers=RETRY).status == 200
    with Session(engine) as s:
        statuses = [c.status for c in s.exec(select(Commitment).where(Commitment.diagnosis_id == diagnosis.id))]
    rep_got_it = bool(_dm_texts(h.fake, REP2))
    manager_told = [c.text_dump() for c in h.fake.calls_to("chat.postMessage") if c.args["channel"] == f"D{MANAGER}"]
    assert rep_got_it or statuses == [], f"commitment left as {statuses} and the rep never got the DM"
    assert manager_told, "the manager was told nothing about the prescribe"


def test_a_form_replayed_with_another_view_hash_is_stored_once(h, engine):
    """A modal closes on a plain acknowledgement, so a view id is submitted successfully once; the
    delivery key nonetheless includes the view hash, and the check-in note form has no key of its
    own, so the same view id with another hash is stored again."""
    h.action(REP, "checkin_note_open", str(h.cid))
    view = opened_view(h.fake)
    values = {"count": num("2"), "note": txt("Two calls, no pitch")}
    for view_hash in ("1700000000.aaa", "1700000000.bbb"):
        assert h.submit(REP, {**view, "hash": view_hash}, values, view_id="VHASH").status == 200
    assert _count(engine, CheckIn) == 1, "the same form (same view id) was stored twice"


# --- regression tests: attacks that the app withstands today ------------------------------------


def test_the_same_click_delivered_concurrently_is_stored_once(h, engine):
    body = h.action_body(REP, "checkin_log", str(h.cid))
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def send() -> None:
        barrier.wait(timeout=5)
        statuses.append(h.post(body, FORM).status)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    h.executor.drain()
    assert statuses == [200] * 4
    assert _count(engine, CheckIn) == 1
    assert sum("Logged 1" in r.text_dump() for r in h.fake.responses()) == 1


def test_the_same_form_delivered_concurrently_is_stored_once(h, engine):
    h.action(REP, "checkin_note_open", str(h.cid))
    body = h.submit_body(REP, opened_view(h.fake), {"count": num("3"), "note": txt("three")}, view_id="VCONC")
    barrier = threading.Barrier(3)

    def send() -> None:
        barrier.wait(timeout=5)
        h.post(body, FORM)

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    h.executor.drain()
    assert _count(engine, CheckIn) == 1


def test_a_brief_whose_post_times_out_arrives_once(h, engine):
    """chat.postMessage answers after the client's timeout: verified against the history, not resent."""
    h.app.client.timeout = 1
    body = _submit_diagnosis(h)
    h.fake.answer_late("chat.postMessage", 2.5)
    h.post(body, FORM)
    h.executor.drain()
    briefs = [t for t in _dm_texts(h.fake, MANAGER) if "brief" in t.lower() or "diagnos" in t.lower()]
    assert len(briefs) == 1


def test_a_commitment_dm_whose_post_times_out_arrives_once_and_is_active(h, engine):
    h.post(_submit_diagnosis(h), FORM)
    (diagnosis,) = _diagnoses(engine)
    h.action(MANAGER, "prescribe_open", str(diagnosis.id))
    h.app.client.timeout = 1
    h.fake.answer_late("chat.postMessage", 2.5)
    h.submit(MANAGER, opened_view(h.fake), prescribe_values())
    assert len(_dm_texts(h.fake, REP2)) == 1
    with Session(engine) as s:
        made = s.exec(select(Commitment).where(Commitment.diagnosis_id == diagnosis.id)).one()
    assert made.status == "active"


def test_a_form_for_a_callback_that_opens_nothing_is_acknowledged_and_stores_nothing(h, engine):
    view = {"type": "modal", "callback_id": "no_such_form", "private_metadata": json.dumps({"commitment": h.cid})}
    r = h.submit(REP, view, {"count": num("5"), "note": txt("x")})
    assert r.status == 200
    view = {"type": "modal", "callback_id": "checkin_note", "private_metadata": json.dumps({"commitment": h.cid})}
    h.submit(MANAGER, view, {"count": num("5"), "note": txt("not my commitment")})
    assert _count(engine, CheckIn) == 0
