"""Deprecated, gone in 0.2: import from ``rocketchat_sso.web.embed``."""

from __future__ import annotations

from rocketchat_sso._moved import warn
from rocketchat_sso.web.embed import iframe_html as iframe_html

warn(__name__)
