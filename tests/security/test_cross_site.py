"""The token endpoint changes state (it may create the Rocket.Chat user, set their password,
mint a token): another site's page must not make the browser call it (issue 12, finding 5).

An ``<img src=".../rocketchat/token/?recheck=1">`` on another site sends no ``Origin``, with
``Sec-Fetch-Site: cross-site`` (or ``same-site`` from a sibling subdomain).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from rocketchat_sso.testing import FakeRocketChat

pytestmark = pytest.mark.django_db

TOKEN_URL = "/rocketchat/token/"
RC_ORIGIN = "https://chat.example.com"


@pytest.mark.parametrize("site", ["cross-site", "same-site", "Cross-Site"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_another_sites_request_without_origin_is_refused(
    rocketchat: FakeRocketChat, signed_in: Client, site: str, method: str
) -> None:
    response = signed_in.generic(
        method,
        TOKEN_URL + "?recheck=1",
        headers={"Sec-Fetch-Site": site, "Sec-Fetch-Dest": "image"},
    )
    assert response.status_code == 403
    assert response.json()["error"] == "cross_site_request"
    assert rocketchat.calls == []  # no user created, no password set, no token


@pytest.mark.parametrize("site", ["same-origin", "none", None])
def test_the_sites_own_requests_are_answered(
    rocketchat: FakeRocketChat, signed_in: Client, site: str | None
) -> None:
    headers = {"Sec-Fetch-Site": site} if site else {}
    response = signed_in.post(TOKEN_URL, headers=headers)
    assert response.status_code == 200
    assert "loginToken" in response.json()


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_rocketchats_fetch_carries_origin_and_is_answered(
    rocketchat: FakeRocketChat, signed_in: Client, site: str
) -> None:
    response = signed_in.get(TOKEN_URL, headers={"Origin": RC_ORIGIN, "Sec-Fetch-Site": site})
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == RC_ORIGIN


def test_the_views_comment_no_longer_says_nothing_changes_state() -> None:
    import inspect

    from rocketchat_sso.web import views

    assert "nothing here changes state" not in inspect.getsource(views)


def test_anonymous_cross_site_is_refused_too(rocketchat: FakeRocketChat, client: Any) -> None:
    response = client.get(TOKEN_URL, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
