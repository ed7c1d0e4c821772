"""The stand-in's chat: rooms, subscriptions, messages and unread counters, for the demo.

:class:`ChatRocketChat` is the package's :class:`~rocketchat_sso.testing.FakeRocketChat`
(users, login tokens, settings, the rate limiter, versions and faults) plus the routes the web
client imitation (:mod:`example.standin.webclient`) calls once a user is signed in. Adopters'
tests never need them, so they live with the demo, not in the installed package. The routes join
the model's through its :meth:`~rocketchat_sso.testing.FakeRocketChat.route_table` hook and pass
the same wrapper (authentication, rate limiter, validation, permissions).

Sources read (RocketChat/Rocket.Chat): ``apps/meteor/app/lib/server/lib/notifyUsersOnMessage.ts``
(``updateUsersSubscriptions``), ``createDirectMessage``/``addUserToRoom`` (the subscription they
insert), ``readMessages`` (``subscriptions.read``), ``users.ts`` (``users.setStatus``).
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from rocketchat_sso.testing.model import (
    API,
    ID_ALPHABET,
    ID_LENGTH,
    PUBLIC_SETTINGS,
    Call,
    FakeResponse,
    FakeRocketChat,
    Route,
    User,
    failure,
    iso_time,
    meteor_error,
    ok,
    random_string,
)

INVALID_CHANNEL = "invalid-channel"
INVALID_SUBSCRIPTION = "error-invalid-subscription"
INVALID_STATUS = "error-invalid-status"
USER_STATUSES = ("online", "away", "busy", "offline")
GENERAL_ROOM_ID = "GENERAL"  # the default channel every Rocket.Chat starts with
MENTION_RE = re.compile(r"(?<![\w@])@([0-9a-zA-Z._-]+)")
HISTORY_DEFAULT_COUNT = 20
# Rocket.Chat's defaults of the settings that decide what counts as unread.
UNREAD_SETTINGS: Mapping[str, str] = {
    "Unread_Count": "user_and_group_mentions_only",
    "Unread_Count_DM": "all_messages",
}
# The two streams the web client listens to (Rocket.Chat's meteor-streamer): a user's own
# events, named "<user id>/<event>", and the messages of a room, named by the room id.
NOTIFY_USER = "stream-notify-user"
ROOM_MESSAGES = "stream-room-messages"
SUBSCRIPTIONS_CHANGED = "subscriptions-changed"
# A listener gets (stream, event name, args), under the model's lock: it must not block.
Listener = Callable[[str, str, list[Any]], None]


class ChatRocketChat(FakeRocketChat):
    """The stand-in with rooms and messages: a ``#general`` channel every user joins (as
    Rocket.Chat's default channel), direct messages, unread counters, history, user status."""

    def __init__(self, **options: Any) -> None:
        """``options``: those of :class:`FakeRocketChat`."""
        super().__init__(**options)
        for setting_id, value in UNREAD_SETTINGS.items():
            self.settings.setdefault(setting_id, value)
        self._rooms: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._subscriptions: dict[tuple[str, str], dict[str, Any]] = {}  # (user id, room id)
        self._listeners: list[Listener] = []
        stamp = iso_time(self.now())
        self._add_room(
            {"_id": GENERAL_ROOM_ID, "t": "c", "name": "general", "default": True, "ts": stamp}
        )
        admin = self._find_username("admin")
        assert admin is not None  # FakeRocketChat starts with it
        self._subscribe(admin, self._rooms[GENERAL_ROOM_ID])
        # Rooms from groups: a member the site adds to a private group gets a subscription here.
        self.rooms.on_member_added = self._group_joined
        self.rooms.on_member_removed = self._group_left

    def _group_joined(self, user: User, group: dict[str, Any]) -> None:
        if group["_id"] not in self._rooms:
            self._add_room(group)
        self._subscribe(user, self._rooms[group["_id"]])

    def _group_left(self, user: User, group: dict[str, Any]) -> None:
        self._subscriptions.pop((user.doc["_id"], group["_id"]), None)

    def route_table(self) -> dict[tuple[str, str], Route]:
        return {
            **super().route_table(),
            ("POST", f"{API}/users.setStatus"): Route(self._users_set_status),
            ("GET", f"{API}/subscriptions.get"): Route(self._subscriptions_get),
            ("POST", f"{API}/subscriptions.read"): Route(self._subscriptions_read),
            ("POST", f"{API}/chat.postMessage"): Route(self._chat_post_message),
            ("GET", f"{API}/rooms.info"): Route(self._rooms_info),
            ("GET", f"{API}/channels.history"): Route(self._history),
            ("GET", f"{API}/im.history"): Route(self._history),
            ("GET", f"{API}/groups.history"): Route(self._history),
        }

    def _user_created(self, user: User, data: Mapping[str, Any]) -> None:
        """``users.create`` joins the default channels unless ``joinDefaultChannels`` is false."""
        if data.get("joinDefaultChannels", True) is not False:
            for room in [r for r in self._rooms.values() if r.get("default")]:
                self._subscribe(user, room)

    def _user_deleted(self, user: User) -> None:
        for key in [key for key in self._subscriptions if key[0] == user.doc["_id"]]:
            del self._subscriptions[key]

    # -- test helpers ----------------------------------------------------------------------

    def post_message(self, username: str, channel: str, text: str) -> dict[str, Any]:
        """Post as ``username`` to ``#channel``, ``@user`` (a DM) or a room id; no REST call.

        Stands in for other people chatting: unread counters move as ``chat.postMessage``
        moves them.
        """
        with self._lock:
            author = self._find_username(username)
            if author is None:
                raise ValueError(f"no user {username!r}")
            return copy.deepcopy(self._send(author, self._room_for(author, channel), text))

    def subscriptions_of(self, user_id: str) -> list[dict[str, Any]]:
        """Copies of the user's subscriptions (rooms joined, with ``unread`` and ``alert``)."""
        with self._lock:
            return [
                copy.deepcopy(s) for (uid, _), s in self._subscriptions.items() if uid == user_id
            ]

    # -- what the DDP connection (example.standin.ddp) asks ---------------------------------

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every stream event; returns the function that stops it."""
        with self._lock:
            self._listeners.append(listener)

        def stop() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return stop

    def _emit(self, stream: str, event: str, args: list[Any]) -> None:
        for listener in list(self._listeners):
            listener(stream, event, copy.deepcopy(args))

    def _subscription_changed(self, sub: dict[str, Any]) -> None:
        """``notifyOnSubscriptionChanged``: the user's stream gets the whole record."""
        self._emit(NOTIFY_USER, f"{sub['u']['_id']}/{SUBSCRIPTIONS_CHANGED}", ["updated", sub])

    def user_id_for_resume_token(self, presented: str) -> str | None:
        """Meteor's resume login handler over DDP: the user whose unexpired token it is."""
        with self._lock:
            for user in self._users.values():
                for token in user.tokens:
                    if secrets.compare_digest(token.token.encode(), presented.encode()):
                        return None if self._expired(token) else str(user.doc["_id"])
        return None

    def public_settings(self) -> list[dict[str, Any]]:
        """The ``public-settings/get`` method: every public setting, as ``{_id, value}``."""
        with self._lock:
            return [
                {"_id": key, "value": copy.deepcopy(self.settings[key])}
                for key in sorted(PUBLIC_SETTINGS)
                if key in self.settings
            ]

    def own_fields(self, user_id: str) -> dict[str, Any]:
        """The logged-in user's own document as the connection publishes it (``fields``)."""
        with self._lock:
            user = self._users.get(user_id)
            doc = user.doc if user is not None else {}
            keep = ("username", "name", "status", "statusText", "active", "roles")
            return {"fields": {key: copy.deepcopy(doc[key]) for key in keep if key in doc}}

    def subscriptions_for(self, user_id: str) -> list[dict[str, Any]]:
        """The ``subscriptions/get`` method: the user's subscriptions."""
        return self.subscriptions_of(user_id)

    def can_read(self, user_id: str, rid: str) -> bool:
        """``canAccessRoom``, simplified: a channel for everyone, else its members."""
        with self._lock:
            room = self._rooms.get(rid)
            return room is not None and (room["t"] == "c" or (user_id, rid) in self._subscriptions)

    def history(self, user_id: str, rid: str, limit: int) -> list[dict[str, Any]]:
        """The ``loadHistory`` method: the newest ``limit`` messages, newest first."""
        with self._lock:
            if not self.can_read(user_id, rid):
                return []
            return [copy.deepcopy(m) for m in reversed(self._messages[rid])][:limit]

    def send_as(self, user_id: str, rid: str, text: str) -> dict[str, Any] | None:
        """The ``sendMessage`` method; None where the user may not write there."""
        with self._lock:
            user = self._users.get(user_id)
            if user is None or not self.can_read(user_id, rid):
                return None
            return copy.deepcopy(self._send(user, self._rooms[rid], text))

    # -- routes ----------------------------------------------------------------------------

    def _users_set_status(self, call: Call) -> FakeResponse:
        """``users.setStatus`` for the caller (what ``set-user-status`` leads to)."""
        assert call.user is not None
        status = call.params.get("status")
        if status is not None:
            if status not in USER_STATUSES:
                raise meteor_error(
                    INVALID_STATUS,
                    "Valid status types include online, away, offline, and busy.",
                )
            call.user.doc["status"] = status
        if isinstance(call.params.get("message"), str):
            call.user.doc["statusText"] = call.params["message"]
        return ok()

    # -- rooms, subscriptions, messages ---------------------------------------------------

    def _add_room(self, room: dict[str, Any]) -> dict[str, Any]:
        room.setdefault("msgs", 0)
        room.setdefault("_updatedAt", room.get("ts"))
        self._rooms[room["_id"]] = room
        self._messages[room["_id"]] = []
        return room

    def _subscribe(self, user: User, room: dict[str, Any], other: User | None = None) -> None:
        """A subscription as ``createDirectMessage``/``addUserToRoom`` insert it."""
        key = (user.doc["_id"], room["_id"])
        if key in self._subscriptions:
            return
        stamp = iso_time(self.now())
        name = other.doc["username"] if other else room["name"]
        fname = (other.doc.get("name") or name) if other else room.get("fname", name)
        self._subscriptions[key] = {
            "_id": random_string(ID_ALPHABET, ID_LENGTH),
            "rid": room["_id"],
            "u": {"_id": user.doc["_id"], "username": user.doc["username"]},
            "name": name,
            "fname": fname,
            "t": room["t"],
            "ts": stamp,
            "ls": stamp,
            "unread": 0,
            "alert": False,
            "open": True,
            "userMentions": 0,
            "groupMentions": 0,
            "_updatedAt": stamp,
        }
        self._subscription_changed(self._subscriptions[key])

    def _room_for(self, author: User, channel: str) -> dict[str, Any]:
        """``#name``, ``@username`` (created as a DM if needed) or a room id."""
        if channel.startswith("@"):
            other = self._find_username(channel[1:])
            if other is None:
                raise meteor_error(INVALID_CHANNEL, "invalid-channel")
            ids = sorted({author.doc["_id"], other.doc["_id"]})
            rid = "".join(ids)
            if rid not in self._rooms:
                usernames = [str(self._users[i].doc["username"]) for i in ids]
                self._add_room(
                    {"_id": rid, "t": "d", "usernames": usernames, "ts": iso_time(self.now())}
                )
            self._subscribe(author, self._rooms[rid], other)
            self._subscribe(other, self._rooms[rid], author)
            return self._rooms[rid]
        name = channel[1:] if channel.startswith("#") else None
        for room in self._rooms.values():
            if (name is not None and room.get("name") == name) or room["_id"] == channel:
                return room
        raise meteor_error(INVALID_CHANNEL, "invalid-channel")

    def _send(self, author: User, room: dict[str, Any], text: str) -> dict[str, Any]:
        """Store a message and move the others' counters, simplified from
        ``updateUsersSubscriptions`` (lib/server/lib/notifyUsersOnMessage.ts): a mention or
        ``Unread_Count``/``Unread_Count_DM`` = ``all_messages`` adds to ``unread``; every other
        member gets ``alert``."""
        stamp = iso_time(self.now())
        message = {
            "_id": random_string(ID_ALPHABET, ID_LENGTH),
            "rid": room["_id"],
            "msg": text,
            "ts": stamp,
            "u": {
                "_id": author.doc["_id"],
                "username": author.doc["username"],
                "name": author.doc.get("name", ""),
            },
            "_updatedAt": stamp,
        }
        self._messages[room["_id"]].append(message)
        room["msgs"] += 1
        room["lm"] = room["_updatedAt"] = stamp
        mentioned = set(MENTION_RE.findall(text))
        to_all = bool(mentioned & {"all", "here"})
        counting = self.settings.get("Unread_Count_DM" if room["t"] == "d" else "Unread_Count")
        for (user_id, rid), sub in self._subscriptions.items():
            if rid != room["_id"] or user_id == author.doc["_id"]:
                continue
            named = sub["u"]["username"] in mentioned
            if named or to_all or counting == "all_messages":
                sub["unread"] += 1
            if named:
                sub["userMentions"] += 1
            elif to_all:
                sub["groupMentions"] += 1
            sub["alert"] = sub["open"] = True
            sub["_updatedAt"] = stamp
            self._subscription_changed(sub)
        # sendMessage's afterSaveMessage: the room's stream carries the message to its readers.
        self._emit(ROOM_MESSAGES, room["_id"], [message])
        return message

    def _subscriptions_get(self, call: Call) -> FakeResponse:
        assert call.user is not None
        return ok(update=self.subscriptions_of(call.user.doc["_id"]), remove=[])

    def _subscriptions_read(self, call: Call) -> FakeResponse:
        """``subscriptions.read``: unread to 0 and alert off (``readMessages``)."""
        assert call.user is not None
        rid = str(call.params.get("rid") or call.params.get("roomId") or "")
        sub = self._subscriptions.get((call.user.doc["_id"], rid))
        if sub is None:
            raise meteor_error(INVALID_SUBSCRIPTION, "Invalid subscription")
        stamp = iso_time(self.now())
        sub.update(unread=0, alert=False, userMentions=0, groupMentions=0, ls=stamp)
        sub["_updatedAt"] = stamp
        self._subscription_changed(sub)
        return ok()

    def _chat_post_message(self, call: Call) -> FakeResponse:
        """``chat.postMessage`` with ``roomId`` or ``channel`` and ``text``."""
        assert call.user is not None
        target = call.params.get("roomId") or call.params.get("channel")
        if not isinstance(target, str) or not target:
            raise meteor_error(INVALID_CHANNEL, "invalid-channel")
        room = self._room_for(call.user, target)
        if room["t"] != "c" and (call.user.doc["_id"], room["_id"]) not in self._subscriptions:
            raise meteor_error(INVALID_CHANNEL, "invalid-channel")
        message = self._send(call.user, room, str(call.params.get("text") or ""))
        ts = int(self.now().timestamp() * 1000)
        return ok(ts=ts, channel=target, message=copy.deepcopy(message))

    def _history(self, call: Call) -> FakeResponse:
        """``channels.history``/``im.history``/``groups.history``: newest first; a DM or a
        private group only for its members."""
        assert call.user is not None
        rid = str(call.params.get("roomId") or "")
        room = self._rooms.get(rid)
        path = call.request.path
        kind = "d" if path.endswith("im.history") else "p" if "groups." in path else "c"
        if room is None or room["t"] != kind:
            raise meteor_error(INVALID_CHANNEL, "invalid-channel")
        if kind != "c" and (call.user.doc["_id"], rid) not in self._subscriptions:
            raise self._forbidden()
        count = int(call.params.get("count") or HISTORY_DEFAULT_COUNT)
        messages = [copy.deepcopy(m) for m in reversed(self._messages[rid])][:count]
        return ok(messages=messages)

    def _rooms_info(self, call: Call) -> FakeResponse:
        """``rooms.info`` by ``roomId`` or ``roomName``; a DM only for its members."""
        assert call.user is not None
        rid, name = call.params.get("roomId"), call.params.get("roomName")
        room = next(
            (
                r
                for r in self._rooms.values()
                if r["_id"] == rid or (name and r.get("name") == name)
            ),
            None,
        )
        if room is None or (
            room["t"] != "c" and (call.user.doc["_id"], room["_id"]) not in self._subscriptions
        ):
            raise failure("not-allowed")
        return ok(room=copy.deepcopy(room))
