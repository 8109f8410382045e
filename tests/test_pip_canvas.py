"""A PIP's evidence pack as a Slack canvas, end to end through the real app: *Share as canvas* on the
manager's word that the plan started (or `/coach pip canvas @rep`) makes the canvas once, with the same
Markdown as `coachbot export --pip`, readable by the rep, their manager and admins only; a second click
answers with the link; a workspace that allows no canvas gets the file export instead; and an answer
lost on the way never leads to a second canvas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.pip import service
from storage.db import session_scope
from storage.models import Person, Pip
from tests.conftest import ADMIN, MANAGER, OTHER_MANAGER, REP, REP2, STANDARD_ROWS, STRANGER
from tests.harness import Harness
from tests.rows import present
from tests.test_pip_lifecycle import DRAFT_DAY, _dms_to, _open_form, _stall, _values

CONFIGURED_ADMIN = "UCFGADMIN"  # named in COACHBOT_ADMINS, a member of this workspace
FOREIGN = "UFOREIGN"  # named in COACHBOT_ADMINS too, but their own team is another organisation
NOT_YOURS = "Only a rep's manager or a Coachbot admin can share the evidence pack"


@pytest.fixture
def h(slack, database_url, engine, playbook, import_csv) -> Iterator[Harness]:
    slack.fake.add_user(CONFIGURED_ADMIN, "Casey")
    harness = Harness(slack, database_url, engine, playbook, admins=frozenset({CONFIGURED_ADMIN, FOREIGN}))
    try:
        import_csv(*STANDARD_ROWS)
        _stall(engine, playbook, REP2)
        harness.ctx.clock = lambda: DRAFT_DAY
        yield harness
    finally:
        harness.close()


def _pip(engine) -> Pip:
    with Session(engine) as session:
        return present(session.exec(select(Pip)).first())


def _start(h) -> tuple[Pip, str]:
    """A running PIP for REP2; returns it and the value of the *Share as canvas* button the manager got."""
    view = _open_form(h)
    h.submit(MANAGER, view, _values(), view_id="VCANVAS")
    (started,) = [c for c in _dms_to(h.fake, MANAGER) if "Started" in c.text_dump()]
    (button,) = [
        e for b in started.blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "pip_canvas"
    ]
    h.fake.reset_calls()
    return _pip(h.ctx.engine), button["value"]


def _reply(h) -> str:
    responses = h.fake.responses()
    assert responses, "no reply reached the user"
    assert responses[-1].args.get("response_type") == "ephemeral"
    return json.dumps(json.loads(responses[-1].text_dump()), ensure_ascii=False)


def _canvas_calls(h) -> tuple[list, list]:
    return h.fake.calls_to("canvases.create"), h.fake.calls_to("canvases.access.set")


def test_the_manager_shares_the_pack_once(h, engine, cli, tmp_path):
    pip, value = _start(h)
    assert value == str(pip.id)
    h.action(MANAGER, "pip_canvas", value)
    (create,), (access,) = _canvas_calls(h)
    canvas_id = present(_pip(engine).canvas_id)
    link = f"https://fake.slack.com/docs/T0TEAM/{canvas_id}"
    answer = _reply(h)
    assert "Shared" in answer and f"<{link}|open it>" in answer

    # The same document as the file export, in a standalone canvas (no channel), read-only for exactly
    # the rep, their manager and the admins of this workspace.
    path = tmp_path / "pip.md"
    assert cli("export", "--pip", str(pip.id), str(path))[0] == 0
    content = create.args["document_content"]
    assert content == {"type": "markdown", "markdown": path.read_text()}
    assert create.args["title"].startswith(f"PIP {pip.id} evidence pack") and "channel_id" not in create.args
    assert access.args["access_level"] == "read" and "channel_ids" not in access.args
    assert h.fake.canvas_readers(canvas_id) == {REP2: "read", MANAGER: "read", CONFIGURED_ADMIN: "read"}
    stored = _pip(engine)
    assert (stored.canvas_state, stored.canvas_id) == ("shared", canvas_id)

    # The rep gets the link once; the manager, who asked, has it in the answer.
    (told,) = _dms_to(h.fake, REP2)
    assert link in told.text_dump() and "your PIP" in told.text_dump()
    assert _dms_to(h.fake, MANAGER) == []

    # A second click, and the command from an admin: the link again, never a second canvas.
    h.action(MANAGER, "pip_canvas", value)
    assert "already a canvas" in _reply(h) and link in _reply(h)
    h.command(ADMIN, f"pip canvas <@{REP2}>")
    assert "already a canvas" in _reply(h)
    assert [len(calls) for calls in _canvas_calls(h)] == [1, 1]
    assert len(_dms_to(h.fake, REP2)) == 1


def test_an_admin_may_share_and_the_manager_is_told(h, engine):
    _start(h)
    h.command(ADMIN, f"pip canvas <@{REP2}>")
    assert "Shared" in _reply(h)
    canvas_id = present(_pip(engine).canvas_id)
    assert h.fake.canvas_readers(canvas_id) == {REP2: "read", MANAGER: "read", ADMIN: "read", CONFIGURED_ADMIN: "read"}
    assert FOREIGN not in h.fake.canvas_readers(canvas_id)
    (to_manager,) = _dms_to(h.fake, MANAGER)
    assert "the PIP on" in to_manager.text_dump() and canvas_id in to_manager.text_dump()
    assert len(_dms_to(h.fake, REP2)) == 1


@pytest.mark.postgres_once("caller")
@pytest.mark.parametrize("caller", [OTHER_MANAGER, REP2, REP, STRANGER])
def test_nobody_else_may_share(h, engine, caller):
    _, value = _start(h)
    h.action(caller, "pip_canvas", value)
    assert NOT_YOURS in _reply(h)
    h.command(caller, f"pip canvas <@{REP2}>")
    assert NOT_YOURS in _reply(h)
    assert _canvas_calls(h) == ([], []) and _pip(engine).canvas_state is None


def test_someone_of_another_organisation_gets_nothing(h, engine):
    _, value = _start(h)
    h.action(FOREIGN, "pip_canvas", value)
    h.command(FOREIGN, f"pip canvas <@{REP2}>")
    for response in h.fake.responses():
        assert "for members of this workspace only" in response.text_dump()
    assert _canvas_calls(h) == ([], []) and _pip(engine).canvas_state is None


def test_the_same_refusal_whether_or_not_the_pip_exists(h, engine):
    pip, _ = _start(h)
    h.action(OTHER_MANAGER, "pip_canvas", str(present(pip.id) + 1))
    assert NOT_YOURS in _reply(h)
    h.action(ADMIN, "pip_canvas", str(present(pip.id) + 1))
    assert f"no PIP number {present(pip.id) + 1}" in _reply(h)
    h.action(MANAGER, "pip_canvas", "not-a-number")
    assert "doesn't say which PIP" in _reply(h)
    h.command(MANAGER, f"pip canvas <@{REP}>")
    assert "has no PIP on record" in _reply(h)
    h.command(MANAGER, "pip canvas")
    assert "`/coach pip canvas @rep`" in _reply(h)
    assert _canvas_calls(h) == ([], [])


@pytest.mark.postgres_once("error")
@pytest.mark.parametrize(
    "error",
    ["free_teams_cannot_create_non_messaging_canvases", "canvas_disabled_user_team", "missing_scope", "not_allowed"],
)
def test_a_workspace_without_canvases_gets_the_file_export(h, engine, error):
    pip, value = _start(h)
    h.fake.refuse_canvases(error)
    result = h.action(MANAGER, "pip_canvas", value)
    assert result.status == 200
    answer = _reply(h)
    assert "doesn't let Coachbot make canvases" in answer and f"`{error}`" in answer
    assert f"coachbot export --pip {pip.id} FILE.md" in answer and "Traceback" not in answer
    assert h.fake.calls_to("canvases.access.set") == [] and h.fake.canvases == {}
    assert _pip(engine).canvas_state is None and _dms_to(h.fake, REP2) == []

    # Nothing was made, so once canvases are allowed the same button works.
    h.action(MANAGER, "pip_canvas", value)
    assert "Shared" in _reply(h) and len(h.fake.canvases) == 1


@pytest.mark.parametrize("status", [500, 503, 0])  # 0: the connection drops before any answer
def test_an_answer_lost_on_the_way_never_makes_a_second_canvas(h, engine, status):
    pip, value = _start(h)
    h.fake.lose_answer("canvases.create", status=status)
    h.action(MANAGER, "pip_canvas", value)
    answer = _reply(h)
    assert "can't confirm" in answer and f"coachbot export --pip {pip.id} FILE.md" in answer
    assert len(h.fake.calls_to("canvases.create")) == 1  # the client did not retry it either
    (made,) = h.fake.canvases  # Slack did make it, but nobody was given access
    assert h.fake.canvas_readers(made) == {} and _pip(engine).canvas_state == "unknown"

    for caller in (MANAGER, ADMIN):
        h.action(caller, "pip_canvas", value)
        assert "could not confirm" in _reply(h) and "won't make another one" in _reply(h)
    assert len(h.fake.calls_to("canvases.create")) == 1 and h.fake.calls_to("canvases.access.set") == []
    assert _dms_to(h.fake, REP2) == []


def test_a_share_that_failed_is_retried_without_a_second_canvas(h, engine):
    _, value = _start(h)
    h.fake.fail_next("canvases.access.set", error="failed_to_update_user_ids")
    h.action(MANAGER, "pip_canvas", value)
    assert "didn't let me share it yet" in _reply(h)
    assert _pip(engine).canvas_state == "made" and _dms_to(h.fake, REP2) == []

    h.action(MANAGER, "pip_canvas", value)
    assert "Shared" in _reply(h) and _pip(engine).canvas_state == "shared"
    assert len(h.fake.calls_to("canvases.create")) == 1 and len(h.fake.calls_to("canvases.access.set")) == 2
    assert len(_dms_to(h.fake, REP2)) == 1


def test_two_requests_claim_the_canvas_once(h, engine):
    pip, _ = _start(h)
    moves = []
    for _ in range(2):
        with session_scope(engine) as session:
            moves.append(service.move_canvas(session, "T0TEAM", present(pip.id), None, "creating"))
    with session_scope(engine) as session:
        moves.append(service.move_canvas(session, "T0OTHER", present(pip.id), "creating", None))
    assert moves == [True, False, False] and _pip(engine).canvas_state == "creating"
    h.action(MANAGER, "pip_canvas", str(pip.id))
    assert "could not confirm" in _reply(h) and h.fake.calls_to("canvases.create") == []


def test_a_pip_of_another_workspace_is_never_shared(h, engine):
    """The foreign PIP's rep even has this workspace's manager's id: the PIP id alone decides nothing."""
    with session_scope(engine) as session:
        person = Person(team_id="T0OTHER", slack_user_id=REP2, manager_user_id=MANAGER)
        session.add(person)
        session.flush()
        start = DRAFT_DAY.date()
        pip = Pip(
            team_id="T0OTHER",
            person_id=present(person.id),
            manager_user_id=MANAGER,
            drafted_by=MANAGER,
            gap="closing",
            behavior="Another workspace's behavior",
            weekly_count=3,
            sessions_per_week=2,
            weeks=4,
            starts_on=start,
            ends_on=start + timedelta(days=28),
            submission_key="VFOREIGNCANVAS",
        )
        session.add(pip)
        session.flush()
        foreign_id = present(pip.id)
    h.action(MANAGER, "pip_canvas", str(foreign_id))
    assert NOT_YOURS in _reply(h)
    h.action(ADMIN, "pip_canvas", str(foreign_id))
    assert f"no PIP number {foreign_id}" in _reply(h)
    h.action(MANAGER, "pip_canvas", str(foreign_id), team_id="T0OTHER")  # sent as if from that workspace
    assert "for members of this workspace only" in _reply(h)
    assert _canvas_calls(h) == ([], [])


def test_the_canvas_messages_stay_within_block_kit_limits():
    from bot.pip import views
    from bot.slack.limits import check_message

    long = "<!channel> *x* " + "y" * 3000
    link = "https://fake.slack.com/docs/T0TEAM/F0CANVAS1"
    for message in (
        views.started_message(long, 2**31 - 1),
        views.canvas_message(long, link, for_rep=True),
        views.canvas_message(long, link, for_rep=False),
    ):
        assert check_message(message) == []
    assert "<!channel>" not in json.dumps(views.canvas_message(long, link, for_rep=True))
