"""Both ways of iframe login, end to end in headless Chromium, and what must not work."""

from __future__ import annotations

import re
from typing import Any

import pytest

from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.testing import FakeResponse
from tests.browser.conftest import EVIL_HOST, PASSWORD, Deployment, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CROSS_SITE = pytest.mark.parametrize("deployment", ["cross-site"], indirect=True)
BOTH = pytest.mark.parametrize("deployment", ["same-site", "cross-site"], indirect=True)
EVIL = f"http://{EVIL_HOST}"
STORED_TOKEN = "localStorage.getItem('Meteor.loginToken')"

# The token endpoint with or without a query (the loading page adds ?recheck=1).
TOKEN_URL_ANY_QUERY = re.compile(r".*/rocketchat/token/(\?.*)?$")


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def serve_evil_page(page: Any, html: str) -> None:
    """A page on a third origin; Playwright answers for it, no server needed."""
    page.route(f"{EVIL}/**", lambda route: route.fulfill(body=html, content_type="text/html"))


def open_rocketchat(context: Any, deployment: Deployment, user: Any) -> Any:
    """Log ``user`` in to the site, then open Rocket.Chat itself (flow 1)."""
    log_in(context, deployment, user)
    page = context.new_page()
    page.goto(deployment.chat + "/home")
    return page


def sign_in_embedded(page: Any, deployment: Deployment) -> Any:
    """Open the example's home page and wait until the embedded chat is signed in (flow 2)."""
    page.goto(deployment.url("/"))
    chat = page.frame_locator("#chat")
    expect(chat.locator("#rc-user")).to_have_text("alice")
    return chat


# -- 1. Flow 1: Rocket.Chat calls the site's token endpoint with the browser's cookies ----------


@pytest.mark.parametrize(
    ("deployment", "browser_context"),
    [("same-site", "context"), ("cross-site", "context_allowing_third_party_cookies")],
    indirect=["deployment"],
)
def test_flow1_rocketchat_signs_in_with_the_site_session(
    request: pytest.FixtureRequest, deployment: Deployment, alice: Any, browser_context: str
) -> None:
    # Across sites: SameSite=None; Secure (accepted from http://localhost) and a user who
    # allows third-party cookies.
    page = open_rocketchat(request.getfixturevalue(browser_context), deployment, alice)
    expect(page.locator("#rc-user")).to_have_text("alice")
    token = page.evaluate(STORED_TOKEN)  # kept as Meteor keeps it
    assert token in deployment.fake.tokens_of(deployment.rocketchat_user("alice")["_id"])


# Across sites in the default profile (third-party cookies blocked): test_storage_access.py.


