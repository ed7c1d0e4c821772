"""Only the loading page may be framed, and only by the site itself and Rocket.Chat's origin.

The browser side is in tests/browser (a third origin's frame gets Chromium's error page); here,
the headers every page sends.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from rocketchat_sso.testing import FakeRocketChat

pytestmark = pytest.mark.django_db

LOADING_PAGE = "rocketchat_sso:login"
OTHER_PAGES = ["rocketchat_sso:token", "admin:index", "admin:login"]


def frame_ancestors(response: Any) -> list[str]:
    policy = response.get("Content-Security-Policy", "")
    match = re.search(r"frame-ancestors ([^;]*)", policy)
    assert match, policy
    return match.group(1).split()


@pytest.mark.parametrize(
    "public_url",
    [
        "https://chat.example.com",
        "https://chat.example.com/",
        "https://chat.example.com:443/rocketchat/",
        "https://CHAT.example.com/home?layout=embedded",
    ],
)
@pytest.mark.parametrize("signed_in", [False, True])
def test_loading_page_names_exactly_the_site_and_rocketchats_origin(
    client: Client, user: Any, public_url: str, signed_in: bool
) -> None:
    if signed_in:
        client.force_login(user)
    with override_settings(ROCKETCHAT_SSO_PUBLIC_URL=public_url):
        response = client.get(reverse(LOADING_PAGE))
    assert response.status_code == 200
    assert frame_ancestors(response) == ["'self'", "https://chat.example.com"]
    assert "X-Frame-Options" not in response
    assert len(response.headers.get("Content-Security-Policy", "").split(",")) == 1


@pytest.mark.parametrize("site_policy", ["DENY", "SAMEORIGIN"])
@pytest.mark.parametrize("url_name", OTHER_PAGES)
def test_every_other_page_keeps_the_sites_x_frame_options(
    rocketchat: FakeRocketChat, client: Client, user: Any, site_policy: str, url_name: str
) -> None:
    client.force_login(user)
    with override_settings(X_FRAME_OPTIONS=site_policy):
        response = client.get(reverse(url_name), headers={"Origin": "https://chat.example.com"})
        loading_page = client.get(reverse(LOADING_PAGE))
    assert response["X-Frame-Options"] == site_policy
    assert "frame-ancestors" not in response.get("Content-Security-Policy", "")
    assert "X-Frame-Options" not in loading_page
