from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from rocketchat_sso.testing import FakeRocketChat, mock_rocketchat


@pytest.fixture
def rocketchat() -> Iterator[FakeRocketChat]:
    """The Rocket.Chat stand-in answering at ``ROCKETCHAT_SSO_URL`` through ``responses``."""
    with mock_rocketchat(settings.ROCKETCHAT_SSO_URL) as fake:
        yield fake


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
