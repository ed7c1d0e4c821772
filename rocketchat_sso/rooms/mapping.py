"""Which Rocket.Chat room each Django group maps to: ``ROCKETCHAT_SSO_GROUP_ROOMS`` read.

The setting is a mapping (or the dotted path of a callable returning one) of Django group names
to room names, or to ``{"name": ..., "read_only": bool}``. Several groups may share a room: its
members are the union. Read on every use, so a callable may compute it from the site's models.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from rocketchat_sso.conf import DEFAULT_ROOM_NAME_VALIDATION, conf

ENTRY_KEYS = frozenset({"name", "read_only", "moderators"})


@dataclass(frozen=True)
class RoomSpec:
    """One mapped room: its name in Rocket.Chat, whether it is created read-only, and the
    Django groups whose members are its moderators (and members)."""

    name: str
    read_only: bool = False
    moderator_groups: frozenset[str] = frozenset()


def raw_mapping() -> Mapping[Any, Any]:
    """The setting's mapping, the callable called; :class:`ImproperlyConfigured` if it is
    neither (the system check ``rocketchat_sso.E070`` says so at start-up)."""
    value = conf.ROCKETCHAT_SSO_GROUP_ROOMS
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError as error:
            raise ImproperlyConfigured(f"ROCKETCHAT_SSO_GROUP_ROOMS: {error}") from error
    if callable(value):
        call: Callable[[], Any] = value
        value = call()
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(
            "ROCKETCHAT_SSO_GROUP_ROOMS must be a mapping of group names to room names, or the "
            f"dotted path of a callable returning one, not {type(value).__name__}"
        )
    return value


def spec_of(group: object, entry: object) -> RoomSpec:
    """One entry as a :class:`RoomSpec`; :class:`ImproperlyConfigured` if malformed."""
    moderators: object = None
    if isinstance(entry, str):
        name, read_only = entry, False
    elif isinstance(entry, Mapping) and set(entry) <= ENTRY_KEYS and "name" in entry:
        name, read_only = entry["name"], entry.get("read_only", False)
        moderators = entry.get("moderators")
    else:
        raise ImproperlyConfigured(
            f"ROCKETCHAT_SSO_GROUP_ROOMS[{group!r}] must be a room name or "
            f'{{"name": ..., "read_only": ..., "moderators": ...}}, not {entry!r}'
        )
    if not isinstance(group, str) or not isinstance(name, str) or not name:
        raise ImproperlyConfigured(
            f"ROCKETCHAT_SSO_GROUP_ROOMS[{group!r}]: group and room names must be strings"
        )
    if moderators is not None and not isinstance(moderators, str):
        raise ImproperlyConfigured(
            f"ROCKETCHAT_SSO_GROUP_ROOMS[{group!r}]['moderators'] must be a Django group name"
        )
    return RoomSpec(
        name=name,
        read_only=bool(read_only),
        moderator_groups=frozenset([moderators] if moderators else []),
    )


def group_rooms() -> dict[str, RoomSpec]:
    """Django group name -> its room."""
    return {str(group): spec_of(group, entry) for group, entry in raw_mapping().items()}


def rooms() -> dict[str, RoomSpec]:
    """Room name -> spec, each mapped room once (read-only if any entry says so)."""
    found: dict[str, RoomSpec] = {}
    for spec in group_rooms().values():
        earlier = found.get(spec.name)
        found[spec.name] = RoomSpec(
            spec.name,
            spec.read_only or bool(earlier and earlier.read_only),
            spec.moderator_groups | (earlier.moderator_groups if earlier else frozenset()),
        )
    return found


def groups_of(room_name: str, mapping: Mapping[str, RoomSpec] | None = None) -> list[str]:
    """The Django groups whose members belong in ``room_name`` (its moderators' too)."""
    mapping = group_rooms() if mapping is None else mapping
    found = set()
    for group, spec in mapping.items():
        if spec.name == room_name:
            found |= {group, *spec.moderator_groups}
    return sorted(found)


def moderator_groups_of(room_name: str, mapping: Mapping[str, RoomSpec] | None = None) -> list[str]:
    mapping = group_rooms() if mapping is None else mapping
    found: set[str] = set()
    for spec in mapping.values():
        if spec.name == room_name:
            found |= spec.moderator_groups
    return sorted(found)


def rooms_of_groups(
    group_names: Iterable[str], mapping: Mapping[str, RoomSpec] | None = None
) -> set[str]:
    """The rooms these groups' members belong in: as members, or as moderators."""
    mapping = group_rooms() if mapping is None else mapping
    names = set(group_names)
    return {
        spec.name
        for group, spec in mapping.items()
        if group in names or spec.moderator_groups & names
    }


def moderated_rooms_of_groups(
    group_names: Iterable[str], mapping: Mapping[str, RoomSpec] | None = None
) -> set[str]:
    mapping = group_rooms() if mapping is None else mapping
    names = set(group_names)
    return {spec.name for spec in mapping.values() if spec.moderator_groups & names}


def _all_group_names(mapping: Mapping[str, RoomSpec]) -> list[str]:
    return sorted({*mapping, *(g for spec in mapping.values() for g in spec.moderator_groups)})


def room_names_for(user: Any, mapping: Mapping[str, RoomSpec] | None = None) -> set[str]:
    """The rooms ``user`` belongs in, from their Django groups (one query)."""
    return rooms_and_moderation_for(user, mapping)[0]


def rooms_and_moderation_for(
    user: Any, mapping: Mapping[str, RoomSpec] | None = None
) -> tuple[set[str], set[str]]:
    """The rooms ``user`` belongs in, and those of them they moderate (one query)."""
    mapping = group_rooms() if mapping is None else mapping
    if not mapping or user is None or user.pk is None:
        return set(), set()
    names = list(
        user.groups.filter(name__in=_all_group_names(mapping)).values_list("name", flat=True)
    )
    return rooms_of_groups(names, mapping), moderated_rooms_of_groups(names, mapping)


def name_pattern() -> re.Pattern[str]:
    """Rocket.Chat's check of room names (``getValidRoomName.ts``: ``^<setting>$``, its
    default when the setting is not a valid expression)."""
    try:
        return re.compile(f"^{conf.ROCKETCHAT_SSO_ROOM_NAME_VALIDATION}$")
    except re.error:
        return re.compile(f"^{DEFAULT_ROOM_NAME_VALIDATION}$")


def configured() -> bool:
    """Whether any room is mapped (a broken setting counts as none: the checks report it)."""
    try:
        return bool(raw_mapping())
    except (ImproperlyConfigured, TypeError, ValueError):
        return False
