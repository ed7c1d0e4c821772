"""The example site deployed: docs/deploying.rst as settings, from the environment.

Used by ``example_project/deploy/docker-compose.yml``: gunicorn workers behind a reverse proxy
that terminates HTTPS, PostgreSQL, Redis, and Rocket.Chat on a sibling host name
(``www.example.com`` and ``chat.example.com``: one site, so the default ``SameSite=Lax``
session cookie travels with Rocket.Chat's call to the token endpoint).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from example.settings import *  # noqa: F403


def required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"Set the environment variable {name}.")
    return value


DEBUG = False
SECRET_KEY = required("DJANGO_SECRET_KEY")

# This site's public URL, e.g. https://www.example.com: the host Django answers for, and the
# origin its forms are posted from (the proxy in front rewrites nothing).
SITE_URL = required("SITE_URL").rstrip("/")
ALLOWED_HOSTS = [urlsplit(SITE_URL).hostname or ""]
CSRF_TRUSTED_ORIGINS = [SITE_URL]
ROCKETCHAT_SSO_SITE_URL = SITE_URL  # the doctor, configure and W020 compare it with Rocket.Chat

# Every worker process, on every machine, shares the database and the cache: the Rocket.Chat
# accounts live in the first, each session's Rocket.Chat token (and its lock) in the second.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": required("POSTGRES_DB"),
        "USER": required("POSTGRES_USER"),
        "PASSWORD": required("POSTGRES_PASSWORD"),
        "HOST": os.environ.get("POSTGRES_HOST", "postgres"),
        "PORT": os.environ.get("POSTGRES_PORT", "5432"),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": required("REDIS_URL"),
    }
}

# HTTPS everywhere. The proxy terminates TLS and sets X-Forwarded-Proto (overwriting any the
# client sent); only then may Django trust the header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "3600"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Preloading commits the whole domain to HTTPS for good: the domain's owner decides that.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# "Lax" while Rocket.Chat is a sibling host name (same site); the demo's cross-site "None" only
# when it lives on another site, and then browsers that block third-party cookies drop it.
SESSION_COOKIE_SAMESITE = os.environ.get("DJANGO_SESSION_COOKIE_SAMESITE", "Lax")

STATIC_ROOT = os.environ.get("STATIC_ROOT", "/srv/static")

# Rocket.Chat: reached over the internal network, seen by browsers at its public URL.
ROCKETCHAT_SSO_URL = required("ROCKETCHAT_SSO_URL")
ROCKETCHAT_SSO_PUBLIC_URL = required("ROCKETCHAT_SSO_PUBLIC_URL")
ROCKETCHAT_SSO_ADMIN_USER_ID = required("ROCKETCHAT_SSO_ADMIN_USER_ID")
ROCKETCHAT_SSO_ADMIN_TOKEN = required("ROCKETCHAT_SSO_ADMIN_TOKEN")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"rocketchat_sso": {"handlers": ["console"], "level": "WARNING"}},
}
