"""The demo stand-in's DDP WebSocket: what the web client's live updates rely on.

A minimal client here (RFC 6455 frames over a plain socket) talks to the server as a browser
would; the demo's web client itself is driven in ``tests/browser/test_live_updates.py``.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from example.standin.chat import ChatRocketChat
from example.standin.serving import chat_server

from rocketchat_sso.testing.server import RocketChatServer
from rocketchat_sso.testing.websocket import accept_key
from tests.testing.helpers import PASSWORD, Api


class Client:
    """A WebSocket client speaking DDP, blocking, with a timeout on every read."""

    def __init__(self, server: RocketChatServer, path: str = "/websocket") -> None:
        host, port = server.server_address[:2]
        self.sock = socket.create_connection((str(host), port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.file = self.sock.makefile("rb")
        self.status = self.file.readline().decode()
        self.headers: dict[str, str] = {}
        while (line := self.file.readline().decode().strip()) != "":
            name, _, value = line.partition(":")
            self.headers[name.lower()] = value.strip()
        self.key = key
        self.next_id = 0
        self.backlog: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        payload, mask = json.dumps(message).encode(), os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x81, 0x80 | length)
        else:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
        self.sock.sendall(header + mask + masked)

    def frame(self) -> tuple[int, bytes]:
        first, second = self.file.read(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self.file.read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self.file.read(8))
        return first & 0x0F, self.file.read(length)

    def receive(self) -> dict[str, Any]:
        opcode, payload = self.frame()
        assert opcode == 0x1, (opcode, payload)
        message: dict[str, Any] = json.loads(payload)
        return message

    def until(self, **fields: Any) -> dict[str, Any]:
        """The first message (kept from earlier waits, or new) with these fields."""
        for message in self.backlog:
            if all(message.get(k) == v for k, v in fields.items()):
                self.backlog.remove(message)
                return message
        while True:
            message = self.receive()
            if all(message.get(k) == v for k, v in fields.items()):
                return message
            self.backlog.append(message)

    def call(self, method: str, *params: Any) -> dict[str, Any]:
        self.next_id += 1
        call_id = str(self.next_id)
        self.send({"msg": "method", "method": method, "params": list(params), "id": call_id})
        return self.until(msg="result", id=call_id)

    def sub(self, name: str, event: str) -> dict[str, Any]:
        self.next_id += 1
        sub_id = str(self.next_id)
        self.send({"msg": "sub", "id": sub_id, "name": name, "params": [event, False]})
        while True:
            message = self.receive()
            if message.get("msg") == "nosub" and message.get("id") == sub_id:
                return message
            if message.get("msg") == "ready" and sub_id in message.get("subs", []):
                return message

    def connect(self) -> None:
        assert self.receive() == {"server_id": "0"}
        self.send({"msg": "connect", "version": "1", "support": ["1"]})
        assert self.until(msg="connected")["session"]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def fake() -> ChatRocketChat:
    return ChatRocketChat()


@pytest.fixture
def served(fake: ChatRocketChat) -> Iterator[RocketChatServer]:
    server = chat_server(fake).start()
    yield server
    server.stop()


def signed_in(served: RocketChatServer, fake: ChatRocketChat) -> tuple[Client, str, str]:
    """Bob, logged in over REST (as the web client does), then over DDP with that token."""
    fake.add_user("bob", "bob@example.com", "Bob", password=PASSWORD)
    api = Api(served.url)
    headers = api.login("bob")
    client = Client(served)
    client.connect()
    result = client.call("login", {"resume": headers["X-Auth-Token"]})
    assert result["result"]["id"] == headers["X-User-Id"]
    # Meteor publishes the logged-in user's own document on the connection.
    own = client.until(msg="added", collection="users")
    assert (own["id"], own["fields"]["username"]) == (headers["X-User-Id"], "bob")
    return client, headers["X-User-Id"], headers["X-Auth-Token"]


def test_handshake_answers_rfc6455(served: RocketChatServer) -> None:
    client = Client(served)
    assert client.status.startswith("HTTP/1.1 101")
    assert client.headers["upgrade"] == "websocket"
    assert client.headers["sec-websocket-accept"] == accept_key(client.key)
    # RFC 6455 section 1.3's own example.
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    client.connect()
    client.send({"msg": "ping", "id": "p"})
    assert client.until(msg="pong") == {"msg": "pong", "id": "p"}
    client.close()


def test_login_needs_a_current_resume_token(served: RocketChatServer) -> None:
    client = Client(served)
    client.connect()
    assert client.call("login", {"resume": "not-a-token"})["error"]["error"] == 403
    assert client.call("subscriptions/get")["result"] == []  # not logged in: nothing
    assert client.sub("stream-notify-user", "x/subscriptions-changed")["msg"] == "nosub"
    assert client.call("no-such-method")["error"]["error"] == 404
    client.close()


def test_news_arrive_on_the_streams_without_any_rest_call(
    served: RocketChatServer, fake: ChatRocketChat
) -> None:
    client, user_id, _ = signed_in(served, fake)
    fake.reset_calls()
    subscriptions = client.call("subscriptions/get")["result"]
    assert subscriptions == []  # add_user joins no channel
    assert client.sub("stream-notify-user", f"{user_id}/subscriptions-changed")["msg"] == "ready"
    # Another user's events are not for bob.
    admin_id = fake.user_by_username("admin")["_id"]  # type: ignore[index]
    assert client.sub("stream-notify-user", f"{admin_id}/subscriptions-changed")["msg"] == "nosub"
    for number in range(1, 16):  # beyond any REST route's 10 a minute
        fake.post_message("admin", "@bob", f"hello {number}")
        change = client.until(msg="changed", collection="stream-notify-user")
        action, record = change["fields"]["args"]
        if number == 1:  # the DM's subscription is created (unread 0), then counts the message
            assert (action, record["unread"]) == ("updated", 0)
            change = client.until(msg="changed", collection="stream-notify-user")
            action, record = change["fields"]["args"]
        assert (action, record["unread"], record["u"]["_id"]) == ("updated", number, user_id)
    rid = record["rid"]
    assert client.sub("stream-room-messages", rid)["msg"] == "ready"
    sent = client.call("sendMessage", {"rid": rid, "msg": "hi admin"})["result"]
    streamed = client.until(msg="changed", collection="stream-room-messages")
    assert streamed["fields"]["eventName"] == rid
    assert streamed["fields"]["args"][0]["_id"] == sent["_id"]
    assert isinstance(sent["ts"]["$date"], int)  # EJSON dates, as DDP sends them
    history = client.call("loadHistory", rid, None, 50, None)["result"]["messages"]
    assert [m["msg"] for m in history][:2] == ["hi admin", "hello 15"]
    assert fake.calls_to() == []  # not one REST call: nothing the rate limiter counts
    client.close()


def test_rooms_one_may_not_read_are_refused(served: RocketChatServer, fake: ChatRocketChat) -> None:
    fake.add_user("carol", "carol@example.com", "Carol")
    fake.post_message("admin", "@carol", "private")
    rid = next(
        s["rid"]
        for s in fake.subscriptions_of(fake.user_by_username("carol")["_id"])  # type: ignore[index]
        if s["t"] == "d"
    )
    client, _, _ = signed_in(served, fake)
    assert client.sub("stream-room-messages", rid)["msg"] == "nosub"
    assert client.call("loadHistory", rid, None, 50, None)["result"]["messages"] == []
    assert client.call("sendMessage", {"rid": rid, "msg": "x"})["error"]["error"] == (
        "error-not-allowed"
    )
    client.close()


def test_a_removed_token_ends_the_connection(
    served: RocketChatServer, fake: ChatRocketChat
) -> None:
    client, user_id, token = signed_in(served, fake)
    Api(served.url).post("/api/v1/logout", {}, {"X-User-Id": user_id, "X-Auth-Token": token})
    while True:  # Meteor drops the connections logged in with a removed token
        opcode, _ = client.frame()
        if opcode == 0x8:
            break
    client.close()


def test_other_paths_are_closed_at_once(served: RocketChatServer) -> None:
    client = Client(served, "/sockjs/info")
    assert client.status.startswith("HTTP/1.1 101")
    assert client.frame()[0] == 0x8
    client.close()


def test_public_settings_need_no_login_and_are_only_the_public_ones(
    served: RocketChatServer, fake: ChatRocketChat
) -> None:
    fake.set_setting("Accounts_iframe_enabled", True)
    client = Client(served)
    client.connect()
    settings = {s["_id"]: s["value"] for s in client.call("public-settings/get")["result"]}
    assert settings["Accounts_iframe_enabled"] is True
    assert "API_Enable_Rate_Limiter" not in settings  # not public
    assert fake.calls_to() == []  # over the socket, not REST
    client.close()


def test_a_resume_login_over_the_socket_is_not_rate_limited(
    served: RocketChatServer, fake: ChatRocketChat
) -> None:
    """Meteor.loginWithToken is a DDP method: 15 logins, no REST call, none refused."""
    fake.add_user("bob", "bob@example.com", "Bob", password=PASSWORD)
    token = Api(served.url).login("bob")["X-Auth-Token"]
    fake.reset_calls()
    for _ in range(15):
        client = Client(served)
        client.connect()
        assert "result" in client.call("login", {"resume": token})
        client.close()
    assert fake.calls_to() == []
