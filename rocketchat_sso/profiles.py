"""Deprecated, gone in 0.2: import from ``rocketchat_sso.accounts.profiles``."""

from __future__ import annotations

from rocketchat_sso._moved import warn
from rocketchat_sso.accounts.profiles import RocketChatProfile as RocketChatProfile
from rocketchat_sso.accounts.profiles import clean_name as clean_name
from rocketchat_sso.accounts.profiles import clean_username as clean_username
from rocketchat_sso.accounts.profiles import default_profile as default_profile

warn(__name__)
