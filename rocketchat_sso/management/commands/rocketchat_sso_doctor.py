"""``manage.py rocketchat_sso_doctor``: check the live setup end to end."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rocketchat_sso import doctor
from rocketchat_sso.client import RocketChatClient


class Command(BaseCommand):
    help = (
        "Check the live setup end to end: Rocket.Chat reachable, the admin token usable, the "
        "login method authorized, Rocket.Chat's iframe settings pointing at this site, the "
        "rate limiter and token reuse. Prints OK/FAIL with a hint; exits non-zero on FAIL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--site-url", help="This site's public URL (default: ROCKETCHAT_SSO_SITE_URL)."
        )
        parser.add_argument(
            "--min-calls-per-minute",
            type=int,
            default=doctor.MIN_CALLS_PER_MINUTE,
            help="Logins per minute the rate limiter must allow this site "
            f"(default {doctor.MIN_CALLS_PER_MINUTE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with RocketChatClient() as client:
            checkup = doctor.Doctor(
                client,
                site_url=options["site_url"],
                min_calls_per_minute=options["min_calls_per_minute"],
            )
            failed = doctor.write_findings(self, checkup.run())
        if failed:
            raise CommandError(f"{failed} check(s) failed.")
