"""The link between a Django user and their Rocket.Chat user."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RocketChatAccount(models.Model):
    """A Django user's Rocket.Chat user, and what happened the last time we synced it.

    Written by the app, never by hand: the admin shows it read-only. When the Django user is
    deleted the row stays, without a user, until Rocket.Chat has been told (deactivate or delete,
    see ``ROCKETCHAT_SSO_ON_USER_DELETE``): a failure there is retried by the sync command.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rocketchat_account",
        verbose_name=_("user"),
    )
    rocketchat_user_id = models.CharField(_("Rocket.Chat user id"), max_length=64, unique=True)
    rocketchat_username = models.CharField(_("Rocket.Chat username"), max_length=255)
    created_at = models.DateTimeField(_("linked at"), auto_now_add=True)
    last_synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    last_login_at = models.DateTimeField(_("last logged in"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    # A digest of the profile last written to Rocket.Chat: unchanged users cost no call.
    profile_digest = models.CharField(_("synced profile digest"), max_length=64, blank=True)
    # What Rocket.Chat refused to take from the profile because another account holds it (a
    # username or an email); the rest of the profile is kept in step. Empty when none.
    sync_conflict = models.TextField(_("sync conflict"), blank=True)
    # Set when this site deactivated the Rocket.Chat user because the Django user became
    # inactive; only then does reactivating the Django user reactivate them in Rocket.Chat.
    deactivated_at = models.DateTimeField(
        _("deactivated in Rocket.Chat by this site"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("Rocket.Chat account")
        verbose_name_plural = _("Rocket.Chat accounts")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.rocketchat_username} ({self.rocketchat_user_id})"


class SettingsSnapshot(models.Model):
    """Rocket.Chat's settings as they were before ``rocketchat_sso_configure --enable``.

    ``rocketchat_sso_configure --disable`` writes them back exactly (JSON keeps each value's
    type), so switching iframe login on can always be undone.
    """

    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    rocketchat_url = models.CharField(_("Rocket.Chat URL"), max_length=500)
    site_url = models.CharField(_("site URL"), max_length=500)
    values = models.JSONField(_("previous values"))
    restored_at = models.DateTimeField(_("restored at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Rocket.Chat settings snapshot")
        verbose_name_plural = _("Rocket.Chat settings snapshots")
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return f"#{self.pk} {self.rocketchat_url} ({self.created_at:%Y-%m-%d %H:%M})"
