"""Real-browser fixtures: headless Chromium (Playwright) against the example site and the stand-in.

The site is served by pytest-django's ``live_server`` and Rocket.Chat by the stand-in with its
web client, both on loopback; ``--host-resolver-rules`` gives them real host names, so the
browser applies its site rules: ``www.example.test`` and ``chat.example.test`` are one site
(the recommended deployment), ``localhost`` and ``127.0.0.1`` are two (the demo's), and
``evil.example.test`` is a third origin on the site's own site.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client
from example.standin.chat import ChatRocketChat
from example.standin.serving import chat_server

from rocketchat_sso.testing.server import RocketChatServer, configure_for_site

# Playwright's sync API runs an event loop in the test's thread; the ORM must still work there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP *.example.test 127.0.0.1",
]
VIEWPORT = {"width": 1200, "height": 800}
TIMEOUT_MS = 10_000
SITE_HOST, CHAT_HOST, EVIL_HOST = "www.example.test", "chat.example.test", "evil.example.test"
TOPOLOGIES = {
    "same-site": (SITE_HOST, CHAT_HOST),
    "cross-site": ("localhost", "127.0.0.1"),
}
PASSWORD = "correct horse battery staple"
# A folder to keep pictures of the pages' states in (ROCKETCHAT_SSO_SCREENSHOTS=/tmp/shots).
SCREENSHOTS = os.environ.get("ROCKETCHAT_SSO_SCREENSHOTS", "")


def screenshot(page: Any, name: str) -> None:
    """Keep a picture of what the page shows now, for people to look at (only when asked)."""
    if SCREENSHOTS:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"))


@dataclass
class Deployment:
    """The example site and Rocket.Chat, as the browser reaches them."""

    site: str
    chat: str
    fake: ChatRocketChat
    cross_site: bool

    def url(self, path: str) -> str:
        return self.site + path

    def rocketchat_user(self, username: str) -> dict[str, Any]:
        rc_user = self.fake.user_by_username(username)
        assert rc_user is not None, f"{username} does not exist in Rocket.Chat"
        return rc_user


@pytest.fixture(scope="session")
def live_server(django_db_setup: None) -> Iterator[Any]:
    """pytest-django's live server, started after the test database exists.

    Otherwise pytest, setting up session fixtures first, starts it while the database is still
    ':memory:', and it shares the test's connection across threads, which then close it.
    """
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer(os.environ.get("DJANGO_LIVE_TEST_SERVER_ADDRESS", "localhost"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context, as Chromium ships: it blocks third-party cookies."""
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def context_allowing_third_party_cookies(playwright: Any, tmp_path: Any) -> Iterator[Any]:
    """A profile whose user allowed third-party cookies (Chrome's settings, "Allow all")."""
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    preferences = {"profile": {"cookie_controls_mode": 0}}
    (profile / "Default" / "Preferences").write_text(json.dumps(preferences))
    ctx = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, viewport=VIEWPORT
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def stand_in() -> Iterator[RocketChatServer]:
    fake = ChatRocketChat()
    server = chat_server(fake).start()
    yield server
    server.stop()


@pytest.fixture(params=["same-site"])
def deployment(
    request: pytest.FixtureRequest, live_server: Any, stand_in: RocketChatServer, settings: Any
) -> Deployment:
    """The example site (its URLs and templates) set up with Rocket.Chat as an admin would."""
    site_host, chat_host = TOPOLOGIES[request.param]
    cross_site = request.param == "cross-site"
    site = f"http://{site_host}:{urlsplit(live_server.url).port}"
    chat = f"http://{chat_host}:{stand_in.server_address[1]}"
    settings.ROOT_URLCONF = "example.urls"
    settings.LOGIN_URL = "login"
    settings.LOGIN_REDIRECT_URL = settings.LOGOUT_REDIRECT_URL = "home"
    settings.ROCKETCHAT_SSO_URL = stand_in.url
    settings.ROCKETCHAT_SSO_PUBLIC_URL = chat
    if cross_site:
        settings.SESSION_COOKIE_SAMESITE = "None"
        settings.SESSION_COOKIE_SECURE = True
    configure_for_site(stand_in.fake, site)
    return Deployment(site=site, chat=chat, fake=stand_in.fake, cross_site=cross_site)


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(
        "alice", "alice@example.com", PASSWORD, first_name="Alice", last_name="Liddell"
    )


def log_in(context: Any, deployment: Deployment, user: Any) -> None:
    """Give the browser a session of ``user``.

    Across sites through the login form: Chromium accepts the SameSite=None; Secure cookie
    that http://localhost sets, but not the same cookie handed to it through Playwright.
    """
    if deployment.cross_site:
        page = context.new_page()
        page.goto(deployment.url("/accounts/login/?next=/accounts/login/"))  # not the chat
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        page.close()
        return
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": cookie.value,
                "url": deployment.site,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
