"""Django settings of the benchmark site: a plain site with sessions, CORS and the app."""

from __future__ import annotations

import os
import tempfile

SECRET_KEY = "benchmark-not-secret"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "benchmarks.urls"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "corsheaders",
    "rocketchat_sso",
]

MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get(
            "BENCHMARK_SQLITE_NAME",
            os.path.join(tempfile.gettempdir(), f"rocketchat_sso_bench_{os.getpid()}.sqlite3"),
        ),
        "OPTIONS": {"timeout": 20},
    }
}

CORS_ALLOW_CREDENTIALS = True
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}

# Set by the script once the stand-in listens.
ROCKETCHAT_SSO_URL = "http://127.0.0.1:1"
ROCKETCHAT_SSO_PUBLIC_URL = "https://chat.example.com"
ROCKETCHAT_SSO_ADMIN_USER_ID = "rcadmin0000000001"
ROCKETCHAT_SSO_ADMIN_TOKEN = "admin-personal-access-token"  # noqa: S105
