"""Rocket.Chat's e-mail two-factor on password logins, at its defaults.

On a default Rocket.Chat every new user is opted in to e-mail two-factor, and once that user has
a verified address every password login is refused ``totp-required`` (method ``email``) while
Rocket.Chat e-mails a code. Read from RocketChat/Rocket.Chat:

- the settings and their defaults (all on; ``Accounts_TwoFactorAuthentication_Enabled`` and
  ``..._By_Email_Enabled`` are ``public``, ``..._By_Email_Auto_Opt_In`` is not):
  ``apps/meteor/server/settings/accounts.ts`` (section *Two Factor Authentication*), the same
  defaults in every tree read. Installations upgraded through migration 177 had
  ``..._Auto_Opt_In`` set to false ("Disable auto opt in for existent installations");
- the opt-in: ``Accounts.insertUserDoc`` in ``apps/meteor/app/authentication/server/startup/
  index.ts`` sets ``services.email2fa = {enabled: true, changedAt}`` when ``..._Enabled``,
  ``..._By_Email_Enabled`` and ``..._By_Email_Auto_Opt_In`` are all on; the older ``index.js``
  looked at ``..._Auto_Opt_In`` alone (which release switched was not read per tag; the two
  differ only for users created while one of the first two settings was off). Every creation
  reaches it: REST ``users.create`` through ``saveUser``/``saveNewUser`` and
  ``Accounts.createUserAsync``;
- the refusal: ``apps/meteor/app/2fa/server/loginHandler.ts`` (commit 2052ba6) ``onValidateLogin``
  skips ``resume`` and ``proxy`` logins and calls ``checkCodeForUser`` without a connection (so
  no remember-me, no grace period after registration) with ``disablePasswordFallback``; it runs
  after the password, blocking and active checks (``validateLoginAttemptAsync``).
  ``apps/meteor/app/2fa/server/code/index.ts`` (commit 14ba297): nothing when
  ``..._Enabled`` is off; the first enabled method (TOTP, then e-mail); without a code
  ``totp-required`` "TOTP Required" with ``{method, ...processInvalidCode(), availableMethods}``;
  a wrong code ``totp-invalid`` "TOTP Invalid";
- the e-mail method: ``apps/meteor/app/2fa/server/code/EmailCheck.ts`` (commit 063ff50): enabled
  with ``..._By_Email_Enabled``, ``services.email2fa.enabled`` and at least one *verified*
  address; ``processInvalidCode`` first drops an expired code, then e-mails a new 6-digit code
  to every verified address (``codeGenerated: true``) unless one is still valid
  (``codeGenerated: false, codeExpires``); codes live ``..._By_Email_Code_Expiration`` seconds
  (3600).

Not modelled: TOTP (no user here sets up an authenticator app), the invalid-code attempt limit
(``totp-max-attempts``), OAuth users.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

TOTP_REQUIRED: Final = "totp-required"
TOTP_INVALID: Final = "totp-invalid"
MSG_TOTP_REQUIRED: Final = "TOTP Required"
MSG_TOTP_INVALID: Final = "TOTP Invalid"
METHOD_EMAIL: Final = "email"
ENABLED: Final = "Accounts_TwoFactorAuthentication_Enabled"
BY_EMAIL: Final = "Accounts_TwoFactorAuthentication_By_Email_Enabled"
AUTO_OPT_IN: Final = "Accounts_TwoFactorAuthentication_By_Email_Auto_Opt_In"
CODE_EXPIRATION: Final = "Accounts_TwoFactorAuthentication_By_Email_Code_Expiration"
SUBJECT: Final = "Authentication code"

SETTINGS: Final[Mapping[str, Any]] = {
    ENABLED: True,
    BY_EMAIL: True,
    AUTO_OPT_IN: True,
    CODE_EXPIRATION: 3600,  # seconds
}
PUBLIC: Final = frozenset({ENABLED, BY_EMAIL})


@dataclass(frozen=True)
class SentEmail:
    """One e-mail Rocket.Chat sent (``Mailer.send``): the recipient, subject and code."""

    to: str
    subject: str
    code: str
    when: datetime


@dataclass
class EmailCode:
    """``services.emailCode``: the code last e-mailed and when it expires."""

    code: str
    expires: datetime


def opted_in(settings: Mapping[str, Any]) -> bool:
    """Whether ``insertUserDoc`` switches e-mail two-factor on for a user created now."""
    return all(settings.get(key) is True for key in (ENABLED, BY_EMAIL, AUTO_OPT_IN))


def verified_addresses(doc: Mapping[str, Any]) -> list[str]:
    return [str(e["address"]) for e in doc.get("emails") or [] if e.get("verified")]


def email_check_enabled(
    settings: Mapping[str, Any], doc: Mapping[str, Any], email2fa: bool
) -> bool:
    """``checkCodeForUser`` asks this user for an e-mailed code (``EmailCheck.isEnabled``)."""
    return (
        settings.get(ENABLED) is True
        and settings.get(BY_EMAIL) is True
        and email2fa
        and bool(verified_addresses(doc))
    )


def new_code(settings: Mapping[str, Any], now: datetime) -> EmailCode:
    """``sendEmailCode``: six digits (``Random._randomString(6, '0123456789')``)."""
    seconds = int(settings.get(CODE_EXPIRATION) or 0)
    code = "".join(secrets.choice("0123456789") for _ in range(6))
    return EmailCode(code, now + timedelta(seconds=seconds))
