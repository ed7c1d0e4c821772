"""The room work as a ``django.tasks`` task, where Django has the framework (6.0+).

Imported only once the site configured ``TASKS`` and a group changed
(:func:`rocketchat_sso.rooms.dispatch.mode`): defining the task reads ``TASKS``. Django's workers
import the task by its module path, so it is defined at module level; without Django 6 it is
``None``.
"""

from __future__ import annotations

from typing import Any

task: Any
try:
    from django.tasks import task
except ImportError:  # Django before 6.0
    task = None

apply_rooms: Any = None

if task is not None:

    @task  # type: ignore[untyped-decorator]
    def apply_rooms(account_pks: list[int]) -> None:
        """Bring these accounts' rooms in line with their groups (``rocketchat_sso.rooms``)."""
        from rocketchat_sso.rooms.dispatch import apply_accounts

        apply_accounts(account_pks)


def enqueue(account_pks: list[int]) -> None:
    """Queue the work on the site's default task backend."""
    if apply_rooms is None:
        raise RuntimeError("django.tasks needs Django 6.0 or later")
    apply_rooms.enqueue(account_pks)
