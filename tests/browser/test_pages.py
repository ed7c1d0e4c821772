"""The loading page's states as a person meets them inside Rocket.Chat, in headless Chromium."""

from __future__ import annotations

import re
from typing import Any

import pytest

from rocketchat_sso.testing import FakeResponse
from tests.browser.conftest import Deployment, log_in, screenshot
from tests.browser.test_flows import TOKEN_URL_ANY_QUERY, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKEN_PATH = "/rocketchat/token/"


def loading_page_of(page: Any) -> Any:
    return page.frame_locator("#rc-login-iframe")


def test_anonymous_visitor_is_asked_to_log_in_and_can_do_it_by_keyboard(
    context: Any, deployment: Deployment
) -> None:
    page = context.new_page()
    page.goto(deployment.chat + "/home")
    loading_page = loading_page_of(page)
    root = loading_page.locator("#rocketchat-sso-login")
    expect(root).to_have_attribute("data-current", "login")
    expect(loading_page.locator("[data-live]")).to_have_text(
        "Please log in to the site to use the chat."
    )
    page.keyboard.press("Tab")  # Rocket.Chat's page holds only the loading page
    login = loading_page.locator("[data-state=login] [data-login-link]")
    expect(login).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/accounts/login/"))


def test_chat_unavailable_says_why_and_retry_signs_in(
    context: Any, deployment: Deployment, alice: Any, settings: Any
) -> None:
    settings.ROCKETCHAT_SSO_RETRIES = 0
    down = FakeResponse(503, {"success": False, "error": "Service Unavailable"})
    # Both Rocket.Chat's own call and the loading page's find Rocket.Chat's REST API down.
    # A new user's first call is users.create (the address is looked up only when taken).
    deployment.fake.inject(down, path="/api/v1/users.create", times=2)
    log_in(context, deployment, alice)
    page = context.new_page()
    page.goto(deployment.chat + "/home")
    loading_page = loading_page_of(page)
    root = loading_page.locator("#rocketchat-sso-login")
    expect(root).to_have_attribute("data-current", "error")
    expect(root).to_have_attribute("data-reason", "rocketchat_unavailable")
    reason = "The chat server cannot be reached at the moment. Please try again in a minute."
    expect(loading_page.locator("[data-state=error] [data-message]")).to_have_text(reason)
    expect(loading_page.locator("[data-live]")).to_have_text(
        "The chat is unavailable right now. " + reason
    )
    # Rocket.Chat is back. Retry: the page says it is signing in until the token arrives.
    held: list[Any] = []
    page.route(TOKEN_URL_ANY_QUERY, lambda route: held.append(route))
    retry = loading_page.locator("[data-state=error] [data-retry]")
    retry.focus()
    page.keyboard.press("Enter")
    expect(root).to_have_attribute("data-current", "signing-in")
    expect(loading_page.locator("[data-live]")).to_have_text("Signing you in to the chat…")
    [request] = held
    request.continue_()
    expect(page.locator("#rc-user")).to_have_text("alice")


def test_a_token_rocketchat_refuses_is_explained_not_shown_raw(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    log_in(context, deployment, alice)
    page = context.new_page()
    page.route(TOKEN_URL_ANY_QUERY, lambda route: route.fulfill(json={"loginToken": "expired"}))
    page.goto(deployment.chat + "/home")
    loading_page = loading_page_of(page)
    root = loading_page.locator("#rocketchat-sso-login")
    expect(root).to_have_attribute("data-reason", "login_refused")
    message = loading_page.locator("[data-state=error] [data-message]")
    expect(message).to_have_text(re.compile(r"^The chat did not accept the sign-in\."))
    expect(loading_page.locator("[data-state=error]")).not_to_contain_text(
        "logged out by the server"
    )


def test_beyond_rocketchats_rate_limit_sign_in_waits_in_line_by_itself(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    log_in(context, deployment, alice)
    page = context.new_page()
    busy = {"error": "rocketchat_rate_limited", "message": "Rocket.Chat is busy."}
    refused: list[str] = []

    def rate_limited(route: Any) -> None:
        # Rocket.Chat's own call, then the loading page's first: the limiter's answer.
        if len(refused) < 2:
            refused.append(route.request.url)
            route.fulfill(status=503, json=busy, headers={"Retry-After": "2"})
        else:
            route.continue_()

    page.route(TOKEN_URL_ANY_QUERY, rate_limited)
    page.goto(deployment.chat + "/home")
    loading_page = loading_page_of(page)
    root = loading_page.locator("#rocketchat-sso-login")
    expect(root).to_have_attribute("data-current", "queued")
    expect(loading_page.locator("[data-live]")).to_have_text(
        "The chat is very busy: your sign-in is queued and continues by itself."
    )
    expect(loading_page.locator("[data-state=queued] [data-wait]")).to_have_text(re.compile("[12]"))
    screenshot(page, "loading-page-queued")
    expect(page.locator("#rc-user")).to_have_text("alice")  # no click
    assert len(refused) == 2


def test_signing_in_shows_a_spinner_until_the_token_arrives(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    log_in(context, deployment, alice)
    page = context.new_page()
    held: list[Any] = []
    refusal = {"error": "rocketchat_unavailable", "message": "Rocket.Chat is not reachable."}
    # Rocket.Chat's own call fails; the loading page's waits for the test to let it through.
    page.route(
        TOKEN_URL_ANY_QUERY,
        lambda route: (
            held.append(route)
            if "recheck" in route.request.url
            else route.fulfill(status=503, json=refusal)
        ),
    )
    page.goto(deployment.chat + "/home")
    root = loading_page_of(page).locator("#rocketchat-sso-login")
    expect(root).to_have_attribute("data-current", "signing-in")
    screenshot(page, "loading-page-signing-in")
    for _ in range(100):  # the page's token request reaches the route a moment later
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the loading page never asked for its token"
    held[0].continue_()
    expect(page.locator("#rc-user")).to_have_text("alice")
