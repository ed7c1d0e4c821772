"""postMessage never hands a token to a window of another origin, in headless Chromium.

Both scripts target Rocket.Chat's exact origin. The proof here is what a browser does with a
window that is not Rocket.Chat's where Rocket.Chat's should be: it drops the message, says so in
the console, and the window never sees the token. A script posting to ``'*'`` would fail these.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.conftest import EVIL_HOST, Deployment, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVIL = f"http://{EVIL_HOST}"
DROPPED = "does not match the recipient window's origin"  # Chromium's console error
RECORDER = """() => {
    window.received = [];
    addEventListener('message', e => received.push(JSON.stringify(e.data)));
}"""
EVIL_PAGE = """<!doctype html><title>not Rocket.Chat</title><script>
    window.received = [];
    addEventListener('message', e => received.push(JSON.stringify(e.data)));
    parent.postMessage({eventName: 'startup'}, '*');  // Rocket.Chat's cue to send the token
    </script>"""
# Messages a window has been sent so far, once those already queued have been delivered.
RECEIVED = """() => new Promise(resolve => {
    addEventListener('message', e => e.data === 'flush' && resolve(window.received));
    postMessage('flush', '*');
})"""


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def test_embed_script_never_posts_the_token_to_a_frame_of_another_origin(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    """The chat iframe navigates away to another origin: the script posts the token again on
    the iframe's load, aimed at Rocket.Chat's origin, so the browser drops it."""
    deployment.fake.set_setting("Accounts_iframe_enabled", False)
    log_in(context, deployment, alice)
    page = context.new_page()
    with page.expect_response(deployment.url("/rocketchat/token/")) as answer:
        page.goto(deployment.url("/"))
    token = answer.value.json()["loginToken"]
    expect(page.frame_locator("#chat").locator("#rc-user")).to_have_text("alice")
    page.route(EVIL + "/**", lambda route: route.fulfill(body=EVIL_PAGE, content_type="text/html"))
    with page.expect_console_message(lambda m: DROPPED in m.text and EVIL in m.text) as dropped:
        page.evaluate("url => { document.getElementById('chat').src = url; }", EVIL + "/chat")
    assert deployment.chat in dropped.value.text  # it was aimed at Rocket.Chat's origin only
    evil = next(frame for frame in page.frames if frame.url.startswith(EVIL))
    received = evil.evaluate(RECEIVED)
    assert not any(token in message or "login-with-token" in message for message in received)


def test_loading_page_never_posts_the_token_to_a_parent_of_another_origin(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    """The site's own pages may frame the loading page (frame-ancestors 'self'); there the
    token, meant for Rocket.Chat, must not reach the framing page."""
    log_in(context, deployment, alice)
    page = context.new_page()
    page.goto(deployment.url("/accounts/login/"))  # any page of the site
    page.evaluate(RECORDER)
    loading_page = deployment.url("/rocketchat/login/")
    add_frame = """url => document.body.appendChild(
        Object.assign(document.createElement('iframe'), {src: url}))"""
    with (
        page.expect_console_message(lambda m: DROPPED in m.text) as dropped,
        # The loading page asks with ?recheck=1 (its token may have failed in Rocket.Chat).
        page.expect_response(
            lambda r: r.url.split("?")[0] == deployment.url("/rocketchat/token/")
        ) as answer,
    ):
        page.evaluate(add_frame, loading_page)
    token = answer.value.json()["loginToken"]
    assert f"('{deployment.chat}')" in dropped.value.text
    assert deployment.site in dropped.value.text  # the framing page was the recipient
    received = page.evaluate(RECEIVED)
    assert not any(token in message for message in received)


def test_injected_iframe_naming_another_origin_never_gets_the_token(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    """Issue 12, finding 6: HTML injected into the site's page (no script) adds an iframe that
    claims to be the chat and names its own origin. The script takes Rocket.Chat's origin from
    its own tag's configuration only, and ignores iframes whose src is not there."""
    deployment.fake.set_setting("Accounts_iframe_enabled", False)  # only the page signs in
    log_in(context, deployment, alice)
    page = context.new_page()
    injected = (
        f'<iframe id="injected" src="{EVIL}/chat" data-rocketchat-sso'
        f' data-rocketchat-origin="{EVIL}" data-rocketchat-token-url="/rocketchat/token/"'
        ' data-rocketchat-user="authenticated"></iframe>'
    )

    # As the parser meets it, before the deferred script runs (what markup in a template would
    # do; the page is not re-served, which Chromium's private network rules would refuse).
    page.add_init_script(
        """html => new MutationObserver((changes, observer) => {
            const chat = document.getElementById('chat');
            if (chat) {
                chat.insertAdjacentHTML('beforebegin', html);
                observer.disconnect();
            }
        }).observe(document, {childList: true, subtree: true})""".replace("html =>", "(html =>")
        + f")({json.dumps(injected)})"
    )
    page.route(EVIL + "/**", lambda route: route.fulfill(body=EVIL_PAGE, content_type="text/html"))
    page.goto(deployment.url("/"))
    expect(page.frame_locator("#chat").locator("#rc-user")).to_have_text("alice")
    page.wait_for_timeout(4500)  # every re-post of the token has been made
    evil = next(frame for frame in page.frames if frame.url.startswith(EVIL))
    received = evil.evaluate(RECEIVED)
    assert not any("login-with-token" in message for message in received), received


def test_the_handoff_window_posts_the_token_only_to_the_sites_own_origin(
    context: Any, deployment: Deployment, alice: Any
) -> None:
    """'Sign in in a new window' opens the loading page top-level with ?handoff: it hands the
    token to its opener at the site's own origin. Another page opening it gets nothing."""
    log_in(context, deployment, alice)
    page = context.new_page()
    page.route(EVIL + "/**", lambda route: route.fulfill(body=EVIL_PAGE, content_type="text/html"))
    page.goto(EVIL + "/")
    handoff = deployment.url("/rocketchat/login/?handoff=1")
    with (
        page.expect_popup() as popup,
        page.context.expect_event(
            "console", lambda m: DROPPED in m.text and f"('{deployment.site}')" in m.text
        ),
    ):
        page.evaluate("url => { window.open(url, 'handoff', 'popup'); }", handoff)
    popup.value.wait_for_event("close")
    received = page.evaluate(RECEIVED)
    assert not any("loginToken" in message for message in received), received
