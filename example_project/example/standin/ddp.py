"""Meteor's DDP at ``/websocket``: how the stand-in's web client gets its live updates.

Rocket.Chat's web client does not poll REST for news: it holds one WebSocket to the server
(Meteor's DDP), loads its subscriptions with the ``subscriptions/get`` method, then listens to
``stream-notify-user`` (``<user id>/subscriptions-changed``) and, for the open room,
``stream-room-messages``; it logs in with the ``login`` method (a resume token), reads the public
settings with ``public-settings/get``, loads a room's history with ``loadHistory`` and sends with
``sendMessage``. Only some calls are REST (``/me`` after a login, ``subscriptions.read``,
``users.setStatus``, ``rooms.info``), and those are rate-limited as any REST call. Served here
through :class:`~rocketchat_sso.testing.server.RocketChatServer`'s ``websocket`` handler.

Sources read (RocketChat/Rocket.Chat): ``apps/meteor/client/lib/cachedCollections/
CachedCollection.ts`` @069a70a (``sdk.call('<name>/get')`` for ``subscriptions`` and
``public-settings``, then ``sdk.stream(eventType, ['<uid>/<name>-changed'])`` with
``(action, record)``), ``apps/meteor/client/lib/userData.ts`` (``synchronizeUserData``: after a
login, ``sdk.rest.get('/v1/me')``), ``apps/meteor/client/lib/
RoomHistoryManager.ts`` (``callWithErrorHandling('loadHistory', rid, ts, limit, ls)``),
``apps/meteor/app/ui-utils/client/lib/readStateManager.ts`` (``sdk.rest.post
('/v1/subscriptions.read', {rid})``). The DDP messages follow Meteor's DDP specification
(``meteor/meteor`` ``packages/ddp/DDP.md``): ``connect``/``connected``, ``ping``/``pong``,
``method``/``result``/``updated``, ``sub``/``ready``/``nosub``, and Rocket.Chat's streamer's
``changed`` with ``fields: {eventName, args}``.

Not played: Meteor's DDP rate limiter (``DDP_Rate_Limit_*``, generous per-connection method
limits that the demo's few calls stay far below), SockJS fallbacks, EJSON beyond dates.
"""

from __future__ import annotations

import json
import queue
import secrets
import threading
from datetime import datetime
from typing import Any

from example.standin.chat import NOTIFY_USER, ROOM_MESSAGES, ChatRocketChat
from rocketchat_sso.testing.model import FakeRequest
from rocketchat_sso.testing.websocket import ConnectionClosed, WebSocket

PATH = "/websocket"
# How often a logged-in connection looks whether its token still exists. Meteor closes the
# connections logged in with a token the moment it is removed (accounts-base
# accounts_server.js, _setLoginToken's observer); a second's delay is the stand-in's.
TOKEN_CHECK_SECONDS = 1.0
HISTORY_LIMIT = 50
DATE_FIELDS = ("ts", "_updatedAt", "ls", "lm")
# Meteor's errors as DDP carries them (Meteor.Error serialised by the livedata server).
NOT_FOUND = {"error": 404, "reason": "Method '{}' not found", "errorType": "Meteor.Error"}
LOGIN_FAILED = {
    "error": 403,
    "reason": "You've been logged out by the server. Please log in again.",
    "errorType": "Meteor.Error",
}
NOT_ALLOWED = {"error": "error-not-allowed", "reason": "Not allowed", "errorType": "Meteor.Error"}


