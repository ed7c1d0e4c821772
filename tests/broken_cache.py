"""A cache backend that is down: every call fails as a Redis client's would."""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.base import BaseCache

SECRET_URL = "redis://:hunter2@cache.internal:6379/0"


class CacheDown(Exception):
    """What a cache client raises; its message names the server, password included."""


class BrokenCache(BaseCache):
    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise CacheDown(f"Error 111 connecting to {SECRET_URL}. Connection refused.")

    get = set = add = delete = get_many = set_many = delete_many = clear = _fail
