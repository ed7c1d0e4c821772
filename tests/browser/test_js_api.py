"""The embed script's promises: sign-in confirmed by Rocket.Chat or a reason; logout that sticks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Deployment, log_in
from tests.browser.test_flows import TOKEN_URL_ANY_QUERY, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHORT_TIMEOUT_MS = 1500
OUTCOME = """options => RocketChatSSO.get('chat').signedIn(options).then(
    chat => ({resolved: chat.iframe.id}),
    error => ({reason: error.reason, message: error.message})
)"""
CALLBACK_OUTCOME = """() => new Promise(done => RocketChatSSO.signedIn(
    (error, chats) => done(error ? error.reason : chats.map(chat => chat.iframe.id))
))"""


def open_embedded(context: Any, deployment: Deployment, user: Any) -> Any:
    deployment.fake.set_setting("Accounts_iframe_enabled", False)  # only the page signs in
    log_in(context, deployment, user)
    page = context.new_page()
    page.goto(deployment.url("/"))
    return page


def test_sign_in_resolves_when_rocketchat_reports_it(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    page = open_embedded(context, deployment, alice)
    assert page.evaluate(OUTCOME, {"timeout": 5000}) == {"resolved": "chat"}
    expect(page.frame_locator("#chat").locator("#rc-user")).to_have_text("alice")
    # Asked again once signed in: at once, and through the callback form as well.
    assert page.evaluate(CALLBACK_OUTCOME) == ["chat"]


def test_with_send_disabled_sign_in_rejects_naming_the_setting(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    deployment.fake.set_setting("Iframe_Integration_send_enable", False)
    page = open_embedded(context, deployment, alice)
    outcome = page.evaluate(OUTCOME, {"timeout": SHORT_TIMEOUT_MS})
    assert outcome["reason"] == "send_disabled"
    assert "turn on Iframe_Integration_send_enable" in outcome["message"]
    assert f"Iframe_Integration_send_target_origin to {deployment.site}" in outcome["message"]


def test_with_this_origin_not_in_the_receive_list_sign_in_rejects_naming_it(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    deployment.fake.set_setting("Iframe_Integration_receive_origin", "https://intranet.example")
    page = open_embedded(context, deployment, alice)
    # Rocket.Chat may have sent 'startup' before the deferred script listened (the test site is
    # served on two busy cores): start the chat again so the script surely hears it.
    with page.expect_event("framenavigated"):
        page.evaluate("document.getElementById('chat').src += ''")
    outcome = page.evaluate(OUTCOME, {"timeout": SHORT_TIMEOUT_MS})
    assert outcome["reason"] == "not_confirmed"
    assert f"Iframe_Integration_receive_origin lists {deployment.site}" in outcome["message"]


def test_a_token_the_site_refuses_rejects_at_once_with_the_endpoints_answer(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    refusal = {"error": "rocketchat_unavailable", "message": "Rocket.Chat is not reachable."}
    context.route(TOKEN_URL_ANY_QUERY, lambda route: route.fulfill(status=503, json=refusal))
    page = open_embedded(context, deployment, alice)
    outcome = page.evaluate(OUTCOME, {"timeout": 60_000})  # no waiting for the timeout
    assert outcome == {
        "reason": "token_refused",
        "message": "The site's token endpoint refused a token (503 rocketchat_unavailable): "
        "Rocket.Chat is not reachable..",
    }


STORED_TOKEN = "() => localStorage.getItem('Meteor.loginToken')"


def test_logout_revokes_the_token_even_where_rocketchat_ignores_the_command(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    # Rocket.Chat signs itself in (flow 1) but takes no commands from the page: the 'logout'
    # command is dropped, and only the site's revocation ends the chat session.
    deployment.fake.set_setting("Iframe_Integration_receive_enable", False)
    log_in(context, deployment, alice)
    page = context.new_page()
    page.goto(deployment.url("/"))
    chat = page.frame_locator("#chat")
    expect(chat.locator("#rc-user")).to_have_text("alice")
    token = chat.locator("body").evaluate(STORED_TOKEN)
    user_id = deployment.rocketchat_user("alice")["_id"]
    assert token in deployment.fake.tokens_of(user_id)
    assert deployment.rocketchat_user("alice")["status"] == "online"
    # Keep Rocket.Chat from signing the user straight back in (they are still logged in to
    # the site, and iframe login is on) to see what the revocation alone did.
    refusal = {"error": "not_authenticated", "message": "Log in to the site first."}
    context.route(TOKEN_URL_ANY_QUERY, lambda route: route.fulfill(status=401, json=refusal))
    assert page.evaluate("RocketChatSSO.logout()") == [{"revoked": True}]
    assert token not in deployment.fake.tokens_of(user_id)  # dead at Rocket.Chat
    assert deployment.rocketchat_user("alice")["status"] == "offline"  # not shown online
    # Rocket.Chat notices on its next call and shows the loading page.
    expect(chat.frame_locator("#rc-login-iframe").locator("[data-state=login]")).to_be_visible()


def test_logout_signs_the_embedded_chat_out_and_revokes(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    page = open_embedded(context, deployment, alice)
    chat = page.frame_locator("#chat")
    assert page.evaluate(OUTCOME, {"timeout": 5000}) == {"resolved": "chat"}
    token = chat.locator("body").evaluate(STORED_TOKEN)
    outcome = page.evaluate("RocketChatSSO.get('chat').logout()")
    expect(chat.locator("#rc-login-form")).to_be_visible()
    assert token not in deployment.fake.tokens_of(deployment.rocketchat_user("alice")["_id"])
    # Whichever revoked it first, Rocket.Chat's logout or the site's, it is revoked.
    assert outcome == {"revoked": True}
