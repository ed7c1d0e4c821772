"""Content-Security-Policy for this app's pages, in step with whatever CSP the site runs.

Two things: the loading page must be framed by Rocket.Chat (``frame-ancestors``), and our
``<script>``/``<link>`` tags carry the site's CSP nonce when it has one. Sites may run Django's
own CSP middleware (Django 6.0+, ``SECURE_CSP``), django-csp (4.x, ``CONTENT_SECURITY_POLICY``)
or neither; the loading page's ``frame-ancestors`` is merged into their policy rather than sent
as a second, contradicting header.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.template.context import Context

CSP_HEADER = "Content-Security-Policy"
FRAME_ANCESTORS = "frame-ancestors"
SELF = "'self'"
DJANGO_CSP_MIDDLEWARE = "django.middleware.csp.ContentSecurityPolicyMiddleware"
DJANGO_CSP_PACKAGE_MIDDLEWARE = "csp.middleware.CSPMiddleware"
CONTEXT_NONCE = "csp_nonce"  # Django 6's csp context processor puts the nonce here


def _middleware() -> list[str]:
    return list(getattr(settings, "MIDDLEWARE", None) or [])


def allow_framing_by(response: HttpResponseBase, sources: Sequence[str]) -> None:
    """Let exactly ``sources`` frame ``response`` (``frame-ancestors``), keeping the site's policy.

    * Django's CSP middleware with a policy: the site's ``SECURE_CSP`` with ``frame-ancestors``
      replaced, given to the middleware the way ``csp_override`` does; one header results. A
      report-only policy naming ``frame-ancestors`` gets the same sources.
    * django-csp with a policy: ``frame-ancestors`` replaced the way ``csp_replace`` does.
    * Otherwise: a header of our own with ``frame-ancestors`` only.
    """
    value = list(sources)
    middleware = _middleware()
    enforced: Mapping[str, Any] = getattr(settings, "SECURE_CSP", None) or {}
    report_only: Mapping[str, Any] = getattr(settings, "SECURE_CSP_REPORT_ONLY", None) or {}
    if DJANGO_CSP_MIDDLEWARE in middleware and (enforced or report_only):
        setattr(response, "_csp_config", {**enforced, FRAME_ANCESTORS: value})  # noqa: B010
        if FRAME_ANCESTORS in report_only:
            setattr(response, "_csp_ro_config", {**report_only, FRAME_ANCESTORS: value})  # noqa: B010
        return
    if DJANGO_CSP_PACKAGE_MIDDLEWARE in middleware:
        setattr(response, "_csp_replace", {FRAME_ANCESTORS: value})  # noqa: B010
        setattr(response, "_csp_replace_ro", {FRAME_ANCESTORS: value})  # noqa: B010
        if getattr(settings, "CONTENT_SECURITY_POLICY", None):
            return
    response[CSP_HEADER] = f"{FRAME_ANCESTORS} {' '.join(value)}"


def nonce_of(
    request: HttpRequest | None, context: Context | Mapping[str, Any] | None = None
) -> str | None:
    """The CSP nonce of this request, or None when the site runs no nonce-issuing CSP.

    Looked up in the template context (``csp_nonce``: Django 6's context processor, or the
    site's own), then on the request (django-csp's ``request.csp_nonce``, Django 6's
    middleware's ``request._csp_nonce``). Both are lazy: reading one puts it into the header.
    """
    value = context.get(CONTEXT_NONCE) if context is not None else None
    if value is None and request is not None:
        value = getattr(request, "csp_nonce", None)
        if value is None:
            value = getattr(request, "_csp_nonce", None)
    return None if value is None else str(value)
