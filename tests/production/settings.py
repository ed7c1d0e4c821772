"""Settings of the site's worker processes in the production-shaped tests.

The test settings on PostgreSQL and Redis (never SQLite or the local-memory cache, which would
hide exactly what these tests look for), with Rocket.Chat at the stand-in's URL.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from tests.settings import *  # noqa: F403
from tests.settings import DATABASE_URL, REDIS_URL

if not DATABASE_URL or not REDIS_URL:
    raise ImproperlyConfigured("The site workers need DATABASE_URL and REDIS_URL.")

ROCKETCHAT_SSO_URL = os.environ["ROCKETCHAT_SSO_URL"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"rocketchat_sso": {"handlers": ["stderr"], "level": "WARNING"}},
}
