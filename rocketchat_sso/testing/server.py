"""Serve a :class:`FakeRocketChat` over real HTTP, for the example site and browser tests.

The second transport of the one in-memory model (the first is ``responses``): it turns each
HTTP request into a :class:`FakeRequest` and writes the model's answer back, with transport
faults acted out on the socket. Paths outside ``/api/`` go to an optional ``web_client``
handler (any callable taking a :class:`FakeRequest` and returning ``(status, headers, body)``),
which may play Rocket.Chat's web client; the example project's does
(``example_project/example/standin/``). A WebSocket request (``Upgrade: websocket``) outside
``/api/`` goes to an optional ``websocket`` handler, given the open
:class:`~rocketchat_sso.testing.websocket.WebSocket`: the example's plays Meteor's DDP at
``/websocket``, where Rocket.Chat's web client gets its live updates.

Run it alone with ``python -m rocketchat_sso.testing.server --port 3000`` (the REST API only);
``--site http://localhost:8000`` sets it up for iframe login and the iframe integration with a
Django site there (:func:`configure_for_site`).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rocketchat_sso.conf import origin_of
from rocketchat_sso.testing.model import FakeRequest, FakeResponse, FakeRocketChat, Fault
from rocketchat_sso.testing.versions import NEWEST, RELEASES
from rocketchat_sso.testing.websocket import ConnectionClosed, WebSocket, accept_key, is_upgrade

JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"
PROXY_PAGE = b"<!DOCTYPE html><html><body><h1>Welcome</h1></body></html>"
# How long a TIMEOUT fault holds the connection: longer than any sane client timeout.
HANG_SECONDS = 60.0

# Hosts that mean "every interface": no browser can open them, so the URL names the bound one.
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - names them, binds nothing

DEFAULT_TOKEN_PATH = "/rocketchat/token/"
DEFAULT_LOGIN_PATH = "/rocketchat/login/"

# What a ``web_client`` answers: status, headers, body.
WebReply = tuple[int, dict[str, str], bytes]
WebClient = Callable[[FakeRequest], WebReply]
# Serves one open WebSocket until it closes (returns or raises ConnectionClosed).
WebSocketHandler = Callable[[WebSocket, FakeRequest], None]


class _Handler(BaseHTTPRequestHandler):
    server: RocketChatServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the body waits for the
    # client's delayed ACK, 40 ms a response on Linux, which no real Rocket.Chat adds.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        if self.server.verbose:
            super().log_message(format, *args)

    def _fake_request(self) -> FakeRequest:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        return FakeRequest(
            method=self.command,
            path=url.path or "/",
            query=dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)),
            headers=dict(self.headers.items()),
            body=self.rfile.read(length) if length else b"",
            client=self.client_address[0],
        )

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:  # else the client may reuse the socket as it closes: a race
            self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _serve(self) -> None:
        request = self._fake_request()
        websocket = self.server.websocket
        if websocket is not None and is_upgrade(request.headers) and self.command == "GET":
            self._serve_websocket(websocket, request)
            return
        if not request.path.startswith("/api/"):
            web_client = self.server.web_client
            if web_client is None:
                self._send(404, {"Content-Type": HTML_TYPE}, b"Not found")
            else:
                self._send(*web_client(request))
            return
        if self.server.fake.latency:
            time.sleep(self.server.fake.latency)
        result = self.server.fake.handle(request)
        if isinstance(result, FakeResponse):
            self._send(
                result.status, {"Content-Type": JSON_TYPE, **result.headers}, result.json_bytes()
            )
        else:
            self._act_out(result)

    def _serve_websocket(self, handler: WebSocketHandler, request: FakeRequest) -> None:
        """RFC 6455 section 4.2.2's answer, then the connection is the handler's until it ends."""
        self.close_connection = True
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header(
            "Sec-WebSocket-Accept", accept_key(request.header("sec-websocket-key") or "")
        )
        self.end_headers()
        self.wfile.flush()
        socket = WebSocket(self.rfile, self.wfile)
        try:
            handler(socket, request)
        except ConnectionClosed:
            pass
        finally:
            socket.close()

    def _act_out(self, fault: Fault) -> None:
        """Fail on the wire the way a dead, hung or cut-off server does."""
        self.close_connection = True
        if fault is Fault.NON_JSON_200:
            self._send(200, {"Content-Type": HTML_TYPE}, PROXY_PAGE)
        elif fault is Fault.TIMEOUT:
            self.server.stopping.wait(HANG_SECONDS)
        elif fault is Fault.DROP_MID_BODY:
            body = json.dumps({"success": True, "user": {"_id": "x" * 64}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", JSON_TYPE)
            self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
        # CONNECTION_REFUSED: close without a word (a refused connect cannot be acted out
        # once accepted; the client sees the connection dropped).

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class RocketChatServer(ThreadingHTTPServer):
    """A threaded HTTP server answering for one :class:`FakeRocketChat`."""

    daemon_threads = True
    # socketserver listens with a backlog of 5: a burst of connections beyond it (the
    # concurrency tests, the benchmark) waits for the 1 s SYN retransmit.
    request_queue_size = 128

    def __init__(
        self,
        fake: FakeRocketChat,
        address: tuple[str, int] = ("127.0.0.1", 0),
        *,
        web_client: WebClient | None = None,
        websocket: WebSocketHandler | None = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(address, _Handler)
        self.fake = fake
        self.web_client = web_client
        self.websocket = websocket
        self.verbose = verbose
        self.stopping = threading.Event()
        self.host = address[0]

    @property
    def url(self) -> str:
        """The URL with the host name asked for (``localhost`` stays ``localhost``: browsers
        treat it as another origin than ``127.0.0.1``); the bound address for a wildcard."""
        bound, port = self.server_address[:2]
        host = str(bound) if self.host in WILDCARD_HOSTS else self.host
        if ":" in host:  # an IPv6 literal
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def start(self) -> RocketChatServer:
        """Serve in a daemon thread; returns self."""
        threading.Thread(target=self.serve_forever, name="rocketchat-stand-in", daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the Rocket.Chat stand-in over HTTP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to API calls")
    parser.add_argument(
        "--site", help="URL of a Django site to set up iframe login and the integration for"
    )
    parser.add_argument(
        "--rocketchat-version",
        default=NEWEST.short,
        help=f"the release to play: {', '.join(RELEASES)} (default: the newest, %(default)s)",
    )
    parser.add_argument(
        "--no-rate-limiter",
        dest="rate_limiter",
        action="store_false",
        help="turn Rocket.Chat's REST rate limiter off (on by default, as Rocket.Chat ships)",
    )
    add_environment_options(parser)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    fake = FakeRocketChat(
        version=args.rocketchat_version,
        rate_limiter=args.rate_limiter,
        latency=args.latency,
        **environment_options(args),
    )
    if args.site:
        configure_for_site(fake, args.site)
    serve(RocketChatServer(fake, (args.host, args.port), verbose=args.verbose), "")


def add_environment_options(parser: argparse.ArgumentParser) -> None:
    """The server environment variables that let ``users.createToken`` work (the site's
    ``create_token`` login method), as options of the stand-in's commands."""
    parser.add_argument(
        "--create-tokens-secret",
        metavar="SECRET",
        help="Rocket.Chat 8.x's CREATE_TOKENS_FOR_USERS_SECRET (the same value goes in "
        "ROCKETCHAT_SSO_CREATE_TOKEN_SECRET)",
    )
    parser.add_argument(
        "--create-tokens-for-users",
        action="store_true",
        help="Rocket.Chat 7.x's CREATE_TOKENS_FOR_USERS=true",
    )


def environment_options(args: argparse.Namespace) -> dict[str, Any]:
    """:class:`FakeRocketChat` options from :func:`add_environment_options`' arguments."""
    return {
        "create_tokens_secret": args.create_tokens_secret,
        "create_tokens_for_users": args.create_tokens_for_users,
    }


def serve(server: RocketChatServer, what: str) -> None:
    """Announce ``server``'s URL on one line (scripts read its last word), serve until Ctrl-C."""
    print(f"Rocket.Chat stand-in{what} on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
