"""``manage.py rocketchat_sso_sync``: bring Rocket.Chat in step with the Django users."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from rocketchat_sso.accounts import lifecycle, outcomes, signin
from rocketchat_sso.exceptions import RocketChatError, RoomUnmanageable
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.rooms import dispatch, mapping, membership
from rocketchat_sso.sessions import revocation

T = TypeVar("T")
DEFAULT_BATCH_SIZE = 500
PROGRESS_EVERY = 100
FAILED = "failed"
SUMMARY = (
    outcomes.CREATED,
    outcomes.UPDATED,
    outcomes.UNCHANGED,
    outcomes.DEACTIVATED,
    outcomes.REACTIVATED,
    outcomes.DELETED,
    outcomes.SKIPPED,
    outcomes.LINKED,
    FAILED,
)
INTERRUPTED_EXIT = 130  # what shells report for Ctrl-C

Outcome = tuple[str, str]  # (outcome, detail for -v 2)


class Command(BaseCommand):
    help = (
        "Sync Django users to Rocket.Chat: create the missing, update changed profiles, "
        "deactivate inactive and deleted users, and retry what failed before (token revocations "
        "too); then bring each room of ROCKETCHAT_SSO_GROUP_ROOMS in line. Users unchanged "
        "since their last sync cost no Rocket.Chat call (see --full), so running it again "
        "after an interruption carries on where it stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("usernames", nargs="*", help="Only these users (by username).")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Show what would be done, from the database alone; change nothing.",
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="Check every linked user against Rocket.Chat, even if unchanged since the "
            "last sync (catches edits made in Rocket.Chat).",
        )
        parser.add_argument(
            "--failed", action="store_true", help="Only users whose last sync failed."
        )
        parser.add_argument(
            "--since-pk",
            metavar="PK",
            help="Only users with a larger primary key (printed when interrupted).",
        )
        parser.add_argument(
            "--link",
            action="store_true",
            help="Link the named users to the existing Rocket.Chat accounts with their email "
            "addresses, which the automatic sign-in refuses unless ROCKETCHAT_SSO_EMAIL_VERIFIED "
            "vouches for them. You vouch for each address: the command says what it will do "
            "and asks first (--yes to skip the question, --dry-run to only show it). Accounts "
            "with privileged roles, deactivated ones and other users' are never linked.",
        )
        parser.add_argument("--yes", action="store_true", help="With --link: do it without asking.")
        parser.add_argument(
            "--no-rooms",
            action="store_true",
            help="Leave the rooms of ROCKETCHAT_SSO_GROUP_ROOMS alone (by default a run that "
            "names no users reconciles each mapped room: one membership read per room).",
        )
        parser.add_argument(
            "--rooms-only",
            action="store_true",
            help="Only reconcile the rooms of ROCKETCHAT_SSO_GROUP_ROOMS; leave users alone.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Users read from the database per query (default {DEFAULT_BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        if options["link"]:
            self._link(options)
            return
        self.dry_run: bool = options["dry_run"]
        self.full: bool = options["full"]
        self.verbosity: int = options["verbosity"]
        self.progress = self.verbosity >= 1 and self.stdout.isatty()
        self.counts: Counter[str] = Counter()
        self.last_pk: Any = None
        self.started = time.monotonic()
        with RocketChatClient() as self.client:
            try:
                self._run(options)
            except KeyboardInterrupt:
                self._end_progress_line()
                self._summary()
                where = f" (or resume with --since-pk {self.last_pk})" if self.last_pk else ""
                raise CommandError(
                    f"Interrupted. Run it again to carry on{where}.", returncode=INTERRUPTED_EXIT
                ) from None
        self._summary()
        if self.counts[FAILED]:
            raise CommandError(f"{self.counts[FAILED]} failed; see above.")

    def _run(self, options: dict[str, Any]) -> None:
        if options["rooms_only"]:
            if options["no_rooms"] or options["usernames"]:
                raise CommandError("--rooms-only takes neither usernames nor --no-rooms.")
            self._rooms()
            return
        users = self._users(options)
        total = users.count()
        # Users synced here would each schedule their rooms: the rooms are reconciled below.
        with dispatch.suppressed():
            for done, user in enumerate(users.iterator(chunk_size=options["batch_size"]), 1):
                account = getattr(user, "rocketchat_account", None)
                self._one(str(user), partial(self._user, user, account))
                self.last_pk = user.pk
                if self.progress and (done % PROGRESS_EVERY == 0 or done == total):
                    self.stdout.write(f"\r{done}/{total} users", ending="")
                    self.stdout.flush()
        self._end_progress_line()
        if options["usernames"] and not self.dry_run and not options["no_rooms"]:
            self._rooms_of(users)
        if not options["usernames"]:
            for orphan in lifecycle.orphan_accounts(failed=options["failed"]):
                label = f"deleted user (Rocket.Chat {orphan.rocketchat_username})"
                self._one(label, partial(self._orphan, orphan))
            if not self.dry_run:
                self._retry_revocations()
            if not options["no_rooms"] and not options["failed"]:
                self._rooms()

    def _rooms(self) -> None:
        """Each mapped room in line with its groups (rocketchat_sso.rooms.membership); each
        committed as it goes, so an interrupted run is simply run again."""
        specs = mapping.rooms()
        for number, spec in enumerate(specs.values(), 1):
            try:
                result = membership.sync_room(
                    spec, self.client, dry_run=self.dry_run, progress=self._room_progress
                )
            except RoomUnmanageable as error:
                self.counts[FAILED] += 1
                self.stderr.write(f"{spec.name}: cannot be managed: {error.message}")
                continue
            except RocketChatError as error:
                self.counts[FAILED] += 1
                self.stderr.write(f"{spec.name}: failed: {error.message}")
                continue
            self._end_progress_line()
            self.counts[FAILED] += result.failed
            if self.dry_run:
                what = f"would add {result.added}, remove {result.removed}"
            else:
                what = f"added {result.added}, removed {result.removed}"
                if result.moderators or result.moderators_removed:
                    what += f", moderators +{result.moderators} -{result.moderators_removed}"
                if result.failed:
                    what += f", failed {result.failed} (left pending)"
            self.stdout.write(
                f"room {number}/{len(specs)} {spec.name}: {result.members} members, {what}"
            )

    def _rooms_of(self, users: QuerySet[Any]) -> None:
        """The named users' rooms (the rooms as wholes are left to a run without usernames)."""
        if not mapping.configured():
            return
        accounts = RocketChatAccount.objects.filter(user__in=users).select_related("user")
        result = membership.apply_accounts(accounts, self.client)
        self.counts[FAILED] += result.failed
        if result.added or result.removed or result.failed:
            self.stdout.write(
                f"Rooms: added {result.added}, removed {result.removed}, failed {result.failed}"
            )

    def _room_progress(self, text: str) -> None:
        if self.progress:
            self.stdout.write(f"\r{text}", ending="")
            self.stdout.flush()

    def _retry_revocations(self) -> None:
        """Token revocations that failed earlier (see ``rocketchat_sso_revoke``)."""
        outcome = revocation.retry(self.client)
        if outcome.revoked or outcome.failed:
            self.stdout.write(
                f"Token revocations retried: revoked {outcome.revoked}, still pending "
                f"{revocation.pending().count()}"
            )

    def _link(self, options: dict[str, Any]) -> None:
        """``--link``: plan each named user's link, say it, ask, then do it."""
        if not options["usernames"]:
            raise CommandError("--link needs the usernames of the users to link.")
        users = list(self._users(options))
        missing = set(options["usernames"]) - {user.get_username() for user in users}
        if missing:
            raise CommandError(f"No such user: {', '.join(sorted(missing))}.")
        failed = 0
        with RocketChatClient() as client:
            for user in users:
                plan = self._attempt(
                    user, "cannot link", partial(signin.plan_link, user, client=client)
                )
                if plan is None:
                    failed += 1
                    continue
                self.stdout.write(f"{user}: will {plan.describe()}.")
                if options["dry_run"]:
                    continue
                if not options["yes"] and not self._confirmed(options):  # pragma: no cover
                    self.stdout.write(f"{user}: not linked.")
                    continue
                result = self._attempt(
                    user, "failed", partial(signin.link_existing, plan, client=client)
                )
                if result is None:
                    failed += 1
                    continue
                detail = f" ({', '.join(result.changes)})" if result.changes else ""
                self.stdout.write(f"{user}: linked{detail}.")
        if failed:
            raise CommandError(f"{failed} could not be linked; see above.")

    def _attempt(self, user: Any, failure: str, work: Callable[[], T]) -> T | None:
        """``work()``, or ``None`` after saying why Rocket.Chat refused it."""
        try:
            return work()
        except RocketChatError as error:
            self.stderr.write(f"{user}: {failure}: {error.message}")
            return None

    def _confirmed(self, options: dict[str, Any]) -> bool:
        if not sys.stdin.isatty():
            raise CommandError("Linking asks first: run it in a terminal, or add --yes.")
        return input("Link? [y/N] ").strip().lower() in ("y", "yes")

    def _users(self, options: dict[str, Any]) -> QuerySet[Any]:
        return lifecycle.users_to_sync(
            usernames=options["usernames"], failed=options["failed"], since_pk=options["since_pk"]
        )

    def _user(self, user: Any, account: RocketChatAccount | None) -> Outcome:
        result = lifecycle.sync_one(
            user, account, client=self.client, full=self.full, dry_run=self.dry_run
        )
        return result.outcome, f" ({', '.join(result.changes)})" if result.changes else ""

    def _orphan(self, account: RocketChatAccount) -> Outcome:
        return lifecycle.sync_orphan(account, client=self.client, dry_run=self.dry_run).outcome, ""

    def _one(self, label: str, work: Callable[[], Outcome]) -> None:
        """Count one user's outcome; a failure is reported and counted, never fatal."""
        try:
            outcome, detail = work()
        except RocketChatError as error:
            self.counts[FAILED] += 1
            self._end_progress_line()
            self.stderr.write(f"{label}: failed: {error.message}")
            return
        self.counts[outcome] += 1
        if self.verbosity >= 2 and outcome != outcomes.UNCHANGED:
            would = "would be " if self.dry_run else ""
            self.stdout.write(f"{label}: {would}{outcome}{detail}")

    def _end_progress_line(self) -> None:
        if self.progress:
            self.stdout.write("")

    def _summary(self) -> None:
        counts = ", ".join(f"{outcome} {self.counts[outcome]}" for outcome in SUMMARY)
        elapsed = time.monotonic() - self.started
        if self.dry_run:
            self.stdout.write(f"Dry run, nothing changed. Would be: {counts} ({elapsed:.1f} s)")
        else:
            calls = self.client.calls
            self.stdout.write(f"{counts} ({calls} Rocket.Chat calls, {elapsed:.1f} s)")
