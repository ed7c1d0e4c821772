"""The embed script reaches a Rocket.Chat that starts listening late and never says 'startup'."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Deployment, log_in
from tests.browser.test_flows import TOKEN_URL_ANY_QUERY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A Rocket.Chat whose client starts listening 700 ms after its page loaded, with integration
# sending off (no 'startup', no events): a token posted only on the iframe's load is lost.
LATE_LISTENER = """<!doctype html><title>Rocket.Chat, starting</title><script>
    window.received = [];
    setTimeout(() => addEventListener('message', e => received.push(JSON.stringify(e.data))), 700);
    </script>"""
HEARD_TOKEN = "() => window.received.some(m => m.includes('login-with-token'))"


def test_embed_script_reposts_the_token_until_rocketchat_listens(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    log_in(context, deployment, alice)
    page = context.new_page()
    page.route(
        deployment.chat + "/**",
        lambda route: route.fulfill(body=LATE_LISTENER, content_type="text/html"),
    )
    with page.expect_response(TOKEN_URL_ANY_QUERY) as answer:
        page.goto(deployment.url("/"))
    token = answer.value.json()["loginToken"]
    chat = next(frame for frame in page.frames if frame.url.startswith(deployment.chat))
    chat.wait_for_function(HEARD_TOKEN, timeout=5000)
    received = chat.evaluate("() => window.received")
    assert any(token in message for message in received)
    # Bounded: a Rocket.Chat that never answers gets the token a few more times, then no more.
    page.wait_for_timeout(4500)
    assert len(chat.evaluate("() => window.received")) <= 4
