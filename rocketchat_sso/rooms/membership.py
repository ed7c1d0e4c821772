"""Membership follows groups: one account at a time (sign-in, group change), or one room at a
time (the sync command's reconciliation).

What is never touched: rooms outside the mapping; Rocket.Chat users this site did not link (the
admin, bots, people added by hand); users who never signed in (no account, no call). Calls: an
account whose rooms are as recorded costs none; a group change one ``groups.invite`` or
``groups.kick`` per room changed (plus, the first time a room is needed, ``groups.create`` with
the user as member, or ``groups.create`` + ``groups.info`` where it exists); a room's
reconciliation one ``groups.members``, one ``groups.invite`` per 500 missing members and one
``groups.kick`` per member to remove.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from rocketchat_sso.conf import conf
from rocketchat_sso.exceptions import RocketChatError, RoomUnmanageable
from rocketchat_sso.models import MAX_ERROR_LENGTH, MappedRoom, RocketChatAccount, RoomMembership
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.rooms import api, mapping
from rocketchat_sso.rooms.mapping import RoomSpec

logger = logging.getLogger(__name__)

# Rooms the doctor asks Rocket.Chat about, one call each (a callable mapping may hold many).
DOCTOR_MAX_ROOMS = 50
MEMBER, PENDING_ADD, PENDING_REMOVE = (
    RoomMembership.MEMBER,
    RoomMembership.PENDING_ADD,
    RoomMembership.PENDING_REMOVE,
)


def unmanageable_text(name: str) -> str:
    """Why the admin cannot manage ``name``, and the fix (shown by the sync, doctor, admin)."""
    admin = conf.ROCKETCHAT_SSO_ADMIN_USER_ID or "the admin"
    return (
        f"Rocket.Chat has a room named {name!r} that is not a private group the admin user "
        f"({admin}) is a member of, so this site can neither see nor change its members and "
        f"will not create a second one. Fix: in Rocket.Chat, add the admin user to the private "
        f"group {name!r} (or rename that room, or map the Django groups to another room name "
        f"in ROCKETCHAT_SSO_GROUP_ROOMS), then run manage.py rocketchat_sso_sync."
    )


def ensure_room(
    spec: RoomSpec,
    client: RocketChatClient,
    *,
    members: list[str] | None = None,
    recheck: bool = True,
) -> tuple[MappedRoom, bool]:
    """The room's row with its Rocket.Chat id: known, found, or created (with ``members``,
    usernames, when given). Returns ``(room, created)``. A room of that name the admin cannot
    see is never duplicated: :class:`RoomUnmanageable` (recorded on the row; asked again only
    with ``recheck``, as the sync does, so sign-ins spend no call on it)."""
    room, _ = MappedRoom.objects.get_or_create(name=spec.name)
    if room.rocketchat_room_id:
        return room, False
    if room.problem and not recheck:
        raise RoomUnmanageable(room.problem)
    created = False
    try:
        try:
            group = api.create_group(
                client, spec.name, members=list(members or ()), read_only=spec.read_only
            )
            created = True
        except RocketChatError as error:
            if not api.is_error(error, api.DUPLICATE_NAME, api.ARCHIVED_DUPLICATE):
                raise
            group = api.group_info(client, spec.name)  # Rocket.Chat refused a twin
    except RocketChatError as error:
        if api.is_error(error, api.ROOM_NOT_FOUND):
            room.problem = unmanageable_text(spec.name)
            room.checked_at = timezone.now()
            room.save(update_fields=["problem", "checked_at"])
            raise RoomUnmanageable(
                room.problem, status=error.status, error_type=error.error_type
            ) from error
        raise
    room.rocketchat_room_id = str(group["_id"])
    room.problem = ""
    room.checked_at = timezone.now()
    room.save(update_fields=["rocketchat_room_id", "problem", "checked_at"])
    return room, created


def _forget_room(room: MappedRoom) -> None:
    """The room's id no longer names a group the admin is in (deleted, admin removed)."""
    room.rocketchat_room_id = ""
    room.save(update_fields=["rocketchat_room_id"])


def _error_text(error: Exception) -> str:
    return (getattr(error, "message", None) or str(error))[:MAX_ERROR_LENGTH]


@dataclass
class AccountResult:
    added: int = 0
    removed: int = 0
    failed: int = 0


def apply_account(account: RocketChatAccount, client: RocketChatClient) -> AccountResult:
    """Bring one linked account's mapped rooms in line with its user's groups."""
    return apply_accounts([account], client)


