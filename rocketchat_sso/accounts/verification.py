"""Ready-made vouching callables for ``ROCKETCHAT_SSO_EMAIL_VERIFIED``.

Set the setting to the dotted path of one of these (or of your own ``user -> bool``)::

    ROCKETCHAT_SSO_EMAIL_VERIFIED = "rocketchat_sso.accounts.verification.allauth_email_verified"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rocketchat_sso.rocketchat.addresses import same_address

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def allauth_email_verified(user: AbstractBaseUser) -> bool:
    """Whether django-allauth has verified the user's current address.

    The address compared is the one the profile maps to Rocket.Chat (``user.email``), ASCII
    case aside (:mod:`rocketchat_sso.rocketchat.addresses`; not the database's ``iexact``, whose
    ``UPPER()`` folds more on PostgreSQL); allauth is imported only when this is called.
    """
    from allauth.account.models import EmailAddress  # type: ignore[import-not-found]

    email = str(getattr(user, "email", "") or "")
    if not email:
        return False
    verified = EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)
    return any(same_address(str(address), email) for address in verified)
