"""Rocket.Chat's web client, as far as iframe login and the iframe integration go.

Plugged into :class:`~rocketchat_sso.testing.server.RocketChatServer` as ``web_client``, it
serves every non-API path the way Rocket.Chat serves its single-page app: one HTML shell, with
the headers of ``apps/meteor/app/cors/server/cors.ts`` (``X-Frame-Options`` from
``Iframe_Restrict_Access``/``Iframe_X_Frame_Options``, the ``Enable_CSP`` policy), and a script
(``static/webclient.js``) that does what Rocket.Chat's client does, step by step. The script
talks only to this server's ``/api/v1`` (the one in-memory model, with the rooms and messages of
:class:`example.standin.chat.ChatRocketChat`), so no REST logic lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources

from rocketchat_sso.testing.model import FakeRequest, FakeRocketChat
from rocketchat_sso.testing.server import WebReply

STATIC_PREFIX = "/_standin/"
ASSETS: Mapping[str, str] = {
    "webclient.js": "text/javascript; charset=utf-8",
    "webclient.css": "text/css; charset=utf-8",
}
INDEX = "index.html"
HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
# cors.ts with Enable_CSP on (no CDN prefixes, no analytics): no inline script may run.
CSP = "; ".join(
    [
        "default-src 'self'",
        "connect-src *",
        "font-src 'self' data:",
        "frame-src *",
        "img-src * data: blob:",
        "media-src * data:",
        "script-src 'self' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
    ]
)


@cache
def _asset(name: str) -> bytes:
    package = __name__.rpartition(".")[0]
    return resources.files(package).joinpath("static", name).read_bytes()


class WebClient:
    """The ``web_client`` handler of :class:`RocketChatServer` for one model."""

    def __init__(self, fake: FakeRocketChat) -> None:
        self.fake = fake

    def security_headers(self) -> dict[str, str]:
        """What cors.ts adds to every answer, read from the settings at request time."""
        settings = self.fake.settings
        headers = {"X-XSS-Protection": "1", "X-Content-Type-Options": "nosniff"}
        if settings.get("Iframe_Restrict_Access"):
            headers["X-Frame-Options"] = str(settings.get("Iframe_X_Frame_Options", ""))
        if settings.get("Enable_CSP"):
            headers["Content-Security-Policy"] = CSP
        return headers

    def __call__(self, request: FakeRequest) -> WebReply:
        headers = self.security_headers()
        if request.method not in ("GET", "HEAD"):
            return 405, {**headers, "Content-Type": TEXT_TYPE, "Allow": "GET, HEAD"}, b""
        if request.path.startswith(STATIC_PREFIX):
            name = request.path[len(STATIC_PREFIX) :]
            if name not in ASSETS:
                return 404, {**headers, "Content-Type": TEXT_TYPE}, b"Not found"
            return 200, {**headers, "Content-Type": ASSETS[name]}, _asset(name)
        if request.path == "/favicon.ico":
            return 404, {**headers, "Content-Type": TEXT_TYPE}, b"Not found"
        # Every other path is the app: the client routes /home, /channel/x, /direct/x itself.
        return (
            200,
            {**headers, "Content-Type": HTML_TYPE, "Cache-Control": "no-cache"},
            _asset(INDEX),
        )
