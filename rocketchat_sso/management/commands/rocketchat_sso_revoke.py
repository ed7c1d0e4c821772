"""``manage.py rocketchat_sso_revoke``: revoke the Rocket.Chat tokens of ended sessions."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rocketchat_sso import revocation
from rocketchat_sso.client import RocketChatClient


class Command(BaseCommand):
    help = (
        "Retry the Rocket.Chat token revocations that failed (Rocket.Chat down or rate-limited) "
        "and drop tokens Rocket.Chat has expired itself. With --expired, also revoke the "
        "tokens of sessions that expired or were deleted without a logout: run it after "
        "'manage.py clearsessions', e.g. daily. Stops at the first call Rocket.Chat's rate "
        "limiter refuses; the rest wait for the next run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--expired",
            action="store_true",
            help="Also look for sessions that ended without a logout (one session lookup per "
            "issued token).",
        )
        parser.add_argument(
            "--rotate-keys",
            action="store_true",
            help="Re-encrypt every stored token under ROCKETCHAT_SSO_TOKEN_KEY, so the old key "
            "can leave ROCKETCHAT_SSO_TOKEN_KEY_FALLBACKS.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["rotate_keys"]:
            rotated = revocation.rotate_all()
            self.stdout.write(f"Re-encrypted {rotated} stored tokens.")
        with RocketChatClient() as client:
            run = revocation.sweep if options["expired"] else revocation.retry
            outcome = run(client)
        left = revocation.pending().count()
        self.stdout.write(
            f"revoked {outcome.revoked}, failed {outcome.failed}, dropped (expired in "
            f"Rocket.Chat) {outcome.dropped}, still pending {left} "
            f"({outcome.calls} Rocket.Chat calls)"
        )
        failed = outcome.failed
        if outcome.rate_limited:  # expected at scale, not an error: the next run goes on
            failed -= 1
            self.stderr.write(
                "Rocket.Chat's rate limiter refused a revocation: run it again later."
            )
        if failed:
            raise CommandError(f"{failed} revocations failed; they stay pending.")
