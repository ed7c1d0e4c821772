"""The admin of rooms from groups: each account's mapped rooms and what is pending, and the
mapped rooms with any problem the admin user has with them. Read-only: the groups decide."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from rocketchat_sso.models import MappedRoom, RocketChatAccount, RoomMembership
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.rooms import membership

if TYPE_CHECKING:
    MembershipInlineBase = admin.TabularInline[RoomMembership, Any]
    MappedRoomAdminBase = admin.ModelAdmin[MappedRoom]
else:  # generic for type checkers only
    MembershipInlineBase = admin.TabularInline
    MappedRoomAdminBase = admin.ModelAdmin


class RoomMembershipInline(MembershipInlineBase):
    """An account's mapped rooms: member, or a change still to make and why it is waiting."""

    model = RoomMembership
    fk_name = "account"
    extra = 0
    max_num = 0
    can_delete = False
    fields = ("room", "state", "moderator", "last_error", "room_problem", "updated_at")
    readonly_fields = fields
    verbose_name_plural = _("rooms from groups")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("room problem"))
    def room_problem(self, membership: RoomMembership) -> str:
        return membership.room.problem


class MappedRoomAdmin(MappedRoomAdminBase):
    """The rooms of ``ROCKETCHAT_SSO_GROUP_ROOMS`` this site has met, and their problems."""

    list_display = ("name", "rocketchat_room_id", "has_problem", "checked_at", "synced_at")
    search_fields = ("name", "rocketchat_room_id")
    readonly_fields = ("name", "rocketchat_room_id", "problem", "checked_at", "synced_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("manageable"), boolean=True)
    def has_problem(self, room: MappedRoom) -> bool:
        return not room.problem


def rooms_summary(account: RocketChatAccount) -> str:
    """One line per mapped room of the account: ``staff: member``, ``staff: to add (why)``."""
    lines = []
    for row in account.room_memberships.select_related("room"):
        text = f"{row.room.name}: {row.get_state_display()}"
        why = row.last_error or row.room.problem
        if row.state != RoomMembership.MEMBER and why:
            text += f" ({why})"
        lines.append(text)
    return "\n".join(lines) or gettext("none")


@admin.action(description=_("Bring rooms from groups in line now"), permissions=["change"])
def sync_rooms(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[RocketChatAccount]
) -> None:
    """Complete the selected accounts' pending room changes now (one call per change)."""
    with RocketChatClient() as client:
        result = membership.apply_accounts(queryset.select_related("user"), client)
    text = gettext("Rooms: added %(added)d, removed %(removed)d, failed %(failed)d.") % {
        "added": result.added,
        "removed": result.removed,
        "failed": result.failed,
    }
    modeladmin.message_user(request, text, messages.WARNING if result.failed else messages.SUCCESS)
