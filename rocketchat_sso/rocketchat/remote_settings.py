"""Rocket.Chat's own settings this app depends on: what they must say for this site, and the
plan of changes to get there.

Shared by the ``rocketchat_sso_configure`` and ``rocketchat_sso_doctor`` commands. Setting ids and
defaults are Rocket.Chat's (``server/settings/accounts.ts``, ``general.ts``, ``rate.ts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils import timezone

from rocketchat_sso.conf import conf, origin_of
from rocketchat_sso.exceptions import SiteURLMissing, SnapshotMissing
from rocketchat_sso.models import SettingsSnapshot
from rocketchat_sso.rocketchat.client import RocketChatClient

# Iframe login (Administration > Settings > Accounts > Iframe).
IFRAME_ENABLED = "Accounts_iframe_enabled"
IFRAME_URL = "Accounts_iframe_url"
IFRAME_API_URL = "Accounts_Iframe_api_url"
IFRAME_API_METHOD = "Accounts_Iframe_api_method"
# Iframe integration (General > Iframe Integration): events to and commands from the page.
SEND_ENABLE = "Iframe_Integration_send_enable"
SEND_TARGET_ORIGIN = "Iframe_Integration_send_target_origin"
RECEIVE_ENABLE = "Iframe_Integration_receive_enable"
RECEIVE_ORIGIN = "Iframe_Integration_receive_origin"
# Rocket.Chat's own X-Frame-Options (General): on, it forbids other sites to frame it.
RESTRICT_ACCESS = "Iframe_Restrict_Access"
X_FRAME_OPTIONS = "Iframe_X_Frame_Options"
# REST rate limiter (Rate Limiter > API Rate Limiter): per route and client address.
RATE_LIMITER = "API_Enable_Rate_Limiter"
RATE_LIMIT_CALLS = "API_Enable_Rate_Limiter_Limit_Calls_Default"
RATE_LIMIT_MS = "API_Enable_Rate_Limiter_Limit_Time_Default"
LOGIN_EXPIRATION_DAYS = "Accounts_LoginExpiration"
# E-mail two-factor (apps/meteor/server/settings/accounts.ts, all on by default): read by the
# doctor, never written by this app.
TWO_FACTOR_ENABLED = "Accounts_TwoFactorAuthentication_Enabled"
TWO_FACTOR_BY_EMAIL = "Accounts_TwoFactorAuthentication_By_Email_Enabled"
TWO_FACTOR_AUTO_OPT_IN = "Accounts_TwoFactorAuthentication_By_Email_Auto_Opt_In"
TWO_FACTOR_SETTINGS = (TWO_FACTOR_ENABLED, TWO_FACTOR_BY_EMAIL, TWO_FACTOR_AUTO_OPT_IN)

ANY_ORIGIN = "*"
ORIGIN_SEPARATOR = ","  # Rocket.Chat splits the receive origins on "," without trimming
API_METHOD = "POST"

# The settings ``rocketchat_sso_configure`` writes. Turning iframe login on
# (Accounts_iframe_enabled) is left to the operator once the doctor is happy: a wrong URL there
# locks everyone out of Rocket.Chat's login form.
CONFIGURED = (
    IFRAME_URL,
    IFRAME_API_URL,
    IFRAME_API_METHOD,
    SEND_ENABLE,
    SEND_TARGET_ORIGIN,
    RECEIVE_ENABLE,
    RECEIVE_ORIGIN,
)


@dataclass(frozen=True)
class SiteURLs:
    """Where browsers find this site and the two URLs Rocket.Chat must know."""

    origin: str
    token_url: str
    login_url: str


def site_urls(site_url: str | None = None) -> SiteURLs:
    """This site's URLs from ``site_url`` (else ``ROCKETCHAT_SSO_SITE_URL``).

    The paths come from ``reverse()``, so they include ``FORCE_SCRIPT_NAME``.
    """
    base = (site_url or conf.ROCKETCHAT_SSO_SITE_URL).rstrip("/")
    if not base:
        raise SiteURLMissing(
            "This site's public URL is unknown: set ROCKETCHAT_SSO_SITE_URL (e.g. "
            "'https://www.example.com') or pass --site-url."
        )
    return SiteURLs(
        origin=origin_of(base),
        token_url=base + reverse("rocketchat_sso:token"),
        login_url=base + reverse("rocketchat_sso:login"),
    )


def origins_of(value: object) -> list[str]:
    return [] if not isinstance(value, str) else value.split(ORIGIN_SEPARATOR)


def with_origin(value: object, origin: str) -> str:
    """The receive-origin list with ``origin`` added; other sites' origins are kept."""
    origins = origins_of(value)
    if value == ANY_ORIGIN or not any(o.strip() for o in origins):
        return origin
    if origin in origins:
        return str(value)
    return f"{value}{ORIGIN_SEPARATOR}{origin}"


