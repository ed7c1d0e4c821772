"""System checks of rooms from groups: the mapping, its room names, where the work runs.

Room names are checked as Rocket.Chat's ``getValidRoomName`` (``getValidRoomName.ts``) does:
``^<UTF8_Channel_Names_Validation>$``, by default ``[0-9a-zA-Z-_.]+`` (no spaces, no ``#``).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured

from rocketchat_sso.conf import ROOMS_RUN_CHOICES, ROOMS_RUN_TASKS, conf
from rocketchat_sso.rooms import dispatch, mapping

DOCS = "docs/rooms.rst"


def check_rooms(**kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    try:
        raw = mapping.raw_mapping()
    except Exception as error:  # the callable is the site's code: any failure is reported
        return [
            Error(
                f"ROCKETCHAT_SSO_GROUP_ROOMS cannot be read: {error}",
                hint="Set it to a dict {'Django group name': 'room-name'}, or the dotted path "
                f"of a callable returning one ({DOCS}).",
                id="rocketchat_sso.E070",
            )
        ]
    try:
        re.compile(conf.ROCKETCHAT_SSO_ROOM_NAME_VALIDATION)
    except re.error as error:
        messages.append(
            Warning(
                f"ROCKETCHAT_SSO_ROOM_NAME_VALIDATION is not a regular expression ({error}); "
                "room names are checked against Rocket.Chat's default, [0-9a-zA-Z-_.]+.",
                hint="Copy Rocket.Chat's UTF8_Channel_Names_Validation setting (Administration "
                "> Settings > General > UTF8) or remove the setting.",
                id="rocketchat_sso.W070",
            )
        )
    pattern = mapping.name_pattern()
    for group, entry in raw.items():
        try:
            spec = mapping.spec_of(group, entry)
        except ImproperlyConfigured as error:
            messages.append(
                Error(
                    str(error),
                    hint='A room name ("staff") or {"name": "staff", "read_only": True, '
                    '"moderators": "Django group name"}.',
                    id="rocketchat_sso.E072",
                )
            )
            continue
        if not pattern.fullmatch(spec.name):
            suggestion = re.sub(r"[^0-9a-zA-Z\-_.]+", "-", spec.name).strip("-") or "room"
            messages.append(
                Error(
                    f"ROCKETCHAT_SSO_GROUP_ROOMS[{group!r}]: {spec.name!r} is not a valid "
                    "Rocket.Chat room name; Rocket.Chat would refuse to create it "
                    "(error-invalid-room-name).",
                    hint=f"Room names must match {pattern.pattern} (Rocket.Chat's "
                    f"UTF8_Channel_Names_Validation), e.g. {suggestion!r}.",
                    id="rocketchat_sso.E071",
                )
            )
    run = conf.ROCKETCHAT_SSO_ROOMS_RUN
    if run not in ROOMS_RUN_CHOICES:
        messages.append(
            Error(
                f"ROCKETCHAT_SSO_ROOMS_RUN is {run!r}.",
                hint=f"One of {', '.join(ROOMS_RUN_CHOICES)}.",
                id="rocketchat_sso.E073",
            )
        )
    elif run == ROOMS_RUN_TASKS and not dispatch.tasks_available():
        messages.append(
            Warning(
                'ROCKETCHAT_SSO_ROOMS_RUN is "tasks" but Django\'s tasks framework is not '
                "configured (Django 6.0+ and a TASKS setting); room changes run in a thread.",
                hint='Configure TASKS, or set ROCKETCHAT_SSO_ROOMS_RUN = "auto".',
                id="rocketchat_sso.W071",
            )
        )
    return messages
