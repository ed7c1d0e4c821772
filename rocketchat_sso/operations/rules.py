"""The rules the system checks (:mod:`rocketchat_sso.operations.checks`) and the doctor
(:mod:`rocketchat_sso.operations.doctor`) both apply: one definition, so the two never disagree.

Offline judgements about URLs, sites and the session cookie; no Rocket.Chat call and no request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings

HTTP_SCHEMES = ("http", "https")


def valid_http_url(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL with a host (and, if any, a valid port)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme in HTTP_SCHEMES and bool(parts.hostname)


def site_key(host: str) -> str:
    """The part of ``host`` two hosts must share to be one site, as far as we can tell offline.

    A registrable domain has at least two labels, so hosts whose last two labels differ are
    surely different sites; an IP address or a single label is a site of its own.
    """
    host = host.strip("[]").rstrip(".").lower()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return ".".join(host.split(".")[-2:])
    return host


def same_site(url: str, other: str) -> bool:
    """Whether browsers treat the two URLs as one site (same scheme, same :func:`site_key`)."""
    a, b = urlsplit(url), urlsplit(other)
    return a.scheme == b.scheme and site_key(a.hostname or "") == site_key(b.hostname or "")


def surely_cross_site(chat_host: str, hosts: Iterable[str] | None = None) -> bool:
    """Whether every host this site answers to (``hosts``, else ALLOWED_HOSTS; wildcards
    skipped) is another site than ``chat_host``."""
    if hosts is None:
        hosts = getattr(settings, "ALLOWED_HOSTS", None) or []
    named = [host.lstrip(".") for host in hosts if host and "*" not in host]
    return bool(named) and all(site_key(host) != site_key(chat_host) for host in named)


def session_cookie_samesite() -> str:
    """``SESSION_COOKIE_SAMESITE`` as sent: ``"Lax"`` by default, ``"unset"`` when off."""
    return str(getattr(settings, "SESSION_COOKIE_SAMESITE", "Lax") or "unset")


def samesite_none() -> bool:
    """Whether the session cookie is sent ``SameSite=None`` (cross-site)."""
    return session_cookie_samesite().lower() == "none"


def cookie_dropped_by_browsers() -> bool:
    """``SameSite=None`` without ``Secure``: browsers refuse to store the session cookie."""
    return samesite_none() and not getattr(settings, "SESSION_COOKIE_SECURE", False)
