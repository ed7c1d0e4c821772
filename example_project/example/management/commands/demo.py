"""``manage.py demo``: the example site and a Rocket.Chat stand-in, ready to click through.

Two layouts, both served on loopback (browsers resolve ``*.localhost`` themselves, no DNS):

* ``--layout cross-site`` (default): the site on http://localhost:8000 and the stand-in on
  http://127.0.0.1:3000, two different *sites*, so the browser applies its third-party cookie
  rules as it would to ``www.example.com`` and ``chat.example.net``.
* ``--layout same-site``: the site on http://demo.localhost:8000 and the stand-in on
  http://chat.demo.localhost:3000, one site (as ``www.example.com`` and ``chat.example.com``),
  the recommended deployment, with Django's default ``SameSite=Lax`` session cookie.
"""

from __future__ import annotations

import errno
import itertools
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from example.standin.chat import ChatRocketChat
from example.standin.serving import chat_server
from rocketchat_sso.rooms.mapping import group_rooms
from rocketchat_sso.testing import NEWEST, RELEASES
from rocketchat_sso.testing.server import RocketChatServer, configure_for_site

SITE_PORT, CHAT_PORT = 8000, 3000
BIND_HOST = "127.0.0.1"  # both servers; the layouts differ in the names browsers use
CROSS_SITE, SAME_SITE = "cross-site", "same-site"
# layout -> (the site's host, Rocket.Chat's host), as the browser reaches them.
LAYOUTS = {
    CROSS_SITE: ("localhost", "127.0.0.1"),
    SAME_SITE: ("demo.localhost", "chat.demo.localhost"),
}
# What works where, said in the banner (docs/flows.rst, "Browsers, cookies and which flow to use").
FLOWS = {
    CROSS_SITE: (
        "Rocket.Chat is on another site than the site (as chat.example.net next to "
        "www.example.com).",
        "Embedded chat on the site's home page (flow 2): signs you in in every browser.",
        "Rocket.Chat opened on its own (flow 1): signs you in at once where the browser allows "
        "third-party cookies; where it blocks them (Chrome and Chromium by default, Safari, "
        "Firefox's strict mode) after one click on 'Continue to the chat' (where the browser "
        "refuses the site's cookies, that click opens a sign-in window of the site).",
    ),
    SAME_SITE: (
        "Rocket.Chat is on a subdomain of the site (as chat.example.com next to "
        "www.example.com): the recommended deployment.",
        "Both flows sign you in in every browser and setting, with Django's default "
        "SameSite=Lax session cookie.",
    ),
}
DEMO_USERNAME, DEMO_PASSWORD = "demo", "demo-password"
COLLEAGUE = ("alex", "alex@example.com", "Alex Colleague")
CHATTER = (
    "Hi {name}, welcome! This chat signed you in with your site login.",
    "The red badge above the chat counts my messages: open our conversation to clear it.",
    "Log out of the site and the chat signs out too.",
    "Still here? I will keep writing every now and then.",
)
CHECK_TIMEOUT = 5