def apply_accounts(
    accounts: Iterable[RocketChatAccount], client: RocketChatClient
) -> AccountResult:
    """Bring linked accounts' mapped rooms in line with their users' groups.

    Rooms already recorded as theirs cost no call; the accounts joining one room are invited
    together (one ``groups.invite`` for up to 500: a group's ``user_set.add(*users)`` is one
    call). A failure is recorded on the membership (``pending-add``/``pending-remove`` with the
    error) and left to the next sign-in or sync; the other rooms go on.
    """
    result = AccountResult()
    group_map = mapping.group_rooms()
    specs = mapping.rooms()
    joining: dict[str, list[RocketChatAccount]] = {}
    leaving: list[tuple[RocketChatAccount, RoomMembership]] = []
    roles: list[tuple[RocketChatAccount, str, bool]] = []  # (account, room, moderator?)
    for account in accounts:
        if account.user is None:  # a deleted user: their rooms stay as they are
            continue
        wanted, moderated = mapping.rooms_and_moderation_for(account.user, group_map)
        rows = {row.room.name: row for row in account.room_memberships.select_related("room")}
        for name in sorted(wanted):
            row = rows.get(name)
            if row is None or row.state != MEMBER:
                joining.setdefault(name, []).append(account)
            if (name in moderated) != bool(row and row.moderator):
                roles.append((account, name, name in moderated))
        for name, row in sorted(rows.items()):
            if name in wanted:
                continue
            if name not in specs:  # no longer mapped: never touched again, forgotten here
                row.delete()
                continue
            leaving.append((account, row))
    for name, members in sorted(joining.items()):
        try:
            _add(members, specs[name], client)
        except RocketChatError as error:
            result.failed += len(members)
            _pending(members, name, PENDING_ADD, error)
            continue
        result.added += len(members)
    for account, row in leaving:
        try:
            _remove(account, row, client)
        except RocketChatError as error:
            result.failed += 1
            _pending([account], row.room.name, PENDING_REMOVE, error)
            continue
        result.removed += 1
    for account, name, moderator in roles:
        if not _set_moderator(account, name, moderator, client):
            result.failed += 1
    return result


def _set_moderator(
    account: RocketChatAccount, name: str, moderator: bool, client: RocketChatClient
) -> bool:
    """Make the member a moderator of the room, or no longer one: one call. A failure stays on
    the membership's ``last_error``; the role is tried again at the next sign-in or sync."""
    row = RoomMembership.objects.select_related("room").filter(account=account, room__name=name)
    membership = row.first()
    if membership is None or membership.state != MEMBER:
        return True  # not in the room (yet): the role follows once they are
    room_id, user_id = membership.room.rocketchat_room_id, account.rocketchat_user_id
    try:
        if moderator:
            try:
                api.add_moderator(client, room_id, user_id)
            except RocketChatError as error:
                if not api.is_error(error, api.ALREADY_MODERATOR):
                    raise
        else:
            try:
                api.remove_moderator(client, room_id, user_id)
            except RocketChatError as error:
                if not api.is_error(error, api.NOT_MODERATOR):
                    raise
    except RocketChatError as error:
        membership.last_error = _error_text(error)
        membership.save(update_fields=["last_error", "updated_at"])
        logger.warning(
            "Rocket.Chat room %s: moderator role of %s left pending: %s",
            name,
            account.rocketchat_username,
            membership.last_error,
        )
        return False
    membership.moderator = moderator
    membership.last_error = ""
    membership.save(update_fields=["moderator", "last_error", "updated_at"])
    return True


def _pending(
    accounts: list[RocketChatAccount], name: str, state: str, error: RocketChatError
) -> None:
    text = _error_text(error)
    logger.warning(
        "Rocket.Chat room %s: membership of %s left pending: %s",
        name,
        ", ".join(account.rocketchat_username for account in accounts),
        text,
    )
    room, _ = MappedRoom.objects.get_or_create(name=name)
    for account in accounts:
        RoomMembership.objects.update_or_create(
            account=account, room=room, defaults={"state": state, "last_error": text}
        )


def _add(accounts: list[RocketChatAccount], spec: RoomSpec, client: RocketChatClient) -> None:
    usernames = [account.rocketchat_username for account in accounts]
    user_ids = [account.rocketchat_user_id for account in accounts]
    room, created = ensure_room(spec, client, members=usernames, recheck=False)
    if not created:
        try:
            api.invite(client, room.rocketchat_room_id, user_ids)
        except RocketChatError as error:
            if not api.is_error(error, api.ROOM_NOT_FOUND):
                raise
            _forget_room(room)  # deleted in Rocket.Chat: found or made again, once
            room, created = ensure_room(spec, client, members=usernames, recheck=False)
            if not created:
                api.invite(client, room.rocketchat_room_id, user_ids)
    for account in accounts:
        RoomMembership.objects.update_or_create(
            account=account, room=room, defaults={"state": MEMBER, "last_error": ""}
        )


