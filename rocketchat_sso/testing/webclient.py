"""Rocket.Chat's web client, as far as iframe login and the iframe integration go.

Plugged into :class:`~rocketchat_sso.testing.server.RocketChatServer` as ``web_client``, it
serves every non-API path the way Rocket.Chat serves its single-page app: one HTML shell, with
the headers of ``apps/meteor/app/cors/server/cors.ts`` (``X-Frame-Options`` from
``Iframe_Restrict_Access``/``Iframe_X_Frame_Options``, the ``Enable_CSP`` policy), and a script
(``static/webclient.js``) that does what Rocket.Chat's client does, step by step. The script
talks only to this server's ``/api/v1`` (the one in-memory model), so no REST logic lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from rocketchat_sso.conf import origin_of
from rocketchat_sso.testing.model import FakeRequest, FakeRocketChat

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
DEFAULT_TOKEN_PATH = "/rocketchat/token/"
DEFAULT_LOGIN_PATH = "/rocketchat/login/"

WebReply = tuple[int, dict[str, str], bytes]


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


def configure_for_site(
    fake: FakeRocketChat,
    site_url: str,
    *,
    token_path: str = DEFAULT_TOKEN_PATH,
    login_path: str = DEFAULT_LOGIN_PATH,
    iframe_login: bool = True,
) -> dict[str, Any]:
    """Set what an administrator sets for a Django site at ``site_url``; returns the changes.

    Iframe login (flow 1) against the site's token endpoint and loading page, both ways of the
    iframe integration (flow 2) limited to the site's origin, and framing allowed.
    """
    base, origin = site_url.rstrip("/"), origin_of(site_url)
    changes: dict[str, Any] = {
        "Accounts_iframe_enabled": iframe_login,
        "Accounts_iframe_url": base + login_path,
        "Accounts_Iframe_api_url": base + token_path,
        "Accounts_Iframe_api_method": "POST",
        "Iframe_Integration_send_enable": True,
        "Iframe_Integration_send_target_origin": origin,
        "Iframe_Integration_receive_enable": True,
        "Iframe_Integration_receive_origin": origin,
        # X-Frame-Options cannot name another origin; a proxy may add frame-ancestors instead.
        "Iframe_Restrict_Access": False,
    }
    for setting_id, value in changes.items():
        fake.set_setting(setting_id, value)
    return changes
