"""Settings of the example site: the app installed as docs/installation.rst says.

Every Rocket.Chat value can be overridden from the environment, to point the example at a
real Rocket.Chat instead of the embedded stand-in.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "www.example.test", "demo.localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rocketchat_sso",
    "example",
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

ROOT_URLCONF = "example.urls"
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
WSGI_APPLICATION = "example.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_DB", str(BASE_DIR / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "/static/"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Rocket.Chat calls the token endpoint with credentials: 'include' (docs/installation.rst).
CORS_ALLOW_CREDENTIALS = True

# The demo serves Rocket.Chat from another *site* (127.0.0.1 next to localhost): the session
# cookie reaches Rocket.Chat's call to the token endpoint only as SameSite=None; Secure, which
# browsers accept from http://localhost. Rocket.Chat on a subdomain of the site's domain works
# with Django's default, Lax (docs/flows.rst).
SESSION_COOKIE_SAMESITE = os.environ.get("DJANGO_SESSION_COOKIE_SAMESITE", "None")
SESSION_COOKIE_SECURE = os.environ.get("DJANGO_SESSION_COOKIE_SECURE", "1") == "1"

# The embedded stand-in by default; export these to use a real Rocket.Chat.
ROCKETCHAT_SSO_URL = os.environ.get("ROCKETCHAT_SSO_URL", "http://127.0.0.1:3000")
ROCKETCHAT_SSO_PUBLIC_URL = os.environ.get("ROCKETCHAT_SSO_PUBLIC_URL", ROCKETCHAT_SSO_URL)
ROCKETCHAT_SSO_ADMIN_USER_ID = os.environ.get("ROCKETCHAT_SSO_ADMIN_USER_ID", "rcadmin0000000001")
ROCKETCHAT_SSO_ADMIN_TOKEN = os.environ.get(
    "ROCKETCHAT_SSO_ADMIN_TOKEN", "admin-personal-access-token"
)
# Where browsers find this site, for `manage.py rocketchat_sso_doctor` and `..._configure`.
ROCKETCHAT_SSO_SITE_URL = os.environ.get("ROCKETCHAT_SSO_SITE_URL", "http://localhost:8000")

# Rooms from groups (docs/rooms.rst): the demo user is in both groups, so the chat lists both.
ROCKETCHAT_SSO_GROUP_ROOMS = {"Staff": "staff", "Course 101": "course-101"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"rocketchat_sso": {"handlers": ["console"], "level": "INFO"}},
}
