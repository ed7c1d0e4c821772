"""The bookkeeping on a :class:`~rocketchat_sso.models.RocketChatAccount`.

What one reconciliation did to a user (the outcome constants and :class:`SyncResult`, shown by
the sync command and the admin) and the last failure kept on the account for the admin and a
retry. Used by :mod:`rocketchat_sso.signin` and :mod:`rocketchat_sso.lifecycle`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone

from rocketchat_sso.models import RocketChatAccount

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

MAX_ERROR_LENGTH = 2000

# What one reconciliation did to a user (sync command, admin, signal receivers).
CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
DEACTIVATED = "deactivated"
REACTIVATED = "reactivated"
DELETED = "deleted"
SKIPPED = "skipped"
LINKED = "linked"


@dataclass(frozen=True)
class SyncResult:
    """The outcome of syncing one user (one of the module's outcome constants)."""

    outcome: str
    account: RocketChatAccount | None = None
    changes: tuple[str, ...] = ()


def account_of(user: AbstractBaseUser) -> RocketChatAccount | None:
    """``user``'s link to Rocket.Chat, if any."""
    return RocketChatAccount.objects.filter(user_id=user.pk).first()


def record_user_error(user: AbstractBaseUser, error: Exception) -> None:
    """Keep a failure on the user's account (if linked) for the admin and a retry."""
    RocketChatAccount.objects.filter(user_id=user.pk).update(
        last_error=str(error)[:MAX_ERROR_LENGTH], last_error_at=timezone.now()
    )


def clear_account_error(account: RocketChatAccount) -> None:
    """Rocket.Chat answered again and the account is in step: forget the last failure."""
    account.last_error, account.last_error_at = "", None
    RocketChatAccount.objects.filter(pk=account.pk).update(last_error="", last_error_at=None)


def record_account_error(account: RocketChatAccount, error: Exception) -> None:
    """Keep a failure on the account for the admin and the sync command's retry."""
    account.last_error = str(error)[:MAX_ERROR_LENGTH]
    account.last_error_at = timezone.now()
    RocketChatAccount.objects.filter(pk=account.pk).update(
        last_error=account.last_error, last_error_at=account.last_error_at
    )
