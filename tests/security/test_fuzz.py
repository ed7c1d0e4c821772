"""Property-based fuzzing of the token endpoint (hypothesis).

Whatever arrives (any method, odd headers, junk in the query and body, users whose names and
addresses Rocket.Chat would refuse) and whatever Rocket.Chat answers, the endpoint never fails
with a 500, always answers JSON, and only ever gives CORS answers to Rocket.Chat's origin.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.testing import FakeResponse, FakeRocketChat, Fault, mock_rocketchat

pytestmark = pytest.mark.django_db

RC_ORIGIN = "https://chat.example.com"
RC_URL = "https://chat.example.com"
TOKEN_URL = "/rocketchat/token/"
USERNAME_RE = re.compile(r"[0-9a-zA-Z._-]+")  # Rocket.Chat's default UTF8_User_Names_Validation
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CASES: Counter[str] = Counter()  # examples run per property, reported at the end


@pytest.fixture(scope="module", autouse=True)
def report_counts() -> Iterator[None]:
    yield
    print(f"\nfuzz cases run: {dict(CASES)}, total {sum(CASES.values())}")


def rolled_back() -> Any:
    """Each example in a savepoint rolled back after it: examples don't see each other's rows."""

    class _RolledBack:
        def __enter__(self) -> None:
            self.atomic = transaction.atomic()
            self.atomic.__enter__()

        def __exit__(self, *exc: Any) -> None:
            transaction.set_rollback(True)
            self.atomic.__exit__(*exc)

    return _RolledBack()


def assert_json_answer(response: Any, *, preflight: bool = False, head: bool = False) -> None:
    """Never a 500; JSON with a stable ``error`` code (a CORS preflight has an empty body)."""
    assert response.status_code < 500 or response.status_code in (502, 503, 504)
    if preflight:
        assert response.status_code == 200 and response.content == b""
        return
    assert response["Content-Type"] == "application/json", (response.status_code, response)
    if head:
        return
    body = json.loads(response.content)
    if response.status_code == 200:
        assert list(body) == ["loginToken"]
    else:
        assert isinstance(body["error"], str) and body["error"]


# -- 1. the request: method, headers, query string, body ----------------------------------

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND"]
ORIGINS = st.one_of(
    st.none(),
    st.sampled_from(
        [
            RC_ORIGIN,
            "http://testserver",
            "null",
            "https://evil.example.com",
            "https://chat.example.com.evil.test",
            "https://chat.example.com:8443",
            "http://chat.example.com",
            "https://CHAT.example.com",
            "https://chat.example.com/",
            "",
        ]
    ),
    st.text(string.printable, max_size=40),
)
CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data",  # no boundary
            "multipart/form-data; boundary=",
            "text/plain",
            "application/json; charset=nonsense",
        ]
    ),
    st.text(string.printable, max_size=30),
)
HEADER_VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40)


@settings(FUZZ, max_examples=600)
@given(
    method=st.sampled_from(METHODS),
    origin=ORIGINS,
    content_type=CONTENT_TYPES,
    preflight_method=st.one_of(st.none(), st.sampled_from(["POST", "GET", "DELETE"]), HEADER_VALUE),
    extra=st.dictionaries(
        st.sampled_from(["Accept", "X-Requested-With", "Cookie", "Referer", "X-Forwarded-Host"]),
        HEADER_VALUE,
        max_size=3,
    ),
    query=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3),
    body=st.binary(max_size=200),
    signed_in=st.booleans(),
)
def test_any_request_gets_a_json_answer(
    rocketchat: FakeRocketChat,
    user: Any,
    method: str,
    origin: str | None,
    content_type: str | None,
    preflight_method: str | None,
    extra: dict[str, str],
    query: dict[str, str],
    body: bytes,
    signed_in: bool,
) -> None:
    CASES["request"] += 1
    client = Client()
    if signed_in:
        client.force_login(user)
    headers = dict(extra)
    if origin is not None:
        headers["Origin"] = origin
    if preflight_method is not None:
        headers["Access-Control-Request-Method"] = preflight_method
    if content_type is not None:
        headers["Content-Type"] = content_type
    path = TOKEN_URL + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    with rolled_back():
        response = client.generic(method, path, body, headers=headers)
    preflight = method == "OPTIONS" and preflight_method is not None
    assert_json_answer(response, preflight=preflight, head=method == "HEAD")
    if origin == RC_ORIGIN:
        assert response["Access-Control-Allow-Origin"] == RC_ORIGIN
    else:
        assert not any(h.lower().startswith("access-control-") for h in response.headers)
    if response.status_code == 200 and not preflight and method != "HEAD":
        assert signed_in and origin in (None, RC_ORIGIN, "http://testserver")


# -- 2. odd user data --------------------------------------------------------------------------

ODD_TEXT = st.one_of(
    st.text(max_size=80),  # any unicode: emoji, right-to-left, combining marks, controls
    st.sampled_from(["", " ", "...", "admin", "a" * 300, "<script>", "50%", "../..", "日本語"]),
)
EMAILS = st.one_of(
    st.emails(),
    st.builds(lambda local: f"{local}@example.com", st.text("abcdefghij.", min_size=200)),
    ODD_TEXT,
)


def storable(text: str) -> str:
    """What the database can hold: PostgreSQL (unlike SQLite) refuses NUL characters in text.

    Such a user cannot exist there (Django's forms refuse NUL everywhere); the field lengths
    above are enforced by PostgreSQL and ignored by SQLite alike.
    """
    return text.replace("\x00", "") if connection.vendor == "postgresql" else text


@settings(FUZZ, max_examples=300)
@given(username=ODD_TEXT, email=EMAILS, first_name=ODD_TEXT, last_name=ODD_TEXT)
def test_odd_user_data_never_breaks_the_endpoint(
    django_user_model: Any, username: str, email: str, first_name: str, last_name: str
) -> None:
    CASES["user data"] += 1
    with mock_rocketchat(RC_URL) as fake, rolled_back():
        user = django_user_model.objects.create(
            username=storable(username[:150]) or "x",
            email=storable(email[:254]),
            first_name=storable(first_name[:150]),
            last_name=storable(last_name[:150]),
        )
        client = Client()
        client.force_login(user)
        response = client.post(TOKEN_URL)
        assert_json_answer(response)
        if response.status_code == 200:
            account = RocketChatAccount.objects.get(user=user)
            rc_user = fake.user_by_id(account.rocketchat_user_id)
            assert rc_user is not None
            assert USERNAME_RE.fullmatch(rc_user["username"])
            assert not re.search(r"[<>\\/]", rc_user["name"])
            assert response.json()["loginToken"] in fake.tokens_of(rc_user["_id"])


# -- 3. whatever Rocket.Chat answers -------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
RC_KEYS = ["success", "user", "users", "data", "_id", "username", "authToken", "userId"]
RC_KEYS += ["emails", "error", "errorType", "status", "active", "roles"]
RC_BODIES = st.one_of(
    JSON_VALUES,
    st.dictionaries(st.sampled_from(RC_KEYS), JSON_VALUES, max_size=5),
    st.fixed_dictionaries(
        {"success": st.just(True)},
        optional={
            "user": st.dictionaries(st.sampled_from(RC_KEYS), JSON_VALUES, max_size=5),
            "users": st.lists(st.dictionaries(st.sampled_from(RC_KEYS), JSON_VALUES), max_size=2),
            "data": st.dictionaries(st.sampled_from(RC_KEYS), JSON_VALUES, max_size=3),
        },
    ),
)
PATHS = [f"/api/v1/{name}" for name in ("users.list", "users.info", "users.create", "login")]
PATHS.append("/api/v1/users.update")


@settings(FUZZ, max_examples=300)
@given(
    path=st.sampled_from(PATHS),
    status=st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 409, 429, 500]),
    body=RC_BODIES,
    transport=st.sampled_from([None, *Fault]),
    linked=st.booleans(),
)
def test_whatever_rocketchat_answers_the_endpoint_answers_json(
    user: Any, path: str, status: int, body: Any, transport: Fault | None, linked: bool
) -> None:
    CASES["Rocket.Chat answer"] += 1
    client = Client()
    client.force_login(user)
    with mock_rocketchat(RC_URL) as fake, rolled_back():
        if linked:
            assert client.post(TOKEN_URL).status_code == 200
        fake.inject(transport or FakeResponse(status, body), path=path)
        assert_json_answer(client.post(TOKEN_URL))
        fake.clear_faults()
        assert client.post(TOKEN_URL).status_code == 200  # and it recovers
