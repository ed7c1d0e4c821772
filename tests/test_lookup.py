"""The email lookup of each release, against recorded answers (``responses``): bounded paging,
answers that do not carry the address, the version learned once."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import responses

from rocketchat_sso.rocketchat import capabilities, client
from rocketchat_sso.rocketchat.capabilities import Version
from rocketchat_sso.rocketchat.client import RocketChatClient

URL = "https://chat.example.com"
LIST = f"{URL}/api/v1/users.list"
INFO = f"{URL}/api/v1/users.info"
API_INFO = f"{URL}/api/info"


def user(n: int, email: str | None = None) -> dict[str, Any]:
    address = email or f"user{n}@example.com"
    return {"_id": f"id{n:015d}", "username": f"user{n}", "emails": [{"address": address}]}


def page(users: list[dict[str, Any]], total: int, offset: int) -> dict[str, Any]:
    return {"users": users, "count": len(users), "offset": offset, "total": total, "success": True}


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.ROCKETCHAT_SSO_URL = URL


@responses.activate
def test_paging_compares_addresses_without_case_and_stops_at_the_end() -> None:
    responses.get(LIST, json=page([user(0), user(1)], 3, 0))
    responses.get(LIST, json=page([user(2, "Bob@Corp.example")], 3, 2))
    found = RocketChatClient().find_users_by_email(
        "bob@corp.example", path=capabilities.LOOKUP_USERS_LIST_PAGES
    )
    assert [u["_id"] for u in found] == [user(2)["_id"]]
    assert len(responses.calls) == 2
    assert "query" not in responses.calls[0].request.url  # ignored since 7.0, refused in 9.0


@responses.activate
def test_paging_is_bounded_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(client, "LIST_MAX_PAGES", 3)
    for n in range(5):
        responses.get(LIST, json=page([user(n)], 1000, n))
    with caplog.at_level(logging.WARNING):
        found = RocketChatClient().find_users_by_email(
            "nobody@example.com", path=capabilities.LOOKUP_USERS_LIST_PAGES
        )
    assert found == []
    assert len(responses.calls) == 3
    assert "stopped after 3 users.list pages" in caplog.text


@responses.activate
def test_an_answer_without_the_address_is_never_trusted() -> None:
    """A server that ignores the filter (query before 7.0 on a newer server, email= before 8.6
    on users.list) answers other users: none of them is returned."""
    responses.get(LIST, json=page([user(0, "admin@example.com")], 1, 0))
    responses.get(INFO, json={"user": user(1, "someone@example.com"), "success": True})
    rc = RocketChatClient()
    assert rc.find_users_by_email("a@example.com", path=capabilities.LOOKUP_USERS_LIST_QUERY) == []
    assert rc.find_users_by_email("a@example.com", path=capabilities.LOOKUP_USERS_INFO_EMAIL) == []


@responses.activate
def test_an_unknown_version_tries_users_info_then_pages() -> None:
    responses.get(INFO, status=400, json={"success": False, "error": "Invalid search query."})
    responses.get(LIST, json=page([user(0, "a@example.com")], 1, 0))
    found = RocketChatClient().find_users_by_email("A@example.com", path=capabilities.LOOKUP_PROBE)
    assert [u["_id"] for u in found] == [user(0)["_id"]]


@pytest.mark.parametrize(
    "refusal",
    [
        {
            "success": False,
            "error": "must NOT have additional properties [invalid-params]",
            "errorType": "invalid-params",
        },  # validateParams (7.x, 8.0)
        {
            "success": False,
            "errorType": "error-invalid-params",
            "error": "must NOT have additional properties",
        },  # the typed router (later 8.x)
    ],
)
@responses.activate
def test_an_unknown_version_takes_a_schema_refusal_in_either_words(refusal: Any) -> None:
    responses.get(INFO, status=400, json=refusal)
    responses.get(LIST, json=page([user(0, "a@example.com")], 1, 0))
    found = RocketChatClient().find_users_by_email("a@example.com", path=capabilities.LOOKUP_PROBE)
    assert [u["_id"] for u in found] == [user(0)["_id"]]


@responses.activate
def test_the_version_is_asked_once_then_remembered() -> None:
    responses.get(API_INFO, json={"info": {"version": "8.8.1"}, "version": "8.8.1"})
    responses.get(INFO, status=400, json={"success": False, "error": "User not found."})
    assert RocketChatClient().find_users_by_email("a@example.com") == []
    assert RocketChatClient().find_users_by_email("a@example.com") == []
    assert [c.request.url.split("?")[0] for c in responses.calls] == [API_INFO, INFO, INFO]


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("8.8", capabilities.LOOKUP_USERS_INFO_EMAIL),
        ("8.6.0", capabilities.LOOKUP_USERS_INFO_EMAIL),
        ("8.5.3", capabilities.LOOKUP_USERS_LIST_PAGES),
        ("7.0", capabilities.LOOKUP_USERS_LIST_PAGES),
        ("6.13.1", capabilities.LOOKUP_USERS_LIST_QUERY),
        ("", capabilities.LOOKUP_PROBE),
    ],
)
def test_lookup_path_by_version(text: str, path: str) -> None:
    assert capabilities.email_lookup_path(Version(text)) == path
