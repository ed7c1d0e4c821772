"""WCAG 2.1 AA, checked by axe-core in Chromium: the loading page in each state, the demo's pages.

axe-core is pinned in package.json/package-lock.json (``npm ci`` installs it in node_modules,
as ``.ci/run`` does before the tests); where it is missing the tests skip with the reason, and
in CI (``CI`` set) they fail instead. axe runs in the page or frame under test (through the
DevTools protocol, which a strict Content-Security-Policy does not stop); a violation of impact
"serious" or "critical" fails the test, with its rule, its nodes and axe's help.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Deployment, log_in, screenshot
from tests.browser.test_flows import TOKEN_URL_ANY_QUERY, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA, and axe's best practices (one h1, landmarks).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = {"serious", "critical"}
# Moderate in axe's scale, and still a failure here: every page names itself in one h1.
BLOCKING_RULES = {"page-has-heading-one"}
LOADING_PAGE = re.compile(r".*/rocketchat/login/")
# What axe found, by page state, printed at the end of each test (pytest -s shows it).
FOUND: dict[str, list[str]] = {}


class AxeSource(str):
    """axe-core's script; shown by name in a failure's report, not as 500 kB of code."""

    def __repr__(self) -> str:
        return f"<axe-core from {AXE}>"


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        # .ci/summary.py counts this skip reason as a degraded run, which fails CI.
        message = f"no axe-core at {AXE}: run `npm ci` (package-lock.json pins it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AxeSource(AXE.read_text())


def audit(target: Any, axe_source: str, name: str) -> list[dict[str, Any]]:
    """Run axe in ``target`` (a page or a frame); the violations that block, after noting all."""
    if not target.evaluate("() => typeof window.axe === 'object'"):
        target.evaluate(axe_source)
    results = target.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    violations = results["violations"]
    FOUND[name] = [f"{v['id']} ({v['impact']}, {len(v['nodes'])})" for v in violations]
    print(f"axe {name}: {len(results['passes'])} rules passed; violations: {FOUND[name] or 'none'}")
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
            "summary": v["nodes"][0].get("failureSummary", ""),
        }
        for v in violations
        if v["impact"] in BLOCKING or v["id"] in BLOCKING_RULES
    ]


def loading_page_frame(page: Any) -> Any:
    """The loading page inside the stand-in's web client (Rocket.Chat's iframe login)."""
    page.frame_locator("#rc-login-iframe").locator("main#rocketchat-sso-login").wait_for()
    frame = page.frame(url=LOADING_PAGE)
    assert frame is not None
    return frame


def answer_rechecks(context: Any, answer: Any) -> None:
    """Rocket.Chat's own token call is refused (so it shows the loading page); the loading
    page's (``?recheck=1``) is answered by ``answer(route)``."""

    def route(request_route: Any) -> None:
        if "recheck=1" in request_route.request.url:
            answer(request_route)
        else:
            request_route.fulfill(status=401, json={"error": "not_authenticated"})

    context.route(TOKEN_URL_ANY_QUERY, route)


HELD: list[Any] = []
STATES = {
    # state -> how the token endpoint answers the loading page
    "signing-in": HELD.append,  # never answered while axe runs
    "queued": lambda route: route.fulfill(
        status=503,
        json={"error": "rocketchat_rate_limited", "message": "Rocket.Chat is busy."},
        headers={"Retry-After": "60"},
    ),
    "error": lambda route: route.fulfill(
        status=502,
        json={"error": "rocketchat_unavailable", "message": "Rocket.Chat did not answer."},
    ),
}
# States reached by the browser's storage-access answers or a second window: shown here as the
# script's show() shows them, the rest of the page as it is.
SHOWN = ["continue", "refused", "handoff-done", "signed-out", "app-signed-in"]
SHOW = """state => {
    const root = document.getElementById('rocketchat-sso-login');
    root.dataset.current = state;
    for (const section of root.querySelectorAll('[data-state]')) {
        section.hidden = section.dataset.state !== state;
    }
}"""


