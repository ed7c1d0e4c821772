"""The HTML of an embedded Rocket.Chat: the iframe our script signs in, and the script tag.

:func:`iframe_html` is the keyword-only function behind ``{% rocketchat_iframe %}``; sites can
call it from Jinja2 or a view as well.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.shortcuts import resolve_url
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from rocketchat_sso.conf import LOGOUT_URL_NAME, TOKEN_URL_NAME, conf

SCRIPT = "rocketchat_sso/rocketchat-sso.js"
# The fetch helper both scripts share, loaded right before SCRIPT (classic scripts run in order).
FETCH_SCRIPT = "rocketchat_sso/sso-fetch.js"
DEFAULT_TITLE = "Rocket.Chat"
# What Rocket.Chat's calls, screen sharing and uploads ask of the browser inside a frame.
DEFAULT_ALLOW = "camera; microphone; display-capture; clipboard-write; fullscreen; autoplay"
LAYOUT_PARAM, EMBEDDED = "layout", "embedded"
PATH_SAFE = "/@:!$&'()*+,;=-._~"
USER_AUTHENTICATED, USER_ANONYMOUS = "authenticated", "anonymous"
DEFAULT_TIMEOUT_MS = 10_000
# What the notice over the frame says, by kind (the script picks the kind from the token
# endpoint's answer and from what Rocket.Chat reports). Plain words: people read them.
NOTICE_TEXTS = {
    "unavailable": _("The chat is unavailable right now. Please try again in a minute."),
    "queued": _("The chat is very busy: your sign-in is queued and continues by itself."),
    "login": _("Please log in to the site to use the chat."),
    "account": _("Your chat account cannot be used. Please contact the site's administrators."),
    "refused": _(
        "The chat did not accept the sign-in. Try again; if it keeps failing, please let the "
        "site's administrators know."
    ),
    "slow": _("The chat is taking long to load."),
    # The user logged out inside Rocket.Chat (rocketchat_sso.sessions.signout): one button brings it
    # back.
    "signed_out": _("You signed out of the chat."),
    "sign_in": _("Sign in to the chat"),
    "retry": _("Try again"),
    "log_in": _("Log in"),
}


def chat_url(path: str = "", *, embedded: bool = False) -> str:
    """Rocket.Chat's public URL for ``path`` (``"/channel/general"``), optionally embedded layout.

    ``path`` must be a path inside Rocket.Chat, never a URL of its own.
    """
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        raise ValueError(f"{path!r} is not a path inside Rocket.Chat")
    query = parse_qsl(parts.query, keep_blank_values=True)
    if embedded and (LAYOUT_PARAM, EMBEDDED) not in query:
        query.append((LAYOUT_PARAM, EMBEDDED))
    url = f"{conf.ROCKETCHAT_SSO_PUBLIC_URL}/{quote(parts.path.lstrip('/'), safe=PATH_SAFE)}"
    return f"{url}?{urlencode(query)}" if query else url


def script_config(
    *,
    authenticated: bool,
    csrf_token: str = "",
    timeout: int = DEFAULT_TIMEOUT_MS,
    notice: bool = True,
) -> dict[str, Any]:
    """What ``rocketchat-sso.js`` trusts, rendered on its own ``<script>`` tag and nowhere else.

    Rocket.Chat's origin comes from here, never from an iframe: injected HTML cannot redirect
    the token.
    """
    return {
        "origin": conf.public_origin,
        "tokenUrl": reverse(TOKEN_URL_NAME),
        "logoutUrl": reverse(LOGOUT_URL_NAME),
        "csrfToken": csrf_token,
        "user": USER_AUTHENTICATED if authenticated else USER_ANONYMOUS,
        "loginUrl": resolve_url(settings.LOGIN_URL),
        "redirectField": REDIRECT_FIELD_NAME,
        "timeout": int(timeout),
        "notice": bool(notice),
        "texts": {kind: str(text) for kind, text in NOTICE_TEXTS.items()},
    }


def script_html(
    *,
    authenticated: bool = False,
    csrf_token: str = "",
    nonce: str | None = None,
    timeout: int = DEFAULT_TIMEOUT_MS,
    notice: bool = True,
) -> SafeString:
    """The ``<script>`` of ``rocketchat-sso.js`` with its configuration (deferred; idempotent).

    Preceded by the ``<script>`` of its fetch helper, ``sso-fetch.js`` (deferred too, so it runs
    first); the configuration stays on ``rocketchat-sso.js``'s own tag.
    """
    config = json.dumps(
        script_config(
            authenticated=authenticated, csrf_token=csrf_token, timeout=timeout, notice=notice
        ),
        separators=(",", ":"),
    )
    nonce_attribute = format_html(' nonce="{}"', nonce) if nonce is not None else ""
    return format_html(
        '<script src="{}" defer{}></script>'
        '<script src="{}" defer{} data-rocketchat-sso-config="{}"></script>',
        static(FETCH_SCRIPT),
        nonce_attribute,
        static(SCRIPT),
        nonce_attribute,
        config,
    )


def iframe_html(
    *,
    authenticated: bool,
    path: str = "",
    embedded: bool = False,
    width: str | int = "100%",
    height: str | int = 600,
    css_class: str = "",
    element_id: str = "",
    title: str = DEFAULT_TITLE,
    allow: str = DEFAULT_ALLOW,
    sync_logout: bool = True,
    script: bool = True,
    timeout: int = DEFAULT_TIMEOUT_MS,
    notice: bool = True,
    nonce: str | None = None,
    csrf_token: str = "",
) -> SafeString:
    """An iframe of Rocket.Chat that ``rocketchat-sso.js`` signs in (or out), plus the script.

    ``authenticated`` says whether the page's user is logged in to the site: then the script
    fetches a token from the token endpoint and hands it to Rocket.Chat; else, with
    ``sync_logout``, it signs the chat out, so a logout from the site ends the chat session too.
    ``csrf_token`` (Django's, for the page's request) lets the script's ``logout()`` revoke the
    session's token through this app's logout endpoint. ``timeout`` (ms) is how long Rocket.Chat
    has to load and report the sign-in before the ``notice`` over the frame says so.
    """
    optional = format_html(
        "{}{}",
        format_html(' class="{}"', css_class) if css_class else "",
        format_html(' id="{}"', element_id) if element_id else "",
    )
    iframe = format_html(
        '<iframe src="{src}" title="{title}" width="{width}" height="{height}"{optional}'
        ' allow="{allow}" data-rocketchat-sso data-rocketchat-sync-logout="{sync}"></iframe>',
        src=chat_url(path, embedded=embedded),
        title=title,
        width=width,
        height=height,
        optional=optional,
        allow=allow,
        sync="true" if sync_logout else "false",
    )
    if not script:
        return iframe
    return iframe + script_html(
        authenticated=authenticated,
        csrf_token=csrf_token,
        nonce=nonce,
        timeout=timeout,
        notice=notice,
    )
