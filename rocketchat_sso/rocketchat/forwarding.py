"""The browser on whose behalf the Rocket.Chat calls of this context are made, if it is named.

Rocket.Chat's REST rate limiter counts per route and client address, and takes the address from
``X-Real-IP`` when a request carries one. The calls made with a user's token carry the address
of the browser whose request made them
(:class:`rocketchat_sso.web.middleware.ClientAddressMiddleware` sets it for the request, when
``ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS`` is on), so each browser gets its own bucket. Kept apart
from the middleware so that the client, which reads it, needs nothing of the web layer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_client_address: ContextVar[str | None] = ContextVar("rocketchat_sso_client_address", default=None)


def client_address() -> str | None:
    """The address of the browser whose request is being handled, if it is to be forwarded."""
    return _client_address.get()


@contextmanager
def forwarding(address: str | None) -> Iterator[None]:
    """Name ``address`` (None: none) to Rocket.Chat on the user-token calls made inside."""
    token = _client_address.set(address)
    try:
        yield
    finally:
        _client_address.reset(token)
