"""A linked user's life after sign-in: active state, logout, deletion, reconciliation.

The signal receivers, the admin's actions and ``rocketchat_sso_sync`` call these; each failure
is kept on the account and re-raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from rocketchat_sso.accounts import outcomes
from rocketchat_sso.accounts.outcomes import (
    CREATED,
    DEACTIVATED,
    DELETED,
    REACTIVATED,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    SyncResult,
)
from rocketchat_sso.accounts.profiles import profile_digest
from rocketchat_sso.accounts.signin import sync_user_outcome
from rocketchat_sso.conf import ON_USER_DELETE_DELETE, conf
from rocketchat_sso.exceptions import (
    RocketChatAPIError,
    RocketChatError,
    RocketChatUserNotFound,
)
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.sessions import revocation, tokens

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# users.logout answers this when the user has no login token left (nothing to log out).
NO_TOKENS_LEFT = "error-invalid-user-id"


def propagate_active_state(
    user: AbstractBaseUser, *, client: RocketChatClient | None = None
) -> SyncResult:
    """Make the Rocket.Chat user follow the Django user's ``is_active``.

    An inactive Django user is deactivated in Rocket.Chat; reactivating the Django user
    reactivates only a Rocket.Chat user this site deactivated: one that Rocket.Chat's own
    moderators deactivated stays so. Failures are recorded on the account and re-raised.
    """
    account = outcomes.account_of(user)
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
        account.record_error(error)
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
        account.record_error(error)
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
        account.record_error(error)
        raise
    except RocketChatError as error:
        account.record_error(error)
        raise
    return True


def sign_out_everywhere(user: AbstractBaseUser, *, client: RocketChatClient | None = None) -> bool:
    """Sign ``user`` out of Rocket.Chat on every device: phones, desktops, browsers.

    One call with the admin's token (``users.logout``, which unsets every login token of the
    user: Rocket.Chat's ``apps/meteor/app/api/server/v1/users.ts``; the admin is exempt from the
    rate limiter), then the user's stored tokens, apps' included, are marked revoked without a
    call and the sessions' cached ones forgotten. The user stays logged in to the site: the
    next chat opening gets a new token. Returns whether Rocket.Chat had a login to end (``False``
    for a user without a Rocket.Chat account, too).
    """
    account = RocketChatAccount.objects.filter(user_id=user.pk).first()
    if account is None:
        return False
    ended = end_rocketchat_sessions(account, client=client)
    tokens.forget_sessions(revocation.end_everything(user.pk))
    return ended


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
        account.record_error(error)
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
        _, _, result = sync_user_outcome(user, client)
    except RocketChatError as error:
        RocketChatAccount.record_user_error(user.pk, error)
        raise
    return (
        SyncResult(REACTIVATED, result.account, result.changes)
        if planned == REACTIVATED
        else (result)
    )


# -- the sync command's selection and unit -------------------------------------------------


def users_to_sync(
    *, usernames: Sequence[str] = (), failed: bool = False, since_pk: Any = None
) -> QuerySet[Any]:
    """The Django users to reconcile, by primary key, their accounts joined: only ``usernames``
    (if any), only those whose last sync failed, only those after ``since_pk``."""
    user_model = get_user_model()
    users = user_model._default_manager.select_related("rocketchat_account")
    if usernames:
        users = users.filter(**{f"{user_model.USERNAME_FIELD}__in": usernames})
    if failed:
        users = users.filter(rocketchat_account__isnull=False).exclude(
            rocketchat_account__last_error=""
        )
    if since_pk is not None:
        users = users.filter(pk__gt=since_pk)
    return users.order_by("pk")


def orphan_accounts(*, failed: bool = False) -> QuerySet[RocketChatAccount]:
    """Accounts whose Django user was deleted before Rocket.Chat could be told."""
    orphans = RocketChatAccount.objects.filter(user__isnull=True).order_by("pk")
    return orphans.exclude(last_error="") if failed else orphans


def sync_one(
    user: AbstractBaseUser,
    account: RocketChatAccount | None,
    *,
    client: RocketChatClient,
    full: bool = False,
    dry_run: bool = False,
) -> SyncResult:
    """:func:`reconcile_user`, or with ``dry_run`` what it would do (:func:`plan_user`)."""
    if dry_run:
        return SyncResult(plan_user(user, account, full=full), account)
    return reconcile_user(user, account, client=client, full=full)


def sync_orphan(
    account: RocketChatAccount, *, client: RocketChatClient, dry_run: bool = False
) -> SyncResult:
    """:func:`propagate_deletion` for an orphaned account, or with ``dry_run`` what it would do."""
    if dry_run:
        return SyncResult(DEACTIVATED, account)
    return propagate_deletion(account, client=client)
