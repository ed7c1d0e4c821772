"""The demo, left running in Chromium: does the chat stay correct under the stand-in's limiter?

Starts ``manage.py demo`` (the stand-in at Rocket.Chat's defaults, REST rate limiter on, a
colleague writing every ``--chatter`` seconds) on free ports, logs in as the demo user in
headless Chromium, opens the home page and leaves it open for ``--minutes``, reloading it every
``--reload-every`` minutes (each reload is a new sign-in of the embedded chat). It records every
REST answer the chat's own client (the iframe) gets, the badge's every value, and any notice the
embed shows. The colleague stops after the messages that fit in ``--minutes``
(``--chatter-messages``): at the end the badge must count every one of them, and so must the
conversation, opened in the chat; both are compared once the colleague is done, never while
a message may be on its way. It fails (exit 1) on any 429 seen by the chat's client, any
notice, or a badge or conversation that differs from the messages sent; it stops at the first
failure with the reason.

    python benchmarks/demo_live.py                  # 10 minutes
    python benchmarks/demo_live.py --minutes 1 --chatter 5
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.needs import BenchmarkFailed, require, stop  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
READY_TIMEOUT = 60.0
TIMEOUT_MS = 30_000
HISTORY_PAGE = 50  # messages the chat's web client shows when a room opens (its first page)
BADGE = "#unread-badge"
BADGE_MOVED = "([seen]) => (document.querySelector('#unread-badge').textContent || '0') !== seen"


def messages_to_send(args: argparse.Namespace) -> int:
    """The colleague's messages: as many as fit in the watch, at least one."""
    return max(1, int(args.minutes * 60 / args.chatter))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    import requests

    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkFailed(f"the demo exited with {process.returncode} before serving")
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.5)
    raise BenchmarkFailed(f"the demo did not answer at {url} within {READY_TIMEOUT:g} s")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    site_port, chat_port = free_port(), free_port()
    site, chat = f"http://localhost:{site_port}", f"http://127.0.0.1:{chat_port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "EXAMPLE_DB": str(Path(tmp) / "demo.sqlite3")}
        command = [
            sys.executable,
            str(ROOT / "example_project" / "manage.py"),
            "demo",
            f"--port={site_port}",
            f"--chat-port={chat_port}",
            f"--chatter={args.chatter:g}",
            f"--chatter-messages={messages_to_send(args)}",
        ]
        demo = subprocess.Popen(  # noqa: S603
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for(site + "/accounts/login/", demo)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    return watch(browser, site, chat, args)
                finally:
                    browser.close()
        finally:
            demo.terminate()
            demo.wait(timeout=30)


def watch(browser: Any, site: str, chat: str, args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    statuses: collections.Counter[int] = collections.Counter()
    routes: collections.Counter[str] = collections.Counter()
    too_many: list[str] = []

    def on_response(response: Any) -> None:
        if response.url.startswith(chat + "/api/"):
            statuses[response.status] += 1
            routes[response.url.split("?")[0][len(chat) :]] += 1
            if response.status == 429:
                too_many.append(response.url)

    page.on("response", on_response)
    page.goto(site + "/accounts/login/")
    page.fill("#id_username", "demo")
    page.fill("#id_password", "demo-password")
    with page.expect_navigation():
        page.click("button[type=submit]")
    sign_ins = 0
    badge_values: list[str] = []
    start = time.monotonic()
    end = start + args.minutes * 60
    next_reload = start
    while time.monotonic() < end:
        if time.monotonic() >= next_reload:
            page.goto(site + "/")
            try:
                page.frame_locator("#chat").locator("#rc-user").wait_for()
            except PlaywrightTimeout:
                notice = page.locator(".rocketchat-sso-notice:visible")
                shown = notice.first.inner_text() if notice.count() else "no notice"
                raise BenchmarkFailed(
                    f"sign-in {sign_ins + 1} did not happen within {TIMEOUT_MS // 1000} s "
                    f"({shown!r}; 429 from {too_many or 'nothing'})"
                ) from None
            sign_ins += 1
            next_reload += args.reload_every * 60
        if too_many:
            raise BenchmarkFailed(f"the chat's client got 429 from {too_many[0]}")
        notice = page.locator(".rocketchat-sso-notice:visible")
        if notice.count():
            raise BenchmarkFailed(f"the embed shows a notice: {notice.first.inner_text()!r}")
        text = page.locator(BADGE).inner_text() or "0"
        if not badge_values or badge_values[-1] != text:
            badge_values.append(text)
        time.sleep(1)
    # The colleague stops after `sent` messages: the badge moves until it has counted every
    # one (each follows the last within --chatter seconds), then nothing moves any more.
    sent = messages_to_send(args)
    text = page.locator(BADGE).inner_text() or "0"
    while text != str(sent):
        try:
            page.wait_for_function(BADGE_MOVED, arg=[text], timeout=(args.chatter + 30) * 1000)
        except PlaywrightTimeout:
            break  # stuck short of, or past, the messages sent: compared below
        text = page.locator(BADGE).inner_text() or "0"
        badge_values.append(text)
    badge = int(text) if text.isdigit() else text
    frame = page.frame(url=lambda url: url.startswith(chat))
    assert frame is not None
    frame.evaluate(
        "history.pushState(null, '', '/direct/alex' + location.search);"
        "dispatchEvent(new PopStateEvent('popstate'))"
    )
    listed = page.frame_locator("#chat").locator("#rc-messages li")
    shown = min(sent, HISTORY_PAGE)
    with contextlib.suppress(PlaywrightTimeout):  # fewer: compared below
        listed.nth(shown - 1).wait_for()
    figures = {
        "minutes": args.minutes,
        "sign-ins": sign_ins,
        "messages sent": sent,
        "badge at the end": badge,
        "messages in the conversation": listed.count(),
        "badge values": " ".join(badge_values),
        "REST answers to the chat's client": dict(statuses),
        "REST calls by route": dict(routes),
        "429 seen by the chat's client": len(too_many),
    }
    if badge != sent:
        raise BenchmarkFailed(f"the badge says {badge}, the colleague sent {sent}: {figures}")
    if figures["messages in the conversation"] != shown:
        raise BenchmarkFailed(
            f"the conversation shows {figures['messages in the conversation']} messages, "
            f"the colleague sent {sent}: {figures}"
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--chatter", type=float, default=20.0, help="seconds between messages")
    parser.add_argument("--reload-every", type=float, default=2.0, help="minutes between reloads")
    args = parser.parse_args(argv)
    require("benchmarks/demo_live.py", {"playwright": "test"})
    if not os.access(CHROMIUM, os.X_OK):
        print(f"No Chromium at {CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH.")
        return 2
    try:
        figures = run(args)
    except BenchmarkFailed as failure:
        return stop(failure)
    for name, value in figures.items():
        print(f"{name:36} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
