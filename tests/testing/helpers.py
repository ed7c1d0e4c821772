"""Shared test helpers: a tiny ``requests`` client for the stand-in, and a clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from rocketchat_sso.testing.model import TYPED_ROUTES_SINCE
from rocketchat_sso.testing.versions import RocketChatVersion, default_version

BASE = "https://chat.example.com"
ADMIN_ID = "rcadmin0000000001"
ADMIN_TOKEN = "admin-personal-access-token"
ADMIN = {"X-User-Id": ADMIN_ID, "X-Auth-Token": ADMIN_TOKEN}
PASSWORD = "Secret-123!"


def invalid_params(message: str, version: str | RocketChatVersion | None = None) -> dict[str, Any]:
    """A schema failure of a users.* route as ``version`` (default: the run's) answers it:
    ``validateParams``' ``invalid-params`` through 8.0, the typed router's
    ``error-invalid-params`` after (``TYPED_ROUTES_SINCE``)."""
    played = RocketChatVersion.parse(version or default_version())
    if played.since(*TYPED_ROUTES_SINCE):
        return {"success": False, "errorType": "error-invalid-params", "error": message}
    return {"success": False, "error": f"{message} [invalid-params]", "errorType": "invalid-params"}


class Api:
    """Calls ``BASE`` with the admin's headers unless ``auth`` says otherwise."""

    def __init__(self, base: str = BASE) -> None:
        self.base = base

    def get(
        self, path: str, params: dict[str, str] | None = None, auth: dict[str, str] | None = ADMIN
    ) -> requests.Response:
        return requests.get(self.base + path, params=params, headers=auth or {}, timeout=5)

    def post(
        self, path: str, body: Any = None, auth: dict[str, str] | None = ADMIN
    ) -> requests.Response:
        return requests.post(self.base + path, json=body, headers=auth or {}, timeout=5)

    def create(self, username: str = "bob", **extra: Any) -> requests.Response:
        body = {"username": username, "email": f"{username}@example.com", "name": "Bob"}
        return self.post("/api/v1/users.create", {**body, "password": PASSWORD, **extra})

    def login(self, username: str = "bob", password: str = PASSWORD) -> dict[str, str]:
        """Log in and return the user's auth headers."""
        response = self.post("/api/v1/login", {"user": username, "password": password}, None)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        return {"X-User-Id": data["userId"], "X-Auth-Token": data["authToken"]}


class Clock:
    """An injectable ``now`` the tests move forward."""

    def __init__(self) -> None:
        self.moment = datetime(2025, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)
