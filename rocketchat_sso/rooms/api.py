"""The ``groups.*`` calls of Rocket.Chat's REST API, through the one client.

All of them with the admin's credentials (exempt from the rate limiter: ``api-bypass-rate-limit``
is the admin role's). Routes read in RocketChat/Rocket.Chat ``apps/meteor/server/api/v1/
groups.ts`` @08b924c and ``apps/meteor/app/api/server/v1/groups.ts`` @043f062: ``groups.create``
takes ``members`` (usernames) and ``readOnly``; ``groups.invite`` takes ``userIds``
(``getUserListFromParams``), so a sync adds many members in one call; ``groups.kick`` takes one
user; ``groups.members`` with ``count=0`` answers every member while ``API_Allow_Infinite_Count``
is on (its default; ``getPaginationItems.ts``), else pages are read until ``total``;
``groups.addModerator``/``removeModerator``/``moderators`` set and read the room role.
"""

from __future__ import annotations

from typing import Any

from rocketchat_sso.exceptions import RocketChatAPIError, RocketChatBadResponse
from rocketchat_sso.rocketchat.client import JSONDict, RocketChatClient

ROOM_NOT_FOUND = "error-room-not-found"
DUPLICATE_NAME = "error-duplicate-channel-name"
ARCHIVED_DUPLICATE = "error-archived-duplicate-name"
INVALID_ROOM_NAME = "error-invalid-room-name"
NOT_ALLOWED = "error-not-allowed"
NOT_IN_ROOM = "error-user-not-in-room"
ALREADY_MODERATOR = "error-user-already-moderator"
NOT_MODERATOR = "error-user-not-moderator"
LAST_OWNER = "error-you-are-last-owner"
# Users per groups.invite: a bounded request body (17-character ids: ~10 KB).
INVITE_CHUNK = 500
PAGE_SIZE = 100  # API_Upper_Count_Limit's default, for servers that refuse count=0


def is_error(error: Exception, *types: str) -> bool:
    """Whether Rocket.Chat refused with one of these ``errorType`` codes."""
    return isinstance(error, RocketChatAPIError) and error.error_type in types


def _room(answer: JSONDict) -> JSONDict:
    group = answer.get("group")
    if not isinstance(group, dict) or not isinstance(group.get("_id"), str):
        raise RocketChatBadResponse("Rocket.Chat's answer does not hold a group")
    return group


def create_group(
    client: RocketChatClient, name: str, *, members: list[str], read_only: bool
) -> JSONDict:
    """``groups.create``: the admin becomes its owner; ``members`` are usernames."""
    body: dict[str, Any] = {"name": name, "members": members, "readOnly": read_only}
    return _room(client.request("POST", "groups.create", body=body))


def group_info(client: RocketChatClient, name: str) -> JSONDict:
    """``groups.info`` by name: only a group the admin is in (``error-room-not-found`` else)."""
    return _room(client.request("GET", "groups.info", params={"roomName": name}))


def invite(client: RocketChatClient, room_id: str, user_ids: list[str]) -> None:
    """``groups.invite`` with ``userIds``: members already in are skipped by Rocket.Chat."""
    for start in range(0, len(user_ids), INVITE_CHUNK):
        chunk = user_ids[start : start + INVITE_CHUNK]
        client.request("POST", "groups.invite", body={"roomId": room_id, "userIds": chunk})


def kick(client: RocketChatClient, room_id: str, user_id: str) -> None:
    client.request("POST", "groups.kick", body={"roomId": room_id, "userId": user_id})


def add_moderator(client: RocketChatClient, room_id: str, user_id: str) -> None:
    """``groups.addModerator`` (``addRoomModerator.ts``: ``set-moderator``, the user a member;
    ``error-user-already-moderator`` if they are one)."""
    client.request("POST", "groups.addModerator", body={"roomId": room_id, "userId": user_id})


def remove_moderator(client: RocketChatClient, room_id: str, user_id: str) -> None:
    """``groups.removeModerator`` (``removeRoomModerator.ts``: ``error-user-not-moderator``)."""
    client.request("POST", "groups.removeModerator", body={"roomId": room_id, "userId": user_id})


def moderator_ids(client: RocketChatClient, room_id: str) -> set[str]:
    """``groups.moderators``: the ids of the room's moderators, in one call."""
    answer = client.request("GET", "groups.moderators", params={"roomId": room_id})
    found = answer.get("moderators")
    if not isinstance(found, list):
        raise RocketChatBadResponse("Rocket.Chat's groups.moderators answer has no moderators")
    return {str(u["_id"]) for u in found if isinstance(u, dict) and u.get("_id")}


def member_ids(client: RocketChatClient, room_id: str) -> set[str]:
    """Every member's Rocket.Chat id: one call where ``count=0`` is honoured."""
    found: set[str] = set()
    offset, count = 0, 0
    while True:
        params = {"roomId": room_id, "offset": str(offset), "count": str(count)}
        answer = client.request("GET", "groups.members", params=params)
        members = answer.get("members")
        if not isinstance(members, list):
            raise RocketChatBadResponse("Rocket.Chat's groups.members answer has no members")
        found.update(str(m["_id"]) for m in members if isinstance(m, dict) and m.get("_id"))
        offset += len(members)
        total = answer.get("total")
        if not members or not isinstance(total, int) or offset >= total:
            return found
        count = PAGE_SIZE  # the server capped the page: read the rest page by page
