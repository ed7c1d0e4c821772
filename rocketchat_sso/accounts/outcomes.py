"""The bookkeeping on a :class:`~rocketchat_sso.models.RocketChatAccount`.

What one reconciliation did to a user (the outcome constants and :class:`SyncResult`, shown by
the sync command and the admin), and the account of a user. The last failure is kept by the
model itself (:meth:`~rocketchat_sso.models.RocketChatAccount.record_error`). Used by
:mod:`rocketchat_sso.accounts.signin` and :mod:`rocketchat_sso.accounts.lifecycle`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rocketchat_sso.models import RocketChatAccount

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

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
