"""Only Rocket.Chat's exact origin (and the site's own) may get tokens; nothing else gets CORS.

Browsers enforce CORS on what the server answers: a response without
``Access-Control-Allow-Origin`` for the page's origin cannot be read by that page. So every
answer to a foreign origin, whatever the method, session or outcome, must lack CORS headers,
and the endpoint refuses before doing any work.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rocketchat_sso.testing import FakeRocketChat, Fault

pytestmark = pytest.mark.django_db

RC_ORIGIN = "https://chat.example.com"
FOREIGN_ORIGINS = [
    "https://evil.example.com",
    "null",  # sandboxed iframes, file: pages, some redirects
    "https://chat.example.com.evil.test",  # look-alike: our host as a prefix
    "https://evilchat.example.com",  # look-alike: our host as a suffix
    "https://chat.example.co",
    "https://chat.example.com:8443",  # other port
    "http://chat.example.com",  # other scheme
    "https://chat.example.com:443.evil.test",
    "https://user@chat.example.com",
    "https://chat.example.com/",  # not an origin a browser sends: no guessing either
    "https://xn--cht-8cd.example.com",  # a homograph, as browsers send it (punycode)
    "http://testserver:8000",  # the site's own host on another port
    "http://testserver.evil.test",
    "",
]
CORS_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Expose-Headers",
)


def cors_headers(response: Any) -> list[str]:
    return [name for name in CORS_HEADERS if name in response]


@pytest.fixture(params=["anonymous", "signed in"])
def browser(request: pytest.FixtureRequest, user: Any) -> Client:
    client = Client()
    if request.param == "signed in":
        client.force_login(user)
    return client


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_foreign_origin_is_refused_without_cors(
    rocketchat: FakeRocketChat, browser: Client, origin: str, method: str
) -> None:
    response = browser.generic(method, reverse("rocketchat_sso:token"), headers={"Origin": origin})
    assert response.status_code == 403
    assert response.json()["error"] == "origin_not_allowed"
    assert cors_headers(response) == []
    assert rocketchat.calls == []  # refused before any work


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
@pytest.mark.parametrize("requested", ["POST", "GET", "PUT"])
def test_foreign_preflight_gets_no_cors(browser: Client, origin: str, requested: str) -> None:
    response = browser.options(
        reverse("rocketchat_sso:token"),
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": requested,
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert cors_headers(response) == []


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "DELETE"])
def test_foreign_origin_gets_no_cors_on_refused_methods(
    browser: Client, origin: str, method: str
) -> None:
    response = browser.generic(method, reverse("rocketchat_sso:token"), headers={"Origin": origin})
    assert response.status_code == 405
    assert cors_headers(response) == []


@pytest.mark.parametrize("origin", [*FOREIGN_ORIGINS, RC_ORIGIN])
@pytest.mark.parametrize("url_name", ["rocketchat_sso:login", "admin:index"])
def test_no_cors_anywhere_but_the_token_endpoint(
    browser: Client, origin: str, url_name: str
) -> None:
    for response in (
        browser.get(reverse(url_name), headers={"Origin": origin}),
        browser.options(
            reverse(url_name), headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
        ),
    ):
        assert cors_headers(response) == []


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_rocketchat_origin_gets_cors_even_on_errors(
    rocketchat: FakeRocketChat, browser: Client, method: str
) -> None:
    """So Rocket.Chat's client can read why it got no token (401 anonymous, 503 here for the
    signed-in user) and show the loading page."""
    rocketchat.inject(Fault.CONNECTION_REFUSED, times=10)
    response = browser.generic(
        method, reverse("rocketchat_sso:token"), headers={"Origin": RC_ORIGIN}
    )
    assert response.status_code in (401, 503)
    assert response["Access-Control-Allow-Origin"] == RC_ORIGIN
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert response["Content-Type"] == "application/json"
