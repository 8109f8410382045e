"""A fast Web API fake for bench/dispatch_scale_bench.py: asyncio in its own process, HTTP/1.1 with
keep-alive, every call answered after `latency` seconds (50 ms by default), and Slack's per-workspace
limit on chat.postMessage modelled as a token bucket per workspace: `rate` posts a second sustained,
bursts of `burst`; a post over it is answered 429 with Retry-After 1 (and not posted).

The workspace of a post is read from its DM channel (`D` + user id, user ids `UW{team:04d}R{rep:03d}`,
tests/fleet.py). It records each posted message's key (from its metadata), so duplicates are counted,
and the wall time of the last post. `GET /stats` reports them; `POST /reset` clears them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import multiprocessing
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl


class Fake:
    def __init__(self, latency: float, rate: float, burst: int):
        self.latency, self.rate, self.burst = latency, rate, burst
        self.reset()

    def reset(self) -> None:
        self.keys: Counter[str] = Counter()
        self.buckets: dict[str, tuple[float, float]] = {}  # workspace -> (tokens, updated)
        self.calls = 0
        self.throttled = 0
        self.first_post = 0.0
        self.last_post = 0.0
        self.ts = itertools.count(1)

    def stats(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "posts": sum(self.keys.values()),
            "distinct": len(self.keys),
            "duplicates": sum(n - 1 for n in self.keys.values() if n > 1),
            "throttled": self.throttled,
            "first_post": self.first_post,
            "last_post": self.last_post,
        }

    def _allow(self, team: str) -> bool:
        now = time.monotonic()
        tokens, updated = self.buckets.get(team, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - updated) * self.rate)
        if tokens < 1.0:
            self.buckets[team] = (tokens, now)
            return False
        self.buckets[team] = (tokens - 1.0, now)
        return True

    async def answer(self, method: str, args: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
        self.calls += 1
        await asyncio.sleep(self.latency)
        if method == "chat.postMessage":
            channel = str(args.get("channel", ""))
            team = "TW" + channel[3:7]
            if not self._allow(team):
                self.throttled += 1
                return 429, "Retry-After: 1\r\n", {"ok": False, "error": "ratelimited"}
            meta = args.get("metadata") or {}
            meta = json.loads(meta) if isinstance(meta, str) else meta
            self.keys[str((meta.get("event_payload") or {}).get("key"))] += 1
            self.last_post = time.time()
            self.first_post = self.first_post or self.last_post
            return 200, "", {"ok": True, "channel": channel, "ts": f"{1700000000 + next(self.ts)}.000100"}
        if method == "conversations.open":
            return 200, "", {"ok": True, "channel": {"id": "D" + str(args.get("users", "")).split(",")[0]}}
        if method == "conversations.history":
            return 200, "", {"ok": True, "messages": [], "has_more": False}
        return 200, "", {"ok": True}

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                verb, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = h.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                status, extra, payload = await self.route(verb, path, body, headers)
                data = json.dumps(payload).encode()
                close = headers.get("connection", "").lower() == "close"
                head = (
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Too Many Requests'}\r\n"
                    f"Content-Type: application/json; charset=utf-8\r\nContent-Length: {len(data)}\r\n{extra}"
                    + ("Connection: close\r\n" if close else "")
                    + "\r\n"
                )
                writer.write(head.encode() + data)
                await writer.drain()
                if close:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def route(self, verb: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, dict]:
        if path == "/stats":
            return 200, "", self.stats()
        if path == "/reset":
            self.reset()
            return 200, "", {"ok": True}
        if not path.startswith("/api/"):
            return 404, "", {"ok": False}
        method = path[len("/api/") :].split("?", 1)[0]
        if "json" in headers.get("content-type", ""):
            args = json.loads(body or b"{}")
        else:
            args = dict(parse_qsl(body.decode()))
        return await self.answer(method, args)


def run(port_queue: multiprocessing.Queue, latency: float, rate: float, burst: int) -> None:
    async def main() -> None:
        fake = Fake(latency, rate, burst)
        server = await asyncio.start_server(fake.serve, "127.0.0.1", 0, backlog=1024)
        port_queue.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())