def ejson(value: Any) -> Any:
    """Dates as EJSON (``{"$date": ms}``), as DDP sends them; the model keeps ISO strings."""
    if isinstance(value, list):
        return [ejson(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: ejson(item) for key, item in value.items()}
    for key in DATE_FIELDS:
        if isinstance(out.get(key), str):
            try:
                stamp = datetime.fromisoformat(out[key].replace("Z", "+00:00"))
            except ValueError:
                continue
            out[key] = {"$date": int(stamp.timestamp() * 1000)}
    return out


class DDPServer:
    """The ``websocket`` handler of the demo's stand-in: one :class:`Connection` a socket."""

    def __init__(self, fake: ChatRocketChat) -> None:
        self.fake = fake

    def __call__(self, socket: WebSocket, request: FakeRequest) -> None:
        if request.path != PATH:
            socket.close()
            return
        Connection(self.fake, socket).run()


class Connection:
    """One client's DDP session: its login, its stream subscriptions, its outgoing queue."""

    def __init__(self, fake: ChatRocketChat, socket: WebSocket) -> None:
        self.fake, self.socket = fake, socket
        self.user_id: str | None = None
        self.token: str | None = None
        self.subs: dict[str, tuple[str, str]] = {}  # sub id -> (stream, event name)
        self.outbox: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self.lock = threading.Lock()

    def run(self) -> None:
        """Read until the socket closes; a writer thread sends, so the model never waits."""
        stop_listening = self.fake.listen(self._on_event)
        writer = threading.Thread(target=self._write, name="ddp-writer", daemon=True)
        writer.start()
        self.socket.send(json.dumps({"server_id": "0"}))
        try:
            while True:
                try:
                    message = json.loads(self.socket.receive())
                except ValueError:
                    continue
                if isinstance(message, dict):
                    self._handle(message)
        finally:
            stop_listening()
            self.outbox.put(None)

    def _write(self) -> None:
        while True:
            try:
                message = self.outbox.get(timeout=TOKEN_CHECK_SECONDS)
            except queue.Empty:
                token = self.token
                if token and self.fake.user_id_for_resume_token(token) is None:
                    self.socket.close()  # the token was removed: Meteor drops the connection
                    return
                continue
            if message is None:
                return
            try:
                self.socket.send(json.dumps(message))
            except ConnectionClosed:
                return

    def _on_event(self, stream: str, event: str, args: list[Any]) -> None:
        with self.lock:
            subscribed = (stream, event) in self.subs.values()
        if subscribed:  # one copy per connection, as the streamer sends
            fields = {"eventName": event, "args": ejson(args)}
            self.outbox.put({"msg": "changed", "collection": stream, "id": "id", "fields": fields})

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("msg")
        if kind == "connect":
            self.outbox.put({"msg": "connected", "session": secrets.token_hex(8)})
        elif kind == "ping":
            self.outbox.put({"msg": "pong", **({"id": message["id"]} if "id" in message else {})})
        elif kind == "method":
            self._method(str(message.get("id")), str(message.get("method")), message)
        elif kind == "sub":
            self._sub(str(message.get("id")), str(message.get("name")), message)
        elif kind == "unsub":
            with self.lock:
                self.subs.pop(str(message.get("id")), None)
            self.outbox.put({"msg": "nosub", "id": message.get("id")})

    def _method(self, call_id: str, name: str, message: dict[str, Any]) -> None:
        params = message.get("params") or []
        params = params if isinstance(params, list) else []
        result: Any = None
        error: dict[str, Any] | None = None
        if name == "login":
            token = params[0].get("resume") if params and isinstance(params[0], dict) else None
            user_id = self.fake.user_id_for_resume_token(token) if isinstance(token, str) else None
            if user_id is None:
                error = LOGIN_FAILED
            else:
                self.user_id, self.token = user_id, token
                result = {"id": user_id, "token": token}
                # Meteor publishes the logged-in user's own document on the connection.
                fields = self.fake.own_fields(user_id)
                self.outbox.put({"msg": "added", "collection": "users", "id": user_id, **fields})
        elif name == "logout":
            self.user_id = self.token = None
            with self.lock:
                self.subs.clear()
        elif name == "public-settings/get":  # CachedCollection 'public-settings', no login
            result = self.fake.public_settings()
        elif name == "subscriptions/get":
            result = ejson(self.fake.subscriptions_for(self.user_id)) if self.user_id else []
        elif name == "loadHistory" and self.user_id:
            rid = str(params[0]) if params else ""
            limit = params[2] if len(params) > 2 and isinstance(params[2], int) else HISTORY_LIMIT
            messages = self.fake.history(self.user_id, rid, limit)
            result = {"messages": ejson(messages), "unreadNotLoaded": 0}
        elif name == "sendMessage" and self.user_id:
            data = params[0] if params and isinstance(params[0], dict) else {}
            sent = self.fake.send_as(self.user_id, str(data.get("rid")), str(data.get("msg", "")))
            error, result = (NOT_ALLOWED, None) if sent is None else (None, ejson(sent))
        else:
            error = {**NOT_FOUND, "reason": NOT_FOUND["reason"].format(name)}
        reply: dict[str, Any] = {"msg": "result", "id": call_id}
        if error is not None:
            reply["error"] = {**error, "message": f"{error['reason']} [{error['error']}]"}
        elif result is not None:
            reply["result"] = result
        self.outbox.put(reply)
        self.outbox.put({"msg": "updated", "methods": [call_id]})

    def _sub(self, sub_id: str, name: str, message: dict[str, Any]) -> None:
        """A stream subscription: only one's own user events, only rooms one may read."""
        params = message.get("params") or []
        event = str(params[0]) if isinstance(params, list) and params else ""
        allowed = False
        if self.user_id and name == NOTIFY_USER:
            allowed = event.startswith(self.user_id + "/")
        elif self.user_id and name == ROOM_MESSAGES:
            allowed = self.fake.can_read(self.user_id, event)
        if not allowed:
            self.outbox.put({"msg": "nosub", "id": sub_id, "error": NOT_ALLOWED})
            return
        with self.lock:
            self.subs[sub_id] = (name, event)
        self.outbox.put({"msg": "ready", "subs": [sub_id]})
