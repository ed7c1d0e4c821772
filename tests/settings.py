"""Minimal settings for the test suite."""

from __future__ import annotations

import os
import tempfile

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

DATABASES = {
    "default": {
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

STATIC_URL = "/static/"
LOGIN_URL = "/accounts/login/"

CORS_ALLOW_CREDENTIALS = True

ROCKETCHAT_SSO_URL = "https://chat.example.com"
ROCKETCHAT_SSO_ADMIN_USER_ID = "rcadmin0000000001"
ROCKETCHAT_SSO_ADMIN_TOKEN = "admin-personal-access-token"  # noqa: S105
# The suite exercises the reuse check (GET /me) on every reuse; tests/test_recheck.py covers
# the default interval, in which a cached token is handed out without asking Rocket.Chat.
ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL = 0

# Fast hashing: the default PBKDF2 costs ~0.3 s per user created, which adds up over the suite.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