def desired(urls: SiteURLs, current: Mapping[str, Any]) -> dict[str, Any]:
    """What each of :data:`CONFIGURED` must say for this site, given the current values."""
    return {
        IFRAME_URL: urls.login_url,
        IFRAME_API_URL: urls.token_url,
        IFRAME_API_METHOD: API_METHOD,
        SEND_ENABLE: True,
        SEND_TARGET_ORIGIN: urls.origin,
        RECEIVE_ENABLE: True,
        RECEIVE_ORIGIN: with_origin(current.get(RECEIVE_ORIGIN), urls.origin),
    }


@dataclass(frozen=True)
class SettingChange:
    """One Rocket.Chat setting: its value now and the value it should have."""

    setting_id: str
    old: Any
    new: Any

    @property
    def changed(self) -> bool:
        return bool(self.old != self.new)


def read(client: RocketChatClient, setting_ids: Iterable[str]) -> dict[str, Any]:
    return {setting_id: client.get_setting(setting_id) for setting_id in setting_ids}


def plan(client: RocketChatClient, urls: SiteURLs) -> list[SettingChange]:
    """Every configured setting with its current and wanted value (unchanged ones included)."""
    current = read(client, CONFIGURED)
    wanted = desired(urls, current)
    return [SettingChange(key, current[key], wanted[key]) for key in CONFIGURED]


def apply(client: RocketChatClient, changes: Iterable[SettingChange]) -> list[SettingChange]:
    """Write the changed settings (``POST /api/v1/settings/<id>``); returns those written."""
    written = []
    for change in changes:
        if change.changed:
            client.set_setting(change.setting_id, change.new)
            written.append(change)
    return written


# -- switching iframe login on and off: record what was there, restore it exactly -------------


def enable_plan(client: RocketChatClient, urls: SiteURLs) -> list[SettingChange]:
    """:func:`plan` plus turning iframe login on, last: only once its URLs are right."""
    changes = plan(client, urls)
    changes.append(SettingChange(IFRAME_ENABLED, client.get_setting(IFRAME_ENABLED), True))
    return changes


def record(changes: Iterable[SettingChange], urls: SiteURLs) -> SettingsSnapshot:
    """Store the current values of the settings about to change, before changing them."""
    return SettingsSnapshot.objects.create(
        rocketchat_url=conf.ROCKETCHAT_SSO_URL,
        site_url=urls.origin,
        values={change.setting_id: change.old for change in changes if change.changed},
    )


def restore_plan(client: RocketChatClient, snapshot: SettingsSnapshot) -> list[SettingChange]:
    """Each recorded setting from its value now back to the recorded one; iframe login first,
    so nobody meets a half-restored login page."""
    setting_ids = sorted(snapshot.values, key=lambda setting_id: setting_id != IFRAME_ENABLED)
    current = read(client, setting_ids)
    return [SettingChange(key, current[key], snapshot.values[key]) for key in setting_ids]


def enable(
    client: RocketChatClient, changes: list[SettingChange], urls: SiteURLs
) -> SettingsSnapshot:
    """Record the current values (so they can be restored), then write ``changes``."""
    snapshot = record(changes, urls)  # before any change, so it can be undone
    apply(client, changes)
    return snapshot


def snapshot_to_restore(pk: int | None = None) -> SettingsSnapshot:
    """Snapshot ``pk``, else the latest not yet restored; :class:`SnapshotMissing` if none."""
    snapshots = SettingsSnapshot.objects.all()
    if pk is None:
        snapshot = snapshots.filter(restored_at__isnull=True).first()
        if snapshot is None:
            raise SnapshotMissing(
                "No recorded settings to restore: --enable records them. Turn iframe login "
                "off in Rocket.Chat (Administration > Settings > Accounts > Iframe) instead."
            )
        return snapshot
    snapshot = snapshots.filter(pk=pk).first()
    if snapshot is None:
        raise SnapshotMissing(f"No snapshot {pk}.")
    return snapshot


def restore(
    client: RocketChatClient, snapshot: SettingsSnapshot, changes: list[SettingChange]
) -> None:
    """Write ``changes`` (from :func:`restore_plan`) and mark ``snapshot`` restored."""
    apply(client, changes)
    snapshot.restored_at = timezone.now()
    snapshot.save(update_fields=["restored_at"])
