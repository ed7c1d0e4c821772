"""Deprecated, gone in 0.2: import from ``rocketchat_sso.accounts.verification``."""

from __future__ import annotations

from rocketchat_sso._moved import warn
from rocketchat_sso.accounts.verification import allauth_email_verified as allauth_email_verified

warn(__name__)
