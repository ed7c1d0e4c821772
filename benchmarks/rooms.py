"""Measure rooms from groups: Rocket.Chat calls per sign-in, per group change, per sync.

The stand-in runs over HTTP in its own process (this script, ``--serve``), seeded with the
Rocket.Chat users directly (as if they had signed in before: no ``users.create`` to wait for);
the Django side links them (``RocketChatAccount`` rows) and puts every user in 3 mapped groups.
Then:

1. calls of one sign-in of a user in 3 mapped groups whose rooms exist, and of a first sign-in
   that creates the 3 rooms;
2. calls of one group change (add, then remove);
3. ``rocketchat_sso_sync --rooms-only`` on N users x 3 groups: first (every member invited,
   in bulk), then again with nothing to change (the goal: one ``groups.members`` per room);
4. with ``--whole``, the whole command (users, then rooms) once to write every profile, then
   again with nothing to change.

Run from the repository root: ``python benchmarks/rooms.py [--users 10000]``. It uses a
SQLite file of its own, whatever ``DATABASE_URL``/``REDIS_URL`` say (as ``sync_10k.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GROUPS = {"Staff": "staff", "Course 101": "course-101", "Tenant A": "tenant-a"}
BATCH = 1000
# tests.settings would switch to the shared PostgreSQL database and Redis with these.
SHARED_SERVICES = ("DATABASE_URL", "REDIS_URL")


def serve(users: int, ids_file: str) -> None:
    """The stand-in with ``users`` Rocket.Chat users, their ids written to ``ids_file``."""
    sys.path.insert(0, str(ROOT))
    from rocketchat_sso.testing import FakeRocketChat
    from rocketchat_sso.testing.server import RocketChatServer
    from rocketchat_sso.testing.server import serve as serve_forever

    fake = FakeRocketChat()
    ids = [fake.add_user(f"user{i:06d}", f"user{i:06d}@example.com")["_id"] for i in range(users)]
    Path(ids_file).write_text(json.dumps(ids))
    serve_forever(RocketChatServer(fake, ("127.0.0.1", 0)), "")


def start_stand_in(users: int, ids_file: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--users", str(users), "--ids-file", str(ids_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    banner = process.stdout.readline()
    match = re.search(r"(http://\S+)", banner)
    if match is None:
        process.kill()
        raise SystemExit(f"stand-in did not start: {banner!r}")
    return process, match.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument(
        "--whole", action="store_true", help="also time the whole sync command (users too)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ids-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.users, args.ids_file)
        return

    workdir = Path(tempfile.mkdtemp(prefix="rocketchat-sso-rooms-"))
    ignored = [name for name in SHARED_SERVICES if os.environ.pop(name, "")]
    if ignored:
        print(f"{' and '.join(ignored)} ignored: this run uses a SQLite file of its own.")
    os.environ["TEST_SQLITE_NAME"] = str(workdir / "db.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    sys.path[:0] = [str(ROOT), str(ROOT / "example_project")]  # tests.settings lists the demo
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from rocketchat_sso.models import RocketChatAccount
    from rocketchat_sso.rocketchat.client import RocketChatClient
    from rocketchat_sso.rooms import membership

    ids_file = workdir / "ids.json"
    server, url = start_stand_in(args.users + 2, ids_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so `finally` stops the stand-in
    try:
        settings.ROCKETCHAT_SSO_URL = url
        settings.ROCKETCHAT_SSO_GROUP_ROOMS = GROUPS
        settings.ROCKETCHAT_SSO_ROOMS_RUN = "inline"
        call_command("migrate", verbosity=0)
        ids = json.loads(ids_file.read_text())
        user_model = get_user_model()
        groups = [Group.objects.create(name=name) for name in GROUPS]
        total = args.users + 2
        for start in range(0, total, BATCH):
            chunk = range(start, min(start + BATCH, total))
            users = user_model.objects.bulk_create(
                user_model(username=f"user{i:06d}", email=f"user{i:06d}@example.com") for i in chunk
            )
            RocketChatAccount.objects.bulk_create(
                RocketChatAccount(
                    user=user, rocketchat_user_id=ids[i], rocketchat_username=f"user{i:06d}"
                )
                for i, user in zip(chunk, users, strict=True)
            )
        through = user_model.groups.through
        everyone = list(user_model.objects.order_by("pk").values_list("pk", flat=True))
        newcomer, changer = everyone[-2:]
        for group in groups:
            for start in range(0, args.users, BATCH):
                through.objects.bulk_create(
                    through(user_id=pk, group_id=group.pk)
                    for pk in everyone[start : min(start + BATCH, args.users)]
                )
        print(f"{args.users} linked users x {len(groups)} mapped groups; stand-in at {url}")

        def calls_of(what: str, work: object) -> None:
            with RocketChatClient() as client:
                started = time.monotonic()
                assert callable(work)
                work(client)
                print(f"{what}: {client.calls} calls ({time.monotonic() - started:.2f} s)")

        newcomer_account = RocketChatAccount.objects.get(user_id=newcomer)
        through.objects.bulk_create(through(user_id=newcomer, group_id=g.pk) for g in groups)
        calls_of(
            "first sign-in, user in 3 mapped groups, the 3 rooms created by it",
            lambda c: membership.apply_account(newcomer_account, c),
        )
        calls_of(
            "next sign-in of that user, nothing changed",
            lambda c: membership.apply_account(newcomer_account, c),
        )

        def sync(label: str, option: str = "--rooms-only") -> None:
            out = StringIO()
            started = time.monotonic()
            call_command("rocketchat_sso_sync", *[o for o in [option] if o], stdout=out)
            elapsed = time.monotonic() - started
            print(f"{label}: {elapsed:.1f} s")
            for line in out.getvalue().strip().splitlines():
                print(f"    {line.strip()}")

        sync(f"first rooms sync, {args.users} x {len(groups)}")
        sync(f"rooms sync, {args.users} x {len(groups)}, nothing changed")
        if args.whole:
            # The whole command: users, then rooms. The accounts above were made without the
            # digest of the profile last written, so a first run writes every profile once.
            sync(f"whole sync, first (every profile written), {args.users} users", "--no-rooms")
            sync(f"whole sync, {args.users} users x {len(groups)} groups, nothing changed", "")

        changer_account = RocketChatAccount.objects.get(user_id=changer)
        changer_user = changer_account.user
        calls_of(
            "sign-in of a user in 3 mapped groups whose rooms exist",
            lambda c: (
                through.objects.bulk_create(
                    through(user_id=changer, group_id=g.pk) for g in groups
                ),
                membership.apply_account(changer_account, c),
            ),
        )
        # A group change goes through the receivers (m2m_changed, then after the commit): count
        # the calls of the work they run.
        counted: list[int] = []
        apply_accounts = membership.apply_accounts

        def counting(accounts: object, client: RocketChatClient) -> object:
            before = client.calls
            try:
                return apply_accounts(accounts, client)  # type: ignore[arg-type]
            finally:
                counted.append(client.calls - before)

        membership.apply_accounts = counting  # type: ignore[assignment]
        for label, change in (
            ("removed from one mapped group", changer_user.groups.remove),
            ("added to one mapped group", changer_user.groups.add),
        ):
            counted.clear()
            started = time.monotonic()
            change(groups[0])
            print(
                f"group change, {label}: {sum(counted)} calls ({time.monotonic() - started:.2f} s)"
            )
        membership.apply_accounts = apply_accounts  # type: ignore[assignment]
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
