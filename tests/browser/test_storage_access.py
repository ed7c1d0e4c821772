"""Flow 1 across sites in Chromium's default profile, which blocks third-party cookies.

Rocket.Chat (127.0.0.1) frames the loading page (localhost): the frame gets none of the site's
cookies, so the server sees nobody. The page asks for storage access (the Storage Access API):
at once where it was granted before, on one click the first time. Chromium lets automation
answer its prompt per browser context over CDP (``Browser.setPermission``), keyed by the
top-level origin with the embedded origin beside it (../shared/browser-testing.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from rocketchat_sso.models import RocketChatAccount
from tests.browser.conftest import Deployment, log_in, screenshot
from tests.browser.test_flows import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CROSS_SITE = pytest.mark.parametrize("deployment", ["cross-site"], indirect=True)


def answer_storage_access(context: Any, page: Any, deployment: Deployment, setting: str) -> None:
    """Answer Chromium's storage-access prompt for the site framed by Rocket.Chat."""
    cdp = context.new_cdp_session(page)
    browser_context_id = cdp.send("Target.getTargetInfo")["targetInfo"]["browserContextId"]
    cdp.send(
        "Browser.setPermission",
        {
            "permission": {"name": "storage-access"},
            "setting": setting,
            "origin": deployment.chat,
            "embeddedOrigin": deployment.site,
            "browserContextId": browser_context_id,
        },
    )
    # Keep the session: Chromium drops a session's permission overrides when it detaches.
    context.rocketchat_sso_cdp = cdp


def loading_page_of(page: Any) -> Any:
    return page.frame_locator("#rc-login-iframe")


