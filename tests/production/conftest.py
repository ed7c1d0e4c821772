from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests.production.harness import (
    ENV_CACHE_PREFIX,
    ENV_DATABASE_URL,
    ENV_REDIS_URL,
    ENV_ROCKETCHAT_URL,
    SiteWorkers,
    StandIn,
)

WORKERS = 3
LATENCY = 0.020  # seconds the stand-in adds to every API call, as a nearby Rocket.Chat does


def database_url(settings_dict: dict[str, Any]) -> str:
    """A ``DATABASE_URL`` for the database this test process uses (pytest-django's test one)."""
    user, password = (quote(str(settings_dict[key] or ""), safe="") for key in ("USER", "PASSWORD"))
    host, port = settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or "5432"
    return f"postgres://{user}:{password}@{host}:{port}/{quote(settings_dict['NAME'])}"


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandIn]:
    with StandIn(latency=LATENCY) as server:
        yield server


@pytest.fixture(scope="module")
def site_workers(
    django_db_setup: None, stand_in: StandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SiteWorkers]:
    """Three worker processes of the site on the test database and this run's Redis keys.

    Depends on ``django_db_setup`` so the workers stop (and drop their connections) before
    the test database is destroyed.
    """
    env = {
        ENV_DATABASE_URL: database_url(connection.settings_dict),
        ENV_REDIS_URL: settings.CACHES["default"]["LOCATION"],
        ENV_CACHE_PREFIX: settings.CACHES["default"]["KEY_PREFIX"],
        ENV_ROCKETCHAT_URL: stand_in.url,
    }
    log_dir: Path = tmp_path_factory.mktemp("site-workers")
    with SiteWorkers(WORKERS, env, log_dir) as workers:
        yield workers


@pytest.fixture
def rocketchat(stand_in: StandIn, site_workers: SiteWorkers) -> StandIn:
    """A brand-new Rocket.Chat for each test, behind workers that are up."""
    stand_in.reset()
    return stand_in
