"""``manage.py demo``: the example site and a Rocket.Chat stand-in, ready to click through.

The site runs on http://localhost:8000 and the stand-in on http://127.0.0.1:3000: two different
*sites*, so the browser applies its cross-site cookie rules as it would in production.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rocketchat_sso.testing import FakeRocketChat
from rocketchat_sso.testing.server import RocketChatServer
from rocketchat_sso.testing.webclient import WebClient, configure_for_site

SITE_HOST, SITE_PORT = "localhost", 8000
CHAT_HOST, CHAT_PORT = "127.0.0.1", 3000
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
        "Run the demo: migrate, create a demo user, start the Rocket.Chat stand-in on "
        f"http://{CHAT_HOST}:{CHAT_PORT} and the site on http://{SITE_HOST}:{SITE_PORT}."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=SITE_PORT, help="the site's port")
        parser.add_argument("--chat-port", type=int, default=CHAT_PORT, help="the stand-in's port")
        parser.add_argument(
            "--chatter",
            type=float,
            default=20.0,
            help="seconds between messages a colleague sends the demo user (0: none)",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="set everything up, check that both answer, then stop instead of serving",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        site_url = f"http://{SITE_HOST}:{options['port']}"
        call_command("migrate", interactive=False, verbosity=0)
        self._demo_user()
        fake = FakeRocketChat()
        fake.add_user(*COLLEAGUE)
        try:
            server = RocketChatServer(
                fake, (CHAT_HOST, options["chat_port"]), web_client=WebClient(fake)
            ).start()
        except OSError as error:
            raise CommandError(f"Cannot serve the stand-in on {CHAT_HOST}: {error}") from error
        configure_for_site(fake, site_url)
        self._use_stand_in(server.url, fake)
        stop = threading.Event()
        if options["chatter"] > 0:
            threading.Thread(
                target=_chatter, args=(fake, options["chatter"], stop), daemon=True
            ).start()
        self._banner(site_url, server.url, options["chatter"])
        try:
            if options["check"]:
                self._check(server.url)
            else:
                call_command(
                    "runserver",
                    f"{SITE_HOST}:{options['port']}",
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

    def _use_stand_in(self, chat_url: str, fake: FakeRocketChat) -> None:
        """Point the app at the stand-in just started, whatever the environment said."""
        configured = getattr(settings, "ROCKETCHAT_SSO_URL", "")
        if configured.rstrip("/") != chat_url:
            self.stdout.write(
                f"Note: ROCKETCHAT_SSO_URL is {configured!r}; the demo uses its own stand-in. "
                "For a real Rocket.Chat run 'manage.py runserver' "
                "(docs/rocketchat.rst, 'A real Rocket.Chat')."
            )
        admin = fake.user_by_username("admin")
        assert admin is not None
        settings.ROCKETCHAT_SSO_URL = settings.ROCKETCHAT_SSO_PUBLIC_URL = chat_url
        settings.ROCKETCHAT_SSO_ADMIN_USER_ID = admin["_id"]
        settings.ROCKETCHAT_SSO_ADMIN_TOKEN = "admin-personal-access-token"  # noqa: S105

    def _banner(self, site_url: str, chat_url: str, chatter: float) -> None:
        lines = [
            "",
            self.style.SUCCESS("Demo ready."),
            f"  Site:        {site_url}/  (log in as {DEMO_USERNAME} / {DEMO_PASSWORD};"
            f" the admin is at {site_url}/admin/)",
            f"  Rocket.Chat: {chat_url}/  (the stand-in: open it too, it signs you in"
            " through the site)",
        ]
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


def _chatter(fake: FakeRocketChat, every: float, stop: threading.Event) -> None:
    """A colleague writes to the demo user now and then, once the user exists in Rocket.Chat."""
    lines = itertools.cycle(CHATTER)
    while not stop.wait(every):
        user = fake.user_by_username(DEMO_USERNAME)
        if user is not None:
            text = next(lines).format(name=user.get("name") or DEMO_USERNAME)
            fake.post_message(COLLEAGUE[0], "@" + DEMO_USERNAME, text)
