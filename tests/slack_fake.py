"""A local HTTP fake of the Slack Web API, for the real slack_sdk.WebClient to talk to.

It keeps a small user directory, records every call (method, arguments, the token it came with),
checks Block Kit limits the way Slack would reject a payload, and can be told to fail the next calls
with 429 + Retry-After, 5xx, or `ok: false` errors. Response URLs (used by `respond()`) are served too.

For many workspaces it also plays Slack's OAuth side: `add_install_code` scripts what an install
hands back, `oauth.v2.access` exchanges the code (or a refresh token: token rotation) for a bot token
of that workspace, `auth.test` answers with the token's own workspace, and a revoked token is refused.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import queue
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

from bot.slack.limits import check_message, check_view

TEAM_ID = "T0TEAM"
_REQUEST = threading.local()  # per server thread: what the request being handled came with
BOT_USER_ID = "UBOT"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    status: int = 200
    token: str = ""  # the bearer token the call came with ("" when none)
    team: str = ""  # the workspace it was for (`SlackFake.team_of`)

    @property
    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.args.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else blocks

    def text_dump(self) -> str:
        """Everything visible in the message, as one string (for 'contains' assertions)."""
        return json.dumps({"text": self.args.get("text"), "blocks": self.blocks, "view": self.args.get("view")})


@dataclass
class Failure:
    method: str
    status: int = 200
    error: str | None = None
    retry_after: int | str | None = None  # the Retry-After header as sent (a string: garbage too)
    times: int = 1
    delay: float = 0.0  # with status 200 and no error: Slack accepts the call but answers this late
    after: bool = False  # Slack acts on the call (posts the message), then the answer is lost: `status`, or a reset


@dataclass
class SlackFake:
    team_id: str = TEAM_ID
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel -> posted messages
    delays: dict[str, float] = field(default_factory=dict)  # method -> seconds to stall after recording
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)  # conversations the bot can see
    socket_url: str = ""  # what apps.connections.open hands out (tests/socket_fake.py)
    canvases: dict[str, dict[str, Any]] = field(default_factory=dict)  # canvas id -> title, markdown, access
    # OAuth (many workspaces): tokens issued here belong to their workspace; others answer as TEAM_ID.
    client_credentials: tuple[str, str] = ("", "")  # (client id, secret) oauth.v2.access insists on, when set
    install_codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> what the install hands back
    token_teams: dict[str, str] = field(default_factory=dict)  # bot token -> team id
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> team id
    revoked: set[str] = field(default_factory=set)  # tokens Slack refuses (uninstalled, revoked, rotated out)
    token_serial: itertools.count = field(default_factory=lambda: itertools.count(1))
    # Per workspace: scripted 429s, answer latency, and how many calls are in flight at once.
    team_failures: list[tuple[str, Failure]] = field(default_factory=list)
    latency: float = 0.0  # seconds every Web API call takes to answer (0: at once)
    in_flight: dict[str, int] = field(default_factory=dict)  # workspace -> calls being answered now
    max_in_flight: int = 0  # most calls answered at once, over all workspaces
    max_in_flight_per_team: int = 0  # most calls answered at once for one workspace

    # --- directory -------------------------------------------------------------------------------
    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        email: str | None = None,
        tz: str = "America/New_York",
        is_bot: bool = False,
        deleted: bool = False,
        is_admin: bool = False,
        team_id: str | None = None,
    ) -> dict[str, Any]:
        user = {
            "id": user_id,
            "team_id": team_id or self.team_id,
            "name": name.lower(),
            "real_name": name,
            "tz": tz,
            "is_bot": is_bot,
            "deleted": deleted,
            "is_admin": is_admin,
            "is_owner": False,
            "profile": {"display_name": name, "real_name": name, "email": email or f"{name.lower()}@example.com"},
        }
        self.users[user_id] = user
        return user

    def add_channel(self, channel_id: str, name: str, *, private: bool = True, member: bool = True) -> None:
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "is_private": private,
            "is_member": member,
            "is_channel": True,
            "is_im": False,
            "is_mpim": False,
        }

    # --- OAuth -----------------------------------------------------------------------------------
    def add_install_code(
        self, code: str, team_id: str, team_name: str = "", installer: str = "UINSTALLER", expires_in: int = 43200
    ) -> None:
        """An install of the app into `team_id` that hands `code` to the redirect URL; the bot token it
        gives rotates (a refresh token, `expires_in` seconds)."""
        self.install_codes[code] = {
            "team_id": team_id,
            "team_name": team_name or f"Team {team_id}",
            "installer": installer,
            "expires_in": expires_in,
        }

    def tokens_of(self, team_id: str) -> list[str]:
        """Every bot token issued to the workspace, oldest first."""
        with self.lock:
            return [t for t, team in self.token_teams.items() if team == team_id]

    def _issue(self, team_id: str, expires_in: int) -> dict[str, Any]:
        n = next(self.token_serial)
        token, refresh = f"xoxe.xoxb-1-{team_id}-{n}", f"xoxe-1-{team_id}-refresh-{n}"
        with self.lock:
            self.token_teams[token] = team_id
            self.refresh_tokens[refresh] = team_id
        return {"access_token": token, "refresh_token": refresh, "expires_in": expires_in, "token_type": "bot"}

    def _oauth_access(self, a: dict[str, Any]) -> dict[str, Any]:
        if self.client_credentials[0] and (a.get("client_id"), a.get("client_secret")) != self.client_credentials:
            return {"ok": False, "error": "invalid_client_id"}
        if a.get("grant_type") == "refresh_token":
            with self.lock:
                team_id = self.refresh_tokens.pop(str(a.get("refresh_token")), None)  # each is good once
            if team_id is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            expires_in = int(self.install_codes_for(team_id).get("expires_in", 43200))
            return {"ok": True, "team": {"id": team_id}, **self._issue(team_id, expires_in)}
        with self.lock:
            install = self.install_codes.get(str(a.get("code")))
        if install is None:
            return {"ok": False, "error": "invalid_code"}
        return {
            "ok": True,
            "app_id": "A0APP",
            "scope": "commands,chat:write,im:write,im:history,users:read",
            "bot_user_id": "UBOT",
            "team": {"id": install["team_id"], "name": install["team_name"]},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": install["installer"]},
            **self._issue(install["team_id"], int(install["expires_in"])),
        }

    def install_codes_for(self, team_id: str) -> dict[str, Any]:
        with self.lock:
            return next((i for i in self.install_codes.values() if i["team_id"] == team_id), {})

    # --- per workspace ---------------------------------------------------------------------------
    def team_of(self, args: dict[str, Any], token: str = "") -> str:
        """The workspace a call is for: its token's (OAuth mode), else the user behind a DM channel
        (`D` + user id) or the `users`/`user` argument, else the default workspace."""
        if token in self.token_teams:
            return self.token_teams[token]
        channel = str(args.get("channel") or "")
        user_id = channel[1:] if channel.startswith("D") else str(args.get("users") or args.get("user") or "")
        user = self.users.get(user_id.split(",")[0])
        return str(user["team_id"]) if user else self.team_id

    def throttle_team(
        self, team_id: str, method: str = "chat.postMessage", retry_after: int | str = 1, times: int = 1
    ) -> None:
        """The workspace's next `times` calls of `method` are refused with 429 + Retry-After; other
        workspaces' calls are not (Slack's limits are per workspace)."""
        self.failures_for_team(team_id, Failure(method, 429, "ratelimited", retry_after, times))

    def failures_for_team(self, team_id: str, failure: Failure) -> None:
        with self.lock:
            self.team_failures.append((team_id, failure))

    def _team_failure(self, method: str, team: str) -> Failure | None:
        with self.lock:
            for team_id, f in self.team_failures:
                if team_id == team and f.method == method and f.times > 0:
                    f.times -= 1
                    return f
        return None

    def _enter(self, team: str) -> None:
        with self.lock:
            self.in_flight[team] = self.in_flight.get(team, 0) + 1
            self.max_in_flight = max(self.max_in_flight, sum(self.in_flight.values()))
            self.max_in_flight_per_team = max(self.max_in_flight_per_team, self.in_flight[team])

    def _leave(self, team: str) -> None:
        with self.lock:
            self.in_flight[team] -= 1

    # --- scripting -------------------------------------------------------------------------------
    def answer_late(self, method: str, seconds: float, times: int = 1) -> None:
        """The call succeeds at Slack (recorded, posted) but the answer arrives after `seconds`."""
        self.failures.append(Failure(method, delay=seconds, times=times))

    def lose_answer(self, method: str, *, status: int = 500, times: int = 1) -> None:
        """Slack does the call (the message is posted) but the answer is lost: a 5xx, or with status
        0 the connection is reset before any answer."""
        self.failures.append(Failure(method, status=status, after=True, times=times))

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        self.failures.append(Failure(method, status, error, retry_after, times))

    def refuse_canvases(self, error: str = "free_teams_cannot_create_non_messaging_canvases", times: int = 1) -> None:
        """canvases.create answers `ok: false` with this error (a free plan, canvases turned off, a missing scope)."""
        self.fail_next("canvases.create", error=error, times=times)

    def canvas_readers(self, canvas_id: str) -> dict[str, str]:
        """Who was given access to the canvas, and at which level (user or channel id -> level)."""
        with self.lock:
            canvas = self.canvases[canvas_id]
            return {**canvas["users"], **canvas["channels"]}

    def calls_to(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method and c.status == 200]

    def responses(self) -> list[Call]:
        """Messages sent through response_url (what `respond()` shows the user)."""
        return self.calls_to("response_url")

    def last_response_text(self) -> str:
        resp = self.responses()
        assert resp, "no response was sent to the user"
        return resp[-1].text_dump()

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.calls_to(method)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(f"expected {count} call(s) to {method}, got {len(self.calls_to(method))}")

    def reset_calls(self) -> None:
        with self.lock:
            self.calls.clear()

    # --- behaviour -------------------------------------------------------------------------------
    def _scripted_failure(self, method: str) -> Failure | None:
        with self.lock:
            for f in self.failures:
                if f.method == method and f.times > 0:
                    f.times -= 1
                    return f
        return None

    def handle(self, method: str, args: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        token = getattr(_REQUEST, "token", "")  # the bearer token of the HTTP request being answered
        team = self.team_of(args, token)
        self._enter(team)
        try:
            if self.latency:
                time.sleep(self.latency)
            status, headers, body = self._handle(method, args, token, team)
        finally:
            self._leave(team)
        return status, headers, body

    def _handle(
        self, method: str, args: dict[str, Any], token: str, team: str
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        failure = self._team_failure(method, team) or self._scripted_failure(method)
        if failure is not None and failure.after:
            with self.lock:
                self.calls.append(Call(method, args, token=token, team=team))
            self._answer(method, args, token)
            return failure.status, {}, {"ok": False, "error": "answer_lost"}
        if failure is not None and failure.delay:
            with self.lock:
                self.calls.append(Call(method, args, token=token, team=team))
            answer = self._answer(method, args, token)
            time.sleep(failure.delay)
            return 200, {}, answer
        if failure is not None:
            status = failure.status
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            with self.lock:
                self.calls.append(Call(method, args, status, token, team))
            if status != 200:
                return status, headers, {"ok": False, "error": failure.error or "fake_failure"}
            return 200, headers, {"ok": False, "error": failure.error or "fake_error"}
        with self.lock:
            self.calls.append(Call(method, args, token=token, team=team))
        answer = self._answer(method, args, token)
        if method in self.delays:  # Slack has the message, but the answer is slow (a crash window)
            time.sleep(self.delays[method])
        return 200, {}, answer

    def _answer(self, method: str, a: dict[str, Any], token: str = "") -> dict[str, Any]:
        if token and token in self.revoked:
            return {"ok": False, "error": "token_revoked"}
        if method == "oauth.v2.access":
            return self._oauth_access(a)
        if method == "auth.test":
            return {
                "ok": True,
                "team_id": self.token_teams.get(token, self.team_id),
                "team": "Fake Team",
                "user_id": BOT_USER_ID,
                "bot_id": "BBOT",
                "url": "https://fake.slack.com/",
            }
        if method == "users.info":
            user = self.users.get(a.get("user", ""))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.lookupByEmail":
            for user in self.users.values():
                if user["profile"]["email"].lower() == str(a.get("email", "")).lower():
                    return {"ok": True, "user": user}
            return {"ok": False, "error": "users_not_found"}
        if method == "conversations.open":
            uid = str(a.get("users", "")).split(",")[0]
            user = self.users.get(uid)
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            if user["deleted"]:
                return {"ok": False, "error": "user_disabled"}
            if user["is_bot"]:
                return {"ok": False, "error": "cannot_dm_bot"}
            return {"ok": True, "channel": {"id": "D" + uid}}
        if method == "chat.postMessage" and str(a.get("channel", "")).startswith(("C", "G")):
            channel = self.channels.get(str(a.get("channel")))
            if channel is None:
                return {"ok": False, "error": "channel_not_found"}
            if not channel.get("is_member"):
                return {"ok": False, "error": "not_in_channel"}
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url"):
            problems = check_message({"text": a.get("text"), "blocks": _blocks(a)})
            if problems:
                return {"ok": False, "error": "invalid_blocks", "errors": problems}
            ts = f"{1700000000 + next(self.ts)}.000100"
            if method == "chat.postMessage":
                metadata = a.get("metadata")
                metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
                with self.lock:
                    self.history.setdefault(str(a.get("channel")), []).append(
                        {"type": "message", "ts": ts, "text": a.get("text"), "metadata": metadata}
                    )
            return {"ok": True, "channel": a.get("channel"), "ts": ts}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url} if self.socket_url else {"ok": False, "error": "not_set"}
        if method == "conversations.info":
            channel = self.channels.get(str(a.get("channel")))
            return {"ok": True, "channel": channel} if channel else {"ok": False, "error": "channel_not_found"}
        if method == "conversations.history":
            with self.lock:
                messages = list(reversed(self.history.get(str(a.get("channel")), [])))
            if str(a.get("include_all_metadata")).lower() not in ("true", "1"):
                messages = [{k: v for k, v in m.items() if k != "metadata"} for m in messages]
            return {"ok": True, "messages": messages, "has_more": False}
        if method == "chat.getPermalink":
            return {
                "ok": True,
                "permalink": f"https://fake.slack.com/archives/{a.get('channel')}/p{a.get('message_ts')}",
            }
        if method == "canvases.create":
            return self._create_canvas(a)
        if method == "canvases.access.set":
            return self._set_canvas_access(a)
        if method in ("views.open", "views.push", "views.update", "views.publish"):
            view = a.get("view")
            view = json.loads(view) if isinstance(view, str) else (view or {})
            problems = check_view(view)
            if problems:
                return {"ok": False, "error": "invalid_blocks", "errors": problems}
            return {"ok": True, "view": {"id": "V" + str(next(self.ts)), **view}}
        return {"ok": True}

    def _create_canvas(self, a: dict[str, Any]) -> dict[str, Any]:
        content = a.get("document_content") or {}
        content = json.loads(content) if isinstance(content, str) else content
        if content and (content.get("type") != "markdown" or len(str(content.get("markdown", ""))) > 1_048_576):
            return {"ok": False, "error": "canvas_creation_failed"}
        canvas_id = f"F0CANVAS{next(self.ts)}"
        with self.lock:
            self.canvases[canvas_id] = {
                "title": a.get("title"),
                "markdown": content.get("markdown", ""),
                "channel_id": a.get("channel_id"),
                "users": {},
                "channels": {},
            }
        return {"ok": True, "canvas_id": canvas_id}

    def _set_canvas_access(self, a: dict[str, Any]) -> dict[str, Any]:
        users, channels = _id_list(a.get("user_ids")), _id_list(a.get("channel_ids"))
        if bool(users) == bool(channels):  # one of the two, never both
            return {"ok": False, "error": "invalid_parameters"}
        if len(users or channels) > 20 or a.get("access_level") not in ("read", "write", "owner"):
            return {"ok": False, "error": "invalid_arguments"}
        with self.lock:
            canvas = self.canvases.get(str(a.get("canvas_id")))
            if canvas is None:
                return {"ok": False, "error": "canvas_not_found"}
            if any(u not in self.users for u in users):
                return {"ok": False, "error": "failed_to_update_user_ids"}
            canvas["users"].update(dict.fromkeys(users, a["access_level"]))
            canvas["channels"].update(dict.fromkeys(channels, a["access_level"]))
        return {"ok": True}


def _id_list(value: Any) -> list[str]:
    """user_ids / channel_ids as sent: a JSON array, or a comma-separated string (slack_sdk's form encoding)."""
    if isinstance(value, str) and value.startswith("["):
        value = json.loads(value)
    if isinstance(value, str):
        value = value.split(",")
    return [str(v).strip() for v in value or [] if str(v).strip()]


def _blocks(a: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = a.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else blocks


class _Handler(BaseHTTPRequestHandler):
    fake: SlackFake

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _reply(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _token(self, args: dict[str, Any]) -> str:
        """The bearer token; HTTP Basic credentials (oauth.v2.access) become client_id/client_secret."""
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            args.setdefault("client_id", client_id)
            args.setdefault("client_secret", secret)
        return auth[7:] if auth.startswith("Bearer ") else str(args.get("token") or "")

    def _args(self) -> tuple[str, dict[str, Any]]:
        parsed = urlparse(self.path)
        args: dict[str, Any] = dict(parse_qsl(parsed.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if raw:
            if "json" in (self.headers.get("Content-Type") or ""):
                args.update(json.loads(raw))
            else:
                args.update(dict(parse_qsl(raw.decode())))
        return parsed.path, args

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        path, args = self._args()
        if path.startswith("/response/"):
            _REQUEST.token = ""
            status, headers, body = self.fake.handle("response_url", args)
            self._reply(status, headers, body)
            return
        if not path.startswith("/api/"):
            self._reply(404, {}, {"ok": False, "error": "unknown_path"})
            return
        method = path[len("/api/") :]
        _REQUEST.token = self._token(args)
        status, headers, body = self.fake.handle(method, args)
        if status == 0:  # the connection drops before any answer
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._reply(status, headers, body)


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-answer (the timeout tests do it on purpose) is not an error here.

    Each connection is answered on a thread of its own, as ThreadingHTTPServer does, but the threads are
    kept and reused once they are done: starting a thread per call was a tenth of each Slack call's cost
    (~25,000 calls a run). A call never waits for a thread: when none is free, another one starts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._jobs: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._free = 0  # threads waiting for a job
        self._workers = 0
        self._free_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._free_lock:
            if self._free:
                self._free -= 1
                self._jobs.put((request, client_address))
                return
            self._workers += 1
        threading.Thread(target=self._work, args=((request, client_address),), daemon=True).start()

    def _work(self, job: tuple[Any, Any] | None) -> None:
        while job is not None:
            self.process_request_thread(*job)
            with self._free_lock:
                self._free += 1
            job = self._jobs.get()

    def server_close(self) -> None:
        super().server_close()
        with self._free_lock:  # the free threads end; a busy one ends after its call
            for _ in range(self._workers):
                self._jobs.put(None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class SlackFakeServer:
    def __init__(self, fake: SlackFake | None = None):
        self.fake = fake or SlackFake()
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self.httpd = _QuietServer(("127.0.0.1", 0), handler)
        # The loop looks for a stop request between connections, or every half second when idle (polling
        # every 5 ms cost ~8 ms of CPU a second, in every test); __exit__ wakes it with a connection.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.base + "/api/"

    def response_url(self, name: str = "r") -> str:
        return f"{self.base}/response/{name}"

    def __enter__(self) -> SlackFakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        # shutdown() asks the loop to stop and waits until it has; a connection wakes the loop at once
        # to see the request (set first, so the loop cannot take the wake-up before it).
        self.httpd._BaseServer__shutdown_request = True  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", self.httpd.server_address[1]), timeout=1).close()
        self.httpd.shutdown()
        self.httpd.server_close()


def sent_keys(fake: SlackFake) -> list[str]:
    """The scheduled-message keys of every DM Slack accepted, in order (duplicates kept)."""
    with fake.lock:
        messages = sorted((m for msgs in fake.history.values() for m in msgs), key=lambda m: m["ts"])
    return [m["metadata"]["event_payload"]["key"] for m in messages if m.get("metadata")]
