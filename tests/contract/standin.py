"""The Rocket.Chat stand-in in a process of its own, for the contract tests (``tests/contract``).

Configured as ``deploy/rocketchat-live/docker-compose.yml`` configures a real Rocket.Chat: the
release chosen, the rate limiter at its defaults (on), ``CREATE_TOKENS_FOR_USERS=true`` (7.x) and
``CREATE_TOKENS_FOR_USERS_SECRET`` (8.x), and optionally an admin who logs in with a password
(``ADMIN_USERNAME``/``ADMIN_PASS``). Announces its URL on its first line as the package's own
stand-in does (:func:`rocketchat_sso.testing.server.serve`), then serves until terminated.
"""

from __future__ import annotations

import argparse

from rocketchat_sso.testing.model import FakeRocketChat
from rocketchat_sso.testing.server import RocketChatServer, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rocketchat-version", required=True)
    parser.add_argument("--create-tokens-secret", required=True)
    parser.add_argument("--admin-user", default="")
    parser.add_argument("--admin-password", default="")
    args = parser.parse_args(argv)
    fake = FakeRocketChat(
        version=args.rocketchat_version,
        create_tokens_for_users=True,
        create_tokens_secret=args.create_tokens_secret,
    )
    if args.admin_user:
        fake.add_user(
            args.admin_user,
            f"{args.admin_user}@example.com",
            name="Contract admin",
            password=args.admin_password,
            roles=("admin",),
        )
    serve(RocketChatServer(fake, ("127.0.0.1", 0)), " for the contract tests")


if __name__ == "__main__":
    main()
