"""A user refused by their share of Rocket.Chat's rate limit waits in line, in Chromium
(issue 19, item 1): the site's real 429, not a routed one."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import cache

from rocketchat_sso.conf import DEFAULT_RATE_LIMIT_CALLS, DEFAULT_RATE_LIMIT_WINDOW
from rocketchat_sso.rocketchat import call_shares
from tests.browser.conftest import Deployment, log_in, screenshot
from tests.browser.test_flows import TOKEN_URL_ANY_QUERY, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHARE = 2
FREE_IN = 3  # seconds until the user's oldest /login leaves the window


def test_a_user_whose_share_is_spent_waits_in_line_and_is_signed_in(
    context: Any, deployment: Deployment, alice: Any, settings: Any
) -> None:
    settings.ROCKETCHAT_SSO_RATE_LIMIT_CALLS = DEFAULT_RATE_LIMIT_CALLS
    settings.ROCKETCHAT_SSO_RATE_LIMIT_WINDOW = DEFAULT_RATE_LIMIT_WINDOW
    settings.ROCKETCHAT_SSO_USER_CALL_SHARE = SHARE
    # Alice spent her /login share moments ago, in other sessions; the oldest leaves soon.
    spent = time.time() - DEFAULT_RATE_LIMIT_WINDOW + FREE_IN
    for slot in range(SHARE):
        key = f"{call_shares.CALLS_KEY_PREFIX}login:user:{alice.pk}:{slot}"
        cache.set(key, spent, FREE_IN + slot * 30)
    log_in(context, deployment, alice)
    page = context.new_page()
    answers: list[tuple[int, str]] = []
    page.on(
        "response",
        lambda response: (
            answers.append((response.status, response.headers.get("retry-after")))
            if TOKEN_URL_ANY_QUERY.match(response.url)
            else None
        ),
    )
    page.goto(deployment.chat + "/home")
    loading_page = page.frame_locator("#rc-login-iframe")
    expect(loading_page.locator("#rocketchat-sso-login")).to_have_attribute(
        "data-current", "queued"
    )
    screenshot(page, "loading-page-user-share")
    expect(page.locator("#rc-user")).to_have_text("alice")  # by itself, no click
    refused = [(status, wait) for status, wait in answers if status == 429]
    assert refused and all(1 <= int(wait) <= FREE_IN for _, wait in refused), answers
    assert deployment.fake.calls_to("/api/v1/login") != []
