from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client

from rocketchat_sso.testing import FakeRocketChat, mock_rocketchat
from rocketchat_sso.testing.server import RocketChatServer


@pytest.fixture(autouse=True)
def _empty_caches() -> Iterator[None]:
    """Cached session tokens must not leak from one test into the next."""
    yield
    for cache in caches.all():
        cache.clear()


@pytest.fixture
def rocketchat() -> Iterator[FakeRocketChat]:
    """The Rocket.Chat stand-in answering at ``ROCKETCHAT_SSO_URL`` through ``responses``."""
    with mock_rocketchat(settings.ROCKETCHAT_SSO_URL) as fake:
        yield fake


@pytest.fixture(scope="session")
def _http_server() -> Iterator[RocketChatServer]:
    server = RocketChatServer(FakeRocketChat()).start()
    yield server
    server.stop()


@pytest.fixture
def rocketchat_server(_http_server: RocketChatServer, settings: Any) -> RocketChatServer:
    """The stand-in over real HTTP, a fresh Rocket.Chat per test, ``ROCKETCHAT_SSO_URL`` on it.

    Real sockets give real retries, timeouts and dropped connections; browsers still see
    Rocket.Chat at ``https://chat.example.com`` (``ROCKETCHAT_SSO_PUBLIC_URL``). One server
    serves the whole session: stopping one takes half a second.
    """
    _http_server.fake = FakeRocketChat()
    settings.ROCKETCHAT_SSO_PUBLIC_URL = settings.ROCKETCHAT_SSO_URL
    settings.ROCKETCHAT_SSO_URL = _http_server.url
    return _http_server


@pytest.fixture
def signed_in(user: Any) -> Client:
    """A browser holding ``user``'s session."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(
        username="alice",
        email="alice@example.com",
        password="pw",
        first_name="Alice",
        last_name="Liddell",
    )


def paths(fake: FakeRocketChat) -> list[str]:
    """The Rocket.Chat endpoints called so far, in order (``"POST login"``)."""
    return [f"{call.method} {call.path.removeprefix('/api/v1/')}" for call in fake.calls]
