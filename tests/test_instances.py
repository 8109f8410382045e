"""Several dispatchers on one PostgreSQL database, as behind a load balancer: two in one process with
their own engines, three `coachbot dispatch` processes, a shared outbox of hundreds of rows across
several workspaces with answers lost on the way; each message goes out exactly once. And two
processes rotating one workspace's token at the same moment both end up with the new token."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.context import AppContext
from bot.outbox.dispatcher import Dispatcher
from bot.settings import Settings
from bot.slack.client import make_dispatch_client
from bot.slack.installs import build_installs
from storage.db import make_engine
from storage.models import ScheduledMessage
from tests import seed, txn_guard
from tests.conftest import MANAGER
from tests.fleet import NOW, seed_fleet
from tests.harness import BOT_TOKEN, Harness
from tests.slack_fake import sent_keys
from tests.test_oauth_install import install, oauth_harness, stored

ROOT = Path(__file__).resolve().parents[1]
postgres_only = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def _nudges(fake) -> list[str]:
    return [k for k in sent_keys(fake) if ":nudge:" in k]


def _statuses(engine) -> dict[str, int]:
    with Session(engine) as s:
        rows = s.exec(select(ScheduledMessage.status).where(ScheduledMessage.kind == "nudge")).all()
    return {status: rows.count(status) for status in set(rows)}


def _settle(engine, dispatcher: Dispatcher, passes: int = 4) -> None:
    """Later passes (claims aged as real time would) resolve the posts whose answers were lost."""
    for minute in range(1, passes + 1):
        if _statuses(engine).get("sending", 0) == 0:
            return
        seed.age_claims(engine)
        dispatcher.run_pass(NOW + timedelta(minutes=minute))


@pytest.fixture
def own_engines(database_url: str) -> Iterator[list]:
    """Engines of their own, as separate instances have (each watched for Slack calls in a transaction)."""
    made = [make_engine(database_url) for _ in range(2)]
    for eng in made:
        txn_guard.watch(eng)
    yield made
    for eng in made:
        eng.dispose()


@pytest.mark.runs_long
@postgres_only
def test_two_dispatchers_with_their_own_engines_share_the_outbox_under_load(
    slack, engine, playbook, database_url, own_engines
):
    expected = seed_fleet(engine, 6, 50, slack.fake)  # 300 nudges in six workspaces
    slack.fake.latency = 0.002
    slack.fake.lose_answer("chat.postMessage", status=500, times=4)  # posted, answer lost
    settings = Settings(bot_token=BOT_TOKEN, database_url=database_url, slack_api_url=slack.api_url)
    dispatchers = [
        Dispatcher(
            AppContext(settings=settings, engine=eng, playbook=playbook),
            make_dispatch_client(settings),
            worker_id=f"host-{i}:{i}:x",
            batch_size=40,
        )
        for i, eng in enumerate(own_engines)
    ]
    threads = [threading.Thread(target=d.run_pass, args=(NOW,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    _settle(engine, dispatchers[1])

    keys = _nudges(slack.fake)
    assert len(keys) == len(set(keys)), "a nudge went out twice"
    assert set(keys) == expected
    assert _statuses(engine) == {"sent": 300}
    with slack.fake.lock:
        senders = {c.args.get("channel") for c in slack.fake.calls if c.method == "chat.postMessage"}
    assert len(senders) == 300


@pytest.mark.runs_long
@postgres_only
def test_three_dispatch_processes_share_the_outbox(slack, engine, playbook, database_url, tmp_path):
    expected = seed_fleet(engine, 5, 40, slack.fake)  # 200 nudges in five workspaces
    slack.fake.latency = 0.002
    slack.fake.lose_answer("chat.postMessage", status=500, times=3)
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": database_url,
        "COACHBOT_HOME": str(tmp_path),
    }
    for var in ("COACHBOT_PLAYBOOK", "COACHBOT_ADMINS", "SLACK_CLIENT_ID", "SLACK_APP_TOKEN"):
        env.pop(var, None)
    command = [sys.executable, "-m", "bot.cli", "dispatch", "--now", NOW.isoformat()]
    procs = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err.decode()[-2000:] for _, err in outputs]
    sent_by = [int(out.decode().split("sent ", 1)[1].split(",", 1)[0]) for out, _ in outputs]
    assert sum(sent_by) + 3 == 200  # each process sent its share; three answers were lost
    settings = Settings(bot_token=BOT_TOKEN, database_url=database_url, slack_api_url=slack.api_url)
    _settle(
        engine,
        Dispatcher(AppContext(settings=settings, engine=engine, playbook=playbook), make_dispatch_client(settings)),
    )

    keys = _nudges(slack.fake)
    assert len(keys) == len(set(keys)), "a nudge went out twice"
    assert set(keys) == expected
    assert _statuses(engine) == {"sent": 200}


@pytest.fixture
def oauth(slack, database_url, engine, playbook) -> Iterator[Harness]:
    yield from oauth_harness(slack, database_url, engine, playbook)


def _at_once(fn: Callable[[Any], None], items: list[Any]) -> None:
    """fn(item) for every item, each on its own thread, all let go at the same moment (a race)."""
    start = threading.Barrier(len(items))

    def run(item: Any) -> None:
        start.wait()
        fn(item)

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


def test_two_instances_rotating_one_token_at_once_both_get_the_new_one(oauth, slack, engine, database_url):
    """Each refresh token is good once. Two processes find the token about to expire at the same moment
    and both try to rotate it: the second's refresh is refused, and it takes the token the first saved
    instead of calling the workspace uninstalled."""
    install(oauth, "code-1", expires_in=600)  # inside the rotation window at once
    slack.fake.reset_calls()
    slack.fake.answer_late("oauth.v2.access", 0.5)  # the first rotation's answer is slow: the race window
    own = [make_engine(database_url) for _ in range(2)]
    instances = [build_installs(oauth.settings, eng).clients for eng in own]
    tokens: list[str] = []
    errors: list[BaseException] = []

    def rotate(clients) -> None:
        try:
            tokens.append(str(clients.get("T0TEAM", "dispatch").token))
        except BaseException as exc:  # noqa: BLE001 (the assertion below names it)
            errors.append(exc)

    _at_once(rotate, instances)
    for eng in own:
        eng.dispose()
    refreshes = slack.fake.calls_to("oauth.v2.access")
    assert errors == [] and len(refreshes) == 2  # both tried
    newest = stored(engine, "T0TEAM")[-1]["bot_token"]
    assert tokens == [newest, newest] and newest == slack.fake.tokens_of("T0TEAM")[-1]


def test_two_instances_authorizing_requests_at_once_rotate_the_token_once(oauth, slack, engine, database_url):
    """The same race on the request path: two instances get a request from one workspace as its token
    is about to expire. Each authorizes with the workspace's token (Bolt's authorize, rotating through
    TeamClients); the one whose refresh is refused uses the token the other saved, so neither request
    is answered as if Coachbot were not installed."""
    from slack_bolt import BoltContext
    from slack_sdk import WebClient

    install(oauth, "code-1", expires_in=600)  # inside the rotation window at once
    slack.fake.install_codes_for("T0TEAM")["expires_in"] = 43200  # a rotated token is good for 12 hours
    slack.fake.reset_calls()
    slack.fake.answer_late("oauth.v2.access", 0.5)  # the first rotation's answer is slow: the race window
    own = [make_engine(database_url) for _ in range(2)]
    authorizers = [build_installs(oauth.settings, eng).authorize() for eng in own]
    tokens: list[str | None] = []

    def authorize(auth) -> None:
        context = BoltContext({"client": WebClient(base_url=slack.api_url)})  # Bolt's auth.test goes to the fake
        result = auth(context=context, enterprise_id=None, team_id="T0TEAM", user_id=MANAGER)
        tokens.append(None if result is None else result.bot_token)

    _at_once(authorize, authorizers)
    for eng in own:
        eng.dispose()
    newest = stored(engine, "T0TEAM")[-1]["bot_token"]
    assert tokens == [newest, newest] and newest == slack.fake.tokens_of("T0TEAM")[-1]
    assert len(slack.fake.calls_to("oauth.v2.access")) == 2  # both tried; the second was refused
