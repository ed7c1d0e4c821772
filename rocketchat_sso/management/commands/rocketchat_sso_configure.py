"""``manage.py rocketchat_sso_configure``: point Rocket.Chat's iframe settings at this site."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rocketchat_sso import rocketchat_settings as rc_settings
from rocketchat_sso.client import RocketChatClient
from rocketchat_sso.exceptions import RocketChatError, RocketChatTwoFactorRequired

TWO_FACTOR_HINT = (
    "Rocket.Chat asks the admin for a 2FA code: create the personal access token with "
    "'Ignore Two Factor Authentication'."
)


class Command(BaseCommand):
    help = (
        "Set Rocket.Chat's iframe-login and iframe-integration settings to this site's URLs "
        "over the REST settings API. Iframe login itself (Accounts_iframe_enabled) is left for "
        "you to turn on once `rocketchat_sso_doctor` passes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--site-url",
            help="This site's public URL (default: ROCKETCHAT_SSO_SITE_URL).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Show the changes; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity: int = options["verbosity"]
        try:
            urls = rc_settings.site_urls(options["site_url"])
        except rc_settings.SiteURLMissing as exc:
            raise CommandError(str(exc)) from None
        with RocketChatClient() as client:
            try:
                changes = self.configure(client, urls, dry_run=options["dry_run"])
            except RocketChatTwoFactorRequired as error:
                raise CommandError(f"{error.message}\n{TWO_FACTOR_HINT}") from None
            except RocketChatError as error:
                raise CommandError(error.message) from None
            self.report_iframe_login(client)
        count = sum(change.changed for change in changes)
        if options["dry_run"]:
            self.stdout.write(f"Dry run: {count} setting(s) would change; nothing was changed.")
        else:
            self.stdout.write(self.style.SUCCESS(f"{count} setting(s) changed."))

    def configure(
        self, client: RocketChatClient, urls: rc_settings.SiteURLs, *, dry_run: bool
    ) -> list[rc_settings.SettingChange]:
        """Show each setting's change and, unless ``dry_run``, write the changed ones."""
        changes = rc_settings.plan(client, urls)
        for change in changes:
            if change.changed:
                self.stdout.write(f"{change.setting_id}: {change.old!r} -> {change.new!r}")
            elif self.verbosity >= 2:
                self.stdout.write(f"{change.setting_id}: {change.old!r} (unchanged)")
        if not dry_run:
            rc_settings.apply(client, changes)
        return changes

    def report_iframe_login(self, client: RocketChatClient) -> None:
        if client.get_setting(rc_settings.IFRAME_ENABLED) is not True:
            self.stdout.write(
                f"{rc_settings.IFRAME_ENABLED} is off: Rocket.Chat keeps its own login form. "
                "Turn it on (Administration > Settings > Accounts > Iframe) once "
                "`manage.py rocketchat_sso_doctor` passes."
            )
