"""A WebSocket (RFC 6455) server side over a socket the HTTP server already accepted.

The stand-in's web client gets its live updates the way Rocket.Chat's does, over one
WebSocket (Meteor's DDP at ``/websocket``), not by polling rate-limited REST routes. The
standard library has no WebSocket server; this is the part of RFC 6455 a browser needs: the
opening handshake (section 4.2.2), text frames in and out, ping/pong and close (section 5),
masked client frames, fragmented messages. No extensions (no ``permessage-deflate``): a browser
offers it, the server may decline it by not answering it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import struct
import threading
from io import BufferedIOBase

# RFC 6455 section 1.3: the GUID appended to Sec-WebSocket-Key.
HANDSHAKE_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_MESSAGE = 1 << 20  # a DDP message of the demo is a few kB; refuse anything absurd
CLOSE_NORMAL, CLOSE_TOO_BIG = 1000, 1009


class ConnectionClosed(Exception):
    """The peer closed the connection, or it broke."""


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key``."""
    digest = hashlib.sha1((key + HANDSHAKE_GUID).encode("ascii")).digest()  # noqa: S324 - RFC
    return base64.b64encode(digest).decode("ascii")


def is_upgrade(headers: dict[str, str]) -> bool:
    """Whether a request's headers ask for a WebSocket (``Upgrade: websocket``)."""
    lower = {name.lower(): value for name, value in headers.items()}
    return (
        lower.get("upgrade", "").lower() == "websocket"
        and "upgrade" in lower.get("connection", "").lower()
        and bool(lower.get("sec-websocket-key"))
    )


class WebSocket:
    """One open connection: :meth:`receive` text messages, :meth:`send` them from any thread."""

    def __init__(self, rfile: BufferedIOBase, wfile: BufferedIOBase) -> None:
        self._rfile, self._wfile = rfile, wfile
        self._send_lock = threading.Lock()
        self.closed = False

    def _read(self, count: int) -> bytes:
        data = self._rfile.read(count)
        if len(data) < count:
            raise ConnectionClosed("connection lost")
        return data

    def _frame(self, opcode: int, payload: bytes) -> None:
        """Write one unmasked final frame (servers never mask, section 5.1)."""
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
        with self._send_lock:
            if self.closed and opcode != OP_CLOSE:
                raise ConnectionClosed("already closed")
            try:
                self._wfile.write(header + payload)
                self._wfile.flush()
            except OSError as error:
                self.closed = True
                raise ConnectionClosed(str(error)) from error

    def send(self, text: str) -> None:
        """Send one text message; :class:`ConnectionClosed` once the connection is gone."""
        self._frame(OP_TEXT, text.encode("utf-8"))

    def close(self, code: int = CLOSE_NORMAL) -> None:
        if not self.closed:
            with contextlib.suppress(ConnectionClosed):
                self._frame(OP_CLOSE, struct.pack("!H", code))
            self.closed = True

    def receive(self) -> str:
        """The next text message; answers pings itself; :class:`ConnectionClosed` at the end."""
        parts: list[bytes] = []
        while True:
            first, second = self._read(2)
            fin, opcode = first & 0x80, first & 0x0F
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read(8))
            if length > MAX_MESSAGE or sum(map(len, parts)) + length > MAX_MESSAGE:
                self.close(CLOSE_TOO_BIG)
                raise ConnectionClosed("message too big")
            mask = self._read(4) if second & 0x80 else b""
            payload = self._read(length)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == OP_CLOSE:
                self.close()
                raise ConnectionClosed("closed by the peer")
            if opcode == OP_PING:
                self._frame(OP_PONG, payload)
                continue
            if opcode == OP_PONG:
                continue
            parts.append(payload)
            if fin:
                return b"".join(parts).decode("utf-8", errors="replace")
