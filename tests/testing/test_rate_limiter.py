"""Rocket.Chat's REST rate limiter at its defaults (ApiClass.ts ``enforceRateLimit``).

On by default at 10 calls per 60,000 ms on every versioned route, per client address and
route+method; callers with ``api-bypass-rate-limit`` (admin, bot, app) skip it; login never does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from rocketchat_sso.testing import (
    RELEASES,
    FakeRequest,
    FakeResponse,
    FakeRocketChat,
    mock_rocketchat,
)
from tests.testing.helpers import BASE, PASSWORD, Api, Clock

LIMIT, WINDOW_MS = 10, 60_000
TOO_MANY = (
    "Error, too many requests. Please slow down. You must wait {seconds} seconds before trying "
    "this endpoint again. [error-too-many-requests]"
)


@pytest.fixture(params=sorted(RELEASES))
def clock(request: pytest.FixtureRequest) -> Iterator[Clock]:
    """Each release's stand-in at its defaults, with a clock the test moves."""
    moment = Clock()
    with mock_rocketchat(BASE, version=str(request.param), now=moment):
        yield moment


@pytest.fixture
def api(clock: Clock) -> Api:
    return Api()


def login_status(api: Api, **headers: str) -> int:
    body = {"user": "bob", "password": PASSWORD}
    return api.post("/api/v1/login", body, auth=headers or None).status_code


def test_defaults_are_on_at_10_per_minute() -> None:
    fake = FakeRocketChat()
    assert fake.settings["API_Enable_Rate_Limiter"] is True
    assert fake.settings["API_Enable_Rate_Limiter_Limit_Calls_Default"] == LIMIT
    assert fake.settings["API_Enable_Rate_Limiter_Limit_Time_Default"] == WINDOW_MS


def test_login_allows_10_a_minute_then_429(api: Api, clock: Clock) -> None:
    api.create()
    start_ms = int(clock().timestamp() * 1000)
    body = {"user": "bob", "password": PASSWORD}
    first = api.post("/api/v1/login", body, auth=None)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit"] == str(LIMIT)
    assert first.headers["x-ratelimit-remaining"] == str(LIMIT - 1)
    assert first.headers["x-ratelimit-reset"] == str(start_ms + WINDOW_MS)  # epoch ms
    assert [login_status(api) for _ in range(LIMIT - 1)] == [200] * (LIMIT - 1)
    clock.advance(seconds=15)
    limited = api.post("/api/v1/login", body, auth=None)
    assert limited.status_code == 429
    assert limited.json() == {"success": False, "error": TOO_MANY.format(seconds=45)}
    assert "retry-after" not in limited.headers
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert limited.headers["x-ratelimit-reset"] == str(start_ms + WINDOW_MS)
    clock.advance(seconds=45)
    assert login_status(api) == 200  # a new window


def test_failed_logins_count_too(api: Api) -> None:
    statuses = [
        api.post("/api/v1/login", {"user": "x", "password": "y"}, auth=None).status_code
        for _ in range(LIMIT + 1)
    ]
    assert statuses == [401] * LIMIT + [429]


def test_every_route_has_its_own_bucket_for_user_tokens(api: Api) -> None:
    api.create()
    user = api.login()
    me = [api.get("/api/v1/me", auth=user).status_code for _ in range(LIMIT + 1)]
    assert me == [200] * LIMIT + [429]
    assert api.get("/api/v1/users.info", {"username": "bob"}, auth=user).status_code == 200
    assert api.post("/api/v1/logout", auth=user).status_code == 200


def test_admin_bot_and_app_roles_bypass_it_but_not_at_login(api: Api) -> None:
    assert {api.get("/api/v1/me").status_code for _ in range(LIMIT + 5)} == {200}
    for role in ("bot", "app"):
        api.create(role, roles=[role])
        caller = api.login(role)
        assert {api.get("/api/v1/me", auth=caller).status_code for _ in range(LIMIT + 5)} == {200}
    # The logins above (2) plus these: the login route never knows its caller.
    statuses = [login_status(api) for _ in range(LIMIT)]
    assert statuses.count(429) == 2


def test_unauthenticated_calls_are_refused_before_they_are_counted(api: Api) -> None:
    """ApiClass.ts answers 401 before enforceRateLimit: a bad token spends nothing."""
    bad = {"X-User-Id": "nobody", "X-Auth-Token": "nothing"}
    assert {api.get("/api/v1/me", auth=bad).status_code for _ in range(LIMIT + 5)} == {401}
    api.create()
    assert api.get("/api/v1/me", auth=api.login()).status_code == 200


def test_api_info_is_not_versioned_so_not_limited(api: Api) -> None:
    assert {api.get("/api/info", auth=None).status_code for _ in range(LIMIT + 5)} == {200}


