"""What a Django user looks like in Rocket.Chat: the profile, its fingerprint, the password.

The default ``ROCKETCHAT_SSO_USER_MAPPER`` (:func:`default_profile`) and the rules a username and
a name must pass in Rocket.Chat; no Rocket.Chat call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from typing import TYPE_CHECKING, Any

from django.views.decorators.debug import sensitive_variables

from rocketchat_sso.conf import RocketChatProfile as RocketChatProfile  # the mapper's contract
from rocketchat_sso.conf import conf
from rocketchat_sso.rocketchat.addresses import address_key

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Rocket.Chat's default UTF8_User_Names_Validation is [0-9a-zA-Z-_.]+
# (apps/meteor/server/settings/general.ts, section UTF8).
_INVALID_USERNAME_CHARS = re.compile(r"[^0-9a-zA-Z._-]+")
# validateNameChars refuses these; '%' because it also decodeURI()s the name.
_INVALID_NAME_CHARS = re.compile(r"[<>\\/%]+")
MAX_USERNAME_LENGTH = 64
PLACEHOLDER_EMAIL_DOMAIN = "users.noreply.invalid"
PASSWORD_SALT = "rocketchat_sso.password"


def profile_digest(profile: RocketChatProfile) -> str:
    """A fingerprint of what we wrote to Rocket.Chat: a user whose digest matches is in step."""
    text = "\0".join((profile.username, address_key(profile.email), profile.name))
    return hashlib.sha256(text.encode()).hexdigest()


def clean_username(value: str, *, fallback: str) -> str:
    """A username Rocket.Chat accepts, derived deterministically from ``value``.

    Accents are folded to ASCII, every other run of refused characters becomes ``_``.
    """
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    cleaned = _INVALID_USERNAME_CHARS.sub("_", folded).strip("._-")[:MAX_USERNAME_LENGTH]
    return cleaned or fallback


def clean_name(value: str, *, fallback: str) -> str:
    cleaned = " ".join(_INVALID_NAME_CHARS.sub(" ", value).split())
    return cleaned or fallback


def default_profile(user: AbstractBaseUser) -> RocketChatProfile:
    """The default ``ROCKETCHAT_SSO_USER_MAPPER``: username, email and full name.

    A user without an email gets a placeholder address (Rocket.Chat requires one).
    """
    fallback = f"user{user.pk}"
    username = clean_username(user.get_username(), fallback=fallback)
    email = str(getattr(user, "email", "") or "") or f"{username}@{PLACEHOLDER_EMAIL_DOMAIN}"
    get_full_name = getattr(user, "get_full_name", None)
    full_name = str(get_full_name() if callable(get_full_name) else "")
    return RocketChatProfile(
        username=username, email=email, name=clean_name(full_name, fallback=username)
    )


@sensitive_variables("key", "digest", "body")
def rocketchat_password(user: AbstractBaseUser) -> str:
    """The user's Rocket.Chat password, derived on demand and never stored.

    An HMAC of the user's primary key under ``ROCKETCHAT_SSO_PASSWORD_KEY``: 256 bits,
    with a fixed prefix so it passes Rocket.Chat's password policy (upper, lower, digit,
    symbol), and runs of repeated characters broken up for its repeated-characters rule.
    """
    key = hashlib.sha256(f"{PASSWORD_SALT}:{conf.ROCKETCHAT_SSO_PASSWORD_KEY}".encode()).digest()
    digest = hmac.new(key, str(user.pk).encode(), hashlib.sha256).digest()
    body = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    body = re.sub(r"(.)\1\1+", lambda m: m.group(1) * 2, body)
    return f"Rc9!{body}"


def username_candidates(profile: RocketChatProfile, user: AbstractBaseUser) -> list[str]:
    """The mapped username, then a variant made unique by the user's primary key."""
    return [profile.username, f"{profile.username[: MAX_USERNAME_LENGTH - 12]}.{user.pk}"]


def email_of(rc_user: dict[str, Any]) -> str:
    """The first address on a Rocket.Chat user record (``""`` if none)."""
    emails = rc_user.get("emails") or []
    return str(emails[0].get("address", "")) if emails else ""


def profile_changes(
    rc_user: dict[str, Any],
    profile: RocketChatProfile,
    candidates: list[str],
    *,
    vouched: bool = False,
) -> dict[str, Any]:
    """The fields of ``rc_user`` that differ from ``profile`` (a username among ``candidates``
    counts as in step; a new email carries ``verified``)."""
    changes: dict[str, Any] = {}
    if rc_user.get("username") not in candidates:
        changes["username"] = profile.username
    if address_key(email_of(rc_user)) != address_key(profile.email):
        changes["email"] = profile.email
        changes["verified"] = vouched
    if rc_user.get("name") != profile.name:
        changes["name"] = profile.name
    return changes
