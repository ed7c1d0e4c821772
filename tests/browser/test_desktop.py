"""Flow 1 in Rocket.Chat's desktop app (tests/apps/desktop.py), same-site and cross-site.

Each test names the steps a user takes. None may send the user out of the app: the windows the
app would hand to the system browser are recorded (``app.external``) and must stay empty, also
under the stricter handler of the app's pull request 3088 (``authentication_rule``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.apps.desktop import DesktopApp, user_agent
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    TIMEOUT_MS,
    VIEWPORT,
    Deployment,
    screenshot,
)
from tests.browser.test_flows import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CROSS_SITE = pytest.mark.parametrize("deployment", ["cross-site"], indirect=True)
BOTH = pytest.mark.parametrize("deployment", ["same-site", "cross-site"], indirect=True)
RULES = pytest.mark.parametrize(
    "authentication_rule", [False, True], ids=["release-4.15.6", "pull-request-3088"]
)


@pytest.fixture
def electron_user_agent(browser: Any) -> str:
    return user_agent(browser.version)


@pytest.fixture
def webview(browser: Any, electron_user_agent: str) -> Iterator[Any]:
    """The server's webview session, third-party cookies blocked (Chromium's default)."""
    ctx = browser.new_context(viewport=VIEWPORT, user_agent=electron_user_agent)
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def webview_allowing_third_party_cookies(
    playwright: Any, tmp_path: Any, electron_user_agent: str
) -> Iterator[Any]:
    """The webview session where third-party cookies go along (Electron's default, unverified)."""
    profile = tmp_path / "electron-profile"
    (profile / "Default").mkdir(parents=True)
    preferences = {"profile": {"cookie_controls_mode": 0}}
    (profile / "Default" / "Preferences").write_text(json.dumps(preferences))
    ctx = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        viewport=VIEWPORT,
        user_agent=electron_user_agent,
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


def log_in_to_the_site(page: Any, username: str = "alice") -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def log_in_inside_the_app(context: Any, deployment: Deployment) -> None:
    """The user logged in to the site in the app once (the session lives in its partition)."""
    page = context.new_page()
    page.goto(deployment.url("/accounts/login/?next=/accounts/login/"))
    with page.expect_navigation():
        log_in_to_the_site(page)
    page.close()


def start_app(context: Any, deployment: Deployment, *, authentication_rule: bool) -> DesktopApp:
    app = DesktopApp.attach(context, deployment.chat, authentication_rule=authentication_rule)
    blank = context.new_page()
    blank.goto("about:blank")
    app.refuse_storage_access(blank, deployment.site)
    return app


def loading_page_url(page: Any) -> str:
    return str(page.locator("#rc-login-iframe").get_attribute("src"))


@BOTH
@RULES
def test_signed_in_to_the_site_the_app_signs_in_without_a_click(
    request: pytest.FixtureRequest, deployment: Deployment, alice: Any, authentication_rule: bool
) -> None:
    # Same site: the Lax cookie goes along. Across sites: where Electron lets third-party
    # cookies go along (its default as far as known), the SameSite=None cookie does.
    context = request.getfixturevalue(
        "webview_allowing_third_party_cookies" if deployment.cross_site else "webview"
    )
    app = start_app(context, deployment, authentication_rule=authentication_rule)
    log_in_inside_the_app(context, deployment)
    page = app.open()
    expect(page.locator("#rc-user")).to_have_text("alice")  # steps: open the app; no click
    assert app.external == []


@BOTH
@RULES
def test_signed_out_the_loading_page_login_stays_in_the_app(
    webview: Any, deployment: Deployment, alice: Any, authentication_rule: bool
) -> None:
    app = start_app(webview, deployment, authentication_rule=authentication_rule)
    page = app.open()
    assert "client=electron" in loading_page_url(page)  # Rocket.Chat added it (useIframe.ts)
    loading_page = page.frame_locator("#rc-login-iframe")
    root = loading_page.locator("#rocketchat-sso-login")
    if deployment.cross_site:
        # Third-party cookies blocked: the frame cannot tell; it offers the sign-in window.
        expect(root).to_have_attribute("data-current", "continue")
        with page.expect_popup() as popup_info:
            loading_page.locator("[data-continue]").click()  # step 1: "Continue to the chat"
        popup = popup_info.value  # a window of the app (disposition new-window)
        popup.wait_for_selector("#id_username")
        with popup.expect_navigation():
            log_in_to_the_site(popup)  # step 2: the site's login form, in that window
        # Django's login page cuts the window's opener (Cross-Origin-Opener-Policy): it says
        # "close this window and continue in the chat".
        expect(popup.locator("#rocketchat-sso-login")).to_have_attribute(
            "data-current", "handoff-done"
        )
        popup.close()  # step 3: close it
        with page.expect_popup() as again:
            loading_page.locator("[data-continue]").click()  # step 4: "Continue" again
        again.value.wait_for_event("close")
    else:
        expect(root).to_have_attribute("data-current", "login")
        loading_page.locator("[data-state=login] [data-login-link]").click()  # step 1: Log in
        log_in_to_the_site(page)  # step 2: the site's form, in the app's own window
    expect(page.locator("#rc-user")).to_have_text("alice")
    screenshot(page, f"desktop-signed-in-{'cross' if deployment.cross_site else 'same'}-site")
    assert app.external == []


@CROSS_SITE
@RULES
def test_cross_site_third_party_cookies_blocked_one_click_in_a_window_of_the_app(
    webview: Any, deployment: Deployment, alice: Any, authentication_rule: bool
) -> None:
    app = start_app(webview, deployment, authentication_rule=authentication_rule)
    log_in_inside_the_app(webview, deployment)
    page = app.open()
    loading_page = page.frame_locator("#rc-login-iframe")
    root = loading_page.locator("#rocketchat-sso-login")
    expect(root).to_have_attribute("data-current", "continue")
    # The link that would open the site in a tab (the system browser) is not offered.
    expect(loading_page.locator("[data-site-link]")).to_be_hidden()
    with page.expect_popup() as popup_info:
        loading_page.locator("[data-continue]").click()  # the one click
    popup_info.value.wait_for_event("close")  # it handed the token over and closed
    expect(page.locator("#rc-user")).to_have_text("alice")
    assert app.external == []


@CROSS_SITE
def test_the_app_sends_tabs_to_the_system_browser(
    webview: Any, deployment: Deployment, alice: Any
) -> None:
    # The emulation itself: what the loading page avoids would indeed leave the app.
    app = start_app(webview, deployment, authentication_rule=True)
    page = app.open()
    frame = page.frame_locator("#rc-login-iframe").locator("body")
    expect(frame).to_be_visible()
    page.evaluate("window.open('/home')")
    page.evaluate("window.open('/login-help', 'x', 'popup')")
    assert [(w["disposition"], w["url"].rsplit("/", 1)[1]) for w in app.external] == [
        ("foreground-tab", "home"),
        ("new-window", "login-help"),
    ]


@BOTH
def test_logged_out_in_the_app_stays_out_until_one_click(
    request: pytest.FixtureRequest, deployment: Deployment, alice: Any
) -> None:
    context = request.getfixturevalue(
        "webview_allowing_third_party_cookies" if deployment.cross_site else "webview"
    )
    app = start_app(context, deployment, authentication_rule=True)
    log_in_inside_the_app(context, deployment)
    page = app.open()
    expect(page.locator("#rc-user")).to_have_text("alice")
    page.click("#rc-logout")  # step 1: "Log out" in the app
    loading_page = page.frame_locator("#rc-login-iframe")
    root = loading_page.locator("#rocketchat-sso-login")
    expect(root).to_have_attribute("data-current", "signed-out")
    assert "client=electron" in loading_page_url(page)
    page.reload()  # the app reopened: still out
    expect(root).to_have_attribute("data-current", "signed-out")
    loading_page.locator("[data-sign-in]").click()  # step 2: "Sign in to the chat"
    expect(page.locator("#rc-user")).to_have_text("alice")
    assert app.external == []
