"""``{% load rocketchat_sso %}``: ``{% rocketchat_iframe %}``, ``{% rocketchat_sso_script %}``."""

from __future__ import annotations

from typing import Any

from django import template
from django.middleware.csrf import get_token
from django.template.context import Context
from django.utils.safestring import SafeString

from rocketchat_sso.web import embed
from rocketchat_sso.web.csp import nonce_of

register = template.Library()

# Template option names that are Python keywords or builtins, and the function's names for them.
RENAMED_OPTIONS = {"class": "css_class", "id": "element_id"}
OPTIONS = frozenset(
    {
        "path",
        "embedded",
        "width",
        "height",
        "css_class",
        "element_id",
        "title",
        "allow",
        "sync_logout",
        "script",
        "timeout",
        "notice",
    }
)


def _csrf_token(context: Context) -> str:
    """Django's CSRF token for the page's request, if there is one (for ``logout()``)."""
    request = context.get("request")
    return get_token(request) if request is not None and hasattr(request, "META") else ""


def _authenticated(context: Context) -> bool:
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return bool(getattr(user, "is_authenticated", False))


@register.simple_tag(takes_context=True)
def rocketchat_iframe(context: Context, **options: Any) -> SafeString:
    """Rocket.Chat in an iframe, signed in as the page's user (see docs/embedding.rst).

    Options: ``path``, ``embedded``, ``width``, ``height``, ``class``, ``id``, ``title``,
    ``allow``, ``sync_logout``, ``script``, ``timeout``, ``notice``.
    """
    kwargs = {RENAMED_OPTIONS.get(name, name): value for name, value in options.items()}
    unknown = sorted(set(kwargs) - OPTIONS)
    if unknown:
        raise template.TemplateSyntaxError(
            f"rocketchat_iframe got unknown option(s): {', '.join(unknown)}"
        )
    authenticated = _authenticated(context)
    return embed.iframe_html(
        authenticated=authenticated,
        nonce=nonce_of(context.get("request"), context),
        csrf_token=_csrf_token(context) if authenticated else "",
        **kwargs,
    )


@register.simple_tag(takes_context=True)
def rocketchat_sso_script(
    context: Context, *, timeout: int = embed.DEFAULT_TIMEOUT_MS, notice: bool = True
) -> SafeString:
    """Only the script, for iframes rendered some other way (``script=False`` on the tag)."""
    authenticated = _authenticated(context)
    return embed.script_html(
        authenticated=authenticated,
        csrf_token=_csrf_token(context) if authenticated else "",
        nonce=nonce_of(context.get("request"), context),
        timeout=timeout,
        notice=notice,
    )
