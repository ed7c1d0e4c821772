"""Link a Django user to their Rocket.Chat user and sign them in.

Create first (look the address up only when Rocket.Chat says it is taken), refuse to hand over
an account that may not be the user's (:func:`check_linkable`), bring the profile in step, and
issue a login token (:func:`issue_login_token`). Deliberate linking by an administrator
(:func:`plan_link`, :func:`link_existing`) lives here too. The HTTP lives in
:mod:`rocketchat_sso.rocketchat.client`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from rocketchat_sso import signals
from rocketchat_sso.accounts import creations
from rocketchat_sso.accounts.outcomes import (
    CREATED,
    LINKED,
    UNCHANGED,
    UPDATED,
    SyncResult,
    account_of,
)
from rocketchat_sso.accounts.profiles import (
    RocketChatProfile,
    email_of,
    profile_changes,
    profile_digest,
    rocketchat_password,
    username_candidates,
)
from rocketchat_sso.conf import (
    LOGIN_METHOD_CREATE_TOKEN,
    PRIVILEGED_ROLES,
    conf,
)
from rocketchat_sso.exceptions import (
    RocketChatAccountConflict,
    RocketChatAPIError,
    RocketChatAuthenticationFailed,
    RocketChatCreateTokenRefused,
    RocketChatError,
    RocketChatFieldUnavailable,
    RocketChatPermissionDenied,
    RocketChatTwoFactorRequired,
    RocketChatUserInactive,
    RocketChatUserNotFound,
)
from rocketchat_sso.models import MAX_ERROR_LENGTH, RocketChatAccount
from rocketchat_sso.rocketchat.addresses import address_key, same_address
from rocketchat_sso.rocketchat.capabilities import UNKNOWN_VERSION, Version, create_token_fix
from rocketchat_sso.rocketchat.client import (
    IDENTITY_UNAVAILABLE,
    LoginToken,
    RocketChatClient,
    has_address,
    invalid_params,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)


def _has_verified_email(rc_user: dict[str, Any], email: str) -> bool:
    return any(
        same_address(str(entry.get("address", "")), email) and entry.get("verified")
        for entry in rc_user.get("emails") or []
    )


def _roles_linkable(rc_user: dict[str, Any]) -> bool:
    """Plain users only: every role in ``ROCKETCHAT_SSO_LINKABLE_ROLES``, none privileged."""
    allowed = set(conf.ROCKETCHAT_SSO_LINKABLE_ROLES) - set(PRIVILEGED_ROLES)
    roles = {str(role) for role in rc_user.get("roles") or []}
    return bool(roles) and roles <= allowed


def _linked_elsewhere(rc_user: dict[str, Any], user: AbstractBaseUser) -> bool:
    linked = RocketChatAccount.objects.filter(rocketchat_user_id=rc_user["_id"])
    return linked.exclude(user_id=user.pk).exists()


def check_linkable(
    rc_user: dict[str, Any], user: AbstractBaseUser, email: str, *, deliberate: bool = False
) -> None:
    """Refuse to hand ``user`` an existing Rocket.Chat account that may not be theirs.

    Decided from the lookup's answer alone, before anything is written to Rocket.Chat: the
    account is renamed or given a password only after this passed. An administrator linking
    deliberately (``rocketchat_sso_sync --link``) vouches for the address instead of
    ``ROCKETCHAT_SSO_EMAIL_VERIFIED`` and Rocket.Chat's verified flag; every other rule holds.
    """
    if not has_address(rc_user, email):
        raise RocketChatAccountConflict(
            "Rocket.Chat's answer does not carry this email address; nothing was linked."
        )
    if rc_user.get("_id") == conf.ROCKETCHAT_SSO_ADMIN_USER_ID or not _roles_linkable(rc_user):
        roles = ", ".join(str(role) for role in rc_user.get("roles") or []) or "none"
        raise RocketChatAccountConflict(
            f"A Rocket.Chat account with roles ({roles}) has this email address. Only plain "
            "user accounts are ever linked (ROCKETCHAT_SSO_LINKABLE_ROLES); use another address "
            "on this site, or ask the Rocket.Chat administrators to change that account's."
        )
    if rc_user.get("active") is False:
        raise RocketChatAccountConflict(
            "A deactivated Rocket.Chat account has this email address (for example a former "
            "user's). It is never handed over: ask an administrator to reactivate it in "
            "Rocket.Chat and link it, or to free the address."
        )
    if _linked_elsewhere(rc_user, user):
        raise RocketChatAccountConflict(
            "The Rocket.Chat account with this email address belongs to another user of this "
            "site. Use an address of your own."
        )
    if deliberate:
        return
    if not conf.email_verified(user):
        raise RocketChatAccountConflict(
            "A chat account with your email address already exists. It is linked to you only "
            "once this site has verified that the address is yours: verify your address, or "
            "ask an administrator to link the account (manage.py rocketchat_sso_sync --link)."
        )
    if not _has_verified_email(rc_user, email):
        raise RocketChatAccountConflict(
            "A chat account with your email address already exists, but Rocket.Chat has not "
            "verified the address on it, so it is not linked automatically: ask an "
            "administrator to link it (manage.py rocketchat_sso_sync --link)."
        )


def find_by_email(client: RocketChatClient, email: str) -> dict[str, Any] | None:
    """The one Rocket.Chat user whose record carries ``email``, if any (see the client)."""
    found = client.find_users_by_email(email)
    if len(found) > 1:
        raise RocketChatAccountConflict(
            "Several Rocket.Chat accounts have this email address; an administrator must "
            "resolve it in Rocket.Chat."
        )
    return found[0] if found else None


def _taken_field(error: RocketChatFieldUnavailable, profile: RocketChatProfile) -> str:
    """Which value Rocket.Chat says is taken: ``"email"``, ``"username"`` or ``""`` (unsure).

    ``users.update`` reports a taken username as ``error-could-not-save-identity``; both routes
    report a taken value as ``"<value> is already in use :("`` (escaped) otherwise.
    """
    if error.error_type == IDENTITY_UNAVAILABLE:
        return "username"
    message = address_key(error.message)
    if address_key(profile.email) in message or "e-mail" in message or "email" in message:
        return "email"
    if address_key(profile.username) in message or "username" in message:
        return "username"
    return ""


@dataclass
class _Outcome:
    """What signing in or syncing found and did."""

    account: RocketChatAccount
    rc_user: dict[str, Any]
    created: bool = False
    changes: tuple[str, ...] = ()
    conflict: str = ""


# Whether a Rocket.Chat user has this user's derived password (the password method).
PASSWORD_SET = "set"  # we created it with the password (or just proved it)
PASSWORD_UNSET = "unset"  # an adopted account, or the login with it was just refused
PASSWORD_UNKNOWN = "unknown"  # try it; set it only if refused


def _create_or_adopt(
    client: RocketChatClient, user: AbstractBaseUser, profile: RocketChatProfile
) -> tuple[dict[str, Any], bool, str]:
    """Create the Rocket.Chat user (one call); look up the address only if it is taken.

    Returns the record, whether it was created, and whether it has the derived password (one
    of the ``PASSWORD_*`` constants). An adopted record has passed :func:`check_linkable`, or
    is this user's own, created by a concurrent request.
    """
    vouched = conf.email_verified(user)
    for username in username_candidates(profile, user):
        try:
            with creations.creating(user, username, profile.email):
                created = client.create_user(
                    username=username,
                    email=profile.email,
                    name=profile.name,
                    password=rocketchat_password(user),
                    join_default_channels=conf.ROCKETCHAT_SSO_JOIN_DEFAULT_CHANNELS,
                    verified=vouched,
                )
                creations.note_created(user, str(created["_id"]))
        except RocketChatFieldUnavailable as error:
            if _taken_field(error, profile) == "username":
                continue
            existing = find_by_email(client, profile.email)
            if existing is None:
                continue  # not the address after all: the username is taken
            if creations.created_for(user, existing):
                # This user's own, created by a concurrent request of theirs or by a request
                # whose answer was lost: decided from what the site recorded, never by trying
                # the derived password on it.
                return existing, False, PASSWORD_SET
            if _linked_elsewhere(existing, user):
                return _create_beside(client, user, profile, username, existing), True, PASSWORD_SET
            check_linkable(existing, user, profile.email)
            return existing, False, PASSWORD_UNSET
        return created, True, PASSWORD_SET
    raise RocketChatAccountConflict(
        f"No free Rocket.Chat username for {profile.username!r}: every candidate is taken."
    )


# Where an address another user of this site holds in Rocket.Chat is replaced: ``.invalid`` never
# resolves (RFC 2606), so no one receives Rocket.Chat's mail for it; it passes Rocket.Chat's
# address check (``validateEmail``) unless the server checks domains by DNS
# (``Accounts_UseDNSDomainCheck``, off by default) or allows only listed domains.
PLACEHOLDER_DOMAIN = "email-taken.invalid"


def placeholder_email(key: object) -> str:
    """An address of no one, unique to ``key`` (a Django user's pk, or a Rocket.Chat id)."""
    return f"user-{hashlib.sha256(str(key).encode()).hexdigest()[:16]}@{PLACEHOLDER_DOMAIN}"


def is_placeholder(email: str) -> bool:
    return address_key(email).endswith("@" + PLACEHOLDER_DOMAIN)


def _taken_conflict(email: str, kept: str) -> str:
    """The ``sync_conflict`` of an account kept off an address (see :func:`_update`)."""
    return f"email {email!r} is taken in Rocket.Chat; kept {kept!r}"


def _create_beside(
    client: RocketChatClient,
    user: AbstractBaseUser,
    profile: RocketChatProfile,
    username: str,
    holder: dict[str, Any],
) -> dict[str, Any]:
    """A Rocket.Chat account of ``user``'s own, beside the one another user of this site holds
    with the same address (issue 19, item 4: email squatting).

    An address the site does not vouch for never decides the account: whoever typed it first
    keeps their own account, and the other still gets one. Only where the site vouches for
    ``user``'s address and not for the holder's (or the holder no longer claims it) does the
    address move: the holder's account gets a placeholder address. Otherwise ``user``'s account
    gets one, and the address is recorded as a conflict (admin; ``rocketchat_sso_sync --full``
    writes it once it is free). Costs one ``users.update`` (a move) and one ``users.create``.
    """
    address = profile.email
    if conf.email_verified(user) and not _holder_vouched(holder, user, address):
        moved_to = placeholder_email(holder["_id"])
        client.update_user(str(holder["_id"]), {"email": moved_to, "verified": False})
        RocketChatAccount.objects.filter(rocketchat_user_id=holder["_id"]).update(
            sync_conflict=_taken_conflict(address, moved_to)[:MAX_ERROR_LENGTH]
        )
        logger.info("Rocket.Chat address moved to its vouched owner, Django user %s", user.pk)
    else:
        address = placeholder_email(user.pk)
    return client.create_user(
        username=username,
        email=address,
        name=profile.name,
        password=rocketchat_password(user),
        join_default_channels=conf.ROCKETCHAT_SSO_JOIN_DEFAULT_CHANNELS,
        verified=address == profile.email,
    )


def _holder_vouched(holder: dict[str, Any], user: AbstractBaseUser, address: str) -> bool:
    """Whether the site vouches that the Django user linked to ``holder`` owns ``address``."""
    account = (
        RocketChatAccount.objects.filter(rocketchat_user_id=holder["_id"])
        .exclude(user_id=user.pk)
        .select_related("user")
        .first()
    )
    other = account.user if account is not None else None
    if other is None:
        return False  # a deleted Django user's account
    claimed = {"emails": [{"address": conf.user_mapper(other).email}]}
    return has_address(claimed, address) and conf.email_verified(other)


def _update(
    client: RocketChatClient,
    rc_user: dict[str, Any],
    changes: dict[str, Any],
    profile: RocketChatProfile,
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Write ``changes``; a taken username or email is left as it is and the rest written.

    Returns the record, the changes that went through and the conflict (``""`` if none).
    """
    changes = dict(changes)
    conflicts: list[str] = []
    for _ in range(3):  # the whole change, without a taken username, without a taken email
        if not changes:
            return rc_user, changes, "; ".join(conflicts)
        try:
            updated = client.update_user(str(rc_user["_id"]), changes)
        except RocketChatFieldUnavailable as error:
            field = _taken_field(error, profile) or ("username" if "username" in changes else "")
            if field == "username" and "username" in changes:
                changes.pop("username")
                conflicts.append(
                    f"username {profile.username!r} is taken in Rocket.Chat; kept "
                    f"{rc_user.get('username')!r}"
                )
            elif field == "email" and "email" in changes:
                changes.pop("email")
                changes.pop("verified", None)
                conflicts.append(_taken_conflict(profile.email, email_of(rc_user)))
            else:
                raise
            continue
        return updated, changes, "; ".join(conflicts)
    return rc_user, changes, "; ".join(conflicts)


def _link(
    user: AbstractBaseUser, rc_user: dict[str, Any], digest: str, *, conflict: str = ""
) -> RocketChatAccount:
    now = timezone.now()
    fields = {
        "rocketchat_user_id": str(rc_user["_id"]),
        "rocketchat_username": str(rc_user.get("username", "")),
        "last_synced_at": now,
        "last_error": "",
        "last_error_at": None,
        "profile_digest": digest,
        "sync_conflict": conflict[:MAX_ERROR_LENGTH],
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


def _without_known_conflicts(
    wanted: dict[str, Any], account: RocketChatAccount | None, digest: str
) -> tuple[dict[str, Any], str]:
    """Leave out what failed as taken for this very profile: sign-in does not retry it on
    every login (the sync command does, and any change of the profile)."""
    if account is None or not account.sync_conflict or account.profile_digest != digest:
        return wanted, ""
    wanted = dict(wanted)
    for part in account.sync_conflict.split("; "):
        if part.startswith("username "):
            wanted.pop("username", None)
        elif part.startswith("email "):
            wanted.pop("email", None)
            wanted.pop("verified", None)
    return wanted, account.sync_conflict


def _bring_in_step(
    client: RocketChatClient,
    user: AbstractBaseUser,
    rc_user: dict[str, Any],
    *,
    created: bool,
    account: RocketChatAccount | None = None,
) -> _Outcome:
    """Write the profile's drift (if any) to ``rc_user`` and store the link.

    With ``account``, a conflict already recorded for this profile is not tried again.
    """
    profile = conf.user_mapper(user)
    candidates = username_candidates(profile, user)
    changes: dict[str, Any] = {}
    conflict = ""
    if created and is_placeholder(email_of(rc_user)) and not is_placeholder(profile.email):
        conflict = _taken_conflict(profile.email, email_of(rc_user))  # see _create_beside
    if not created:
        wanted = profile_changes(rc_user, profile, candidates, vouched=conf.email_verified(user))
        wanted, known = _without_known_conflicts(wanted, account, profile_digest(profile))
        conflict = known
        if wanted:
            rc_user, changes, new = _update(client, rc_user, wanted, profile)
            conflict = "; ".join(filter(None, (known, new)))
    account = _link(user, rc_user, profile_digest(profile), conflict=conflict)
    return _Outcome(account, rc_user, created, tuple(sorted(changes)), conflict)


def sync_user(
    user: AbstractBaseUser, *, client: RocketChatClient | None = None
) -> tuple[RocketChatAccount, dict[str, Any]]:
    """Make sure ``user`` exists in Rocket.Chat with their current profile.

    Looks up the stored id first; else creates the user, looking up the email only if
    Rocket.Chat says it is taken. Returns the account and Rocket.Chat's user record.
    """
    account, rc_user, _ = sync_user_outcome(user, client or RocketChatClient())
    return account, rc_user


def sync_user_outcome(
    user: AbstractBaseUser, client: RocketChatClient
) -> tuple[RocketChatAccount, dict[str, Any], SyncResult]:
    """:func:`sync_user`, with what it did (the sync command's and the admin's report)."""
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
        rc_user, created, _ = _create_or_adopt(client, user, conf.user_mapper(user))
    outcome = _bring_in_step(client, user, rc_user, created=created)
    return _finish(user, outcome)


def _finish(
    user: AbstractBaseUser, outcome: _Outcome
) -> tuple[RocketChatAccount, dict[str, Any], SyncResult]:
    account, rc_user = outcome.account, outcome.rc_user
    name = CREATED if outcome.created else UPDATED if outcome.changes else UNCHANGED
    result = SyncResult(name, account, outcome.changes)
    if outcome.created:
        signals.user_created.send(
            sender=RocketChatAccount, user=user, account=account, rocketchat_user=rc_user
        )
    _send_synced(user, account, rc_user, created=outcome.created, changes=outcome.changes)
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
    """Bring a Rocket.Chat user we already hold (``/me``'s or the login's answer) in step.

    Costs a Rocket.Chat call only when the profile differs, so the warm token path stays cheap.
    """
    profile = conf.user_mapper(user)
    digest = profile_digest(profile)
    candidates = username_candidates(profile, user)
    wanted = profile_changes(rc_user, profile, candidates, vouched=conf.email_verified(user))
    wanted, known = _without_known_conflicts(wanted, account, digest)
    if wanted:
        rc_user, changes, conflict = _update(client, rc_user, wanted, profile)
        account = _link(user, rc_user, digest, conflict="; ".join(filter(None, (known, conflict))))
        _send_synced(user, account, rc_user, created=False, changes=tuple(sorted(changes)))
    elif account.profile_digest != digest or account.sync_conflict != known:
        RocketChatAccount.objects.filter(pk=account.pk).update(
            profile_digest=digest, sync_conflict=known
        )
    return rc_user


def issue_login_token(
    user: AbstractBaseUser, *, client: RocketChatClient | None = None
) -> LoginToken:
    """Sync ``user`` and log them in to Rocket.Chat: a resume token for Meteor's login.

    Rocket.Chat calls (docs/rocketchat.rst, "Per Rocket.Chat version"):

    - new user: ``users.create``, then the login (``/login`` or ``users.createToken``): 2;
    - known user, new session, password method: ``/login`` alone (its ``data.me`` gives the
      profile drift and active state): 1, plus ``users.update`` if the profile drifted;
    - known user, new session, ``create_token``: ``users.info`` then ``users.createToken``: 2.

    Failures are recorded on the account's ``last_error`` and re-raised.
    """
    client = client or RocketChatClient()
    started = timezone.now()
    try:
        known = RocketChatAccount.objects.filter(user_id=user.pk).first()
        session = _sign_in_known(client, user, known) if known is not None else None
        account, token = session or _sign_in_new(client, user)
    except RocketChatError as error:
        RocketChatAccount.record_user_error(user.pk, error)
        raise
    signed_in = RocketChatAccount.objects.filter(pk=account.pk)
    signed_in.update(last_login_at=timezone.now())
    # Whatever failed before this sign-in is over; a profile write that failed during it (after
    # the login went through, see _drift_after_login) stays shown.
    signed_in.filter(last_error_at__lt=started).update(last_error="", last_error_at=None)
    signals.token_issued.send(sender=RocketChatAccount, user=user, account=account)
    return token


def _inactive() -> RocketChatUserInactive:
    return RocketChatUserInactive(
        "This user is deactivated in Rocket.Chat.", error_type="error-user-is-not-activated"
    )


@sensitive_variables("password")
def _sign_in_known(
    client: RocketChatClient, user: AbstractBaseUser, account: RocketChatAccount
) -> tuple[RocketChatAccount, LoginToken] | None:
    """A linked user's new session; ``None`` if their Rocket.Chat user is gone."""
    if conf.ROCKETCHAT_SSO_LOGIN_METHOD != LOGIN_METHOD_CREATE_TOKEN:
        password = rocketchat_password(user)
        try:
            token, me = client.login_user(username=account.rocketchat_username, password=password)
        except RocketChatAuthenticationFailed:
            pass  # renamed, deactivated, gone, or no derived password yet: ask Rocket.Chat
        else:
            if token.user_id == account.rocketchat_user_id:
                _drift_after_login(client, user, account, me)
                return account, token
            client.revoke_token(token)  # someone else's now: never hand it out
    try:
        rc_user = client.user_info(user_id=account.rocketchat_user_id)
    except RocketChatUserNotFound:
        logger.info("Rocket.Chat user of Django user %s is gone; relinking", user.pk)
        account.delete()
        return None
    if rc_user.get("active") is False:
        raise _inactive()
    outcome = _bring_in_step(client, user, rc_user, created=False, account=account)
    _finish(user, outcome)
    tried = conf.ROCKETCHAT_SSO_LOGIN_METHOD != LOGIN_METHOD_CREATE_TOKEN
    renamed = outcome.rc_user.get("username") != account.rocketchat_username
    state = PASSWORD_UNSET if tried and not renamed else PASSWORD_UNKNOWN
    return outcome.account, _login(client, user, outcome.account, outcome.rc_user, state)


def _drift_after_login(
    client: RocketChatClient,
    user: AbstractBaseUser,
    account: RocketChatAccount,
    me: dict[str, Any] | None,
) -> None:
    """The profile drift of a user who just logged in: from ``data.me``, else the digest."""
    if me is None:
        if account.profile_digest == profile_digest(conf.user_mapper(user)):
            return
        me = client.user_info(user_id=account.rocketchat_user_id)
    try:
        sync_drift(user, account, me, client=client)
    except RocketChatError as error:
        # The login went through; a profile that could not be written waits for the next sync.
        account.record_error(error)


@sensitive_variables("password")
def _sign_in_new(
    client: RocketChatClient, user: AbstractBaseUser
) -> tuple[RocketChatAccount, LoginToken]:
    """Create (or adopt, if linkable) the user's Rocket.Chat account and log them in."""
    rc_user, created, password_state = _create_or_adopt(client, user, conf.user_mapper(user))
    if rc_user.get("active") is False:
        raise _inactive()
    outcome = _bring_in_step(client, user, rc_user, created=created)
    account, rc_user, _ = _finish(user, outcome)
    return account, _login(client, user, account, rc_user, password_state)


@sensitive_variables("password")
def _login(
    client: RocketChatClient,
    user: AbstractBaseUser,
    account: RocketChatAccount,
    rc_user: dict[str, Any],
    password_state: str,
) -> LoginToken:
    """A token for a linked, active, linkable Rocket.Chat user.

    The password method sets the derived password only when the login is refused: setting a
    password logs the Rocket.Chat user out of every device (Meteor ``setPassword``), so it is
    never done on an account not known to be this user's (linked, active, plain roles).
    """
    if conf.ROCKETCHAT_SSO_LOGIN_METHOD == LOGIN_METHOD_CREATE_TOKEN:
        return _create_token(client, account)
    password = rocketchat_password(user)
    username = str(rc_user.get("username") or account.rocketchat_username)
    if password_state == PASSWORD_SET:
        return client.login(username=username, password=password)
    if not _roles_linkable(rc_user) or rc_user.get("_id") == conf.ROCKETCHAT_SSO_ADMIN_USER_ID:
        raise RocketChatAccountConflict(
            "The linked Rocket.Chat account now has privileged roles; its password is not "
            "replaced. An administrator must unlink it or change its roles."
        )
    if password_state == PASSWORD_UNKNOWN:
        try:
            return client.login(username=username, password=password)
        except RocketChatAuthenticationFailed:
            pass
    # Adopted, linked by an administrator, or a rotated key: set the derived password, once.
    client.update_user(account.rocketchat_user_id, {"password": password})
    return client.login(username=username, password=password)


def _create_token(client: RocketChatClient, account: RocketChatAccount) -> LoginToken:
    try:
        return client.create_token(
            account.rocketchat_user_id, secret=conf.ROCKETCHAT_SSO_CREATE_TOKEN_SECRET
        )
    except (RocketChatPermissionDenied, RocketChatTwoFactorRequired) as error:
        raise create_token_refusal(client, error) from error
    except RocketChatAPIError as error:
        if not invalid_params(error.error_type):
            raise
        raise create_token_refusal(client, error) from error


def create_token_refusal(
    client: RocketChatClient, error: RocketChatError
) -> RocketChatCreateTokenRefused:
    """The refusal of ``users.createToken``, with the fix for the server's version."""
    try:
        version = client.version()
    except RocketChatError:
        version = Version(UNKNOWN_VERSION)
    return RocketChatCreateTokenRefused(
        f"Rocket.Chat refused users.createToken ({error.message}). {create_token_fix(version)}",
        status=error.status,
        error_type=error.error_type,
    )


# -- deliberate linking by an administrator ------------------------------------------------


@dataclass(frozen=True)
class LinkPlan:
    """What linking ``user`` to the existing Rocket.Chat account ``rc_user`` will do."""

    user: AbstractBaseUser
    rc_user: dict[str, Any]
    changes: dict[str, Any]

    def describe(self) -> str:
        rc_user = self.rc_user
        roles = ", ".join(str(role) for role in rc_user.get("roles") or [])
        lines = [
            f"link {self.user} to the Rocket.Chat account {rc_user.get('username')!r} "
            f"(id {rc_user['_id']}, {email_of(rc_user)}, roles: {roles}, active)"
        ]
        for key in ("username", "name", "email"):
            if key in self.changes:
                old = email_of(rc_user) if key == "email" else rc_user.get(key)
                lines.append(f"change its {key} from {old!r} to {self.changes[key]!r}")
        if conf.ROCKETCHAT_SSO_LOGIN_METHOD == LOGIN_METHOD_CREATE_TOKEN:
            lines.append("keep its password (create_token signs the user in)")
        else:
            lines.append(
                "replace its password with the derived one at the user's first sign-in, which "
                "logs the account out of every Rocket.Chat device"
            )
        return "; ".join(lines)


def plan_link(user: AbstractBaseUser, *, client: RocketChatClient) -> LinkPlan:
    """Find the Rocket.Chat account with ``user``'s address and check that it may be linked
    deliberately (plain roles, active, nobody else's); changes nothing.

    The administrator vouches for the address, in place of ``ROCKETCHAT_SSO_EMAIL_VERIFIED``.
    """
    account = account_of(user)
    if account is not None:
        raise RocketChatAccountConflict(
            f"{user} is already linked to the Rocket.Chat account {account.rocketchat_username!r}."
        )
    profile = conf.user_mapper(user)
    rc_user = find_by_email(client, profile.email)
    if rc_user is None:
        raise RocketChatUserNotFound(
            f"No Rocket.Chat account has the address {profile.email!r}: nothing to link (the "
            "user's first sign-in creates one)."
        )
    check_linkable(rc_user, user, profile.email, deliberate=True)
    changes = profile_changes(
        rc_user,
        profile,
        username_candidates(profile, user),
        vouched=conf.email_verified(user),
    )
    return LinkPlan(user, rc_user, changes)


def link_existing(plan: LinkPlan, *, client: RocketChatClient) -> SyncResult:
    """Carry out ``plan``: link, and bring the account's profile in step."""
    outcome = _bring_in_step(client, plan.user, plan.rc_user, created=False)
    account, _, result = _finish(plan.user, outcome)
    return SyncResult(LINKED, account, result.changes)
