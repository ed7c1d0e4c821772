"""Deprecated, gone in 0.2: import from ``rocketchat_sso.sessions.tokens``."""

from __future__ import annotations

from rocketchat_sso._moved import warn
from rocketchat_sso.sessions.tokens import session_lock as session_lock

warn(__name__)