def _remove(account: RocketChatAccount, row: RoomMembership, client: RocketChatClient) -> None:
    room = row.room
    if room.rocketchat_room_id:
        try:
            api.kick(client, room.rocketchat_room_id, account.rocketchat_user_id)
        except RocketChatError as error:
            if api.is_error(error, api.ROOM_NOT_FOUND) and not room.problem:
                # Gone or out of the admin's reach: nothing of ours to take back.
                _forget_room(room)
            elif not api.is_error(error, api.NOT_IN_ROOM):
                raise
    row.delete()


@dataclass
class RoomResult:
    name: str
    members: int = 0
    added: int = 0
    removed: int = 0
    failed: int = 0
    moderators: int = 0  # made moderators by this run
    moderators_removed: int = 0


def sync_room(
    spec: RoomSpec,
    client: RocketChatClient,
    *,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
) -> RoomResult:
    """Reconcile one room: read its members once, add the linked users of its groups who are
    missing (``groups.invite`` in bulk), remove the linked users who are not in its groups.

    Raises :class:`RoomUnmanageable` for a room the admin is not in. Each step is committed as
    it goes, so an interrupted run loses nothing and the next one carries on.
    """
    result = RoomResult(spec.name)
    groups = mapping.groups_of(spec.name)
    # groups.members lists active users only (findUsersOfRoom.ts:
    # findPaginatedByActiveUsersExcept): a deactivated user can be neither seen nor told apart,
    # so inactive users keep their rooms, and their records, until they are active again.
    inactive = set(
        RocketChatAccount.objects.filter(
            Q(user__is_active=False) | Q(deactivated_at__isnull=False)
        ).values_list("pk", flat=True)
    )
    desired = {
        uid: pk
        for uid, pk in RocketChatAccount.objects.filter(user__groups__name__in=groups)
        .values_list("rocketchat_user_id", "pk")
        .distinct()
        if pk not in inactive
    }
    room, _ = MappedRoom.objects.get_or_create(name=spec.name)
    if not room.rocketchat_room_id and not room.problem and not desired:
        return result  # nobody linked belongs in it yet: made when the first one does
    if not room.rocketchat_room_id and dry_run:
        if room.problem:
            raise RoomUnmanageable(room.problem)
        result.added = len(desired)
        return result
    room, _ = ensure_room(spec, client)
    try:
        present = api.member_ids(client, room.rocketchat_room_id)
    except RocketChatError as error:
        if not api.is_error(error, api.ROOM_NOT_FOUND):
            raise
        _forget_room(room)
        room, _ = ensure_room(spec, client)
        present = api.member_ids(client, room.rocketchat_room_id)
    result.members = len(present)
    linked = dict(RocketChatAccount.objects.values_list("rocketchat_user_id", "pk"))
    never = {conf.ROCKETCHAT_SSO_ADMIN_USER_ID}
    to_add = sorted(set(desired) - present - never)
    to_remove = sorted((present & set(linked)) - set(desired) - never)
    if dry_run:
        result.added, result.removed = len(to_add), len(to_remove)
        return result
    rows = dict(room.memberships.values_list("account_id", "state"))
    in_place = [desired[uid] for uid in set(desired) & present]
    _mark_members(room, in_place, rows)
    for start in range(0, len(to_add), api.INVITE_CHUNK):
        chunk = to_add[start : start + api.INVITE_CHUNK]
        pks = [desired[uid] for uid in chunk]
        try:
            api.invite(client, room.rocketchat_room_id, chunk)
        except RocketChatError as error:
            result.failed += len(chunk)
            _mark_pending(room, pks, PENDING_ADD, _error_text(error))
            continue
        result.added += len(chunk)
        present.update(chunk)
        _mark_members(room, pks, rows)
        if progress:
            progress(f"{spec.name}: added {result.added}/{len(to_add)}")
    for uid in to_remove:
        try:
            api.kick(client, room.rocketchat_room_id, uid)
        except RocketChatError as error:
            if not api.is_error(error, api.NOT_IN_ROOM):
                result.failed += 1
                _mark_pending(room, [linked[uid]], PENDING_REMOVE, _error_text(error))
                continue
        result.removed += 1
        present.discard(uid)
        RoomMembership.objects.filter(room=room, account_id=linked[uid]).delete()
    # Rows of accounts neither wanted nor present: nothing left to do for them.
    stale = set(rows) - set(desired.values()) - {linked[uid] for uid in to_remove} - inactive
    RoomMembership.objects.filter(room=room, account_id__in=stale).delete()
    moderator_groups = mapping.moderator_groups_of(spec.name)
    if moderator_groups:
        _sync_moderators(room, moderator_groups, present, linked, inactive, client, result)
    room.synced_at = timezone.now()
    room.save(update_fields=["synced_at"])
    return result