def test_x_real_ip_names_the_client(api: Api) -> None:
    for _ in range(LIMIT):
        assert login_status(api, **{"X-Real-IP": "203.0.113.7"}) == 401
    assert login_status(api, **{"X-Real-IP": "203.0.113.7"}) == 429
    assert login_status(api, **{"X-Real-IP": "203.0.113.8"}) == 401
    assert login_status(api) == 401  # the socket's own address: another bucket


def test_x_forwarded_for_counts_only_with_http_forwarded_count() -> None:
    fake = FakeRocketChat(http_forwarded_count=1)
    chain = {"x-forwarded-for": "198.51.100.1, 203.0.113.9"}
    assert fake.client_address(FakeRequest("GET", "/", headers=chain, client="10.0.0.1")) == (
        "203.0.113.9"
    )
    assert FakeRocketChat().client_address(
        FakeRequest("GET", "/", headers=chain, client="10.0.0.1")
    ) == ("10.0.0.1")
    two = FakeRocketChat(http_forwarded_count=2)
    assert two.client_address(FakeRequest("GET", "/", headers=chain)) == "198.51.100.1"
    three = FakeRocketChat(http_forwarded_count=3)
    assert three.client_address(FakeRequest("GET", "/", headers=chain, client="10.0.0.1")) == (
        "10.0.0.1"
    )
    real = {**chain, "x-real-ip": "192.0.2.5"}
    assert FakeRocketChat().client_address(FakeRequest("GET", "/", headers=real)) == "192.0.2.5"


def test_per_client_buckets_and_the_switch() -> None:
    fake = FakeRocketChat()
    body = json.dumps({"user": "x", "password": "y"}).encode()

    def login(client: str) -> int:
        result = fake.handle(FakeRequest("POST", "/api/v1/login", body=body, client=client))
        assert isinstance(result, FakeResponse)
        return result.status

    assert [login("10.0.0.1") for _ in range(LIMIT + 1)][-1] == 429
    assert login("10.0.0.2") == 401
    fake.set_setting("API_Enable_Rate_Limiter", False)
    assert login("10.0.0.1") == 401
    assert FakeRocketChat(rate_limiter=False).settings["API_Enable_Rate_Limiter"] is False


def test_the_limits_follow_the_settings() -> None:
    clock = Clock()
    with mock_rocketchat(BASE, now=clock) as fake:
        fake.set_setting("API_Enable_Rate_Limiter_Limit_Calls_Default", 2)
        fake.set_setting("API_Enable_Rate_Limiter_Limit_Time_Default", 1000)
        api = Api()
        assert [login_status(api) for _ in range(3)] == [401, 401, 429]
        clock.advance(seconds=1)
        assert login_status(api) == 401


def test_settings_routes_share_one_bucket() -> None:
    """The limiter keys on the route pattern: every settings/:_id is one route."""
    with mock_rocketchat(BASE) as fake:
        api = Api()
        api.create()
        user = api.login()
        statuses = [
            api.get(f"/api/v1/settings/Setting_{n}", auth=user).status_code
            for n in range(LIMIT + 1)
        ]
        assert statuses == [403] * LIMIT + [429]
        assert fake.settings["API_Enable_Rate_Limiter"] is True


def test_a_routes_counters_reset_together_on_the_rules_clock(api: Api, clock: Clock) -> None:
    """Meteor's RateLimiter keeps one clock per rule (one rule per route, from the server's
    start) and resets every client's counter at once when it runs out: a client's window ends
    when the route's does, not a minute after its own first call."""
    start_ms = int(clock().timestamp() * 1000)  # the stand-in started now: the rule's clock
    body = {"user": "nobody", "password": "x"}
    clock.advance(seconds=50)
    late = {"X-Real-IP": "203.0.113.20"}
    first = api.post("/api/v1/login", body, auth=late)
    assert first.headers["x-ratelimit-reset"] == str(start_ms + WINDOW_MS)  # not now + 60 s
    assert [login_status(api, **late) for _ in range(LIMIT)] == [401] * (LIMIT - 1) + [429]
    refused = api.post("/api/v1/login", body, auth=late)
    assert refused.json()["error"] == TOO_MANY.format(seconds=10)
    clock.advance(seconds=10)  # the rule's minute is up: everyone starts over
    assert [login_status(api, **late) for _ in range(LIMIT)] == [401] * LIMIT
    assert login_status(api, **late) == 429
    other = {"X-Real-IP": "203.0.113.21"}
    clock.advance(seconds=30)
    assert [login_status(api, **other) for _ in range(LIMIT)] == [401] * LIMIT
    clock.advance(seconds=31)  # 61 s after the reset: both clients' counters are gone
    assert login_status(api, **late) == 401
    assert login_status(api, **other) == 401
