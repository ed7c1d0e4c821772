"""``manage.py rocketchat_sso_revoke``: revoke the Rocket.Chat tokens of ended sessions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rocketchat_sso.accounts import lifecycle
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.sessions import revocation


class Command(BaseCommand):
    help = (
        "Retry the Rocket.Chat token revocations that failed (Rocket.Chat down or rate-limited) "
        "and drop tokens Rocket.Chat has expired itself. With --expired, also revoke the "
        "tokens of sessions that expired or were deleted without a logout: run it after "
        "'manage.py clearsessions', e.g. daily. Stops at the first call Rocket.Chat's rate "
        "limiter refuses; the rest wait for the next run. With --sign-out-everywhere USERNAME, "
        "first sign those users out of Rocket.Chat on every device, their phones included."
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

        parser.add_argument(
            "--sign-out-everywhere",
            nargs="+",
            default=[],
            metavar="USERNAME",
            help="Sign these Django users out of Rocket.Chat on every device (phones and "
            "desktops included: one users.logout each, with the admin's token).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["sign_out_everywhere"]:
            self.sign_out_everywhere(options["sign_out_everywhere"])
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

    def sign_out_everywhere(self, usernames: list[str]) -> None:
        user_model = get_user_model()
        users = {
            user.get_username(): user
            for user in user_model._default_manager.filter(
                **{f"{user_model.USERNAME_FIELD}__in": usernames}
            )
        }
        unknown = [name for name in usernames if name not in users]
        if unknown:
            raise CommandError(f"No such user: {', '.join(unknown)}")
        with RocketChatClient() as client:
            for name in usernames:
                if lifecycle.sign_out_everywhere(users[name], client=client):
                    self.stdout.write(f"{name}: signed out of Rocket.Chat on every device")
                else:
                    self.stdout.write(f"{name}: had no Rocket.Chat session")
