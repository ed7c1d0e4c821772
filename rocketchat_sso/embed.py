"""The HTML of an embedded Rocket.Chat: the iframe our script signs in, and the script tag.

:func:`iframe_html` is the keyword-only function behind ``{% rocketchat_iframe %}``; sites can
call it from Jinja2 or a view as well.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from rocketchat_sso.conf import LOGOUT_URL_NAME, TOKEN_URL_NAME, conf

SCRIPT = "rocketchat_sso/rocketchat-sso.js"
DEFAULT_TITLE = "Rocket.Chat"
# What Rocket.Chat's calls, screen sharing and uploads ask of the browser inside a frame.
DEFAULT_ALLOW = "camera; microphone; display-capture; clipboard-write; fullscreen; autoplay"
LAYOUT_PARAM, EMBEDDED = "layout", "embedded"
PATH_SAFE = "/@:!$&'()*+,;=-._~"
USER_AUTHENTICATED, USER_ANONYMOUS = "authenticated", "anonymous"


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


def script_html(*, nonce: str | None = None) -> SafeString:
    """The ``<script>`` of ``rocketchat-sso.js`` (deferred; idempotent if included twice)."""
    if nonce is None:
        return format_html('<script src="{}" defer></script>', static(SCRIPT))
    return format_html('<script src="{}" defer nonce="{}"></script>', static(SCRIPT), nonce)


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
    nonce: str | None = None,
    csrf_token: str = "",
) -> SafeString:
    """An iframe of Rocket.Chat that ``rocketchat-sso.js`` signs in (or out), plus the script.

    ``authenticated`` says whether the page's user is logged in to the site: then the script
    fetches a token from the token endpoint and hands it to Rocket.Chat; else, with
    ``sync_logout``, it signs the chat out, so a logout from the site ends the chat session too.
    ``csrf_token`` (Django's, for the page's request) lets the script's ``logout()`` revoke the
    session's token through this app's logout endpoint.
    """
    optional = format_html(
        "{}{}",
        format_html(' class="{}"', css_class) if css_class else "",
        format_html(' id="{}"', element_id) if element_id else "",
    )
    csrf = format_html(' data-rocketchat-csrf-token="{}"', csrf_token) if csrf_token else ""
    iframe = format_html(
        '<iframe src="{src}" title="{title}" width="{width}" height="{height}"{optional}'
        ' allow="{allow}" data-rocketchat-sso data-rocketchat-origin="{origin}"'
        ' data-rocketchat-token-url="{token_url}" data-rocketchat-logout-url="{logout_url}"{csrf}'
        ' data-rocketchat-user="{user}" data-rocketchat-sync-logout="{sync}"></iframe>',
        src=chat_url(path, embedded=embedded),
        title=title,
        width=width,
        height=height,
        optional=optional,
        allow=allow,
        origin=conf.public_origin,
        token_url=reverse(TOKEN_URL_NAME),
        logout_url=reverse(LOGOUT_URL_NAME),
        csrf=csrf,
        user=USER_AUTHENTICATED if authenticated else USER_ANONYMOUS,
        sync="true" if sync_logout else "false",
    )
    if not script:
        return iframe
    return iframe + script_html(nonce=nonce)