def _sync_moderators(
    room: MappedRoom,
    groups: list[str],
    members: set[str],
    linked: dict[str, int],
    inactive: set[int],
    client: RocketChatClient,
    result: RoomResult,
) -> None:
    """The room's moderators in line with its moderators' groups: one ``groups.moderators``,
    then one call per role to give or take. Only linked members; never the admin."""
    wanted = {
        uid: pk
        for uid, pk in RocketChatAccount.objects.filter(user__groups__name__in=groups)
        .values_list("rocketchat_user_id", "pk")
        .distinct()
        if pk not in inactive and uid in members
    }
    current = api.moderator_ids(client, room.rocketchat_room_id)
    never = {conf.ROCKETCHAT_SSO_ADMIN_USER_ID}
    changes = [(uid, True) for uid in sorted(set(wanted) - current)] + [
        (uid, False)
        for uid in sorted((current & set(linked)) - set(wanted) - never)
        if linked[uid] not in inactive
    ]
    for uid, moderator in changes:
        try:
            if moderator:
                api.add_moderator(client, room.rocketchat_room_id, uid)
            else:
                api.remove_moderator(client, room.rocketchat_room_id, uid)
        except RocketChatError as error:
            if not api.is_error(error, api.ALREADY_MODERATOR, api.NOT_MODERATOR):
                result.failed += 1
                RoomMembership.objects.filter(room=room, account_id=linked[uid]).update(
                    last_error=_error_text(error)
                )
                continue
        result.moderators += 1 if moderator else 0
        result.moderators_removed += 0 if moderator else 1
        RoomMembership.objects.filter(room=room, account_id=linked[uid]).update(
            moderator=moderator, last_error=""
        )
    # The records of those already right.
    RoomMembership.objects.filter(room=room, account_id__in=wanted.values()).exclude(
        moderator=True
    ).update(moderator=True)
    RoomMembership.objects.filter(room=room, moderator=True).exclude(
        account_id__in=[*wanted.values(), *inactive]
    ).exclude(account_id__in=[linked[uid] for uid in current & set(linked)]).update(moderator=False)


def _mark_members(room: MappedRoom, account_pks: list[int], rows: dict[int, str]) -> None:
    """Record these accounts as members, writing only rows that differ."""
    new = [pk for pk in account_pks if pk not in rows]
    changed = [pk for pk in account_pks if pk in rows and rows[pk] != MEMBER]
    with transaction.atomic():
        RoomMembership.objects.bulk_create(
            [RoomMembership(room=room, account_id=pk, state=MEMBER) for pk in new],
            batch_size=500,
            ignore_conflicts=True,
        )
        if changed:
            RoomMembership.objects.filter(room=room, account_id__in=changed).update(
                state=MEMBER, last_error="", updated_at=timezone.now()
            )
    rows.update(dict.fromkeys(account_pks, MEMBER))


def _mark_pending(room: MappedRoom, account_pks: list[int], state: str, error: str) -> None:
    for pk in account_pks:
        RoomMembership.objects.update_or_create(
            room=room, account_id=pk, defaults={"state": state, "last_error": error}
        )


def unmanageable_rooms() -> list[MappedRoom]:
    """Mapped rooms last found out of the admin's reach."""
    names = list(mapping.rooms())
    return list(MappedRoom.objects.filter(name__in=names).exclude(problem=""))


def room_problems(client: RocketChatClient) -> tuple[list[str], dict[str, str]]:
    """For the doctor: the mapped rooms the admin can manage, and the others with why.

    One ``groups.info`` per mapped room (the first :data:`DOCTOR_MAX_ROOMS`; the others as the
    last sync recorded them), so a room the admin was removed from since shows up.
    """
    fine: list[str] = []
    problems: dict[str, str] = {}
    names = list(mapping.rooms())
    for name in names[DOCTOR_MAX_ROOMS:]:  # beyond the cap: what the last sync found
        known = MappedRoom.objects.filter(name=name).exclude(problem="").first()
        if known is not None:
            problems[name] = known.problem
    if len(names) > DOCTOR_MAX_ROOMS:
        fine.append(f"{len(names) - DOCTOR_MAX_ROOMS} more as the last sync found them")
    for name in names[:DOCTOR_MAX_ROOMS]:
        try:
            api.group_info(client, name)
        except RocketChatError as error:
            if not api.is_error(error, api.ROOM_NOT_FOUND):
                raise
            known = MappedRoom.objects.filter(name=name).first()
            if known is not None and (known.problem or known.rocketchat_room_id):
                problems[name] = known.problem or unmanageable_text(name)
            else:
                fine.append(f"{name} (not created yet: made with its first member)")
            continue
        fine.append(name)
    return fine, problems
