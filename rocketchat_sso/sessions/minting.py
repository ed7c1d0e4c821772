"""What session storage needs of the accounts layer, declared here so that sessions/ never
imports accounts/.

A session without a token gets one minted: the Django user's Rocket.Chat user found or created,
brought in step and logged in. A token Rocket.Chat still accepts has Rocket.Chat's answer
(``/me``) compared with the profile, and a drifted profile is written. Both are the accounts
layer's work (:mod:`rocketchat_sso.accounts.signin`); session storage only needs them done, so it
states what it needs as :class:`Accounts`, and ``AppConfig.ready()`` hands the accounts layer over
with :func:`provide`, as it connects the receivers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from rocketchat_sso.models import RocketChatAccount
    from rocketchat_sso.rocketchat.client import LoginToken, RocketChatClient


class Accounts(Protocol):
    """The two calls session storage makes of the accounts layer."""

    def issue_login_token(
        self, user: AbstractBaseUser, *, client: RocketChatClient | None = None
    ) -> LoginToken:
        """Sync ``user`` and log them in to Rocket.Chat (a new token)."""

    def sync_drift(
        self,
        user: AbstractBaseUser,
        account: RocketChatAccount,
        rc_user: dict[str, Any],
        *,
        client: RocketChatClient,
    ) -> dict[str, Any]:
        """Bring a Rocket.Chat user already held (``/me``'s answer) in step with ``user``."""


class _Holder:
    accounts: Accounts | None = None


def provide(accounts: Accounts) -> None:
    """Hand session storage the accounts layer (``AppConfig.ready()`` does, once)."""
    _Holder.accounts = accounts


def accounts() -> Accounts:
    """The accounts layer, as handed over by :func:`provide`."""
    if _Holder.accounts is None:
        raise ImproperlyConfigured(
            "rocketchat_sso's session storage was used before the app was ready: add "
            "'rocketchat_sso' to INSTALLED_APPS and call django.setup() first."
        )
    return _Holder.accounts
