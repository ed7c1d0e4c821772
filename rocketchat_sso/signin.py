"""Deprecated, gone in 0.2: import from ``rocketchat_sso.accounts.signin``."""

from __future__ import annotations

from rocketchat_sso._moved import warn
from rocketchat_sso.accounts.signin import sync_user as sync_user

warn(__name__)
