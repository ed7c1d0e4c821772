"""Forward the browser's address to Rocket.Chat on its user-token calls (opt-in).

Rocket.Chat's REST rate limiter counts per route and client address, and takes the address
from ``X-Real-IP`` when a request carries one, else from the socket (``getRequestIP`` in
``apps/meteor/app/api/server/api.ts`` on 7.x, ``remoteAddressMiddleware.ts`` on 8.x; with env
``HTTP_FORWARDED_COUNT`` > 0 an ``X-Forwarded-For`` entry wins over both). The admin's calls
bypass the limiter; the calls made with a user's token (``/api/v1/login``, ``/me``,
``/logout``) do not, so without this every user of the site shares one bucket per route: the
Django server's. With ``ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS`` set and this middleware
installed, those calls carry ``X-Real-IP`` with the address of the browser whose request made
them, so each browser gets its own bucket.

The address comes from ``request.META[ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS]`` as Django sees
it: ``REMOTE_ADDR`` when browsers reach Django directly, or a header the site's own proxy sets
(``HTTP_X_REAL_IP`` behind nginx's ``proxy_set_header X-Real-IP $remote_addr``), never one a
browser can choose. It is forwarded only if it is one IP address. A proxy in front of
Rocket.Chat that sets ``X-Real-IP`` itself overwrites it (no harm, no effect).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING

from rocketchat_sso.conf import conf
from rocketchat_sso.rocketchat.forwarding import forwarding

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


def address_of(request: HttpRequest) -> str | None:
    """The request's client address, as configured, if forwarding is on and it is one IP."""
    key = conf.ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS
    if not key:
        return None
    value = request.META.get(key)
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None  # absent, a list ("a, b") or garbage: Rocket.Chat sees the socket


class ClientAddressMiddleware:
    """Makes the request's client address available to the Rocket.Chat client (see above)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with forwarding(address_of(request)):
            return self.get_response(request)
