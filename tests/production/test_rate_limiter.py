"""The password method at Rocket.Chat's defaults: past the limiter, clean answers, live tokens.

Rocket.Chat limits ``POST /api/v1/login`` to 10 calls a minute per client address, and with the
password method every sign-in of the whole site is one of them (the workers share the server's
address). Beyond it a browser must get a JSON "try again" with ``Retry-After`` (the loading
page and the embed script wait and retry), never an HTML error and never a token Rocket.Chat
does not hold. ``benchmarks/signins.py`` measures the rate; this checks the answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.production.harness import Answer, Browser, SiteWorkers, StandIn, worker_env
from tests.production.test_workers import logged_in_session, new_user, summary

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]

WORKERS = 3
USERS = 30
LOGIN_LIMIT = 10  # Rocket.Chat's API_Enable_Rate_Limiter_Limit_Calls_Default


@pytest.fixture(scope="module")
def password_workers(
    django_db_setup: None, stand_in: StandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SiteWorkers]:
    """The site's workers with the password method (the default login method)."""
    log_dir: Path = tmp_path_factory.mktemp("password-workers")
    with SiteWorkers(WORKERS, worker_env(stand_in.url), log_dir) as workers:
        yield workers


def test_password_sign_ins_beyond_the_limit_are_told_to_wait(
    stand_in: StandIn, password_workers: SiteWorkers, django_user_model: Any
) -> None:
    stand_in.reset()
    users = [new_user(django_user_model, f"queued{index:02}") for index in range(USERS)]
    sessions = [logged_in_session(user) for user in users]

    def first_opening(index: int) -> Answer:
        with Browser(sessions[index], stand_in.url) as browser:
            return browser.open_chat(password_workers.urls[index % WORKERS])

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(first_opening, range(USERS)))

    served = [a for a in answers if a.status == 200]
    refused = [a for a in answers if a.status != 200]
    snapshot = stand_in.snapshot()
    # Rocket.Chat let its 10 logins through, and the site signed in no more and no fewer.
    assert snapshot.calls["POST /api/v1/login"] - snapshot.refused["POST /api/v1/login"] == (
        LOGIN_LIMIT
    )
    assert len(served) == LOGIN_LIMIT, summary(answers)
    # Every other browser was told, in JSON, to come back once the window has passed.
    assert refused, summary(answers)
    for answer in refused:
        assert answer.status == 503 and answer.body.get("error") == "rocketchat_rate_limited", (
            summary(answers)
        )
        assert answer.retry_after is not None and 1 <= int(answer.retry_after) <= 60
    # Never a dead token: Rocket.Chat holds every token handed out.
    held = [
        (snapshot.user(user.username).user_id, str(answer.token))
        for user, answer in zip(users, answers, strict=True)
        if answer.status == 200
    ]
    assert stand_in.live(held) == [True] * len(served)
    print(f"\npassword method, {USERS} new users at once: {summary(answers)}")
