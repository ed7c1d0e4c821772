from __future__ import annotations

from collections.abc import Iterator

import pytest

from rocketchat_sso.testing import FakeRocketChat, mock_rocketchat
from tests.testing.helpers import BASE, Api


@pytest.fixture
def fake() -> Iterator[FakeRocketChat]:
    """A default stand-in (Rocket.Chat 7.10) served at ``BASE`` through ``responses``."""
    with mock_rocketchat(BASE) as rocketchat:
        yield rocketchat


@pytest.fixture
def api(fake: FakeRocketChat) -> Api:
    return Api()
