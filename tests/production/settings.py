"""Settings of the site's worker processes in the production-shaped tests.

The test settings on PostgreSQL and Redis (never SQLite or the local-memory cache, which would
hide exactly what these tests look for), with Rocket.Chat at the stand-in's URL.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from rocketchat_sso.conf import DEFAULT_RECHECK_MIN_INTERVAL, DEFAULT_TOKEN_RECHECK_INTERVAL
from tests.settings import *  # noqa: F403
from tests.settings import DATABASE_URL, REDIS_URL

if not DATABASE_URL or not REDIS_URL:
    raise ImproperlyConfigured("The site workers need DATABASE_URL and REDIS_URL.")

ROCKETCHAT_SSO_URL = os.environ["ROCKETCHAT_SSO_URL"]
# The harness's worker_env() chooses the login method (password unless it says create_token).
ROCKETCHAT_SSO_LOGIN_METHOD = os.environ.get("ROCKETCHAT_SSO_LOGIN_METHOD", "password")
ROCKETCHAT_SSO_CREATE_TOKEN_SECRET = os.environ.get("ROCKETCHAT_SSO_CREATE_TOKEN_SECRET", "")
# As deployed: a session's token is checked with /me at most once per the app's default
# interval (300 s), not on every opening as in the rest of the suite (tests/settings.py sets 0),
# unless the harness says otherwise (benchmarks/multiworker.py --recheck-interval 0).
ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL = int(
    os.environ.get("ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL", DEFAULT_TOKEN_RECHECK_INTERVAL)
)
ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL = DEFAULT_RECHECK_MIN_INTERVAL

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"rocketchat_sso": {"handlers": ["stderr"], "level": "WARNING"}},
}
