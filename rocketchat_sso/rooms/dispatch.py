"""When membership work runs: after the commit, out of the request.

Group changes (``m2m_changed`` on either side of ``user.groups``) and sign-ins (the signals
``token_issued`` and ``user_synced``) name the accounts to bring in line; once the transaction
commits, the work goes to ``django.tasks`` where the site configured ``TASKS`` (Django 6.0+),
else to a thread, or runs inline (``ROCKETCHAT_SSO_ROOMS_RUN``). Nothing here raises into the
request: a failure is recorded on the membership and completed by the next sign-in or sync.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections, transaction

from rocketchat_sso.conf import (
    ROOMS_RUN_AUTO,
    ROOMS_RUN_INLINE,
    ROOMS_RUN_TASKS,
    ROOMS_RUN_THREAD,
    conf,
)
from rocketchat_sso.exceptions import RocketChatError
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.rooms import mapping, membership

logger = logging.getLogger(__name__)

# Accounts scheduled by this thread's transaction: another thread's commit must not take
# (and run early) what this one has not committed yet.
_local = threading.local()
_worker_lock = threading.Lock()
# One worker thread per process takes the batches in order: two quick changes of one user
# never race each other.
_queue: queue.Queue[list[int]] = queue.Queue()
_worker: threading.Thread | None = None


def tasks_available() -> bool:
    """Whether Django's tasks framework is there (Django 6.0+) and the site configured it."""
    try:
        import django.tasks  # noqa: F401
    except ImportError:
        return False
    overridden: Callable[[str], bool] = settings.is_overridden  # type: ignore[misc]
    return bool(overridden("TASKS"))


def mode() -> str:
    """``ROCKETCHAT_SSO_ROOMS_RUN`` resolved: ``"auto"`` becomes tasks or a thread."""
    chosen = conf.ROCKETCHAT_SSO_ROOMS_RUN
    if chosen == ROOMS_RUN_AUTO:
        return ROOMS_RUN_TASKS if tasks_available() else ROOMS_RUN_THREAD
    if chosen == ROOMS_RUN_TASKS and not tasks_available():
        return ROOMS_RUN_THREAD  # reported by the system check rocketchat_sso.W071
    return chosen if chosen in (ROOMS_RUN_TASKS, ROOMS_RUN_THREAD) else ROOMS_RUN_INLINE


def schedule(account_pks: Iterable[int]) -> None:
    """Bring these accounts' rooms in line once the current transaction commits."""
    pks = {int(pk) for pk in account_pks}
    suppressed_here: int = getattr(_local, "suppressed", 0)
    if not pks or suppressed_here or not mapping.configured():
        return
    _pending_here().update(pks)
    transaction.on_commit(_flush)


def _pending_here() -> set[int]:
    pending: set[int] | None = getattr(_local, "pending", None)
    if pending is None:
        pending = _local.pending = set()
    return pending


def _flush() -> None:
    """Hand every account scheduled so far to the runner (one run for a ``set()``'s
    remove and add)."""
    pending = _pending_here()
    pks = sorted(pending)
    pending.clear()
    if not pks:
        return
    how = mode()
    if how == ROOMS_RUN_TASKS:
        from rocketchat_sso.rooms import tasks

        try:
            tasks.enqueue(pks)
            return
        except Exception as error:  # a broken queue must not break the save; do it here
            logger.warning("Could not enqueue the room task (%s); running it in a thread", error)
            how = ROOMS_RUN_THREAD
    if how == ROOMS_RUN_THREAD:
        _start_worker()
        _queue.put(pks)
        return
    apply_accounts(pks)


def _start_worker() -> None:
    global _worker
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="rocketchat-sso-rooms", daemon=True)
            _worker.start()


def _work() -> None:
    while True:
        pks = _queue.get()
        try:
            apply_accounts(pks)
        finally:
            close_old_connections()
            _queue.task_done()


def wait() -> None:
    """Until the worker thread has done every batch handed to it (tests, benchmarks)."""
    _queue.join()


@contextmanager
def suppressed() -> Iterator[None]:
    """No scheduling in this thread meanwhile: the sync command reconciles rooms itself."""
    _local.suppressed = getattr(_local, "suppressed", 0) + 1
    try:
        yield
    finally:
        _local.suppressed -= 1