class Command(BaseCommand):
    help = (
        "Run the demo: migrate, create a demo user, start the Rocket.Chat stand-in and the site, "
        "on two sites (--layout cross-site, the default) or one (--layout same-site)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=SITE_PORT, help="the site's port")
        parser.add_argument("--chat-port", type=int, default=CHAT_PORT, help="the stand-in's port")
        parser.add_argument(
            "--layout",
            choices=sorted(LAYOUTS),
            default=CROSS_SITE,
            help="Rocket.Chat on another site than the site (default), or on a subdomain of it",
        )
        parser.add_argument(
            "--chatter",
            type=float,
            default=20.0,
            help="seconds between messages a colleague sends the demo user (0: none)",
        )
        parser.add_argument(
            "--chatter-messages",
            type=int,
            default=0,
            help="the colleague stops after this many messages (0, the default: never)",
        )
        parser.add_argument(
            "--rocketchat-version",
            default=NEWEST.short,
            choices=sorted(RELEASES),
            help="the Rocket.Chat release the stand-in plays (default: the newest, %(default)s)",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="set everything up, check that both answer, then stop instead of serving",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        layout = options["layout"]
        site_host, chat_host = LAYOUTS[layout]
        site_url = f"http://{site_host}:{options['port']}"
        _check_ports_free(options["port"], options["chat_port"], site_host, chat_host)
        call_command("migrate", interactive=False, verbosity=0)
        self._demo_user()
        fake = ChatRocketChat(version=options["rocketchat_version"])
        fake.add_user(*COLLEAGUE)
        server = _start_stand_in(fake, options["chat_port"])
        chat_url = f"http://{chat_host}:{server.server_address[1]}"
        configure_for_site(fake, site_url)
        self._use_stand_in(server.url, chat_url, site_url, fake)
        self._cookies(layout)
        stop = threading.Event()
        if options["chatter"] > 0:
            threading.Thread(
                target=_chatter,
                args=(fake, options["chatter"], stop, options["chatter_messages"]),
                daemon=True,
            ).start()
        self._banner(layout, site_url, chat_url, options["chatter"], fake.version.short)
        try:
            if options["check"]:
                self._check(server.url)
            else:
                call_command(
                    "runserver",
                    f"{BIND_HOST}:{options['port']}",
                    use_reloader=False,
                    insecure_serving=True,  # static files even with DJANGO_DEBUG=0
                )
        finally:
            stop.set()
            server.stop()

    def _demo_user(self) -> None:
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        user.email = f"{DEMO_USERNAME}@example.com"
        user.first_name, user.last_name = "Demo", "User"
        user.is_staff = user.is_superuser = True
        user.set_password(DEMO_PASSWORD)
        user.save()
        # A room per group in the chat (ROCKETCHAT_SSO_GROUP_ROOMS), joined at sign-in.
        for name in group_rooms():
            user.groups.add(Group.objects.get_or_create(name=name)[0])

    def _use_stand_in(
        self, server_url: str, chat_url: str, site_url: str, fake: ChatRocketChat
    ) -> None:
        """Point the app at the stand-in just started, whatever the environment said."""
        configured = getattr(settings, "ROCKETCHAT_SSO_URL", "")
        if not _is_stand_in_url(configured):  # a real Rocket.Chat, not the stand-in's default
            self.stdout.write(
                f"Note: ROCKETCHAT_SSO_URL is {configured!r}; the demo uses its own stand-in. "
                "For a real Rocket.Chat run 'manage.py runserver' "
                "(docs/rocketchat.rst, 'A real Rocket.Chat')."
            )
        admin = fake.user_by_username("admin")
        assert admin is not None
        settings.ROCKETCHAT_SSO_URL = server_url  # the site's own calls, by address
        settings.ROCKETCHAT_SSO_PUBLIC_URL = chat_url  # what browsers load
        settings.ROCKETCHAT_SSO_SITE_URL = site_url
        settings.ROCKETCHAT_SSO_ADMIN_USER_ID = admin["_id"]
        settings.ROCKETCHAT_SSO_ADMIN_TOKEN = "admin-personal-access-token"  # noqa: S105

    def _cookies(self, layout: str) -> None:
        """The session cookie each layout needs (docs/flows.rst)."""
        if layout == SAME_SITE:
            settings.SESSION_COOKIE_SAMESITE, settings.SESSION_COOKIE_SECURE = "Lax", False
        else:  # browsers keep a Secure cookie from http://localhost (a trustworthy origin)
            settings.SESSION_COOKIE_SAMESITE, settings.SESSION_COOKIE_SECURE = "None", True

    def _banner(
        self, layout: str, site_url: str, chat_url: str, chatter: float, version: str
    ) -> None:
        lines = [
            "",
            self.style.SUCCESS(f"Demo ready ({layout})."),
            f"  Site:        {site_url}/  (log in as {DEMO_USERNAME} / {DEMO_PASSWORD};"
            f" the admin is at {site_url}/admin/)",
            f"  Rocket.Chat: {chat_url}/  (the stand-in, playing Rocket.Chat {version})",
            *(f"  {line}" for line in FLOWS[layout]),
        ]
        other = SAME_SITE if layout == CROSS_SITE else CROSS_SITE
        lines.append(f"  The other layout: manage.py demo --layout {other}")
        if chatter > 0:
            lines.append(f"  {COLLEAGUE[2]} writes to you every {chatter:g} s: watch the badge.")
        lines += ["Quit with Ctrl-C.", ""]
        self.stdout.write("\n".join(lines))

    def _check(self, chat_url: str) -> None:
        for path in ("/api/info", "/home"):
            response = requests.get(chat_url + path, timeout=CHECK_TIMEOUT)
            if response.status_code != 200:
                raise CommandError(f"The stand-in answered {response.status_code} for {path}")
        self.stdout.write("Check passed: the stand-in answers; not starting the site.")


def _chatter(fake: ChatRocketChat, every: float, stop: threading.Event, limit: int = 0) -> None:
    """A colleague writes to the demo user now and then, once the user exists in Rocket.Chat;
    ``limit`` messages at most (0: no end), so that a watcher can count them all once sent."""
    lines = itertools.cycle(CHATTER)
    sent = 0
    while not (limit and sent >= limit) and not stop.wait(every):
        user = fake.user_by_username(DEMO_USERNAME)
        if user is not None:
            text = next(lines).format(name=user.get("name") or DEMO_USERNAME)
            fake.post_message(COLLEAGUE[0], "@" + DEMO_USERNAME, text)
            sent += 1


SITE, STAND_IN = "the site", "the stand-in"
PORT_OPTIONS = {SITE: "--port", STAND_IN: "--chat-port"}


def _port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on ``port`` at any address ``host`` resolves to."""
    if port == 0:  # any free port
        return False
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as runserver does
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return True
    return False


def _busy_port_error(host: str, port: int, what: str) -> CommandError:
    option = PORT_OPTIONS[what]
    example = f"{option} {port + 1}"
    return CommandError(
        f"Cannot serve {what} on {host}:{port}: port {port} is already in use. Stop what uses "
        f'it, or pick another with {option}: make demo ARGS="{example}" '
        f"(or manage.py demo {example})."
    )


def _check_ports_free(site_port: int, chat_port: int, site_host: str, chat_host: str) -> None:
    """Both ports must be free before anything starts, let alone "Demo ready.".

    Both servers listen on ``BIND_HOST``; the message names the host the browser uses.
    """
    if _port_in_use(BIND_HOST, site_port):
        raise _busy_port_error(site_host, site_port, SITE)
    if _port_in_use(BIND_HOST, chat_port):
        raise _busy_port_error(chat_host, chat_port, STAND_IN)


def _start_stand_in(fake: ChatRocketChat, chat_port: int) -> RocketChatServer:
    try:
        return chat_server(fake, (BIND_HOST, chat_port)).start()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:  # taken since _check_ports_free looked
            raise _busy_port_error(BIND_HOST, chat_port, STAND_IN) from error
        raise CommandError(f"Cannot serve the stand-in on {BIND_HOST}: {error}") from error


def _is_stand_in_url(url: str) -> bool:
    """The example's default ROCKETCHAT_SSO_URL: the stand-in on this machine, at any port."""
    parts = urlsplit(url)
    hosts = {BIND_HOST, "localhost", *(chat for _, chat in LAYOUTS.values())}
    return parts.scheme == "http" and parts.hostname in hosts
