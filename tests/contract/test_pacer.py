"""The contract harness's pacer against the stand-in's limiter: one clock per route, from the
server's start (Meteor's RateLimiter), so the run's own count cannot tell when a window ends."""

from __future__ import annotations

from datetime import timedelta

from rocketchat_sso.rocketchat.capabilities import Version
from rocketchat_sso.testing import FakeRocketChat
from rocketchat_sso.testing.server import RocketChatServer
from tests.contract.plugin import DEFAULT_LIMIT, Live, Pacer
from tests.testing.helpers import Clock

PASSWORD = "Secret-123!"


def test_the_pacer_follows_the_servers_window_not_its_own(
    rocketchat_server: RocketChatServer,
) -> None:
    clock = Clock()
    started = clock.moment
    rocketchat_server.fake = fake = FakeRocketChat(now=clock)  # limiter at its defaults
    fake.add_user("bob", "bob@example.com", name="Bob", password=PASSWORD)
    pacer = Pacer(DEFAULT_LIMIT, clock=lambda: clock.moment.timestamp(),
                  sleep=lambda seconds: clock.advance(seconds=seconds))  # fmt: skip
    live = Live(url=rocketchat_server.url, admin_user_id="", admin_token="",
                version=Version("8.8.1"), stand_in=True, create_tokens=False,
                create_token_secret="", pacer=pacer)  # fmt: skip
    client = live.client(user_id="", auth_token="", rate_limit_wait=0)

    def logins(count: int) -> None:
        for _ in range(count):
            client.login(username="bob", password=PASSWORD)

    # The run's first login 30 s after the server started: its own count would open a window
    # there and end it at 90 s; the server's rule resets at the first call 60 s after its start.
    clock.advance(seconds=30)
    logins(9)
    clock.advance(seconds=31)  # 61 s: the server resets here, one call counted
    logins(1)
    clock.advance(seconds=1)
    logins(10)  # 9 fit in the server's window (to 121 s); the 10th waits for it, not for 90.5 s

    answered = [call.path for call in fake.calls]
    assert answered == ["/api/v1/login"] * 20  # each sent once: no 429 was ever answered
    assert round(pacer.waited, 1) == 59.5  # from 62 s to 121.5 s, the server's reset and 0.5
    assert clock.moment - started == timedelta(seconds=121.5)
