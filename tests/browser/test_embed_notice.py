"""The notice over the embedded chat: what a person sees when the sign-in does not happen.

Rocket.Chat down, slow, refusing the token, beyond its rate limit, and the site's session gone:
each shows a short message over the frame with a way on, and clears once Rocket.Chat reports
the user signed in. The script gives Rocket.Chat 10 s before it calls a chat slow or a sign-in
refused; Playwright's clock skips that wait.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Deployment, log_in, screenshot
from tests.browser.test_flows import TOKEN_URL_ANY_QUERY, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOTICE = ".rocketchat-sso-notice"
TIMEOUT_MS = 10_000
SIGNED_IN = """() => RocketChatSSO.get('chat').signedIn({timeout: 2000}).then(
    chat => 'signed in', error => error.reason)"""


def open_embedded(context: Any, deployment: Deployment, user: Any, **goto: Any) -> Any:
    deployment.fake.set_setting("Accounts_iframe_enabled", False)  # only the page signs in
    log_in(context, deployment, user)
    page = context.new_page()
    page.clock.install()
    page.goto(deployment.url("/"), **goto)
    return page


def test_rocketchat_down_says_so_and_retry_signs_in_once_it_is_back(
    context: Any, deployment: Deployment, alice: Any, settings: Any, stand_in: Any
) -> None:
    settings.ROCKETCHAT_SSO_RETRIES = 0
    settings.ROCKETCHAT_SSO_URL = "http://127.0.0.1:9"  # nothing listens: the site's calls fail
    log_in(context, deployment, alice)
    page = context.new_page()
    page.route(deployment.chat + "/**", lambda route: route.abort("connectionrefused"))
    deployment.fake.set_setting("Accounts_iframe_enabled", False)
    page.goto(deployment.url("/"))
    notice = page.locator(NOTICE)
    expect(notice).to_be_visible()
    expect(notice).to_have_attribute("data-kind", "unavailable")
    expect(notice).to_have_attribute("data-reason", "rocketchat_unavailable")
    expect(notice).to_contain_text("The chat is unavailable right now.")
    expect(notice).to_have_attribute("role", "status")
    # It covers the frame (to the pixel: offsets are whole pixels).
    frame_box, notice_box = page.locator("#chat").bounding_box(), notice.bounding_box()
    assert all(abs(frame_box[edge] - notice_box[edge]) < 1 for edge in frame_box)
    screenshot(page, "embed-unavailable")
    # Rocket.Chat is back.
    settings.ROCKETCHAT_SSO_URL = stand_in.url
    page.unroute(deployment.chat + "/**")
    notice.get_by_role("button", name="Try again").click()
    expect(page.frame_locator("#chat").locator("#rc-user")).to_have_text("alice")
    expect(notice).to_be_hidden()


def test_a_slow_rocketchat_is_called_slow_and_the_notice_clears_when_it_signs_in(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    held: list[Any] = []
    context.route(f"{deployment.chat}/home*", lambda route: held.append(route))
    page = open_embedded(context, deployment, alice, wait_until="domcontentloaded")
    notice = page.locator(NOTICE)
    page.wait_for_function("() => window.RocketChatSSO && RocketChatSSO.chats().length === 1")
    page.clock.run_for(TIMEOUT_MS + 500)
    expect(notice).to_have_attribute("data-kind", "slow")
    expect(notice).to_have_text("The chat is taking long to load.Try again")
    screenshot(page, "embed-slow")
    held[0].continue_()  # it arrives after all
    expect(page.frame_locator("#chat").locator("#rc-user")).to_have_text("alice")
    expect(notice).to_be_hidden()


def test_rocketchat_refusing_the_token_is_explained_and_retry_gets_a_checked_one(
    context: Any, deployment: Deployment, alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rechecked: list[str] = []
    # Rocket.Chat's web client (in the frame) has its resume logins (the DDP login method)
    # refused until the retry has asked the site to check the token: a re-post still on its way
    # must not sign in before.
    accept = deployment.fake.user_id_for_resume_token
    monkeypatch.setattr(
        deployment.fake,
        "user_id_for_resume_token",
        lambda token: accept(token) if rechecked else None,
    )
    page = open_embedded(context, deployment, alice)
    chat = page.frame_locator("#chat")
    expect(chat.locator("#rc-login-form")).to_be_visible()
    # Rocket.Chat may have said 'startup' before the deferred script listened (two busy cores):
    # start the chat again so the script surely hears from it.
    page.evaluate("document.getElementById('chat').src += ''")
    # Heard from, and the token posted: the refusal's 10 s run from the post (a token still on
    # its way on two busy cores re-arms the timer after the clock has run).
    page.wait_for_function(
        "() => RocketChatSSO.get('chat').heard && RocketChatSSO.get('chat').posted"
    )
    page.clock.run_for(TIMEOUT_MS + 500)
    notice = page.locator(NOTICE)
    expect(notice).to_have_attribute("data-kind", "refused")
    expect(notice).to_contain_text("The chat did not accept the sign-in.")
    screenshot(page, "embed-refused")
    page.on("request", lambda r: rechecked.append(r.url) if "recheck=1" in r.url else None)
    with page.expect_request(lambda r: "recheck=1" in r.url):  # the token is checked first
        notice.get_by_role("button", name="Try again").click()
    expect(chat.locator("#rc-user")).to_have_text("alice")
    expect(notice).to_be_hidden()


def test_beyond_the_rate_limit_the_embed_waits_in_line_and_signed_in_waits_too(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    busy = {"error": "rocketchat_rate_limited", "message": "Rocket.Chat is busy."}
    answers: list[int] = []

    def rate_limited(route: Any) -> None:
        if not answers:
            answers.append(503)
            route.fulfill(status=503, json=busy, headers={"Retry-After": "3"})
        else:
            answers.append(200)
            route.continue_()

    context.route(TOKEN_URL_ANY_QUERY, rate_limited)
    deployment.fake.set_setting("Accounts_iframe_enabled", False)
    log_in(context, deployment, alice)
    page = context.new_page()
    page.goto(deployment.url("/"))
    notice = page.locator(NOTICE)
    expect(notice).to_have_attribute("data-kind", "queued")
    expect(notice).to_have_text(
        "The chat is very busy: your sign-in is queued and continues by itself."
    )
    screenshot(page, "embed-queued")
    # signedIn() with a timeout shorter than the wait (3 s and up to 1 s of jitter): waiting in
    # line is not a failure; the timeout runs from when the token went to Rocket.Chat.
    assert page.evaluate(SIGNED_IN) == "signed in"
    expect(page.frame_locator("#chat").locator("#rc-user")).to_have_text("alice")
    expect(notice).to_be_hidden()
    assert answers == [503, 200]


def test_a_session_gone_asks_to_log_in_and_comes_back_here(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    refusal = {"error": "not_authenticated", "message": "Log in to the site first."}
    context.route(TOKEN_URL_ANY_QUERY, lambda route: route.fulfill(status=401, json=refusal))
    page = open_embedded(context, deployment, alice)
    notice = page.locator(NOTICE)
    expect(notice).to_have_attribute("data-kind", "login")
    expect(notice).to_contain_text("Please log in to the site to use the chat.")
    link = notice.get_by_role("link", name="Log in")
    expect(link).to_have_attribute("href", "/accounts/login/?next=%2F")
    screenshot(page, "embed-login")


@pytest.mark.parametrize("deployment", ["cross-site"], indirect=True)
def test_one_notice_at_a_time_nothing_of_the_frame_shows_through(
    context: Any, deployment: Deployment, alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rocket.Chat refusing the sign-in shows the loading page in the frame (its own notice)
    and, over the frame, the embed's: only the embed's may be seen, not the other through it."""
    monkeypatch.setattr(deployment.fake, "user_id_for_resume_token", lambda token: None)
    log_in(context, deployment, alice)
    page = context.new_page()
    page.clock.install()
    page.goto(deployment.url("/"))
    # The frame shows the loading page with its own notice (Rocket.Chat's iframe login failed).
    loading_page = page.frame_locator("#chat").frame_locator("#rc-login-iframe")
    expect(loading_page.locator("section:not([hidden]) p").first).to_be_visible()
    page.wait_for_function("() => RocketChatSSO.get('chat').posted")
    page.clock.run_for(TIMEOUT_MS + 500)
    notice = page.locator(NOTICE)
    expect(notice).to_have_attribute("data-kind", "refused")
    box = notice.bounding_box()
    assert box is not None
    with_frame = page.screenshot(clip=box, animations="disabled")
    page.evaluate("document.getElementById('chat').style.visibility = 'hidden'")
    without_frame = page.screenshot(clip=box, animations="disabled")
    screenshot(page, "embed-refused-over-loading-page")
    assert with_frame == without_frame  # the notice alone: the frame's notice is not seen