def test_rocketchat_calls_the_token_endpoint_on_every_load_even_signed_in(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    # As Rocket.Chat's useIframeLoginListener does (example/standin/static/webclient.js cites
    # it): the site's endpoint must stay cheap for a session that already has a token.
    page = open_rocketchat(context, deployment, alice)
    expect(page.locator("#rc-user")).to_have_text("alice")
    assert page.evaluate(STORED_TOKEN)
    with page.expect_request(TOKEN_URL_ANY_QUERY):
        page.reload()
    expect(page.locator("#rc-user")).to_have_text("alice")


# -- 2. Flow 1 through the loading page, starting logged out of the site -----------------------


@BOTH
def test_flow1_through_the_loading_page_login(
    request: pytest.FixtureRequest, deployment: Deployment, alice: Any
) -> None:
    name = "context_allowing_third_party_cookies" if deployment.cross_site else "context"
    page = request.getfixturevalue(name).new_page()
    page.goto(deployment.chat + "/home")
    loading_page = page.frame_locator("#rc-login-iframe")
    loading_page.locator("[data-state=login] [data-login-link]").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    # Back on the loading page as a top-level page, which goes on to Rocket.Chat.
    page.wait_for_url(re.compile(re.escape(deployment.chat)))
    expect(page.locator("#rc-user")).to_have_text("alice")


def test_loading_page_hands_rocketchat_the_token_itself(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    # Rocket.Chat's own call fails (its first REST call refused), so it shows the loading page;
    # the loading page fetches a token and posts it to Rocket.Chat.
    deployment.fake.inject(FakeResponse(401, {"success": False}), path="/api/v1/users.create")
    page = open_rocketchat(context, deployment, alice)
    expect(page.locator("#rc-user")).to_have_text("alice")
    assert page.locator("#rc-login-iframe").count() == 0
    assert len(deployment.fake.calls_to("/api/v1/users.create")) == 2  # refused, then made


# -- 3. Flow 2: the site's page signs the embedded chat in and hears its events ----------------


@BOTH
def test_flow2_embedded_chat_signs_in_and_feeds_the_unread_badge(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    deployment.fake.set_setting("Accounts_iframe_enabled", False)  # only the page can sign in
    deployment.fake.add_user("bob", "bob@example.com", "Bob")
    log_in(context, deployment, alice)
    page = context.new_page()
    sign_in_embedded(page, deployment)
    badge = page.locator("#unread-badge")
    expect(badge).to_be_hidden()
    deployment.fake.post_message("bob", "@alice", "Hello Alice")
    expect(badge).to_have_text("1")
    expect(page).to_have_title(re.compile(r"^\(1\) "))


def test_script_running_after_the_chat_started_still_signs_it_in(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    deployment.fake.set_setting("Accounts_iframe_enabled", False)
    log_in(context, deployment, alice)
    page = context.new_page()
    held: list[Any] = []  # the script, as rendered (its configuration on its tag), arrives late
    page.route("**/rocketchat-sso.js", lambda route: held.append(route))
    page.goto(deployment.url("/"), wait_until="commit")
    chat = page.frame_locator("#chat")
    expect(chat.locator("#rc-login-form")).to_be_visible()  # loaded, 'startup' already sent
    held[0].continue_()
    expect(chat.locator("#rc-user")).to_have_text("alice")


def test_logging_out_of_the_site_signs_the_embedded_chat_out(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    deployment.fake.set_setting("Accounts_iframe_enabled", False)
    log_in(context, deployment, alice)
    page = context.new_page()
    chat = sign_in_embedded(page, deployment)
    user_id = deployment.rocketchat_user("alice")["_id"]
    assert deployment.fake.tokens_of(user_id)
    page.click("#site-logout")
    expect(page.locator("#site-login")).to_be_visible()
    expect(chat.locator("#rc-login-form")).to_be_visible()
    assert deployment.fake.tokens_of(user_id) == []  # Meteor's logout revoked it


def test_anonymous_page_shows_the_loading_page_inside_the_chat_and_comes_back(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    # site page > Rocket.Chat > loading page: frame-ancestors must allow the site itself too.
    page = context.new_page()
    page.goto(deployment.url("/"))
    loading_page = page.frame_locator("#chat").frame_locator("#rc-login-iframe")
    login = loading_page.locator("[data-state=login] [data-login-link]")
    expect(login).to_have_attribute("href", "/accounts/login/?next=%2F")  # back to this page
    login.click()
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(deployment.url("/"))
    expect(page.frame_locator("#chat").locator("#rc-user")).to_have_text("alice")


def test_a_session_that_ended_meanwhile_signs_the_chat_out(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    deployment.fake.set_setting("Accounts_iframe_enabled", False)
    log_in(context, deployment, alice)
    page = context.new_page()
    chat = sign_in_embedded(page, deployment)
    # The page was rendered for a signed-in user, but the token endpoint now says 401.
    refusal = {"error": "not_authenticated", "message": "Log in to the site first."}
    page.route(TOKEN_URL_ANY_QUERY, lambda route: route.fulfill(status=401, json=refusal))
    page.add_init_script(
        "document.addEventListener('rocketchat:sso-error', e => { window.ssoError = e.detail; });"
    )
    page.reload()
    expect(chat.locator("#rc-login-form")).to_be_visible()
    assert page.evaluate("window.ssoError") == {"status": 401, **refusal}
    assert deployment.fake.tokens_of(deployment.rocketchat_user("alice")["_id"]) == []


# -- 4. What a third origin cannot do ---------------------------------------------------------


def test_other_origin_cannot_read_a_token(context: Any, deployment: Deployment, alice: Any) -> None:
    log_in(context, deployment, alice)  # evil.example.test is same-site: the cookie goes along
    page = context.new_page()
    serve_evil_page(page, "<!doctype html><title>evil</title>")
    page.goto(EVIL + "/")
    steal = """async (url) => {
        try {
            const response = await fetch(url, {method: 'POST', credentials: 'include'});
            return 'read: ' + await response.text();
        } catch (error) {
            return 'blocked';
        }
    }"""
    token_url = deployment.url("/rocketchat/token/")
    with page.expect_request(token_url):
        assert page.evaluate(steal, token_url) == "blocked"  # CORS: the answer stays unread
    # Unreadable answers can still have effects: the endpoint refuses the origin before any.
    opaque = """url => fetch(url, {method: 'POST', credentials: 'include', mode: 'no-cors'})
        .then(() => 'opaque', () => 'blocked')"""
    with page.expect_request(token_url):
        page.evaluate(opaque, token_url)
    assert deployment.fake.calls_to("/api/v1/login") == []  # no token was ever made
    assert RocketChatAccount.objects.count() == 0


def test_other_origin_cannot_frame_the_loading_page(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    log_in(context, deployment, alice)
    page = context.new_page()
    loading_page = deployment.url("/rocketchat/login/")
    serve_evil_page(page, f'<!doctype html><iframe id="victim" src="{loading_page}"></iframe>')
    with page.expect_request(loading_page):
        page.goto(EVIL + "/")
    page.wait_for_load_state()
    # frame-ancestors names only the site and Rocket.Chat (Rocket.Chat frames it in the
    # loading-page tests): the frame holds Chromium's error page and the page's script never ran.
    assert [frame.url for frame in page.frames] == [EVIL + "/", "chrome-error://chromewebdata/"]
    assert deployment.fake.calls_to("/api/v1/login") == []


def test_messages_from_other_origins_are_ignored(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    deployment.fake.set_setting("Accounts_iframe_enabled", False)
    deployment.fake.add_user("bob", "bob@example.com", "Bob")
    log_in(context, deployment, alice)
    page = context.new_page()
    chat = sign_in_embedded(page, deployment)
    token = chat.locator("body").evaluate(f"() => {STORED_TOKEN}")
    # Another frame on the page (an ad, say) fakes Rocket.Chat's events to the page and sends
    # commands to the chat; the page's script and Rocket.Chat both ignore its origin.
    serve_evil_page(
        page,
        """<!doctype html><script>
        parent.postMessage({eventName: 'unread-changed', data: 42}, '*');
        parent.frames[0].postMessage({externalCommand: 'logout'}, '*');
        </script>""",
    )
    add_frame = """url => document.body.appendChild(
        Object.assign(document.createElement('iframe'), {src: url}))"""
    with page.expect_console_message(lambda message: "Origin not allowed" in message.text):
        page.evaluate(add_frame, EVIL + "/ad")
    expect(page.locator("#unread-badge")).to_be_hidden()
    page.evaluate("RocketChatSSO.go('/channel/general')")  # queued behind the fake logout
    expect(chat.locator("#rc-room-title")).to_have_text("#general")
    expect(chat.locator("#rc-user")).to_have_text("alice")
    assert token in deployment.fake.tokens_of(deployment.rocketchat_user("alice")["_id"])
    deployment.fake.post_message("bob", "@alice", "Still there?")
    expect(page.locator("#unread-badge")).to_have_text("1")
