"""Receivers this app connects in ``AppConfig.ready()``: the propagation of Django's user
lifecycle (logout, deactivation, deletion, profile edits) to Rocket.Chat.

No receiver ever lets a Rocket.Chat failure break the Django operation that triggered it: the
failure is logged without secrets, recorded on the account and retried by the sync command.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.core.signals import request_finished, request_started
from django.db import transaction
from django.db.models.signals import post_save, pre_delete
from django.http import HttpRequest

from rocketchat_sso.accounts import lifecycle, outcomes, signin
from rocketchat_sso.conf import conf
from rocketchat_sso.exceptions import (
    CacheUnavailable,
    RocketChatError,
)
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.sessions import revocation, signout, tokens

logger = logging.getLogger(__name__)

# Saves that touch only these fields cannot change anything Rocket.Chat knows
# (``update_last_login`` saves ``last_login`` on every login).
IGNORED_UPDATE_FIELDS = frozenset({"last_login", "password"})


def _swallow(what: str, user_pk: object, error: RocketChatError) -> None:
    """Log a propagation failure (the service recorded it on the account); never re-raise."""
    logger.warning(
        "Rocket.Chat %s failed for Django user %s (left to the sync command): %s",
        what,
        user_pk,
        error.message,
    )


def logged_out(sender: object, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Revoke the Rocket.Chat token of the session being logged out (and, if configured,
    every Rocket.Chat session of the user)."""
    if user is None:
        return
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None)
    # No retries: the user waits for this logout, and a failure is recorded, not retried.
    with RocketChatClient(retries=0) as client:
        if session_key:
            try:
                tokens.revoke_session_token(session_key, user, client=client)
            except CacheUnavailable as error:
                # Logging out works without the cache; the stored token was revoked regardless.
                logger.warning(
                    "Could not revoke the Rocket.Chat token of user %s: %s", user.pk, error
                )
        if conf.ROCKETCHAT_SSO_LOGOUT_EVERYWHERE:
            try:  # phones included: their stored tokens are marked revoked too
                lifecycle.sign_out_everywhere(user, client=client)
            except RocketChatError as error:
                _swallow("logout", user.pk, error)


def started(sender: object, environ: dict[str, Any] | None = None, **kwargs: Any) -> None:
    revocation.request_started(environ)


def finished(sender: object, **kwargs: Any) -> None:
    try:
        revocation.request_finished()
    except RocketChatError as error:
        _swallow("token revocation", None, error)


def logged_in(sender: object, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Logging in over another user's session (no logout): revoke that user's token."""
    session = getattr(request, "session", None)
    try:
        revocation.session_replaced(user, getattr(session, "session_key", None))
    except RocketChatError as error:
        _swallow("token revocation", user.pk, error)


def user_saved(
    sender: type[Any],
    instance: Any,
    created: bool,
    raw: bool = False,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    """A new password revokes the Rocket.Chat tokens of the user's other sessions (at once); after
    the commit, (de)activate in Rocket.Chat when ``is_active`` changed, and push a changed profile
    when ``ROCKETCHAT_SSO_SYNC_ON_SAVE`` is on."""
    if raw or created:
        return
    _schedule_sync(instance, update_fields)
    if update_fields is None or "password" in update_fields:
        _password_saved(instance)


def _schedule_sync(instance: Any, update_fields: frozenset[str] | None) -> None:
    if update_fields is not None and set(update_fields) <= IGNORED_UPDATE_FIELDS:
        return
    account = RocketChatAccount.objects.filter(user_id=instance.pk).first()
    if account is None:
        return
    if (not instance.is_active and account.deactivated_at is None) or (
        instance.is_active and account.deactivated_at is not None
    ):
        transaction.on_commit(lambda: _propagate_active_state(instance))
    elif (
        instance.is_active
        and conf.ROCKETCHAT_SSO_SYNC_ON_SAVE
        and lifecycle.plan_user(instance, account, full=False) == outcomes.UPDATED
    ):
        transaction.on_commit(lambda: _sync(instance))


def _password_saved(user: Any) -> None:
    """A new password ends the user's other Django sessions: revoke their Rocket.Chat tokens.

    The session Django keeps (``update_session_auth_hash``) keeps its token. One indexed query
    per save of a user with issued tokens; nothing more unless the password changed.
    """
    try:
        revocation.user_saved(user)
    except RocketChatError as error:
        _swallow("token revocation", user.pk, error)


def _propagate_active_state(user: Any) -> None:
    try:
        lifecycle.propagate_active_state(user)
    except RocketChatError as error:
        _swallow("active state", user.pk, error)


def _sync(user: Any) -> None:
    try:
        signin.sync_user(user)
    except RocketChatError as error:
        RocketChatAccount.record_user_error(user.pk, error)
        _swallow("profile sync", user.pk, error)


def user_deleted(sender: type[Any], instance: Any, **kwargs: Any) -> None:
    """Once the deletion is committed, deactivate (or delete) the user in Rocket.Chat.

    The account row survives the deletion without its user (``SET_NULL``) until this worked.
    """
    pks = list(RocketChatAccount.objects.filter(user_id=instance.pk).values_list("pk", flat=True))
    if pks:
        transaction.on_commit(lambda: _propagate_deletion(pks))


def _propagate_deletion(pks: list[int]) -> None:
    for account in RocketChatAccount.objects.filter(pk__in=pks, user__isnull=True):
        try:
            lifecycle.propagate_deletion(account)
        except RocketChatError as error:
            _swallow(f"{conf.ROCKETCHAT_SSO_ON_USER_DELETE} of a deleted user", None, error)


def connect() -> None:
    user_model = settings.AUTH_USER_MODEL  # lazy: resolved once the model is registered
    user_logged_out.connect(logged_out, dispatch_uid="rocketchat_sso.logout")
    user_logged_in.connect(logged_in, dispatch_uid="rocketchat_sso.login")
    # A new login to the site ends a logout made in Rocket.Chat.
    user_logged_in.connect(signout.logged_in, dispatch_uid="rocketchat_sso.signout")
    post_save.connect(user_saved, sender=user_model, dispatch_uid="rocketchat_sso.user_saved")
    request_started.connect(started, dispatch_uid="rocketchat_sso.request_started")
    request_finished.connect(finished, dispatch_uid="rocketchat_sso.request_finished")
    pre_delete.connect(user_deleted, sender=user_model, dispatch_uid="rocketchat_sso.user_deleted")
