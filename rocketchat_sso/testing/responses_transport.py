"""Serve a :class:`FakeRocketChat` to ``requests`` through the ``responses`` library.

A thin adapter: it turns each intercepted request into a :class:`FakeRequest` and the model's
answer into what ``responses`` returns; transport faults become the exceptions ``requests`` raises.
``responses`` is imported only when a mock is built, so the model works without it.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import requests

from rocketchat_sso.testing.model import FakeRequest, FakeResponse, FakeRocketChat, Fault

if TYPE_CHECKING:
    import responses

DEFAULT_BASE_URL = "https://chat.example.com"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"
PROXY_PAGE = b"<!DOCTYPE html><html><body><h1>Welcome</h1></body></html>"
FAULT_ERRORS: dict[Fault, type[requests.RequestException]] = {
    Fault.CONNECTION_REFUSED: requests.ConnectionError,
    Fault.TIMEOUT: requests.ReadTimeout,
    Fault.DROP_MID_BODY: requests.exceptions.ChunkedEncodingError,
}

Reply = tuple[int, dict[str, str], bytes]


def to_fake_request(request: requests.PreparedRequest, prefix: str = "") -> FakeRequest:
    """The model's view of a prepared request; ``prefix`` is the base URL's own path."""
    url = urllib.parse.urlsplit(request.url or "")
    path = url.path[len(prefix) :] if prefix and url.path.startswith(prefix) else url.path
    body = request.body or b""
    return FakeRequest(
        method=request.method or "GET",
        path=path or "/",
        query=dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)),
        headers=dict(request.headers),
        body=body.encode() if isinstance(body, str) else bytes(body),
    )


def to_reply(result: FakeResponse | Fault, request: requests.PreparedRequest) -> Reply | Exception:
    """What a ``responses`` callback returns for the model's answer."""
    if isinstance(result, FakeResponse):
        return result.status, {"Content-Type": JSON_TYPE, **result.headers}, result.json_bytes()
    if result is Fault.NON_JSON_200:
        return 200, {"Content-Type": HTML_TYPE}, PROXY_PAGE
    return FAULT_ERRORS[result](f"Rocket.Chat stand-in: {result.value}", request=request)


def register(
    rsps: responses.RequestsMock, fake: FakeRocketChat, base_url: str = DEFAULT_BASE_URL
) -> None:
    """Route every method under ``base_url`` on ``rsps`` to ``fake``."""
    base = base_url.rstrip("/")
    prefix = urllib.parse.urlsplit(base).path
    pattern = re.compile(re.escape(base) + r"(?:[/?#].*)?$")

    def callback(request: requests.PreparedRequest) -> Any:
        if fake.latency:
            time.sleep(fake.latency)
        return to_reply(fake.handle(to_fake_request(request, prefix)), request)

    for method in METHODS:
        rsps.add_callback(method, pattern, callback=callback)


@contextmanager
def mock_rocketchat(
    base_url: str = DEFAULT_BASE_URL,
    *,
    model: Callable[..., FakeRocketChat] = FakeRocketChat,
    **model_kwargs: Any,
) -> Iterator[FakeRocketChat]:
    """A fresh :class:`FakeRocketChat` answering at ``base_url`` while the block runs.

    ``model(**model_kwargs)`` makes it: a subclass that plays more of Rocket.Chat goes there.
    Requests to other hosts fail with ``ConnectionError``, as ``responses`` does.
    """
    import responses

    fake = model(**model_kwargs)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register(rsps, fake, base_url)
        yield fake
