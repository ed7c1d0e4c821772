"""The admin: the accounts the app wrote, read-only, with the operations people need.

Actions work per account and say per user what happened. When the user admin is Django's own
``UserAdmin``, the account is shown inline on each user; sites with their own user admin add
:class:`RocketChatAccountInline` to its ``inlines`` themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from rocketchat_sso.accounts import lifecycle, outcomes
from rocketchat_sso.exceptions import RocketChatError
from rocketchat_sso.models import IssuedToken, MappedRoom, RocketChatAccount, SettingsSnapshot
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.rooms.admin import (
    MappedRoomAdmin,
    RoomMembershipInline,
    rooms_summary,
    sync_rooms,
)
from rocketchat_sso.sessions import revocation

if TYPE_CHECKING:
    SnapshotAdminBase = admin.ModelAdmin[SettingsSnapshot]
    IssuedTokenAdminBase = admin.ModelAdmin[IssuedToken]
    AccountAdminBase = admin.ModelAdmin[RocketChatAccount]
    AccountInlineBase = admin.StackedInline[RocketChatAccount, Any]
    UserAdminBase = UserAdmin[Any]
else:  # generic for type checkers only
    SnapshotAdminBase = admin.ModelAdmin
    IssuedTokenAdminBase = admin.ModelAdmin
    AccountAdminBase = admin.ModelAdmin
    AccountInlineBase = admin.StackedInline
    UserAdminBase = UserAdmin

ACCOUNT_FIELDS = (
    "rocketchat_username",
    "rocketchat_user_id",
    "created_at",
    "last_synced_at",
    "last_login_at",
    "deactivated_at",
    "sync_conflict",
    "last_error",
    "last_error_at",
)
OUTCOME_MESSAGES = {
    outcomes.CREATED: _("created in Rocket.Chat"),
    outcomes.UPDATED: _("updated in Rocket.Chat"),
    outcomes.UNCHANGED: _("already in step with Rocket.Chat"),
    outcomes.DEACTIVATED: _("deactivated in Rocket.Chat"),
    outcomes.REACTIVATED: _("reactivated in Rocket.Chat"),
    outcomes.DELETED: _("deleted in Rocket.Chat"),
    outcomes.SKIPPED: _("not in Rocket.Chat (inactive user)"),
    outcomes.LINKED: _("linked to the existing Rocket.Chat account"),
}


class ErrorFilter(admin.SimpleListFilter):
    title = _("last sync")
    parameter_name = "failed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("failed")), ("no", _("succeeded"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[RocketChatAccount]
    ) -> QuerySet[RocketChatAccount]:
        if self.value() == "yes":
            return queryset.exclude(last_error="")
        if self.value() == "no":
            return queryset.filter(last_error="")
        return queryset


class ConflictFilter(admin.SimpleListFilter):
    title = _("profile conflict")
    parameter_name = "conflict"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("username or email taken in Rocket.Chat")), ("no", _("none"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[RocketChatAccount]
    ) -> QuerySet[RocketChatAccount]:
        if self.value() == "yes":
            return queryset.exclude(sync_conflict="")
        if self.value() == "no":
            return queryset.filter(sync_conflict="")
        return queryset


class OrphanFilter(admin.SimpleListFilter):
    title = _("Django user")
    parameter_name = "orphaned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("deleted, Rocket.Chat not told yet")), ("no", _("exists"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[RocketChatAccount]
    ) -> QuerySet[RocketChatAccount]:
        if self.value() in ("yes", "no"):
            return queryset.filter(user__isnull=self.value() == "yes")
        return queryset


def _label(account: RocketChatAccount) -> str:
    if account.user is None:
        return gettext("deleted user (Rocket.Chat %(username)s)") % {
            "username": account.rocketchat_username
        }
    return str(account.user)


@admin.register(RocketChatAccount)
class RocketChatAccountAdmin(AccountAdminBase):
    """Read-only view of the links the app wrote; rows appear when users are synced."""

    list_display = (
        "user",
        "rocketchat_username",
        "rocketchat_user_id",
        "last_synced_at",
        "last_login_at",
        "deactivated_at",
        "has_conflict",
        "last_error_at",
    )
    list_filter = (
        ErrorFilter,
        ConflictFilter,
        OrphanFilter,
        "last_synced_at",
        "last_login_at",
        "deactivated_at",
    )
    search_fields = ("rocketchat_username", "rocketchat_user_id", "user__username", "user__email")
    list_select_related = ("user",)
    readonly_fields = ("user", *ACCOUNT_FIELDS)
    date_hierarchy = "created_at"
    actions = ("sync_now", "log_out_everywhere", "deactivate", "reactivate", sync_rooms)
    inlines = (RoomMembershipInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("conflict"), boolean=True)
    def has_conflict(self, account: RocketChatAccount) -> bool:
        return bool(account.sync_conflict)

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[RocketChatAccount],
        operation: Any,
    ) -> None:
        """Run ``operation(account, client)`` per account; one message per user either way."""
        with RocketChatClient() as client:
            for account in queryset.select_related("user"):
                label = _label(account)
                try:
                    text, level = operation(account, client)
                except RocketChatError as error:
                    self.message_user(
                        request,
                        gettext("%(user)s: failed: %(error)s") % {"user": label, "error": error},
                        messages.ERROR,
                    )
                    continue
                self.message_user(request, f"{label}: {text}", level)

    @admin.action(description=_("Sync now with Rocket.Chat"), permissions=["change"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet[RocketChatAccount]) -> None:
        def sync(account: RocketChatAccount, client: RocketChatClient) -> tuple[str, int]:
            if account.user is None:
                result = lifecycle.propagate_deletion(account, client=client)
            else:
                result = lifecycle.reconcile_user(account.user, account, client=client, full=True)
            text = str(OUTCOME_MESSAGES[result.outcome])
            if result.changes:
                text += f" ({', '.join(result.changes)})"
            return text, messages.SUCCESS

        self._each(request, queryset, sync)

    @admin.action(description=_("Log out of every Rocket.Chat session"), permissions=["change"])
    def log_out_everywhere(
        self, request: HttpRequest, queryset: QuerySet[RocketChatAccount]
    ) -> None:
        def log_out(account: RocketChatAccount, client: RocketChatClient) -> tuple[str, int]:
            # Signs out of all devices, Rocket.Chat's apps included (their stored tokens too).
            if account.user is not None:
                ended = lifecycle.sign_out_everywhere(account.user, client=client)
            else:
                ended = lifecycle.end_rocketchat_sessions(account, client=client)
            if ended:
                return gettext("logged out of every Rocket.Chat session"), messages.SUCCESS
            return gettext("had no Rocket.Chat session"), messages.INFO

        self._each(request, queryset, log_out)

    @admin.action(description=_("Deactivate in Rocket.Chat"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[RocketChatAccount]) -> None:
        def off(account: RocketChatAccount, client: RocketChatClient) -> tuple[str, int]:
            lifecycle.set_active_in_rocketchat(account, False, client=client)
            return gettext("deactivated in Rocket.Chat"), messages.SUCCESS

        self._each(request, queryset, off)

    @admin.action(description=_("Reactivate in Rocket.Chat"), permissions=["change"])
    def reactivate(self, request: HttpRequest, queryset: QuerySet[RocketChatAccount]) -> None:
        def on(account: RocketChatAccount, client: RocketChatClient) -> tuple[str, int]:
            lifecycle.set_active_in_rocketchat(account, True, client=client)
            if account.user is not None and not account.user.is_active:
                return gettext(
                    "reactivated in Rocket.Chat, but the Django user is inactive: the next "
                    "sync deactivates them again"
                ), messages.WARNING
            return gettext("reactivated in Rocket.Chat"), messages.SUCCESS

        self._each(request, queryset, on)


class RocketChatAccountInline(AccountInlineBase):
    """The user's Rocket.Chat account on the user's admin page, with a link to its actions."""

    model = RocketChatAccount
    fk_name = "user"
    can_delete = False
    extra = 0
    max_num = 0
    fields = ("manage", *ACCOUNT_FIELDS, "rooms")
    readonly_fields = ("manage", *ACCOUNT_FIELDS, "rooms")
    verbose_name_plural = _("Rocket.Chat")

    @admin.display(description=_("rooms from groups"))
    def rooms(self, account: RocketChatAccount) -> str:
        return rooms_summary(account)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("actions"))
    def manage(self, account: RocketChatAccount) -> str:
        url = reverse("admin:rocketchat_sso_rocketchataccount_changelist")
        return format_html(
            '<a href="{}?user__id__exact={}">{}</a>',
            url,
            account.user_id,
            gettext("Sync, log out, deactivate…"),
        )


class UserAdminWithRocketChat(UserAdminBase):
    """Django's ``UserAdmin`` plus the Rocket.Chat account inline."""

    inlines = (*UserAdmin.inlines, RocketChatAccountInline)


