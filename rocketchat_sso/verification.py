"""Ready-made vouching callables for ``ROCKETCHAT_SSO_EMAIL_VERIFIED``.

Set the setting to the dotted path of one of these (or of your own ``user -> bool``)::

    ROCKETCHAT_SSO_EMAIL_VERIFIED = "rocketchat_sso.verification.allauth_email_verified"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def allauth_email_verified(user: AbstractBaseUser) -> bool:
    """Whether django-allauth has verified the user's current address.

    The address compared is the one the profile maps to Rocket.Chat (``user.email``), without
    regard to case; allauth is imported only when this is called.
    """
    from allauth.account.models import EmailAddress  # type: ignore[import-not-found]

    email = str(getattr(user, "email", "") or "")
    if not email:
        return False
    return bool(EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists())
