"""A Rocket.Chat stand-in for tests: an in-memory model plus transports that serve it.

``pip install django-rocketchat-sso[testing]``; ``mock_rocketchat`` needs ``responses``, the
model alone does not.
"""

from __future__ import annotations

from rocketchat_sso.testing.model import FakeRequest, FakeResponse, FakeRocketChat, Fault
from rocketchat_sso.testing.responses_transport import mock_rocketchat

__all__ = ["FakeRequest", "FakeResponse", "FakeRocketChat", "Fault", "mock_rocketchat"]