@pytest.mark.parametrize("state", [*STATES, "login", *SHOWN])
def test_loading_page_has_no_serious_violation_in_any_state(
    context: Any, deployment: Deployment, alice: Any, axe_source: str, state: str
) -> None:
    if state in STATES:
        log_in(context, deployment, alice)
        answer_rechecks(context, STATES[state])
    elif state in SHOWN:
        log_in(context, deployment, alice)
        answer_rechecks(context, STATES["signing-in"])
    page = context.new_page()
    page.goto(deployment.chat + "/home")
    frame = loading_page_frame(page)
    if state in SHOWN:
        # Only once the page's script waits on its (held) token request: shown earlier, the
        # script's own start-up could show another state over it.
        for _ in range(100):
            if HELD:
                break
            page.wait_for_timeout(50)
        assert HELD, "the loading page never asked for its token"
        frame.evaluate(SHOW, state)
    expect(frame.locator(f'[data-state="{state}"]')).to_be_visible()
    screenshot(page, f"a11y-loading-page-{state}")
    blocking = audit(frame, axe_source, f"loading page: {state}")
    HELD.clear()
    assert blocking == [], json.dumps(blocking, indent=2)


def test_demo_pages_have_no_serious_violation(
    context: Any, deployment: Deployment, alice: Any, axe_source: str
) -> None:
    page = context.new_page()
    page.goto(deployment.url("/accounts/login/"))
    blocking = audit(page, axe_source, "site: login page")
    log_in(context, deployment, alice)
    page.goto(deployment.url("/"))
    chat = page.frame_locator("#chat")
    expect(chat.locator("#rc-user")).to_have_text("alice")
    deployment.fake.post_message("admin", "@alice", "Hello")
    expect(page.locator("#unread-badge")).to_have_text("1")
    blocking += audit(page, axe_source, "site: home page, chat signed in, badge")
    embedded = page.frame(url=re.compile(re.escape(deployment.chat) + ".*"))
    assert embedded is not None
    blocking += audit(embedded, axe_source, "stand-in: embedded chat (home)")
    standalone = context.new_page()
    standalone.goto(deployment.chat + "/channel/general")
    expect(standalone.locator("#rc-room-title")).to_have_text("#general")
    blocking += audit(standalone, axe_source, "stand-in: a room, with the sidebar")
    standalone.goto(deployment.chat + "/home")
    expect(standalone.locator("#rc-home")).to_be_visible()
    blocking += audit(standalone, axe_source, "stand-in: home, with the sidebar")
    assert blocking == [], json.dumps(blocking, indent=2)


def test_embed_notice_has_no_serious_violation(
    context: Any, deployment: Deployment, alice: Any, axe_source: str
) -> None:
    unavailable = {"error": "rocketchat_unavailable", "message": "Rocket.Chat did not answer."}
    context.route(TOKEN_URL_ANY_QUERY, lambda route: route.fulfill(status=502, json=unavailable))
    deployment.fake.set_setting("Accounts_iframe_enabled", False)
    log_in(context, deployment, alice)
    page = context.new_page()
    page.goto(deployment.url("/"))
    expect(page.locator(".rocketchat-sso-notice")).to_have_attribute("data-kind", "unavailable")
    blocking = audit(page, axe_source, "site: home page, embed notice 'unavailable'")
    assert blocking == [], json.dumps(blocking, indent=2)


def test_stand_in_login_form_has_no_serious_violation(
    context: Any, deployment: Deployment, axe_source: str
) -> None:
    deployment.fake.set_setting("Accounts_iframe_enabled", False)  # Rocket.Chat's own form
    page = context.new_page()
    page.goto(deployment.chat + "/home")
    expect(page.locator("#rc-login-form")).to_be_visible()
    page.fill("#rc-username-input", "nobody")
    page.fill("#rc-password-input", "wrong")
    page.click("#rc-login-form button[type=submit]")
    expect(page.locator(".rc-error")).to_be_visible()
    blocking = audit(page, axe_source, "stand-in: login form with an error")
    assert blocking == [], json.dumps(blocking, indent=2)
