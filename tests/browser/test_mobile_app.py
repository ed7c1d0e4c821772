"""Rocket.Chat's mobile app signs in with the site's account, and stays signed in as it should.

The app is emulated from its source (tests/apps/mobile.py cites each behaviour): its sign-in
WebView opens Rocket.Chat, whose web client shows the loading page; the user logs in to the
site inside the WebView; the loading page hands the app a token of its own; the app logs in
natively after its 3 s debounce and closes the WebView.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rocketchat_sso.models import IssuedToken
from rocketchat_sso.testing.server import RocketChatServer
from tests.apps.mobile import MobileApp
from tests.browser.conftest import PASSWORD, Deployment, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOTH = pytest.mark.parametrize("deployment", ["same-site", "cross-site"], indirect=True)


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def mobile_app(
    browser: Any, deployment: Deployment, stand_in: RocketChatServer, platform: str = "android"
) -> MobileApp:
    return MobileApp(
        platform=platform,
        browser=browser,
        server=deployment.chat,
        rest=stand_in.url,
        settings=dict(deployment.fake.settings),
        resolve={"www.example.test": "127.0.0.1", "chat.example.test": "127.0.0.1"},
    )


def sign_in_on_phone(app: MobileApp, deployment: Deployment, name: str = "phone") -> list[str]:
    """Every step the user takes, from the workspace screen to the app signed in."""
    steps = ["app: tap 'Log in'"]
    page = app.tap_log_in()
    loading_page = page.frame_locator("#rc-login-iframe")
    # Same-site: "Please log in…"; cross-site (third-party cookies blocked): "Your browser
    # asks before the chat may use your login…", which offers the same link beside "Continue".
    state = "continue" if deployment.cross_site else "login"
    link = loading_page.locator(f"[data-state={state}] [data-login-link]")
    expect(link).to_be_visible()
    screenshot(page, f"{name}-1-loading-page")
    steps.append(f"loading page ({state}): tap '{link.inner_text()}'")
    link.click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    steps.append("site's login form: type username and password, tap 'Log in'")
    page.click("button[type=submit]")
    app.wait_for_token()
    # The app's 3 s debounce starts: the page says what happens, and offers nothing to tap.
    expect(page.locator("[data-state=app-signed-in]")).to_be_visible()
    assert page.locator("a:visible, button:visible").count() == 0
    screenshot(page, f"{name}-2-returning")
    url = page.url
    login = app.finish_debounce()
    assert url.startswith(deployment.site), "the WebView stayed on the site's page"
    assert login.status == 200, login
    steps.append("app: signed in (the WebView closes by itself)")
    return steps


@BOTH
@pytest.mark.parametrize("platform", ["android", "ios"])
def test_the_app_signs_in_through_the_loading_page(
    browser: Any, deployment: Deployment, stand_in: RocketChatServer, alice: Any, platform: str
) -> None:
    app = mobile_app(browser, deployment, stand_in, platform)
    steps = sign_in_on_phone(app, deployment, f"mobile-{platform}-{deployment.cross_site}")
    assert len(steps) == 4  # three taps and one form, then the app is in
    rc_user = deployment.rocketchat_user("alice")
    assert app.user_id == rc_user["_id"]
    assert app.token in deployment.fake.tokens_of(rc_user["_id"])
    row = IssuedToken.objects.get(app="mobile")
    assert (row.user_id, row.session_hash, row.ended_at) == (alice.pk, "", None)
    # The app heard the token from the loading page's URL (the page's own post, the injected
    # script's popstate and the navigation itself: the debounce makes them one login).
    assert set(app.events) == {"login-with-token"}
    assert [login.token for login in app.logins] == [app.token]
    # Rocket.Chat calls: the site's (its own client's user agent), the phone's (native).
    agents = [(call.header("user-agent") or "", call.path) for call in deployment.fake.calls]
    site = [path for agent, path in agents if not agent.startswith(("Mozilla", "RC Mobile"))]
    assert site == ["/api/v1/users.create", "/api/v1/login"]  # a new user, then the app's token
    assert [path for agent, path in agents if agent.startswith("RC Mobile")] == ["/api/v1/login"]


def test_the_native_try_iframe_login_gets_no_token_without_the_webview_cookies(
    browser: Any, deployment: Deployment, stand_in: RocketChatServer, alice: Any
) -> None:
    # "I have logged in" posts try-iframe-login to Rocket.Chat's window, where the app's script
    # hears it too. The app's own fetch of the API URL carries no cookie: the endpoint says
    # "log in first" in JSON, which has no `login`/`loginToken`, so the app does nothing.
    app = mobile_app(browser, deployment, stand_in)
    page = app.tap_log_in()
    page.frame_locator("#rc-login-iframe").locator("[data-state=login] [data-retry]").click()
    app.wait_for_event("try-iframe-login")
    assert app.tries[0][0] == 401
    assert app.tries[0][1]["error"] == "not_authenticated"
    assert not app.received.is_set() and app.token is None


def expire_sessions_and_sweep() -> None:
    """The WebView's session expires; the operator's daily cron runs."""
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    call_command("clearsessions")
    call_command("rocketchat_sso_revoke", "--expired")


def test_the_phone_outlives_the_webview_session_and_ends_with_the_password(
    browser: Any, deployment: Deployment, stand_in: RocketChatServer, alice: Any
) -> None:
    app = mobile_app(browser, deployment, stand_in)
    sign_in_on_phone(app, deployment)
    expire_sessions_and_sweep()
    assert not Session.objects.exists()
    assert app.reconnect(), "the phone was signed out with the WebView's session"
    alice.set_password("a new password for alice")
    alice.save()
    assert not app.reconnect(), "the phone stayed signed in after a password change"


def test_the_phone_is_signed_out_when_rocketchat_expires_its_token(
    browser: Any, deployment: Deployment, stand_in: RocketChatServer, alice: Any
) -> None:
    # Accounts_LoginExpiration (90 days by default): the app's token is kept for as long.
    app = mobile_app(browser, deployment, stand_in)
    sign_in_on_phone(app, deployment)
    row = IssuedToken.objects.get(app="mobile")
    assert row.expires_at - row.issued_at == timedelta(days=90)
    later = timezone.now() + timedelta(days=89)
    deployment.fake.now = lambda: later
    assert app.reconnect()
    later = timezone.now() + timedelta(days=91)
    assert not app.reconnect()


def test_the_phone_is_signed_out_by_a_deactivation(
    browser: Any, deployment: Deployment, stand_in: RocketChatServer, alice: Any
) -> None:
    app = mobile_app(browser, deployment, stand_in)
    sign_in_on_phone(app, deployment)
    alice.is_active = False
    alice.save()
    assert not app.reconnect()


def test_the_phone_is_signed_out_of_all_devices_from_the_site(
    browser: Any, deployment: Deployment, stand_in: RocketChatServer, alice: Any
) -> None:
    app = mobile_app(browser, deployment, stand_in)
    sign_in_on_phone(app, deployment)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/rocketchat/login/")  # any page that renders the CSRF token sets its cookie
    csrf = client.cookies["csrftoken"].value
    answer = client.post(
        "/rocketchat/sign-out-everywhere/",
        headers={"Accept": "application/json", "X-CSRFToken": csrf, "Origin": "http://testserver"},
    )
    assert answer.json() == {"signedOut": True}
    assert not app.reconnect()
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()


def log_in_on_the_site(page: Any) -> None:
    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


@pytest.mark.parametrize("deployment", ["cross-site"], indirect=True)
@pytest.mark.parametrize("platform", ["android", "ios"])
def test_continue_to_the_chat_stays_inside_the_app(
    browser: Any, deployment: Deployment, stand_in: RocketChatServer, alice: Any, platform: str
) -> None:
    # "Continue to the chat" on a browser opens the sign-in window (one click). In the app's
    # WebView a window goes where react-native-webview sends it (tests/apps/mobile.py): on
    # Android the system browser, out of the app; on iOS the WebView itself. Either way the user
    # must reach the site's login inside the WebView and end signed in to the app.
    app = mobile_app(browser, deployment, stand_in, platform)
    page = app.tap_log_in()
    loading_page = page.frame_locator("#rc-login-iframe")
    loading_page.locator("[data-state=continue] [data-continue]").click()
    if platform == "ios":
        # The refused storage access took the click's gesture (Chromium consumes it; what
        # WebKit does is not verified here), so no window: the refusal screen. Its "Sign in in
        # a new window" is a gesture of its own: the WebView loads the window's URL itself.
        loading_page.locator("[data-state=refused] [data-handoff]").click()
    log_in_on_the_site(page)
    app.wait_for_token()
    expect(page.locator("[data-state=app-signed-in]")).to_be_visible()
    assert page.url.startswith(deployment.site), "the WebView stayed on the site's page"
    assert app.finish_debounce().status == 200
    assert app.external == [], "the user was sent out of the app"
    # Android: the frame knows it is in the app (the bridge is in every frame) and opens no
    # window; iOS: a frame cannot tell, and the WebView loaded the sign-in window's URL itself.
    windows = [urlsplit(url).path for url in app.loaded_requests]
    assert windows == ([reverse("rocketchat_sso:window")] if platform == "ios" else [])
    assert app.logins and app.user_id == deployment.rocketchat_user("alice")["_id"]


@pytest.mark.parametrize("deployment", ["cross-site"], indirect=True)
def test_the_refusal_screen_keeps_a_way_on_inside_the_app(
    browser: Any,
    deployment: Deployment,
    stand_in: RocketChatServer,
    alice: Any,
) -> None:
    # iOS, where a frame cannot tell it is in the app: "Continue to the chat" without a user
    # gesture (a script's click; also what WebKit does if the gesture does not outlive the
    # refused storage access) opens no window. The refusal screen's "Log in here" stays in the
    # web view and signs the app in.
    app = mobile_app(browser, deployment, stand_in, "ios")
    page = app.tap_log_in()
    loading_page = page.frame_locator("#rc-login-iframe")
    button = loading_page.locator("[data-state=continue] [data-continue]")
    expect(button).to_be_visible()  # the page's script is listening
    button.dispatch_event("click")
    link = loading_page.locator("[data-state=refused] [data-login-link]")
    expect(link).to_be_visible()
    assert link.get_attribute("target") == "_top"
    link.click()
    log_in_on_the_site(page)
    app.wait_for_token()
    assert app.finish_debounce().status == 200
    assert (app.external, app.loaded_requests) == ([], [])
