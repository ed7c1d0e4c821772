"""Minimal settings for the test suite.

SQLite and the local-memory cache by default. ``DATABASE_URL``
(``postgres://user:password@host:port/name``) and ``REDIS_URL`` switch to PostgreSQL and Redis,
as ``.ci/services`` prints them; the production-shaped tests need both.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any
from urllib.parse import unquote, urlsplit

POSTGRES_SCHEMES = ("postgres", "postgresql")


def database_from_url(url: str) -> dict[str, Any]:
    """Django's ``DATABASES["default"]`` for a PostgreSQL URL (no dependency for one parse)."""
    parts = urlsplit(url)
    if parts.scheme not in POSTGRES_SCHEMES:
        raise ValueError(f"DATABASE_URL must be a postgres:// URL, not {parts.scheme!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


SECRET_KEY = "tests-not-secret"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = "tests.urls"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rocketchat_sso",
    "example",  # the example project's app (example_project/ is on pytest's pythonpath)
]

MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES = {
    "default": database_from_url(DATABASE_URL)
    if DATABASE_URL
    else {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("TEST_SQLITE_NAME", ":memory:"),
        # A file, not memory: threads (concurrency tests, live servers) each open their own
        # connection and must all see one database. One per process, so parallel runs don't mix.
        "TEST": {
            "NAME": os.path.join(
                tempfile.gettempdir(), f"rocketchat_sso_tests_{os.getpid()}.sqlite3"
            )
        },
    }
}

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # One Redis serves many test runs: each run (and the workers it starts) gets its own
            # keys, so none sees another's.
            "KEY_PREFIX": os.environ.get("TEST_CACHE_KEY_PREFIX") or f"tests-{os.getpid()}",
        }
    }

STATIC_URL = "/static/"
LOGIN_URL = "/accounts/login/"

CORS_ALLOW_CREDENTIALS = True

ROCKETCHAT_SSO_URL = "https://chat.example.com"
ROCKETCHAT_SSO_ADMIN_USER_ID = "rcadmin0000000001"
ROCKETCHAT_SSO_ADMIN_TOKEN = "admin-personal-access-token"  # noqa: S105
# The suite exercises the reuse check (GET /me) on every reuse; tests/test_recheck.py covers
# the default interval, in which a cached token is handed out without asking Rocket.Chat.
ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL = 0
# Likewise the budgets are off for the suite, which opens the chat many times per user and
# session; tests/test_budgets.py covers them at their defaults.
ROCKETCHAT_SSO_RECHECK_MIN_INTERVAL = 0
ROCKETCHAT_SSO_USER_MINT_LIMIT = 0
ROCKETCHAT_SSO_RATE_LIMIT_CALLS = 0

# Fast hashing: the default PBKDF2 costs ~0.3 s per user created, which adds up over the suite.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
