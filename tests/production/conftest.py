from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.production.harness import SiteWorkers, StandIn, worker_env

WORKERS = 3
LATENCY = 0.020  # seconds the stand-in adds to every API call, as a nearby Rocket.Chat does


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandIn]:
    with StandIn(latency=LATENCY) as server:
        yield server


@pytest.fixture(scope="module")
def site_workers(
    django_db_setup: None, stand_in: StandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SiteWorkers]:
    """Three worker processes of the site on the test database and this run's Redis keys,
    signing users in with ``create_token`` (the method that scales: docs/quickstart.rst,
    "Which login method").

    Depends on ``django_db_setup`` so the workers stop (and drop their connections) before
    the test database is destroyed.
    """
    log_dir: Path = tmp_path_factory.mktemp("site-workers")
    env = worker_env(stand_in.url, stand_in=stand_in)
    with SiteWorkers(WORKERS, env, log_dir) as workers:
        yield workers


@pytest.fixture
def rocketchat(stand_in: StandIn, site_workers: SiteWorkers) -> StandIn:
    """A brand-new Rocket.Chat for each test, behind workers that are up."""
    stand_in.reset()
    return stand_in
