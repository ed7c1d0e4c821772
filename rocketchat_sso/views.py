"""Deprecated, gone in 0.2: import from ``rocketchat_sso.web.views``."""

from __future__ import annotations

from rocketchat_sso._moved import warn
from rocketchat_sso.web.views import LOADING_PAGE_REASONS as LOADING_PAGE_REASONS
from rocketchat_sso.web.views import app_token as app_token
from rocketchat_sso.web.views import login_page as login_page
from rocketchat_sso.web.views import logout as logout
from rocketchat_sso.web.views import sign_in_window as sign_in_window
from rocketchat_sso.web.views import sign_out_everywhere as sign_out_everywhere
from rocketchat_sso.web.views import token as token

warn(__name__)
