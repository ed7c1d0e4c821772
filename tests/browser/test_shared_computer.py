"""The shared computer (issue 12, finding 2), in Chromium.

Alice uses the chat, her token-cache entry expires, she logs out of the site (on a page without
the chat, so no script signs the chat out), and Bob logs in on the same browser profile. When
he opens Rocket.Chat (flow 1) or the site's embedded chat (flow 2), he must see his own chat:
Rocket.Chat's web client resumes the login token it stored, which was Alice's, unless the site
revoked it at her logout, cache or no cache.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches

from tests.browser.conftest import PASSWORD, Deployment, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STORED_TOKEN = "localStorage.getItem('Meteor.loginToken')"


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture
def bob(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob", "bob@example.com", PASSWORD)


def open_rocketchat(context: Any, deployment: Deployment) -> Any:
    page = context.new_page()
    page.goto(deployment.chat + "/home")
    return page


def open_embedded_chat(context: Any, deployment: Deployment) -> Any:
    page = context.new_page()
    page.goto(deployment.url("/"))
    return page.frame_locator("#chat")


@pytest.mark.parametrize("first", ["flow 1", "flow 2"])
def test_the_next_user_of_the_browser_sees_their_own_chat(
    context: Any, deployment: Deployment, alice: Any, bob: Any, settings: Any, first: str
) -> None:
    settings.LOGOUT_REDIRECT_URL = "login"  # a page without the chat
    log_in(context, deployment, alice)
    chat = open_rocketchat(context, deployment)
    expect(chat.locator("#rc-user")).to_have_text("alice")
    alices = chat.evaluate(STORED_TOKEN)
    alice_id = deployment.rocketchat_user("alice")["_id"]
    assert alices in deployment.fake.tokens_of(alice_id)
    chat.close()  # she walks away from the chat...
    for cache in caches.all():  # ...long enough for the token cache to forget her token
        cache.clear()
    page = context.new_page()
    page.goto(deployment.url("/accounts/login/"))
    page.click("#site-logout")
    expect(page.locator("#site-login")).to_be_visible()
    page.close()
    assert alices not in deployment.fake.tokens_of(alice_id)  # revoked at her logout

    log_in(context, deployment, bob)
    if first == "flow 1":
        expect(open_rocketchat(context, deployment).locator("#rc-user")).to_have_text("bob")
        expect(open_embedded_chat(context, deployment).locator("#rc-user")).to_have_text("bob")
    else:
        expect(open_embedded_chat(context, deployment).locator("#rc-user")).to_have_text("bob")
        expect(open_rocketchat(context, deployment).locator("#rc-user")).to_have_text("bob")
    assert deployment.fake.tokens_of(alice_id) == []
