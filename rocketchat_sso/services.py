"""Keep Django users and their Rocket.Chat users in step, and log them in.

Views, signals, the admin and the management commands all go through these functions; the
HTTP lives in :mod:`rocketchat_sso.client`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from rocketchat_sso import signals
from rocketchat_sso.client import LoginToken, RocketChatClient
from rocketchat_sso.conf import LOGIN_METHOD_CREATE_TOKEN, ON_USER_DELETE_DELETE, conf
from rocketchat_sso.exceptions import (
    RocketChatAPIError,
    RocketChatAuthenticationFailed,
    RocketChatError,
    RocketChatFieldUnavailable,
    RocketChatUserNotFound,
)
from rocketchat_sso.models import RocketChatAccount

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# Rocket.Chat's default UTF8_User_Names_Validation is [0-9a-zA-Z-_.]+ (facts file).
_INVALID_USERNAME_CHARS = re.compile(r"[^0-9a-zA-Z._-]+")
# validateNameChars refuses these; '%' because it also decodeURI()s the name.
_INVALID_NAME_CHARS = re.compile(r"[<>\\/%]+")
MAX_USERNAME_LENGTH = 64
PLACEHOLDER_EMAIL_DOMAIN = "users.noreply.invalid"
PASSWORD_SALT = "rocketchat_sso.password"
MAX_ERROR_LENGTH = 2000
# users.logout answers this when the user has no login token left (nothing to log out).
NO_TOKENS_LEFT = "error-invalid-user-id"

# What one reconciliation did to a user (sync command, admin, signal receivers).
CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
DEACTIVATED = "deactivated"
REACTIVATED = "reactivated"
DELETED = "deleted"
SKIPPED = "skipped"


class RocketChatAccountConflict(RocketChatFieldUnavailable):
    """The Rocket.Chat user we would use belongs to someone else, or may not be linked."""


class RocketChatUserInactive(RocketChatError):
    """The Rocket.Chat user was deactivated in Rocket.Chat: we do not overrule that."""


@dataclass(frozen=True)
class RocketChatProfile:
    """What a Django user looks like in Rocket.Chat."""

    username: str
    email: str
    name: str


@dataclass(frozen=True)
class SyncResult:
    """The outcome of syncing one user (one of the module's outcome constants)."""

    outcome: str
    account: RocketChatAccount | None = None
    changes: tuple[str, ...] = ()


def profile_digest(profile: RocketChatProfile) -> str:
    """A fingerprint of what we wrote to Rocket.Chat: a user whose digest matches is in step."""
    text = "\0".join((profile.username, profile.email.lower(), profile.name))
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


def _email_of(rc_user: dict[str, Any]) -> str:
    emails = rc_user.get("emails") or []
    return str(emails[0].get("address", "")) if emails else ""


def _has_verified_email(rc_user: dict[str, Any], email: str) -> bool:
    return any(
        str(entry.get("address", "")).lower() == email.lower() and entry.get("verified")
        for entry in rc_user.get("emails") or []
    )


def _check_linkable(rc_user: dict[str, Any], email: str) -> None:
    """Refuse to hand a Django user an existing Rocket.Chat user that may not be theirs."""
    if rc_user.get("_id") == conf.ROCKETCHAT_SSO_ADMIN_USER_ID or "admin" in (
        rc_user.get("roles") or []
    ):
        raise RocketChatAccountConflict(
            "A Rocket.Chat administrator has this email address; administrators are never "
            "linked to Django users automatically."
        )
    if not _has_verified_email(rc_user, email):
        raise RocketChatAccountConflict(
            "A Rocket.Chat user has this email address but it is not verified, so it is not "
            "linked automatically; verify it in Rocket.Chat or change one of the addresses."
        )


def _find_by_email(
    client: RocketChatClient, email: str, user: AbstractBaseUser
) -> dict[str, Any] | None:
    for rc_user in client.find_users_by_email(email):
        _check_linkable(rc_user, email)
        # Two Django users may share an address: refuse before the profile sync would rename
        # the other one's Rocket.Chat user.
        linked = RocketChatAccount.objects.filter(rocketchat_user_id=rc_user["_id"])
        if linked.exclude(user_id=user.pk).exists():
            raise RocketChatAccountConflict(
                "The Rocket.Chat user with this email address belongs to another Django user."
            )
        return rc_user
    return None


def _find_or_create(
    client: RocketChatClient, user: AbstractBaseUser, profile: RocketChatProfile
) -> tuple[dict[str, Any], bool]:
    """The Rocket.Chat user with the profile's email, created if there is none."""
    existing = _find_by_email(client, profile.email, user)
    if existing is not None:
        return existing, False
    for username in username_candidates(profile, user):
        try:
            created = client.create_user(
                username=username,
                email=profile.email,
                name=profile.name,
                password=rocketchat_password(user),
                join_default_channels=conf.ROCKETCHAT_SSO_JOIN_DEFAULT_CHANNELS,
            )
        except RocketChatFieldUnavailable:
            # Either a concurrent request created this very user (the email is now taken),
            # or the username belongs to someone else: try the next candidate.
            existing = _find_by_email(client, profile.email, user)
            if existing is not None:
                return existing, False
            continue
        return created, True
    raise RocketChatAccountConflict(
        f"No free Rocket.Chat username for {profile.username!r}: every candidate is taken."
    )


def _changes(
    rc_user: dict[str, Any], profile: RocketChatProfile, candidates: list[str]
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if rc_user.get("username") not in candidates:
        changes["username"] = profile.username
    if _email_of(rc_user).lower() != profile.email.lower():
        changes["email"] = profile.email
        changes["verified"] = True
    if rc_user.get("name") != profile.name:
        changes["name"] = profile.name
    return changes


def _update(
    client: RocketChatClient, rc_user: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any]:
    try:
        return client.update_user(str(rc_user["_id"]), changes)
    except RocketChatFieldUnavailable:
        # The new username or email is taken in Rocket.Chat: keep the old ones, sync the rest.
        rest = {k: v for k, v in changes.items() if k not in {"username", "email", "verified"}}
        if rest:
            return client.update_user(str(rc_user["_id"]), rest)
        raise


def _link(user: AbstractBaseUser, rc_user: dict[str, Any], digest: str) -> RocketChatAccount:
    now = timezone.now()
    fields = {
        "rocketchat_user_id": str(rc_user["_id"]),
        "rocketchat_username": str(rc_user.get("username", "")),
        "last_synced_at": now,
        "last_error": "",
        "last_error_at": None,
        "profile_digest": digest,
    }
    try:
        # Write first, never read-then-write: a transaction that has read cannot wait for
        # SQLite's write lock ("database is locked" at once), and the update is all we need.
        with transaction.atomic():
            if not RocketChatAccount.objects.filter(user_id=user.pk).update(**fields):
                RocketChatAccount.objects.create(user_id=user.pk, **fields)
        account = RocketChatAccount.objects.get(user_id=user.pk)
    except IntegrityError:
        # A concurrent request linked this user first; or another Django user holds this
        # Rocket.Chat user (two Django users sharing one email address).
        existing = RocketChatAccount.objects.filter(user_id=user.pk).first()
        if existing is None or existing.rocketchat_user_id != fields["rocketchat_user_id"]:
            raise RocketChatAccountConflict(
                "This Rocket.Chat user is already linked to another Django user."
            ) from None
        account = existing
    return account


def sync_user(
    user: AbstractBaseUser, *, client: RocketChatClient | None = None
) -> tuple[RocketChatAccount, dict[str, Any]]:
    """Make sure ``user`` exists in Rocket.Chat with their current profile.

    Looks up the stored id first, then the email, else creates the user. Returns the account
    and Rocket.Chat's user record.
    """
    account, rc_user, _ = _sync(user, client or RocketChatClient())
    return account, rc_user


def _sync(
    user: AbstractBaseUser, client: RocketChatClient
) -> tuple[RocketChatAccount, dict[str, Any], SyncResult]:
    profile = conf.user_mapper(user)
    candidates = username_candidates(profile, user)
    account = RocketChatAccount.objects.filter(user_id=user.pk).first()
    rc_user: dict[str, Any] | None = None
    if account is not None:
        try:
            rc_user = client.user_info(user_id=account.rocketchat_user_id)
        except RocketChatUserNotFound:
            logger.info("Rocket.Chat user of Django user %s is gone; relinking", user.pk)
            account.delete()
    created = False
    if rc_user is None:
        rc_user, created = _find_or_create(client, user, profile)
    changes = {} if created else _changes(rc_user, profile, candidates)
    if changes:
        rc_user = _update(client, rc_user, changes)
    account = _link(user, rc_user, profile_digest(profile))
    outcome = CREATED if created else UPDATED if changes else UNCHANGED
    result = SyncResult(outcome, account, tuple(sorted(changes)))
    if created:
        signals.user_created.send(
            sender=RocketChatAccount, user=user, account=account, rocketchat_user=rc_user
        )
    _send_synced(user, account, rc_user, created=created, changes=result.changes)
    return account, rc_user, result


def _send_synced(
    user: AbstractBaseUser,
    account: RocketChatAccount,
    rc_user: dict[str, Any],
    *,
    created: bool,
    changes: tuple[str, ...],
) -> None:
    signals.user_synced.send(
        sender=RocketChatAccount,
        user=user,
        account=account,
        rocketchat_user=rc_user,
        created=created,
        changes=changes,
    )


def sync_drift(
    user: AbstractBaseUser,
    account: RocketChatAccount,
    rc_user: dict[str, Any],
    *,
    client: RocketChatClient,
) -> dict[str, Any]:
    """Bring a Rocket.Chat user we already hold (e.g. ``/me``'s answer) in step with ``user``.

    Costs a Rocket.Chat call only when the profile differs, so the warm token path stays cheap.
    """
    profile = conf.user_mapper(user)
    digest = profile_digest(profile)
    changes = _changes(rc_user, profile, username_candidates(profile, user))
    if changes:
        rc_user = _update(client, rc_user, changes)
        account = _link(user, rc_user, digest)
        _send_synced(user, account, rc_user, created=False, changes=tuple(sorted(changes)))
    elif account.profile_digest != digest:
        RocketChatAccount.objects.filter(pk=account.pk).update(profile_digest=digest)
    return rc_user


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


def issue_login_token(
    user: AbstractBaseUser, *, client: RocketChatClient | None = None
) -> LoginToken:
    """Sync ``user`` and log them in to Rocket.Chat: a resume token for Meteor's login.

    Failures are recorded on the account's ``last_error`` and re-raised.
    """
    client = client or RocketChatClient()
    try:
        account, rc_user, _ = _sync(user, client)
        if rc_user.get("active") is False:
            raise RocketChatUserInactive(
                "This user is deactivated in Rocket.Chat.", error_type="error-user-is-not-activated"
            )
        token = _login(client, user, account)
    except RocketChatError as error:
        record_user_error(user, error)
        raise
    RocketChatAccount.objects.filter(pk=account.pk).update(last_login_at=timezone.now())
    signals.token_issued.send(sender=RocketChatAccount, user=user, account=account)
    return token


def _login(
    client: RocketChatClient, user: AbstractBaseUser, account: RocketChatAccount
) -> LoginToken:
    if conf.ROCKETCHAT_SSO_LOGIN_METHOD == LOGIN_METHOD_CREATE_TOKEN:
        return client.create_token(
            account.rocketchat_user_id, secret=conf.ROCKETCHAT_SSO_CREATE_TOKEN_SECRET
        )
    password = rocketchat_password(user)
    try:
        return client.login(username=account.rocketchat_username, password=password)
    except RocketChatAuthenticationFailed:
        # A user we linked by email, or a rotated key: set the derived password, once.
        client.update_user(account.rocketchat_user_id, {"password": password})
        return client.login(username=account.rocketchat_username, password=password)


# -- lifecycle: active state, logout, deletion, reconciliation ---------------------------------


def _account_of(user: AbstractBaseUser) -> RocketChatAccount | None:
    return RocketChatAccount.objects.filter(user_id=user.pk).first()


def propagate_active_state(
    user: AbstractBaseUser, *, client: RocketChatClient | None = None
) -> SyncResult:
    """Make the Rocket.Chat user follow the Django user's ``is_active``.

    An inactive Django user is deactivated in Rocket.Chat; reactivating the Django user
    reactivates only a Rocket.Chat user this site deactivated: one that Rocket.Chat's own
    moderators deactivated stays so. Failures are recorded on the account and re-raised.
    """
    account = _account_of(user)
    if account is None:
        return SyncResult(SKIPPED)
    client = client or RocketChatClient()
    rc_id = account.rocketchat_user_id
    try:
        if not user.is_active and account.deactivated_at is None:
            if client.user_info(user_id=rc_id).get("active") is False:
                return SyncResult(UNCHANGED, account)  # a moderator's decision, not ours
            client.set_active_status(rc_id, False)
            _mark(account, deactivated_at=timezone.now())
            return SyncResult(DEACTIVATED, account)
        if user.is_active and account.deactivated_at is not None:
            client.set_active_status(rc_id, True)
            _mark(account, deactivated_at=None)
            return SyncResult(REACTIVATED, account)
    except RocketChatUserNotFound:
        # Gone from Rocket.Chat: nothing to switch; the next sync creates or relinks the user.
        _mark(account, deactivated_at=None)
        return SyncResult(UNCHANGED, account)
    except RocketChatError as error:
        record_account_error(account, error)
        raise
    return SyncResult(UNCHANGED, account)


def _mark(account: RocketChatAccount, *, deactivated_at: Any) -> None:
    """Store the site's deactivation marker and clear the last error: the change went through."""
    account.deactivated_at = deactivated_at
    account.last_error, account.last_error_at = "", None
    account.last_synced_at = timezone.now()
    account.save(update_fields=["deactivated_at", "last_error", "last_error_at", "last_synced_at"])


def set_active_in_rocketchat(
    account: RocketChatAccount, active: bool, *, client: RocketChatClient | None = None
) -> None:
    """An operator's (de)activation in Rocket.Chat, from the admin.

    It acts like a Rocket.Chat moderator: a deactivation is not undone when the Django user
    is saved, only by reactivating here (or in Rocket.Chat).
    """
    client = client or RocketChatClient()
    try:
        client.set_active_status(account.rocketchat_user_id, active)
    except RocketChatError as error:
        record_account_error(account, error)
        raise
    _mark(account, deactivated_at=None)


def end_rocketchat_sessions(
    account: RocketChatAccount, *, client: RocketChatClient | None = None
) -> bool:
    """Log the user out of every Rocket.Chat session (``users.logout``).

    Returns ``False`` when there was none: Rocket.Chat answers ``error-invalid-user-id`` when
    the user has no login token left, which is the state we wanted.
    """
    client = client or RocketChatClient()
    try:
        client.logout_user_everywhere(account.rocketchat_user_id)
    except RocketChatAPIError as error:
        if error.error_type == NO_TOKENS_LEFT:
            return False
        record_account_error(account, error)
        raise
    except RocketChatError as error:
        record_account_error(account, error)
        raise
    return True


def propagate_deletion(
    account: RocketChatAccount, *, client: RocketChatClient | None = None
) -> SyncResult:
    """The Django user of ``account`` was deleted: deactivate or delete them in Rocket.Chat.

    ``ROCKETCHAT_SSO_ON_USER_DELETE`` decides; deactivating (the default) keeps their messages
    and rooms. The account row goes once Rocket.Chat has been told; on failure it stays,
    with the error, for the sync command to retry.
    """
    client = client or RocketChatClient()
    delete = conf.ROCKETCHAT_SSO_ON_USER_DELETE == ON_USER_DELETE_DELETE
    try:
        if delete:
            client.delete_user(account.rocketchat_user_id)
        else:
            client.set_active_status(account.rocketchat_user_id, False)
    except RocketChatUserNotFound:
        pass  # already gone from Rocket.Chat
    except RocketChatError as error:
        record_account_error(account, error)
        raise
    account.delete()
    return SyncResult(DELETED if delete else DEACTIVATED)


def plan_user(user: AbstractBaseUser, account: RocketChatAccount | None, *, full: bool) -> str:
    """What reconciling ``user`` would do, from the database alone (no Rocket.Chat call).

    ``UNCHANGED`` means the stored digest says Rocket.Chat already has the current profile;
    ``full`` checks every linked user against Rocket.Chat anyway.
    """
    if account is None:
        return CREATED if user.is_active else SKIPPED
    if not user.is_active:
        return DEACTIVATED if account.deactivated_at is None else UNCHANGED
    if account.deactivated_at is not None:
        return REACTIVATED
    stale = account.profile_digest != profile_digest(conf.user_mapper(user))
    return UPDATED if full or stale or account.last_error else UNCHANGED


def reconcile_user(
    user: AbstractBaseUser,
    account: RocketChatAccount | None,
    *,
    client: RocketChatClient,
    full: bool = False,
) -> SyncResult:
    """Bring one Django user and their Rocket.Chat user in step (the sync command's unit).

    Calls Rocket.Chat only when :func:`plan_user` says something is to be done. Failures are
    recorded on the account and re-raised.
    """
    planned = plan_user(user, account, full=full)
    if planned in (SKIPPED, UNCHANGED):
        return SyncResult(planned, account)
    if planned == DEACTIVATED:
        return propagate_active_state(user, client=client)
    try:
        if planned == REACTIVATED:
            propagate_active_state(user, client=client)
        _, _, result = _sync(user, client)
    except RocketChatError as error:
        record_user_error(user, error)
        raise
    return (
        SyncResult(REACTIVATED, result.account, result.changes)
        if planned == REACTIVATED
        else (result)
    )
