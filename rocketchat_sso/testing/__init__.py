"""A Rocket.Chat stand-in for tests: an in-memory model plus transports that serve it.

``pip install django-rocketchat-sso[testing]``; ``mock_rocketchat`` needs ``responses``, the
model alone does not.
"""

from __future__ import annotations

from rocketchat_sso.testing.model import FakeRequest, FakeResponse, FakeRocketChat, Fault
from rocketchat_sso.testing.responses_transport import mock_rocketchat
from rocketchat_sso.testing.versions import (
    NEWEST,
    RELEASES,
    RocketChatVersion,
    default_version,
    set_default_version,
)

__all__ = [
    "NEWEST",
    "RELEASES",
    "FakeRequest",
    "FakeResponse",
    "FakeRocketChat",
    "Fault",
    "RocketChatVersion",
    "default_version",
    "mock_rocketchat",
    "set_default_version",
]
