"""The link between a Django user and their Rocket.Chat user."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The longest failure message kept on a row for the admin (the rest is cut).
MAX_ERROR_LENGTH = 2000


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

    def record_error(self, error: Exception) -> None:
        """Keep a failure on the account for the admin and the sync command's retry."""
        self.last_error = str(error)[:MAX_ERROR_LENGTH]
        self.last_error_at = timezone.now()
        RocketChatAccount.objects.filter(pk=self.pk).update(
            last_error=self.last_error, last_error_at=self.last_error_at
        )

    def clear_error(self) -> None:
        """Rocket.Chat answered again and the account is in step: forget the last failure."""
        self.last_error, self.last_error_at = "", None
        RocketChatAccount.objects.filter(pk=self.pk).update(last_error="", last_error_at=None)

    @classmethod
    def record_user_error(cls, user_pk: Any, error: Exception) -> None:
        """Keep a failure on the account of the user ``user_pk`` (if linked)."""
        cls.objects.filter(user_id=user_pk).update(
            last_error=str(error)[:MAX_ERROR_LENGTH], last_error_at=timezone.now()
        )


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


class IssuedToken(models.Model):
    """A Rocket.Chat login token this app minted for one Django session, kept until revoked.

    What it takes to revoke the token (``POST /api/v1/logout`` needs the token itself: Rocket.Chat
    has no way to remove a login token by its hash) without the token cache: the token and the
    session key are stored encrypted (:mod:`rocketchat_sso.sessions.revocation`), the session key's
    hash in plain text to find the row. Kept until Rocket.Chat would have expired the token
    (``expires_at``); a revocation that failed stays ``ended_at`` without ``revoked_at`` and is
    retried.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rocketchat_tokens",
        verbose_name=_("user"),
    )
    rocketchat_user_id = models.CharField(_("Rocket.Chat user id"), max_length=64)
    # SHA-256 of the session key, as the token cache's key; empty while a session whose key
    # Django cycled (update_session_auth_hash) has not claimed the row back.
    session_hash = models.CharField(_("session key hash"), max_length=64, db_index=True)
    # Kept in the session's data too: it survives a new session key (cycle_key).
    slot = models.CharField(_("slot"), max_length=32, unique=True)
    encrypted_session_key = models.TextField(_("session key (encrypted)"), blank=True)
    encrypted_token = models.TextField(_("token (encrypted)"), blank=True)
    # Which password (Django's session auth hash, hashed again) the session was logged in with.
    auth_fingerprint = models.CharField(_("password fingerprint"), max_length=64, blank=True)
    issued_at = models.DateTimeField(_("issued at"))
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    claim_until = models.DateTimeField(_("reclaimable until"), null=True, blank=True)
    ended_at = models.DateTimeField(_("session ended at"), null=True, blank=True, db_index=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("revocation attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_error = models.TextField(_("last revocation error"), blank=True)
    # Handed to one of Rocket.Chat's own apps ("mobile"), whose native login keeps it: tied to
    # no session, so the end of the WebView's session does not revoke it (docs/apps.rst).
    app = models.CharField(_("app"), max_length=16, blank=True, db_index=True)

    class Meta:
        verbose_name = _("issued Rocket.Chat token")
        verbose_name_plural = _("issued Rocket.Chat tokens")
        ordering = ("-issued_at", "-pk")

    def __str__(self) -> str:
        return f"#{self.pk} {self.rocketchat_user_id} ({self.issued_at:%Y-%m-%d %H:%M})"

    @property
    def pending(self) -> bool:
        """The session ended but Rocket.Chat still has the token."""
        return self.ended_at is not None and self.revoked_at is None


class MappedRoom(models.Model):
    """A Rocket.Chat private group that ``ROCKETCHAT_SSO_GROUP_ROOMS`` maps Django groups to.

    Its Rocket.Chat id once known (found or created), so membership changes cost one call; or
    why the admin cannot manage it (``problem``, with the fix), so no twin is ever created.
    """

    name = models.CharField(_("room name"), max_length=255, unique=True)
    rocketchat_room_id = models.CharField(_("Rocket.Chat room id"), max_length=64, blank=True)
    problem = models.TextField(_("problem"), blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last reconciled"), null=True, blank=True)

    class Meta:
        verbose_name = _("mapped Rocket.Chat room")
        verbose_name_plural = _("mapped Rocket.Chat rooms")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class RoomMembership(models.Model):
    """An account's place in a mapped room, as this site put it there or means to.

    ``member``: added (or found) by this site; ``pending-add``/``pending-remove``: a change
    Rocket.Chat has not taken yet (``last_error`` says why), completed by the next sign-in or
    sync. A removal done deletes the row.
    """

    MEMBER = "member"
    PENDING_ADD = "pending-add"
    PENDING_REMOVE = "pending-remove"
    STATES = ((MEMBER, _("member")), (PENDING_ADD, _("to add")), (PENDING_REMOVE, _("to remove")))

    account = models.ForeignKey(
        RocketChatAccount,
        on_delete=models.CASCADE,
        related_name="room_memberships",
        verbose_name=_("Rocket.Chat account"),
    )
    room = models.ForeignKey(
        MappedRoom, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("room")
    )
    state = models.CharField(_("state"), max_length=16, choices=STATES, default=PENDING_ADD)
    # Made a moderator of the room by this site (the room's "moderators" group).
    moderator = models.BooleanField(_("moderator"), default=False)
    last_error = models.TextField(_("last error"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("room membership")
        verbose_name_plural = _("room memberships")
        ordering = ("room__name",)
        constraints = [
            models.UniqueConstraint(
                fields=("account", "room"), name="rocketchat_sso_one_membership"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} in {self.room} ({self.state})"