def _add_inline_to_default_user_admin() -> None:
    """Swap in the inline only where the site kept Django's own ``UserAdmin``: a site's own
    user admin is never replaced (it adds :class:`RocketChatAccountInline` itself)."""
    user_model = get_user_model()
    registered = admin.site._registry.get(user_model)  # no public getter before Django 5.0
    if type(registered) is UserAdmin:
        admin.site.unregister(user_model)
        admin.site.register(user_model, UserAdminWithRocketChat)


_add_inline_to_default_user_admin()


admin.site.register(MappedRoom, MappedRoomAdmin)


@admin.register(SettingsSnapshot)
class SettingsSnapshotAdmin(SnapshotAdminBase):
    """What ``rocketchat_sso_configure --enable`` recorded, read-only: restore it with
    ``rocketchat_sso_configure --disable --snapshot <id>``."""

    list_display = ("pk", "created_at", "rocketchat_url", "site_url", "restored_at")
    readonly_fields = ("created_at", "rocketchat_url", "site_url", "values", "restored_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RevocationFilter(admin.SimpleListFilter):
    title = _("revocation")
    parameter_name = "revocation"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("pending", _("pending (failed, retried)")),
            ("live", _("session still open")),
            ("revoked", _("revoked")),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[IssuedToken]
    ) -> QuerySet[IssuedToken]:
        if self.value() == "pending":
            return queryset.filter(ended_at__isnull=False, revoked_at__isnull=True)
        if self.value() == "live":
            return queryset.filter(ended_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(IssuedToken)
class IssuedTokenAdmin(IssuedTokenAdminBase):
    """The tokens minted for sessions, read-only and never shown (they are encrypted); failed
    revocations are listed with their error and can be retried."""

    list_display = (
        "pk",
        "user",
        "rocketchat_user_id",
        "app",
        "issued_at",
        "expires_at",
        "ended_at",
        "revoked_at",
        "attempts",
        "last_error",
    )
    list_filter = (RevocationFilter, "app", "issued_at", "ended_at")
    search_fields = ("rocketchat_user_id", "user__username", "user__email")
    list_select_related = ("user",)
    fields = readonly_fields = (
        "user",
        "rocketchat_user_id",
        "app",
        "issued_at",
        "expires_at",
        "claim_until",
        "ended_at",
        "revoked_at",
        "attempts",
        "last_attempt_at",
        "last_error",
    )
    actions = ("retry_revocation",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        """The model's change permission, which the read-only admin otherwise never grants:
        revoking ends live tokens too, signing people out of the chat."""
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.action(description=_("Revoke in Rocket.Chat now (retry)"), permissions=["revoke"])
    def retry_revocation(self, request: HttpRequest, queryset: QuerySet[IssuedToken]) -> None:
        rows = revocation.end(queryset.filter(revoked_at__isnull=True))
        with RocketChatClient() as client:
            outcome = revocation.revoke_all(rows, client)
        level = messages.ERROR if outcome.failed else messages.SUCCESS
        self.message_user(
            request,
            gettext(
                "Revoked %(revoked)d, dropped (expired in Rocket.Chat) %(dropped)d, "
                "failed %(failed)d%(why)s."
            )
            % {
                "revoked": outcome.revoked,
                "dropped": outcome.dropped,
                "failed": outcome.failed,
                "why": f": {outcome.errors[0]}" if outcome.errors else "",
            },
            level,
        )
