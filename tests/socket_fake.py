"""A minimal Socket Mode endpoint: a WebSocket server that sends envelopes and records the acks.

Enough of RFC 6455 for slack_sdk's built-in client: the handshake, unmasked server frames, masked
client frames, ping/pong and close. `apps.connections.open` on the Web API fake points here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class SocketModeFake:
    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.conn: socket.socket | None = None
        self.acks: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link/?ticket=fake"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                request += chunk
            key = next(
                line.split(":", 1)[1].strip()
                for line in request.decode().split("\r\n")
                if line.lower().startswith("sec-websocket-key")
            )
            accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
            conn.sendall(
                (
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
                ).encode()
            )
            self.conn = conn
            self.send(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "fake"},
                    "connection_info": {"app_id": "A0APP"},
                }
            )
            self.connected.set()
            self._read(conn)

    def _read(self, conn: socket.socket) -> None:
        buffer = b""

        def need(n: int) -> bytes:
            nonlocal buffer
            while len(buffer) < n:
                chunk = conn.recv(65536)
                if not chunk:
                    raise ConnectionError
                buffer += chunk
            out, buffer = buffer[:n], buffer[n:]
            return out

        try:
            while True:
                b1, b2 = need(2)
                opcode, masked, length = b1 & 0x0F, b2 & 0x80, b2 & 0x7F
                if length == 126:
                    length = struct.unpack(">H", need(2))[0]
                elif length == 127:
                    length = struct.unpack(">Q", need(8))[0]
                mask = need(4) if masked else b"\0\0\0\0"
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(need(length)))
                if opcode == 1:
                    with self.lock:
                        self.acks.append(json.loads(data))
                elif opcode == 9:
                    self._frame(10, data)
                elif opcode == 8:
                    return
        except (ConnectionError, OSError):
            return

    def _frame(self, opcode: int, data: bytes) -> None:
        assert self.conn is not None
        header = bytes([0x80 | opcode])
        if len(data) < 126:
            header += bytes([len(data)])
        elif len(data) < 65536:
            header += bytes([126]) + struct.pack(">H", len(data))
        else:
            header += bytes([127]) + struct.pack(">Q", len(data))
        self.conn.sendall(header + data)

    def send(self, message: dict[str, Any]) -> None:
        self._frame(1, json.dumps(message).encode())

    def wait_ack(self, envelope_id: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for ack in self.acks:
                    if ack.get("envelope_id") == envelope_id:
                        return ack
            time.sleep(0.02)
        raise AssertionError(f"no ack for envelope {envelope_id}")

    def close(self) -> None:
        self.server.close()
        if self.conn:
            self.conn.close()
