from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.http import HttpRequest

from rocketchat_sso.models import RocketChatAccount

if TYPE_CHECKING:
    AccountAdminBase = admin.ModelAdmin[RocketChatAccount]
else:  # ModelAdmin is generic for type checkers only
    AccountAdminBase = admin.ModelAdmin


@admin.register(RocketChatAccount)
class RocketChatAccountAdmin(AccountAdminBase):
    """Read-only view of the links the app wrote; rows appear when users are synced."""

    list_display = (
        "user",
        "rocketchat_username",
        "rocketchat_user_id",
        "last_synced_at",
        "last_login_at",
        "last_error_at",
    )
    list_filter = ("last_synced_at", "last_login_at", "last_error_at")
    search_fields = ("rocketchat_username", "rocketchat_user_id", "user__username", "user__email")
    list_select_related = ("user",)
    readonly_fields = (
        "user",
        "rocketchat_user_id",
        "rocketchat_username",
        "created_at",
        "last_synced_at",
        "last_login_at",
        "last_error",
        "last_error_at",
    )
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
