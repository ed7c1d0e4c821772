"""``python -m example.standin``: the stand-in with its chat and web client, over HTTP.

``--site http://localhost:8000`` sets it up for iframe login and the iframe integration with a
Django site there; open the stand-in's URL in a browser to be signed in by that site.
Options "--create-tokens-secret" (Rocket.Chat 8.x) and "--create-tokens-for-users" (7.x) set the
server environment that lets the site's ``create_token`` login method work (shared with
``python -m rocketchat_sso.testing.server``: :func:`add_environment_options`).
"""

from __future__ import annotations

import argparse

from example.standin.chat import ChatRocketChat
from example.standin.serving import chat_server
from rocketchat_sso.testing import NEWEST, RELEASES
from rocketchat_sso.testing.server import (
    add_environment_options,
    configure_for_site,
    environment_options,
    serve,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the stand-in with its web client.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument(
        "--site", help="URL of a Django site to set up iframe login and the integration for"
    )
    parser.add_argument(
        "--rocketchat-version",
        default=NEWEST.short,
        help=f"the release to play: {', '.join(RELEASES)} (default: the newest, %(default)s)",
    )
    add_environment_options(parser)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    fake = ChatRocketChat(version=args.rocketchat_version, **environment_options(args))
    if args.site:
        configure_for_site(fake, args.site)
    server = chat_server(fake, (args.host, args.port), verbose=args.verbose)
    serve(server, " with its web client")


if __name__ == "__main__":
    main()
