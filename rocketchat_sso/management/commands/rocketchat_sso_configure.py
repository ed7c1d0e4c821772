"""``manage.py rocketchat_sso_configure``: point Rocket.Chat's iframe settings at this site, and
switch iframe login on (``--enable``, checked first, recorded) or back off (``--disable``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rocketchat_sso.exceptions import (
    RocketChatError,
    RocketChatTwoFactorRequired,
    SiteURLMissing,
    SnapshotMissing,
)
from rocketchat_sso.operations import doctor, smoke
from rocketchat_sso.rocketchat import remote_settings as remote
from rocketchat_sso.rocketchat.client import RocketChatClient

TWO_FACTOR_HINT = (
    "Rocket.Chat asks the admin for a 2FA code: create the personal access token with "
    "'Ignore Two Factor Authentication'."
)
SMOKE_TITLE = "Smoke test"
# The smoke test would only repeat these checks' failures, with more calls.
SMOKE_NEEDS = ("reachable", "admin", "two_factor", "login_method")
RESTORE_COMMAND = "python manage.py rocketchat_sso_configure --disable --snapshot {pk}"


class Command(BaseCommand):
    help = (
        "Set Rocket.Chat's iframe-login and iframe-integration settings to this site's URLs "
        "over the REST settings API. With --enable, first check everything iframe login needs "
        "(Rocket.Chat and its admin, the token endpoint's CORS preflight, framing of the loading "
        "page, the session cookie, and the smoke test unless --skip-smoke), change nothing "
        "unless all pass, record the previous values "
        "and turn iframe login on; --disable restores the recorded values."
    )
    # How the --enable checks reach this site's public URL; tests put the test client here.
    site_fetch: doctor.SiteFetch = staticmethod(doctor.fetch_site)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--site-url",
            help="This site's public URL (default: ROCKETCHAT_SSO_SITE_URL).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Show the changes; change nothing."
        )
        switch = parser.add_mutually_exclusive_group()
        switch.add_argument(
            "--enable",
            action="store_true",
            help="Check, record the current values, then configure and turn iframe login on.",
        )
        switch.add_argument(
            "--disable",
            action="store_true",
            help="Restore the values recorded by --enable (the latest not yet restored, or "
            "--snapshot).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="With --enable: change the settings even if checks fail.",
        )
        parser.add_argument(
            "--skip-smoke",
            action="store_true",
            help="With --enable: do not run the smoke test (a throwaway user signed in end to "
            "end) before switching on.",
        )
        parser.add_argument(
            "--snapshot", type=int, help="With --disable: the recorded snapshot to restore."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity: int = options["verbosity"]
        self.dry_run: bool = options["dry_run"]
        if options["force"] and not options["enable"]:
            raise CommandError("--force goes with --enable.")
        if options["skip_smoke"] and not options["enable"]:
            raise CommandError("--skip-smoke goes with --enable.")
        if options["snapshot"] is not None and not options["disable"]:
            raise CommandError("--snapshot goes with --disable.")
        with RocketChatClient() as client:
            try:
                if options["disable"]:
                    self.disable(client, options["snapshot"])
                elif options["enable"]:
                    self.enable(
                        client,
                        options["site_url"],
                        force=options["force"],
                        run_smoke=not options["skip_smoke"],
                    )
                else:
                    self.configure_only(client, options["site_url"])
            except RocketChatTwoFactorRequired as error:
                raise CommandError(f"{error.message}\n{TWO_FACTOR_HINT}") from None
            except RocketChatError as error:
                raise CommandError(error.message) from None

    def urls(self, site_url: str | None) -> remote.SiteURLs:
        try:
            return remote.site_urls(site_url)
        except SiteURLMissing as exc:
            raise CommandError(str(exc)) from None

    def configure_only(self, client: RocketChatClient, site_url: str | None) -> None:
        urls = self.urls(site_url)
        changes = self.show(remote.plan(client, urls))
        if not self.dry_run:
            remote.apply(client, changes)
        self.report_iframe_login(client)
        self.summary(changes)

    def enable(
        self, client: RocketChatClient, site_url: str | None, *, force: bool, run_smoke: bool
    ) -> None:
        urls = self.urls(site_url)
        checkup = doctor.Doctor(client, site_url=site_url, fetch=self.site_fetch)
        failed = doctor.write_findings(self, checkup.run(doctor.ENABLE_CHECKS))
        if run_smoke:
            failed += self.smoke(client, checkup)
        if failed and not force:
            raise CommandError(
                f"{failed} check(s) failed: nothing was changed. Fix them, or pass --force to "
                "change the settings anyway."
            )
        if failed:
            self.stdout.write(
                self.style.WARNING(
                    f"--force: changing Rocket.Chat's settings although {failed} check(s) failed."
                )
            )
        changes = self.show(remote.enable_plan(client, urls))
        if self.dry_run:
            self.summary(changes)
            return
        snapshot = remote.enable(client, changes, urls)
        self.summary(changes)
        self.stdout.write(
            f"Previous values recorded (snapshot {snapshot.pk}). To restore them:\n"
            f"    {RESTORE_COMMAND.format(pk=snapshot.pk)}"
        )

    def smoke(self, client: RocketChatClient, checkup: doctor.Doctor) -> int:
        """The smoke test, once the checks it builds on passed; returns how many steps failed."""
        missing = [name for name in SMOKE_NEEDS if name in checkup.unmet]
        if missing:
            skipped = doctor.Finding(doctor.SKIP, f"needs: {', '.join(missing)}", title=SMOKE_TITLE)
            return doctor.write_findings(self, [skipped])
        return smoke.write_smoke(self, smoke.run(client))

    def disable(self, client: RocketChatClient, snapshot_pk: int | None) -> None:
        try:
            snapshot = remote.snapshot_to_restore(snapshot_pk)
        except SnapshotMissing as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Restoring snapshot {snapshot.pk}, recorded {snapshot.created_at}.")
        changes = self.show(remote.restore_plan(client, snapshot))
        if not self.dry_run:
            remote.restore(client, snapshot, changes)
        self.summary(changes)

    def show(self, changes: list[remote.SettingChange]) -> list[remote.SettingChange]:
        """Print each setting's change (unchanged ones too at -v 2)."""
        for change in changes:
            if change.changed:
                self.stdout.write(f"{change.setting_id}: {change.old!r} -> {change.new!r}")
            elif self.verbosity >= 2:
                self.stdout.write(f"{change.setting_id}: {change.old!r} (unchanged)")
        return changes

    def summary(self, changes: list[remote.SettingChange]) -> None:
        count = sum(change.changed for change in changes)
        if self.dry_run:
            self.stdout.write(f"Dry run: {count} setting(s) would change; nothing was changed.")
        else:
            self.stdout.write(self.style.SUCCESS(f"{count} setting(s) changed."))

    def report_iframe_login(self, client: RocketChatClient) -> None:
        if client.get_setting(remote.IFRAME_ENABLED) is not True:
            self.stdout.write(
                f"{remote.IFRAME_ENABLED} is off: Rocket.Chat keeps its own login form. "
                "Turn it on with `manage.py rocketchat_sso_configure --enable`, which checks "
                "first and records what it changes."
            )
