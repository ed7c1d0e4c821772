"""CORS for Rocket.Chat's origin on the token endpoint, through django-cors-headers' hook.

Connected in ``AppConfig.ready()``. The site's own CORS settings stay untouched: this adds
exactly one origin (Rocket.Chat's) on one URL (the token endpoint).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from rocketchat_sso.conf import TOKEN_URL_NAME, conf


def cors_allow_rocketchat(sender: object, request: HttpRequest, **kwargs: Any) -> bool:
    """django-cors-headers hook: CORS for Rocket.Chat's origin on our token endpoint only.

    The site's own CORS settings stay untouched; this adds exactly one origin on one URL.
    """
    if request.headers.get("Origin") != conf.public_origin:
        return False
    try:
        return request.path == reverse(TOKEN_URL_NAME)
    except NoReverseMatch:
        return False


def connect() -> None:
    try:
        from corsheaders.signals import check_request_enabled
    except ImportError:  # reported by the system check rocketchat_sso.E006
        return

    check_request_enabled.connect(cors_allow_rocketchat, dispatch_uid="rocketchat_sso.cors")
