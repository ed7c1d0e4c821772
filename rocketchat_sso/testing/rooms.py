"""The stand-in's private groups: the ``groups.*`` routes :mod:`rocketchat_sso.rooms` calls.

Rooms, subscriptions and room roles in memory, behind the model's route wrapper (authentication,
rate limiter, two-factor), with Rocket.Chat's permission checks and error bodies. Tests reach
them as ``rocketchat.rooms`` (:class:`Rooms`): ``add_group``, ``members_of``, ``group``,
``add_member``, ``remove_member``.

Sources read (RocketChat/Rocket.Chat, commits as stored by the search index):
``apps/meteor/server/api/v1/groups.ts`` @08b924c (the newest line) and
``apps/meteor/app/api/server/v1/groups.ts`` @043f062 (the older line: same bodies for the routes
played here, ``groups.kick`` checking access first); ``apps/meteor/server/meteor-methods/rooms/
addUsersToRoom.ts`` @09893e6, ``removeUserFromRoom.ts`` @269944d, ``addRoomModerator.ts``
@4d887fa, ``removeRoomModerator.ts`` @2a23455; ``apps/meteor/server/api/lib/
getUserFromParams.ts`` @0781f57 (``userIds``/``usernames``, so ``groups.invite`` is a bulk
form), ``getPaginationItems.ts`` @85f6fa3 (``count=0``: every item while
``API_Allow_Infinite_Count``, on by default), ``apps/meteor/server/lib/findUsersOfRoom.ts``
@0716b16 (active users only), ``apps/meteor/app/utils/server/lib/getValidRoomName.ts`` @356989d
(``UTF8_Channel_Names_Validation``, default ``[0-9a-zA-Z-_.]+``), the default roles of
``apps/meteor/app/authorization/server/constant/permissions.ts``. The server source at the 7.10,
8.0 and 8.8 tags was not read; the request typings of these routes are identical in npm
``@rocket.chat/rest-typings`` 7.10.0, 8.0.0 and 8.8.1 (``groups.create`` with ``members``,
``readOnly``, ``excludeSelf``), so the routes are played alike on every release.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from rocketchat_sso.testing.wire import (
    API,
    ID_ALPHABET,
    ID_LENGTH,
    INVALID_USER,
    LIST_DEFAULT_COUNT,
    MSG_BAD_USER_PARAM,
    MSG_NO_USER_PARAM,
    USER_PARAM_MISSING,
    Call,
    FakeResponse,
    Reply,
    Route,
    User,
    failure,
    iso_time,
    meteor_error,
    ok,
    random_string,
)


class Server(Protocol):
    """What the groups need of the stand-in they belong to
    (:class:`~rocketchat_sso.testing.model.FakeRocketChat`): its users, lock, clock, settings
    and two of its answers. A protocol, so that the model makes its groups without this module
    importing it back."""

    settings: dict[str, Any]
    _lock: threading.RLock
    _users: dict[str, User]
    now: Callable[[], datetime]

    def user_by_id(self, user_id: str) -> dict[str, Any] | None: ...

    def _find_username(self, username: str) -> User | None: ...

    def _forbidden(self, message: str | None = None) -> Reply: ...

    def _pagination(self, params: Mapping[str, Any]) -> tuple[int, int]: ...


# Room-scoped permissions and the roles holding them by default (permissions.ts): global roles
# and the room roles ``owner``/``moderator`` a subscription carries.
ROOM_PERMISSIONS: Mapping[str, frozenset[str]] = {
    "create-p": frozenset({"admin", "user", "bot", "app"}),
    "add-user-to-joined-room": frozenset({"admin", "owner", "moderator"}),
    "add-user-to-any-p-room": frozenset(),  # no role by default
    "kick-user-from-any-p-room": frozenset(),  # no role by default
    "remove-user": frozenset({"admin", "owner", "moderator"}),
    "set-moderator": frozenset({"admin", "owner"}),
}
DEFAULT_NAME_VALIDATION = "[0-9a-zA-Z-_.]+"  # setting UTF8_Channel_Names_Validation
MSG_ROOM_NOT_FOUND = 'The required "roomId" or "roomName" param provided does not match any group'
MSG_ROOM_PARAM = 'The parameter "roomId" or "roomName" is required'


@dataclass(eq=False)
class Group:
    doc: dict[str, Any]
    # user id -> room roles ("owner", "moderator"): the subscriptions
    members: dict[str, set[str]] = field(default_factory=dict)


class Rooms:
    """Private groups of one :class:`~rocketchat_sso.testing.FakeRocketChat`."""

    def __init__(self, fake: Server) -> None:
        self.fake = fake
        self._groups: dict[str, Group] = {}
        # Hooks a subclass of the stand-in may set (the demo's chat subscribes the member).
        self.on_member_added: Callable[[User, dict[str, Any]], None] | None = None
        self.on_member_removed: Callable[[User, dict[str, Any]], None] | None = None

    def routes(self) -> dict[tuple[str, str], Route]:
        return {
            ("POST", f"{API}/groups.create"): Route(self._create),
            ("GET", f"{API}/groups.info"): Route(self._info),
            ("POST", f"{API}/groups.invite"): Route(self._invite),
            ("POST", f"{API}/groups.kick"): Route(self._kick),
            ("GET", f"{API}/groups.members"): Route(self._members),
            ("POST", f"{API}/groups.addModerator"): Route(self._add_moderator),
            ("POST", f"{API}/groups.removeModerator"): Route(self._remove_moderator),
            ("GET", f"{API}/groups.moderators"): Route(self._moderators),
        }

    # -- test helpers ----------------------------------------------------------------------

    def add_group(
        self,
        name: str,
        owner: str = "admin",
        members: tuple[str, ...] = (),
        read_only: bool = False,
    ) -> dict[str, Any]:
        """A private group made by ``owner`` (a username) in Rocket.Chat, with ``members``."""
        with self.fake._lock:
            creator = self._user(owner)
            group = self._new(name, creator, read_only)
            for username in members:
                self._subscribe(group, self._user(username))
            return group.doc

    def group(self, name: str) -> dict[str, Any] | None:
        with self.fake._lock:
            found = self._by_name(name)
            return found.doc if found else None

    def groups(self) -> list[dict[str, Any]]:
        with self.fake._lock:
            return [group.doc for group in self._groups.values()]

    def moderators_of(self, name: str) -> list[str]:
        """The usernames holding the moderator role in the group ``name``, sorted."""
        with self.fake._lock:
            found = self._by_name(name)
            if found is None:
                return []
            return sorted(
                str(self.fake._users[uid].doc["username"])
                for uid, roles in found.members.items()
                if "moderator" in roles and uid in self.fake._users
            )

    def members_of(self, name: str) -> list[str]:
        """The usernames in the private group ``name``, sorted; [] if there is none."""
        with self.fake._lock:
            found = self._by_name(name)
            if found is None:
                return []
            users = (self.fake.user_by_id(uid) for uid in found.members)
            return sorted(str(user["username"]) for user in users if user)

    def delete_group(self, name: str) -> None:
        """What an admin does by hand in Rocket.Chat: delete the group and its subscriptions."""
        with self.fake._lock:
            group = self._by_name(name)
            assert group is not None, name
            for user_id in list(group.members):
                self._unsubscribe(group, self.fake._users[user_id])
            del self._groups[group.doc["_id"]]

    def add_member(self, name: str, username: str) -> None:
        """What someone does by hand in Rocket.Chat: add ``username`` to the group."""
        with self.fake._lock:
            group = self._by_name(name)
            assert group is not None, name
            self._subscribe(group, self._user(username))

    def remove_member(self, name: str, username: str) -> None:
        with self.fake._lock:
            group = self._by_name(name)
            assert group is not None, name
            self._unsubscribe(group, self._user(username))

    # -- the model -------------------------------------------------------------------------

    def _user(self, username: str) -> User:
        user = self.fake._find_username(username)
        assert user is not None, username
        return user

    def _by_name(self, name: str) -> Group | None:
        return next((g for g in self._groups.values() if g.doc["name"] == name), None)

    def _new(self, name: str, creator: User, read_only: bool) -> Group:
        stamp = iso_time(self.fake.now())
        room_id = random_string(ID_ALPHABET, ID_LENGTH)
        doc: dict[str, Any] = {
            "_id": room_id,
            "name": name,
            "fname": name,
            "t": "p",
            "msgs": 0,
            "usersCount": 0,
            "u": {"_id": creator.doc["_id"], "username": creator.doc["username"]},
            "ts": stamp,
            "ro": read_only,
            "default": False,
            "sysMes": True,
            "_updatedAt": stamp,
        }
        group = Group(doc)
        self._groups[room_id] = group
        self._subscribe(group, creator, {"owner"})  # createRoom: the creator is the owner
        return group

    def _subscribe(self, group: Group, user: User, roles: set[str] | None = None) -> None:
        if user.doc["_id"] in group.members:
            return
        group.members[user.doc["_id"]] = set(roles or ())
        group.doc["usersCount"] = len(group.members)
        if self.on_member_added is not None:
            self.on_member_added(user, group.doc)

    def _unsubscribe(self, group: Group, user: User) -> None:
        if group.members.pop(user.doc["_id"], None) is None:
            return
        group.doc["usersCount"] = len(group.members)
        if self.on_member_removed is not None:
            self.on_member_removed(user, group.doc)

    def _has(self, user: User | None, permission: str, group: Group | None = None) -> bool:
        """``hasPermissionAsync(uid, permission, rid)``: a global role, or a room role."""
        if user is None:
            return False
        roles = set(user.doc["roles"])
        if group is not None:
            roles |= group.members.get(user.doc["_id"], set())
        return bool(roles & ROOM_PERMISSIONS.get(permission, frozenset({"admin"})))

    def _room_from_params(self, params: Mapping[str, Any]) -> Group:
        """groups.ts ``getRoomFromParams``: by roomId, else roomName; a private group only."""
        room_id, room_name = params.get("roomId"), params.get("roomName")
        if not room_id and not room_name:
            raise meteor_error("error-room-param-not-provided", MSG_ROOM_PARAM)
        group = self._groups.get(str(room_id)) if room_id else self._by_name(str(room_name))
        if group is None or group.doc["t"] != "p":
            raise meteor_error("error-room-not-found", MSG_ROOM_NOT_FOUND)
        return group

    def _accessible(self, params: Mapping[str, Any], user: User | None) -> Group:
        """``findPrivateGroupByIdOrName``: the group, if ``canAccessRoomAsync`` lets the caller
        in: a private group only to its members (the admin role is no exception)."""
        group = self._room_from_params(params)
        if user is None or user.doc["_id"] not in group.members:
            raise meteor_error("error-room-not-found", MSG_ROOM_NOT_FOUND)
        return group

    def _view(self, group: Group) -> dict[str, Any]:
        return copy.deepcopy(group.doc)

    # -- routes ----------------------------------------------------------------------------

    def _create(self, call: Call) -> FakeResponse:
        """``groups.create``: ``create-p`` (else 403), ``name`` required, ``members`` (usernames;
        unknown ones skipped), ``readOnly``; the name checked by ``getValidRoomName`` against
        ``UTF8_Channel_Names_Validation`` (``error-invalid-room-name``), then for a duplicate
        among rooms of any type (``error-duplicate-channel-name``)."""
        params = call.params
        if not self._has(call.user, "create-p"):
            raise self.fake._forbidden()  # 7.x API.v1.unauthorized(), newest forbidden()
        name = params.get("name")
        if not name:
            raise failure('Body param "name" is required')
        members = params.get("members")
        if members is not None and not isinstance(members, list):
            raise failure('Body param "members" must be an array if provided')
        name = str(name)
        pattern = str(
            self.fake.settings.get("UTF8_Channel_Names_Validation") or DEFAULT_NAME_VALIDATION
        )
        try:
            valid = re.compile(f"^{pattern}$")
        except re.error:
            valid = re.compile(f"^{DEFAULT_NAME_VALIDATION}$")
        details = {"function": "RocketChat.getValidRoomName", "channel_name": name}
        if not valid.fullmatch(name):
            raise meteor_error(
                "error-invalid-room-name", f"{name} is not a valid room name.", details
            )
        if self._by_name(name) is not None:
            raise meteor_error(
                "error-duplicate-channel-name", f"A channel with name '{name}' exists", details
            )
        assert call.user is not None
        group = self._new(name, call.user, bool(params.get("readOnly", False)))
        for username in members or []:
            user = self.fake._find_username(str(username))
            if user is not None:
                self._subscribe(group, user)
        return ok(group=self._view(group))

    def _info(self, call: Call) -> FakeResponse:
        """``groups.info``: only a member sees the group; others get ``error-room-not-found``."""
        return ok(group=self._view(self._accessible(call.params, call.user)))

    def _invite(self, call: Call) -> FakeResponse:
        """``groups.invite`` (bulk: ``userIds``/``usernames`` and ``userId``/``username``):
        the room by id or name without an access check, then ``addUsersToRoom``: the caller
        needs ``add-user-to-joined-room`` as a member, or ``add-user-to-any-p-room`` (no role
        by default), else ``error-not-allowed``. Members already in are skipped."""
        params = call.params
        if not str(params.get("roomId") or params.get("roomName") or "").strip():
            raise meteor_error("error-room-param-not-provided", MSG_ROOM_PARAM)
        group = self._room_from_params(params)
        users = self._user_list(params)
        if not users:
            raise meteor_error(
                "error-empty-invite-list", "Cannot invite if no valid users are provided"
            )
        caller = call.user
        assert caller is not None
        joined = caller.doc["_id"] in group.members
        if not (
            (joined and self._has(caller, "add-user-to-joined-room", group))
            or self._has(caller, "add-user-to-any-p-room")
        ):
            raise meteor_error("error-not-allowed", "Not allowed", {"method": "addUsersToRoom"})
        for user in users:
            self._subscribe(group, user)
        return ok(group=self._view(group))

    def _user_list(self, params: Mapping[str, Any]) -> list[User]:
        """``getUserListFromParams``: ids when ``userIds``/``userId`` is given, else usernames
        (case-insensitive); unknown ones dropped."""
        sole = params.get("userId") or params.get("username") or params.get("user")
        listed = params.get("userIds") or params.get("usernames") or []
        wanted = list(dict.fromkeys([str(v) for v in [*listed, sole] if v]))
        if not wanted:
            raise meteor_error(
                "error-users-params-not-provided",
                'Please provide "userId" or "username" or "userIds" or "usernames" as param',
            )
        by_id = bool(params.get("userIds") or params.get("userId"))
        found = [self.fake._users.get(v) if by_id else self.fake._find_username(v) for v in wanted]
        return [user for user in found if user is not None]

    def _kick(self, call: Call) -> FakeResponse:
        """``groups.kick`` then ``removeUserFromRoom``: ``remove-user``; without
        ``kick-user-from-any-p-room`` (no role by default) the caller must be able to access the
        room (``error-room-not-found``) and the user must be in it (``error-user-not-in-room``);
        the last owner stays (``error-you-are-last-owner``)."""
        params = call.params
        group = self._room_from_params(params)
        user = self._user_from_params(params)
        caller = call.user
        if not self._has(caller, "remove-user", group):
            raise meteor_error("error-not-allowed", "Not allowed", {"method": "removeUserFromRoom"})
        any_room = self._has(caller, "kick-user-from-any-p-room")
        if not any_room and (caller is None or caller.doc["_id"] not in group.members):
            raise meteor_error("error-room-not-found", MSG_ROOM_NOT_FOUND)
        roles = group.members.get(user.doc["_id"])
        if roles is None:
            if any_room:
                return ok()
            raise meteor_error(
                "error-user-not-in-room",
                "User is not in this room",
                {"method": "removeUserFromRoom"},
            )
        owners = [uid for uid, room_roles in group.members.items() if "owner" in room_roles]
        if "owner" in roles and len(owners) == 1:
            raise meteor_error(
                "error-you-are-last-owner",
                "You are the last owner. Please set new owner before leaving the room.",
                {"method": "removeUserFromRoom"},
            )
        self._unsubscribe(group, user)
        return ok()

    def _user_from_params(self, params: Mapping[str, Any]) -> User:
        """``getUserFromParams``: userId, username or user."""
        if str(params.get("userId") or "").strip():
            user = self.fake._users.get(str(params["userId"]))
        elif str(params.get("username") or params.get("user") or "").strip():
            user = self.fake._find_username(str(params.get("username") or params.get("user")))
        else:
            raise meteor_error(USER_PARAM_MISSING, MSG_NO_USER_PARAM)
        if user is None:
            raise meteor_error(INVALID_USER, MSG_BAD_USER_PARAM)
        return user

    def _members(self, call: Call) -> FakeResponse:
        """``groups.members``: members only (``findPrivateGroupByIdOrName``, archived refused);
        ``offset``/``count`` by ``getPaginationItems`` (``count=0``: all, while the setting
        ``API_Allow_Infinite_Count`` is on, its default; else 50; at most 100); sorted by
        username."""
        group = self._accessible(call.params, call.user)
        if group.doc.get("archived"):
            raise meteor_error(
                "error-room-archived", f"The private group, {group.doc['name']}, is archived"
            )
        offset, count = self.fake._pagination(call.params)
        if count == 0 and self.fake.settings.get("API_Allow_Infinite_Count") is False:
            count = LIST_DEFAULT_COUNT  # getPaginationItems: API_Default_Count instead
        # findUsersOfRoom: active users only (findPaginatedByActiveUsersExcept), by
        # statusConnection then username (the model sorts by username alone).
        users = [
            self.fake._users[uid]
            for uid in group.members
            if uid in self.fake._users and self.fake._users[uid].doc.get("active", True)
        ]
        users.sort(key=lambda u: str(u.doc["username"]))
        page = users[offset : offset + count] if count else users[offset:]
        members = [
            {
                "_id": u.doc["_id"],
                "username": u.doc["username"],
                "name": u.doc.get("name", ""),
                "status": u.doc.get("status", "offline"),
            }
            for u in page
        ]
        return ok(members=members, count=len(members), offset=offset, total=len(users))

    def _role_change(self, call: Call, method: str) -> tuple[Group, User, set[str]]:
        """``groups.addModerator``/``removeModerator``: ``findPrivateGroupByIdOrName`` (members
        only), ``getUserFromParams``, then ``set-moderator`` in the room (``error-not-allowed``);
        the user's subscription and its roles."""
        group = self._accessible(call.params, call.user)
        user = self._user_from_params(call.params)
        if not self._has(call.user, "set-moderator", group):
            raise meteor_error("error-not-allowed", "Not allowed", {"method": method})
        roles = group.members.get(user.doc["_id"])
        if roles is None:
            if method == "addRoomModerator":
                raise meteor_error(
                    "error-user-not-in-room", "User is not in this room", {"method": method}
                )
            raise meteor_error("error-invalid-room", "Invalid room", {"method": method})
        return group, user, roles

    def _add_moderator(self, call: Call) -> FakeResponse:
        """``addRoomModerator.ts``: ``error-user-already-moderator`` for a moderator."""
        _, _, roles = self._role_change(call, "addRoomModerator")
        if "moderator" in roles:
            raise meteor_error(
                "error-user-already-moderator",
                "User is already a moderator",
                {"method": "addRoomModerator"},
            )
        roles.add("moderator")
        return ok()

    def _remove_moderator(self, call: Call) -> FakeResponse:
        """``removeRoomModerator.ts``: ``error-user-not-moderator`` for anyone else."""
        _, _, roles = self._role_change(call, "removeRoomModerator")
        if "moderator" not in roles:
            raise meteor_error(
                "error-user-not-moderator",
                "User is not a moderator",
                {"method": "removeRoomModerator"},
            )
        roles.discard("moderator")
        return ok()

    def _moderators(self, call: Call) -> FakeResponse:
        """``groups.moderators``: members only; ``{moderators: [{_id, username}]}``."""
        group = self._accessible(call.params, call.user)
        found = [
            {"_id": uid, "username": self.fake._users[uid].doc["username"]}
            for uid, roles in group.members.items()
            if "moderator" in roles and uid in self.fake._users
        ]
        return ok(moderators=found)
