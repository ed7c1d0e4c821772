"""``manage.py rocketchat_sso_doctor``: check the live setup end to end."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rocketchat_sso.operations import doctor, smoke
from rocketchat_sso.rocketchat.client import RocketChatClient


class Command(BaseCommand):
    help = (
        "Check the live setup end to end: Rocket.Chat reachable, the admin token usable, the "
        "login method authorized, Rocket.Chat's iframe settings pointing at this site, the "
        "rate limiter and token reuse. Prints OK/FAIL with a hint; exits non-zero on FAIL. "
        "With --smoke, only the smoke test: a throwaway user created, signed in, checked, "
        "revoked and deleted."
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

        parser.add_argument(
            "--smoke",
            action="store_true",
            help="Run only the smoke test: a throwaway probe user signed in end to end by the "
            "login method, its token checked and revoked, the user deleted.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["smoke"]:
            with RocketChatClient() as client:
                failed = smoke.write_smoke(self, smoke.run(client))
            if failed:
                raise CommandError(f"The smoke test failed ({failed} step(s)).")
            return
        with RocketChatClient() as client:
            checkup = doctor.Doctor(
                client,
                site_url=options["site_url"],
                min_calls_per_minute=options["min_calls_per_minute"],
            )
            failed = doctor.write_findings(self, checkup.run())
        if failed:
            raise CommandError(f"{failed} check(s) failed.")
