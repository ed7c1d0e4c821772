"""Rocket.Chat's own logout is respected (RocketChat/Rocket.Chat#28006), in Chromium.

A user who clicks "Log out" inside Rocket.Chat stays out: Rocket.Chat's client asks the token
endpoint at once (``useIframeLoginListener``: ``tryLogin`` on ``_unstoreLoginToken``; the
stand-in's web client does the same), and the site no longer answers with a fresh token. One
click ("Sign in to the chat") or a new login to the site brings the chat back.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Deployment, log_in, screenshot
from tests.browser.test_flows import expect, open_rocketchat, sign_in_embedded

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOTH = pytest.mark.parametrize("deployment", ["same-site", "cross-site"], indirect=True)


def tokens(deployment: Deployment) -> list[str]:
    return list(deployment.fake.tokens_of(deployment.rocketchat_user("alice")["_id"]))


def mints(deployment: Deployment) -> int:
    """Tokens the site got from Rocket.Chat: password logins and users.createToken (the web
    client's own resume logins aside)."""
    logins = deployment.fake.calls_to("/api/v1/login")
    created = deployment.fake.calls_to("/api/v1/users.createToken")
    return len([call for call in logins if b'"resume"' not in call.body]) + len(created)


@pytest.mark.parametrize(
    ("deployment", "browser_context"),
    [("same-site", "context"), ("cross-site", "context_allowing_third_party_cookies")],
    indirect=["deployment"],
)
def test_flow1_logged_out_in_rocketchat_stays_out_until_one_click(
    request: pytest.FixtureRequest, deployment: Deployment, alice: Any, browser_context: str
) -> None:
    context = request.getfixturevalue(browser_context)
    page = open_rocketchat(context, deployment, alice)
    expect(page.locator("#rc-user")).to_have_text("alice")
    minted = mints(deployment)
    page.click("#rc-logout")  # step 1: "Log out" in Rocket.Chat
    loading_page = page.frame_locator("#rc-login-iframe")
    root = loading_page.locator("#rocketchat-sso-login")
    expect(root).to_have_attribute("data-current", "signed-out")
    expect(loading_page.locator("[data-live]")).to_have_text("You signed out of the chat.")
    screenshot(page, "loading-page-signed-out")
    page.reload()  # opening Rocket.Chat again: still out
    expect(root).to_have_attribute("data-current", "signed-out")
    assert tokens(deployment) == []
    assert mints(deployment) == minted  # not one token behind the user's back
    loading_page.locator("[data-sign-in]").click()  # step 2: "Sign in to the chat"
    expect(page.locator("#rc-user")).to_have_text("alice")
    assert len(tokens(deployment)) == 1


@BOTH
def test_flow1_a_new_login_to_the_site_signs_the_chat_in_again(
    request: pytest.FixtureRequest, deployment: Deployment, alice: Any
) -> None:
    context = request.getfixturevalue(
        "context_allowing_third_party_cookies" if deployment.cross_site else "context"
    )
    page = open_rocketchat(context, deployment, alice)
    expect(page.locator("#rc-user")).to_have_text("alice")
    page.click("#rc-logout")
    root = page.frame_locator("#rc-login-iframe").locator("#rocketchat-sso-login")
    expect(root).to_have_attribute("data-current", "signed-out")
    # The site's session ends (expired, or logged out) and the user logs in anew.
    context.clear_cookies()
    log_in(context, deployment, alice)
    page.reload()
    expect(page.locator("#rc-user")).to_have_text("alice")


@BOTH
def test_flow2_logged_out_inside_the_embedded_chat_stays_out_until_one_click(
    request: pytest.FixtureRequest, deployment: Deployment, alice: Any
) -> None:
    deployment.fake.set_setting("Accounts_iframe_enabled", False)  # only the page signs in
    context = request.getfixturevalue("context")
    log_in(context, deployment, alice)
    page = context.new_page()
    chat = sign_in_embedded(page, deployment)
    minted = mints(deployment)
    chat.locator("#rc-logout").click()  # step 1: "Log out" inside the embedded chat
    notice = page.locator(".rocketchat-sso-notice")
    expect(notice).to_have_attribute("data-kind", "signed_out")
    expect(notice).to_contain_text("You signed out of the chat.")
    page.reload()  # the next page of the site: still out
    expect(notice).to_have_attribute("data-kind", "signed_out")
    expect(chat.locator("#rc-login-form")).to_be_visible()
    assert tokens(deployment) == []
    assert mints(deployment) == minted
    screenshot(page, "embed-signed-out")
    notice.locator("button").click()  # step 2: "Sign in to the chat"
    expect(chat.locator("#rc-user")).to_have_text("alice")
    expect(notice).to_be_hidden()


def test_flow2_with_iframe_login_on_the_loading_page_inside_stays_out_too(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    # Rocket.Chat's own tryLogin after the logout meets the same answer inside the frame.
    log_in(context, deployment, alice)
    page = context.new_page()
    chat = sign_in_embedded(page, deployment)
    chat.locator("#rc-logout").click()
    inner = chat.frame_locator("#rc-login-iframe").locator("#rocketchat-sso-login")
    expect(inner).to_have_attribute("data-current", "signed-out")
    expect(page.locator(".rocketchat-sso-notice")).to_have_attribute("data-kind", "signed_out")
    assert tokens(deployment) == []
