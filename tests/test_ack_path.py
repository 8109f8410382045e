"""After-ack work stands aside while HTTP requests are being received or answered (bench/RESULTS.md,
2026-12-06): the counter the HTTP server keeps, and the work pool that waits on it."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

import bot.app
from bot.app import AfterAckPool
from bot.slack import http_server
from bot.slack.http_server import Traffic, _counting_channel

FAR = 60.0  # a yield long enough that only the end of the traffic can release a task


@pytest.fixture
def traffic(monkeypatch: pytest.MonkeyPatch) -> Traffic:
    fresh = Traffic()
    monkeypatch.setattr(bot.app, "TRAFFIC", fresh)
    monkeypatch.setattr(bot.app, "YIELD_SECONDS", FAR)
    return fresh


def test_work_waits_until_no_request_is_in_progress(traffic: Traffic) -> None:
    pool = AfterAckPool(max_workers=2)
    started = threading.Event()

    def task() -> int:
        started.set()
        return traffic.busy()

    try:
        traffic.begin()
        traffic.begin()
        future = pool.submit(task)
        traffic.end()
        assert not started.wait(0.3), "the work started while a request was still in progress"
        traffic.end()
        assert future.result(timeout=10) == 0  # it started only once nothing was in progress
    finally:
        pool.shutdown(wait=True)


def test_work_runs_at_once_when_the_server_is_quiet(traffic: Traffic) -> None:
    pool = AfterAckPool(max_workers=1)
    try:
        assert pool.submit(lambda: "done").result(timeout=10) == "done"
    finally:
        pool.shutdown(wait=True)


def test_work_stands_aside_no_longer_than_its_yield(traffic: Traffic, monkeypatch: pytest.MonkeyPatch) -> None:
    """Steady traffic must not starve the work (a modal must still open within Slack's 3 s)."""
    monkeypatch.setattr(bot.app, "YIELD_SECONDS", 0.05)
    pool = AfterAckPool(max_workers=1)
    traffic.begin()
    try:
        assert pool.submit(traffic.busy).result(timeout=10) == 1  # ran although a request was in progress
    finally:
        traffic.end()
        pool.shutdown(wait=True)


@pytest.fixture
def counted_server() -> Iterator[tuple[int, Traffic, list[int]]]:
    """A real waitress server with the counting channel; the app notes the count while it answers."""
    from waitress.server import create_server

    from tests.harness import stop_waitress

    traffic = Traffic()
    seen: list[int] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen.append(traffic.busy())
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    server.channel_class = _counting_channel(traffic)
    loop = threading.Thread(target=server.run, daemon=True)
    loop.start()
    try:
        yield int(server.effective_port), traffic, seen
    finally:
        stop_waitress(server, loop)


def _quiet(traffic: Traffic) -> bool:
    done = threading.Event()

    def wait() -> None:
        traffic.wait_quiet(time.monotonic() + FAR)
        done.set()

    threading.Thread(target=wait, daemon=True).start()
    return done.wait(10) and traffic.busy() == 0


def test_the_server_counts_a_request_until_it_is_answered(counted_server: tuple[int, Traffic, list[int]]) -> None:
    port, traffic, seen = counted_server
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/slack/events", body=b"x=1")
    assert conn.getresponse().read() == b"ok"
    assert seen == [1]  # counted while the app answered
    assert _quiet(traffic)  # answered and sent: no longer counted, although the connection is still open
    conn.request("POST", "/slack/events", body=b"x=2")  # the same kept-alive connection counts again
    assert conn.getresponse().read() == b"ok"
    assert seen == [1, 1]
    conn.close()
    assert _quiet(traffic)


def test_the_process_has_one_counter_for_its_server() -> None:
    assert isinstance(http_server.TRAFFIC, Traffic)
    assert bot.app.TRAFFIC is http_server.TRAFFIC
