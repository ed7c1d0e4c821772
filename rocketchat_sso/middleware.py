"""Deprecated, gone in 0.2: import from ``rocketchat_sso.web.middleware``."""

from __future__ import annotations

from rocketchat_sso._moved import warn
from rocketchat_sso.web.middleware import ClientAddressMiddleware as ClientAddressMiddleware

warn(__name__)
