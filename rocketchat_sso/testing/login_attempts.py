"""Rocket.Chat's blocking of repeated failed logins, by username and by client address.

Read from RocketChat/Rocket.Chat:

- the settings and their defaults: ``apps/meteor/server/settings/accounts.ts``, section
  ``Login_Attempts`` (commit 008b060e43404fd4a0beb77180efe61dd50bedd4): enabled, by user after
  10 failures for 5 minutes, by address after 50 failures for 5 minutes, no allow-list;
- the rule: ``restrictLoginAttempts.ts`` ``isValidLoginAttemptByIp`` / ``isValidAttemptByUser``
  as rewritten by PR #30018 (6.4, "login blocked after block time"): the failures counted are
  those since ``max(now - minutes, last successful login)``; blocked once they reach the number;
- where it runs: ``validateLoginAttemptAsync`` in
  ``apps/meteor/app/authentication/server/startup/index.js`` (``Accounts.validateLoginAttempt``,
  also for attempts whose password already failed): the address first
  (``error-login-blocked-for-ip``, "Login has been temporarily blocked For IP"), then the
  username the login named (``error-login-blocked-for-user``, "... For User"), before the
  password's verdict is looked at, so a blocked login is refused even with the right password;
- what is recorded: ``Accounts.onLoginFailure`` saves a failure (the user's username, else the
  username the login named; the client address) unless its error is ``totp-required`` or
  ``error-login-blocked-for-user``; ``afterValidateLogin`` saves a success. Only while
  ``Block_Multiple_Failed_Logins_Enabled``.

Not verified: the release that turned ``Block_Multiple_Failed_Logins_Enabled`` on by default.
The 6.4.0-develop source (commit 78e0dc31ede19914425f590ade4de7f53103ed94) has it off; the newest
read has it on. The stand-in plays it on for every release it knows (7.10, 8.0, 8.8): a site that
aims failed logins at accounts it does not own must see the lockout its users would meet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

BLOCKED_FOR_IP: Final = "error-login-blocked-for-ip"
BLOCKED_FOR_USER: Final = "error-login-blocked-for-user"
MSG_BLOCKED_FOR_IP: Final = "Login has been temporarily blocked For IP"
MSG_BLOCKED_FOR_USER: Final = "Login has been temporarily blocked For User"
BLOCKED_DETAILS: Final = {"function": "Accounts.validateLoginAttempt"}
# Accounts.onLoginFailure does not record these (``ignoredErrorTypes``).
NOT_RECORDED: Final = frozenset({"totp-required", BLOCKED_FOR_USER})

SETTINGS: Final[Mapping[str, Any]] = {
    "Block_Multiple_Failed_Logins_Enabled": True,
    "Block_Multiple_Failed_Logins_By_User": True,
    "Block_Multiple_Failed_Logins_Attempts_Until_Block_by_User": 10,
    "Block_Multiple_Failed_Logins_Time_To_Unblock_By_User_In_Minutes": 5,
    "Block_Multiple_Failed_Logins_By_Ip": True,
    "Block_Multiple_Failed_Logins_Attempts_Until_Block_By_Ip": 50,
    "Block_Multiple_Failed_Logins_Time_To_Unblock_By_Ip_In_Minutes": 5,
    "Block_Multiple_Failed_Logins_Ip_Whitelist": "",
}


@dataclass(frozen=True)
class _Event:
    """One ``server_events`` document: a failed or a successful login."""

    when: datetime
    failed: bool
    username: str | None
    address: str


@dataclass
class LoginAttempts:
    """The ``server_events`` of logins, and the two checks Rocket.Chat makes on them."""

    events: list[_Event] = field(default_factory=list)

    def blocked(
        self, settings: Mapping[str, Any], address: str, username: str | None, now: datetime
    ) -> tuple[str, str] | None:
        """``(errorType, message)`` if this login is refused before its password is looked at."""
        if not settings.get("Block_Multiple_Failed_Logins_Enabled"):
            return None
        allowed = str(settings.get("Block_Multiple_Failed_Logins_Ip_Whitelist")).split(",")
        if (
            settings.get("Block_Multiple_Failed_Logins_By_Ip")
            and address not in allowed  # split on "," and compared as is: no trimming
            and self._over(
                settings,
                "Block_Multiple_Failed_Logins_Attempts_Until_Block_By_Ip",
                "Block_Multiple_Failed_Logins_Time_To_Unblock_By_Ip_In_Minutes",
                lambda event: event.address == address,
                now,
            )
        ):
            return BLOCKED_FOR_IP, MSG_BLOCKED_FOR_IP
        if (
            settings.get("Block_Multiple_Failed_Logins_By_User")
            and username
            and self._over(
                settings,
                "Block_Multiple_Failed_Logins_Attempts_Until_Block_by_User",
                "Block_Multiple_Failed_Logins_Time_To_Unblock_By_User_In_Minutes",
                lambda event: event.username == username,  # an exact match, as the query is
                now,
            )
        ):
            return BLOCKED_FOR_USER, MSG_BLOCKED_FOR_USER
        return None

    def record(
        self,
        settings: Mapping[str, Any],
        *,
        failed: bool,
        address: str,
        username: str | None,
        now: datetime,
        error_type: str = "",
    ) -> None:
        """``onLoginFailure`` / ``afterValidateLogin``: keep the event while blocking is on."""
        if not settings.get("Block_Multiple_Failed_Logins_Enabled"):
            return
        if failed and error_type in NOT_RECORDED:
            return
        self.events.append(_Event(now, failed, username, address))

    def failures(self, username: str) -> int:
        """Failed logins recorded under ``username`` (a test helper)."""
        return sum(1 for event in self.events if event.failed and event.username == username)

    def _over(
        self,
        settings: Mapping[str, Any],
        attempts_key: str,
        minutes_key: str,
        mine: Any,
        now: datetime,
    ) -> bool:
        attempts = settings.get(attempts_key)
        if not attempts:  # "misconfigured": never blocks
            return False
        own = [event for event in self.events if mine(event)]
        if not any(event.failed for event in own):
            return False
        start = now - timedelta(minutes=float(settings.get(minutes_key) or 0))
        successes = [event.when for event in own if not event.failed]
        if successes:
            start = max(start, max(successes))
        failed = sum(1 for event in own if event.failed and event.when >= start)
        return failed >= int(attempts)
