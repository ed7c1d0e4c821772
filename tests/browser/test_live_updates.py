"""The stand-in's web client gets its news as Rocket.Chat's does: over DDP, not by polling REST.

Rocket.Chat's REST rate limiter (on at its defaults: 10 calls a minute per route and client)
would answer a polling client with 429s, and the badge would freeze or lag; over the WebSocket
the badge follows every message and the client's REST calls stay few.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Deployment, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MESSAGES = 25  # well beyond one route's 10 calls a minute


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def test_badge_follows_every_message_with_no_429_and_no_polling(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    log_in(context, deployment, alice)
    page = context.new_page()
    rest: list[tuple[str, int]] = []
    page.on(
        "response",
        lambda r: (
            rest.append((r.url, r.status)) if r.url.startswith(deployment.chat + "/api/") else None
        ),
    )
    page.goto(deployment.url("/"))
    chat = page.frame_locator("#chat")
    expect(chat.locator("#rc-user")).to_have_text("alice")
    expect(chat.locator("body[data-state=logged-in]")).to_have_count(1)
    # The sign-in's own calls (REST /me after the login, as synchronizeUserData) come first.
    page.wait_for_load_state("networkidle")
    badge = page.locator("#unread-badge")
    signed_in_calls = len(rest)
    for number in range(1, MESSAGES + 1):
        deployment.fake.post_message("admin", "@alice", f"message {number}")
        expect(badge).to_have_text(str(number))  # each one, in order, none skipped
    calls_while_chatting = rest[signed_in_calls:]
    assert [status for _, status in rest if status == 429] == []
    # Nothing is fetched over REST while the colleague writes: the news came over the socket.
    assert calls_while_chatting == []
    assert deployment.fake.subscriptions_of(deployment.rocketchat_user("alice")["_id"])


RELOADS = 12  # more sign-ins in a minute than Rocket.Chat's 10 REST logins a minute


def test_every_reload_signs_in_with_no_rest_login(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    """Meteor.loginWithToken is a DDP method, which the REST limiter does not count: a person
    reloading the page often is signed in every time (issue 19: the 9th in a minute was not)."""
    log_in(context, deployment, alice)
    page = context.new_page()
    rest: list[tuple[str, int]] = []
    page.on(
        "response",
        lambda r: (
            rest.append((r.url, r.status)) if r.url.startswith(deployment.chat + "/api/") else None
        ),
    )
    for _ in range(RELOADS):
        page.goto(deployment.url("/"))
        expect(page.frame_locator("#chat").locator("#rc-user")).to_have_text("alice")
    assert [url for url, _ in rest if url.endswith("/api/v1/login")] == []
    assert [url for url, status in rest if status == 429 and "/me" not in url] == []