@CROSS_SITE
def test_signed_in_to_the_site_rocketchat_signs_in_after_one_click(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    log_in(context, deployment, alice)
    page = context.new_page()
    page.goto(deployment.chat + "/home")
    loading_page = loading_page_of(page)
    root = loading_page.locator("#rocketchat-sso-login")
    expect(root).to_have_attribute("data-current", "continue")
    expect(loading_page.locator("[data-live]")).to_contain_text(
        "Your browser asks before the chat may use your login on localhost."
    )
    screenshot(page, "loading-page-continue")
    assert RocketChatAccount.objects.count() == 0  # nothing happened behind the user's back
    answer_storage_access(context, page, deployment, "granted")  # the user accepts the prompt
    loading_page.locator("[data-continue]").click()
    expect(page.locator("#rc-user")).to_have_text("alice")
    assert page.locator("#rc-login-iframe").count() == 0
    # The next visit needs no click: the grant is remembered, the loading page uses it at once.
    page.evaluate("localStorage.clear()")  # as if Rocket.Chat had forgotten the login
    page.reload()
    expect(page.locator("#rc-user")).to_have_text("alice")


@CROSS_SITE
def test_a_grant_from_before_signs_in_without_a_click(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    log_in(context, deployment, alice)
    page = context.new_page()
    page.goto("about:blank")
    answer_storage_access(context, page, deployment, "granted")
    page.goto(deployment.chat + "/home")
    expect(page.locator("#rc-user")).to_have_text("alice")


@CROSS_SITE
def test_logged_out_of_the_site_the_grant_leads_to_the_login_and_back_without_a_loop(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    from tests.browser.conftest import PASSWORD

    page = context.new_page()
    page.goto(deployment.chat + "/home")
    loading_page = loading_page_of(page)
    root = loading_page.locator("#rocketchat-sso-login")
    expect(root).to_have_attribute("data-current", "continue")
    answer_storage_access(context, page, deployment, "granted")
    loading_page.locator("[data-continue]").click()
    expect(root).to_have_attribute("data-current", "login")  # really logged out: say so
    loading_page.locator("[data-state=login] [data-login-link]").click()
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#rc-user")).to_have_text("alice")  # back in Rocket.Chat, signed in


# A popup blocker: window.open answers null (as it does where the browser blocks the window).
BLOCK_POPUPS = "window.open = () => null;"


@CROSS_SITE
def test_when_the_browser_refuses_and_blocks_the_window_the_page_says_what_to_do(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    log_in(context, deployment, alice)
    context.add_init_script(BLOCK_POPUPS)
    page = context.new_page()
    page.goto(deployment.chat + "/home")
    loading_page = loading_page_of(page)
    root = loading_page.locator("#rocketchat-sso-login")
    expect(root).to_have_attribute("data-current", "continue")
    answer_storage_access(context, page, deployment, "denied")  # the user says no
    loading_page.locator("[data-continue]").click()
    expect(root).to_have_attribute("data-current", "refused")
    expect(loading_page.locator("[data-live]")).to_have_text(
        "Your browser did not let the chat use your login on localhost. Open the chat from "
        "localhost, or allow cookies of localhost in your browser's settings and try again."
    )
    link = loading_page.locator("[data-state=refused] [data-site-link]")
    expect(link).to_have_attribute("href", deployment.site + "/")
    screenshot(page, "loading-page-refused")
    page.wait_for_timeout(500)
    expect(root).to_have_attribute("data-current", "refused")  # it stays: no loop
    assert RocketChatAccount.objects.count() == 0


@CROSS_SITE
def test_refused_the_same_click_opens_a_window_of_the_site_that_hands_the_token_back(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    # Issue 19: "Continue", refused, "Sign in in a new window" was two clicks. Chromium refuses
    # without a prompt and leaves the click's activation to open a popup: one click.
    log_in(context, deployment, alice)
    page = context.new_page()
    page.goto(deployment.chat + "/home")
    loading_page = loading_page_of(page)
    answer_storage_access(context, page, deployment, "denied")
    expect(loading_page.locator("#rocketchat-sso-login")).to_have_attribute(
        "data-current", "continue"
    )
    with page.expect_popup() as popup:
        loading_page.locator("[data-continue]").click()  # the one click
    popup.value.wait_for_event("close")
    expect(page.locator("#rc-user")).to_have_text("alice")


# A popup blocker that lets each frame's second window through (a click of its own).
BLOCK_FIRST_POPUP = """(() => {
  const open = window.open.bind(window);
  let blocked = 1;
  window.open = (...args) => (blocked-- > 0 ? null : open(...args));
})();"""


@CROSS_SITE
def test_refused_with_the_window_blocked_the_second_click_opens_it(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    log_in(context, deployment, alice)
    context.add_init_script(BLOCK_FIRST_POPUP)
    page = context.new_page()
    page.goto(deployment.chat + "/home")
    loading_page = loading_page_of(page)
    answer_storage_access(context, page, deployment, "denied")
    root = loading_page.locator("#rocketchat-sso-login")
    expect(root).to_have_attribute("data-current", "continue")
    loading_page.locator("[data-continue]").click()
    expect(root).to_have_attribute("data-current", "refused")
    with page.expect_popup() as popup:
        loading_page.locator("[data-state=refused] [data-handoff]").click()
    popup.value.wait_for_event("close")
    expect(page.locator("#rc-user")).to_have_text("alice")


# A browser without the Storage Access API that keeps third-party cookies from frames.
NO_STORAGE_ACCESS_API = (
    "delete Document.prototype.hasStorageAccess; delete Document.prototype.requestStorageAccess;"
)


@CROSS_SITE
def test_without_the_storage_access_api_one_click_opens_the_window(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    # It cannot tell blocked cookies from a logged-out user: the window signs in either way,
    # where the site's login in the top window would come back to the same blind frame.
    log_in(context, deployment, alice)
    context.add_init_script(NO_STORAGE_ACCESS_API)
    page = context.new_page()
    page.goto(deployment.chat + "/home")
    loading_page = loading_page_of(page)
    expect(loading_page.locator("#rocketchat-sso-login")).to_have_attribute(
        "data-current", "continue"
    )
    with page.expect_popup() as popup:
        loading_page.locator("[data-continue]").click()  # the one click
    popup.value.wait_for_event("close")
    expect(page.locator("#rc-user")).to_have_text("alice")