def apply_accounts(pks: list[int]) -> None:
    """The work itself: each account in line with its groups; failures recorded, never
    raised. No retries and no waiting on the rate limiter: the next sign-in or sync retries."""
    accounts = RocketChatAccount.objects.filter(pk__in=pks, user__isnull=False).select_related(
        "user"
    )
    try:
        with RocketChatClient(retries=0, rate_limit_wait=0) as client:
            membership.apply_accounts(accounts, client)
    except RocketChatError as error:  # pragma: no cover - apply_account records its own
        logger.warning("Rocket.Chat room membership left to the sync: %s", error.message)
    except Exception:
        logger.exception("Rocket.Chat room membership failed; left to the sync")


# -- receivers -----------------------------------------------------------------------------


def groups_changed(
    sender: Any,
    instance: Any,
    action: str,
    reverse: bool,
    model: Any,
    pk_set: set[Any] | None,
    **kwargs: Any,
) -> None:
    """``m2m_changed`` of ``user.groups``: ``user.groups.add/remove/clear/set`` (forward) and
    ``group.user_set.add/remove/clear/set`` (reverse)."""
    if action not in ("post_add", "post_remove", "pre_clear", "post_clear"):
        return
    if not mapping.configured():
        return
    if not reverse:  # instance is a user
        if action != "pre_clear":
            schedule(_accounts_of([instance.pk]))
        return
    # instance is a group: pk_set holds users, or none on clear
    if action == "pre_clear":
        instance._rocketchat_sso_cleared = list(instance.user_set.values_list("pk", flat=True))
        return
    if action == "post_clear":
        user_pks = getattr(instance, "_rocketchat_sso_cleared", [])
    else:
        user_pks = list(pk_set or ())
    schedule(_accounts_of(user_pks))


def _mapped_group_names() -> set[str]:
    group_map = mapping.group_rooms()
    return {*group_map, *(g for spec in group_map.values() for g in spec.moderator_groups)}


def _user_accounts_of_group(group: Any) -> list[int]:
    return list(RocketChatAccount.objects.filter(user__groups=group).values_list("pk", flat=True))


def group_renaming(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """``pre_save`` of a group: remember its name, to tell a rename (the mapping is by name)."""
    if raw or instance.pk is None or not mapping.configured():
        return
    instance._rocketchat_sso_name = (
        sender.objects.filter(pk=instance.pk).values_list("name", flat=True).first()
    )


def group_renamed(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """``post_save``: a mapped group renamed (or a group renamed to a mapped name) moves its
    members' rooms."""
    before = getattr(instance, "_rocketchat_sso_name", None)
    if created or before is None or before == instance.name:
        return
    if {before, instance.name} & _mapped_group_names():
        schedule(_user_accounts_of_group(instance))


def group_deleting(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``pre_delete``: a mapped group's members leave its room once the deletion commits
    (Django deletes the memberships without ``m2m_changed``)."""
    if mapping.configured() and instance.name in _mapped_group_names():
        schedule(_user_accounts_of_group(instance))


def signed_in(sender: Any, account: RocketChatAccount | None = None, **kwargs: Any) -> None:
    """``token_issued``/``user_synced``: complete what is pending for the account (no call when
    its rooms are as recorded)."""
    if account is not None and account.pk is not None:
        schedule([account.pk])


def _accounts_of(user_pks: Iterable[Any]) -> list[int]:
    return list(
        RocketChatAccount.objects.filter(user_id__in=list(user_pks)).values_list("pk", flat=True)
    )


def connect() -> None:
    from django.contrib.auth import get_user_model
    from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save

    from rocketchat_sso import signals

    try:
        user_model = get_user_model()
    except ImproperlyConfigured:  # no user model installed: no groups to follow
        user_model = None
    groups = getattr(user_model, "groups", None)  # absent without PermissionsMixin
    if groups is not None:
        m2m_changed.connect(
            groups_changed, sender=groups.through, dispatch_uid="rocketchat_sso.rooms.groups"
        )
        from django.contrib.auth.models import Group

        uid = "rocketchat_sso.rooms.group_"
        pre_save.connect(group_renaming, sender=Group, dispatch_uid=uid + "renaming")
        post_save.connect(group_renamed, sender=Group, dispatch_uid=uid + "renamed")
        pre_delete.connect(group_deleting, sender=Group, dispatch_uid=uid + "deleting")
    signals.token_issued.connect(signed_in, dispatch_uid="rocketchat_sso.rooms.token_issued")
    signals.user_synced.connect(signed_in, dispatch_uid="rocketchat_sso.rooms.user_synced")
