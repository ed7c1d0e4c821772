"""The loading page (Rocket.Chat's "Iframe URL"): its content, framing and CSP cooperation."""

from __future__ import annotations

import gettext
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation

import rocketchat_sso
from rocketchat_sso.web import decorators, views

pytestmark = pytest.mark.django_db

FRAME_ANCESTORS = "frame-ancestors 'self' https://chat.example.com"
DJANGO_CSP = "django.middleware.csp.ContentSecurityPolicyMiddleware"
PACKAGE_CSP = "csp.middleware.CSPMiddleware"
# The views and their guards and error answers (rocketchat_sso.web.decorators).
VIEWS_SOURCE = Path(views.__file__).read_text() + Path(decorators.__file__).read_text()


@pytest.fixture
def url() -> str:
    return reverse("rocketchat_sso:login")


def csp_headers(response: Any) -> list[str]:
    return [value for name, value in response.items() if name.lower() == "content-security-policy"]


def nonce_in(html: str) -> str:
    found = re.search(r'<script src="/static/rocketchat_sso/login\.js" nonce="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_anonymous_visitor_is_offered_the_sites_login(client: Client, url: str) -> None:
    response = client.get(url + "?client=electron")
    assert response.status_code == 200
    assert [t.name for t in response.templates][:2] == [
        "rocketchat_sso/login.html",
        "rocketchat_sso/base.html",
    ]
    html = response.content.decode()
    assert 'data-authenticated="false"' in html
    assert 'data-rocketchat-origin="https://chat.example.com"' in html
    assert 'data-rocketchat-url="https://chat.example.com/"' in html
    assert 'data-token-url="/rocketchat/token/"' in html
    assert 'data-login-url="/accounts/login/"' in html
    link = (
        '<a class="rcsso-button"'
        ' href="/accounts/login/?next=/rocketchat/login/%3Fclient%3Delectron"'
        ' target="_top" data-login-link>'
    )
    assert link in html
    assert '<section data-state="signing-in" hidden>' in html
    assert '<section data-state="login">' in html
    assert '<script src="/static/rocketchat_sso/login.js"></script>' in html


def test_signed_in_user_sees_the_signing_in_state(client: Client, user: Any, url: str) -> None:
    client.force_login(user)
    html = client.get(url).content.decode()
    assert 'data-authenticated="true"' in html
    assert '<section data-state="signing-in">' in html
    assert '<section data-state="login" hidden>' in html


def test_only_the_site_and_rocketchat_may_frame_it(client: Client, url: str) -> None:
    response = client.get(url)
    assert "django.middleware.clickjacking.XFrameOptionsMiddleware" in settings.MIDDLEWARE
    assert "X-Frame-Options" not in response  # exempt: the CSP below says who may frame it
    assert csp_headers(response) == [FRAME_ANCESTORS]
    assert "no-store" in response["Cache-Control"]


@override_settings(LOGIN_URL="admin:login")
def test_login_url_may_be_a_url_name(client: Client, url: str) -> None:
    html = client.get(url).content.decode()
    assert 'href="/admin/login/?next=/rocketchat/login/"' in html


def test_only_get(client: Client, url: str) -> None:
    assert client.post(url).status_code == 405


def test_the_base_template_can_be_replaced(client: Client, url: str, tmp_path: Path) -> None:
    (tmp_path / "rocketchat_sso").mkdir()
    (tmp_path / "rocketchat_sso" / "base.html").write_text(
        '<html><body class="my-site">{% block body %}{% endblock %}</body></html>'
    )
    templates = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    with override_settings(TEMPLATES=templates):
        html = client.get(url).content.decode()
    assert '<body class="my-site">' in html
    assert 'id="rocketchat-sso-login"' in html


# -- sites that send a CSP already: one header, theirs, with our frame-ancestors --------------


def test_django_csp_policy_gets_our_frame_ancestors(client: Client, url: str) -> None:
    from csp.constants import NONCE, NONE, SELF

    policy = {
        "DIRECTIVES": {
            "default-src": [SELF],
            "script-src": [SELF, NONCE],
            "frame-ancestors": [NONE],
        }
    }
    with override_settings(
        MIDDLEWARE=[*settings.MIDDLEWARE, PACKAGE_CSP],
        CONTENT_SECURITY_POLICY=policy,
        CONTENT_SECURITY_POLICY_REPORT_ONLY={"DIRECTIVES": {"frame-ancestors": [NONE]}},
    ):
        response = client.get(url)
    [header] = csp_headers(response)
    directives = dict(d.strip().split(" ", 1) for d in header.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == FRAME_ANCESTORS.removeprefix("frame-ancestors ")
    assert directives["script-src"] == f"'self' 'nonce-{nonce_in(response.content.decode())}'"
    report_only = response["Content-Security-Policy-Report-Only"].split("; ")
    assert FRAME_ANCESTORS in report_only  # django-csp adds its default-src 'self'


def test_django_csp_without_a_policy_leaves_the_header_to_us(client: Client, url: str) -> None:
    with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, PACKAGE_CSP]):
        response = client.get(url)
    assert csp_headers(response) == [FRAME_ANCESTORS]
    nonce_in(response.content.decode())  # the nonce is there for a policy that wants it


def test_djangos_own_csp_gets_our_frame_ancestors(client: Client, url: str) -> None:
    csp = pytest.importorskip("django.utils.csp", reason="Django's CSP support is 6.0+")
    policy = {
        "default-src": [csp.CSP.SELF],
        "script-src": [csp.CSP.SELF, csp.CSP.NONCE],
        "frame-ancestors": [csp.CSP.NONE],
    }
    with override_settings(
        MIDDLEWARE=[DJANGO_CSP, *settings.MIDDLEWARE],
        SECURE_CSP=policy,
        SECURE_CSP_REPORT_ONLY={"frame-ancestors": [csp.CSP.NONE]},
    ):
        response = client.get(url)
    nonce = nonce_in(response.content.decode())
    assert csp_headers(response) == [
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; {FRAME_ANCESTORS}"
    ]
    assert response["Content-Security-Policy-Report-Only"] == FRAME_ANCESTORS


def test_djangos_own_csp_report_only_alone(client: Client, url: str) -> None:
    csp = pytest.importorskip("django.utils.csp", reason="Django's CSP support is 6.0+")
    with override_settings(
        MIDDLEWARE=[DJANGO_CSP, *settings.MIDDLEWARE],
        SECURE_CSP_REPORT_ONLY={"default-src": [csp.CSP.SELF]},
    ):
        response = client.get(url)
    assert csp_headers(response) == [FRAME_ANCESTORS]
    assert response["Content-Security-Policy-Report-Only"] == "default-src 'self'"


# -- what people read: plain reasons, a live region, their language, the site's look ----------


def reasons_in(html: str) -> dict[str, str]:
    found = re.search(
        r'<script id="rocketchat-sso-reasons" type="application/json">(.*?)</script>', html
    )
    assert found, html
    reasons: dict[str, str] = json.loads(found.group(1))
    return reasons


def test_every_failure_of_the_token_endpoint_has_a_reason_in_plain_words(
    client: Client, url: str
) -> None:
    reasons = reasons_in(client.get(url).content.decode())
    codes = set(re.findall(r'(?:error_response|ErrorAnswer)\(\s*\d+,\s*"(\w+)"', VIEWS_SOURCE))
    assert {"origin_not_allowed", "rocketchat_timeout", "token_cache_unavailable"} <= codes
    # Never met by the loading page: a wrong method, the logout endpoint's CSRF refusal; and a
    # 401 is the "please log in" state, not a failure.
    codes -= {"method_not_allowed", "csrf_failed", "not_authenticated"}
    assert codes <= set(reasons), codes - set(reasons)
    assert {"network", "login_refused", "default"} <= set(reasons)
    assert "Rocket.Chat" not in "".join(reasons.values())  # the user sees "the chat"
    assert reasons["rocketchat_unavailable"].startswith("The chat server cannot be reached")


def test_state_changes_are_announced_in_one_live_region(client: Client, url: str) -> None:
    html = client.get(url).content.decode()
    assert html.count('aria-live="polite"') == 1
    live = re.search(r'<p [^>]*role="status" aria-live="polite"[^>]*data-live>([^<]*)</p>', html)
    assert live, html
    assert live.group(1) == "Please log in to the site to use the chat."


@override_settings(LANGUAGE_CODE="de")
def test_the_page_speaks_german(client: Client, user: Any, url: str) -> None:
    client.force_login(user)
    html = client.get(url).content.decode()
    assert "Sie werden im Chat angemeldet …" in html
    assert ">Erneut versuchen<" in html
    assert reasons_in(html)["rocketchat_unavailable"].startswith("Der Chat-Server ist im Moment")


def test_the_shipped_german_catalogue_translates_every_reason() -> None:
    # Fails when a message is added or reworded without updating (and compiling) the .po.
    from rocketchat_sso.web.views import LOADING_PAGE_REASONS

    with translation.override("en"):
        english = {code: str(text) for code, text in LOADING_PAGE_REASONS.items()}
    with translation.override("de"):
        german = {code: str(text) for code, text in LOADING_PAGE_REASONS.items()}
    assert [code for code in english if german[code] == english[code]] == []


def test_a_site_can_theme_the_page_through_blocks(client: Client, url: str, tmp_path: Path) -> None:
    (tmp_path / "rocketchat_sso").mkdir()
    (tmp_path / "rocketchat_sso" / "login.html").write_text(
        '{% extends "rocketchat_sso/login.html" %}'
        '{% block brand %}<img class="my-logo" alt="Example">{% endblock %}'
        "{% block unavailable_hint %}<p>Call 555-0100.</p>{% endblock %}"
        '{% block extra_styles %}<link rel="stylesheet" href="/my.css">{% endblock %}'
    )
    templates = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    with override_settings(TEMPLATES=templates):
        html = client.get(url).content.decode()
    assert '<img class="my-logo" alt="Example">' in html
    assert "<p>Call 555-0100.</p>" in html
    assert '<link rel="stylesheet" href="/my.css">' in html
    assert 'data-state="signing-in"' in html  # the rest of the page is still ours


def test_the_shipped_mo_is_compiled_from_the_po_and_translates_everything() -> None:
    locale = Path(rocketchat_sso.__file__).parent / "locale" / "de" / "LC_MESSAGES"
    po = (locale / "django.po").read_text(encoding="utf-8")
    entries = re.findall(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n)+)', po, flags=re.MULTILINE)

    def text(quoted: str) -> str:
        return "".join(json.loads(line) for line in quoted.splitlines())

    translations = {text(msgid): text(msgstr) for msgid, msgstr in entries}
    translations.pop("")  # the header
    assert [msgid for msgid, msgstr in translations.items() if not msgstr] == []
    with (locale / "django.mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    assert {msgid: catalog.gettext(msgid) for msgid in translations} == translations


def test_refused_state_links_to_the_site(client: Client, url: str) -> None:
    html = client.get(url).content.decode()
    assert '<section data-state="refused" hidden>' in html
    assert 'href="http://testserver/" target="_blank" rel="noopener" data-site-link>' in html
    with override_settings(ROCKETCHAT_SSO_SITE_URL="https://www.example.com/"):
        html = client.get(url).content.decode()
    assert 'href="https://www.example.com/" target="_blank"' in html
    assert "your login on www.example.com." in html


def test_the_browsers_word_on_who_framed_it_reaches_the_script(client: Client, url: str) -> None:
    html = client.get(url, headers={"Sec-Fetch-Site": "cross-site"}).content.decode()
    assert 'data-fetch-site="cross-site"' in html


def test_only_the_handoff_window_keeps_its_opener(client: Client, url: str) -> None:
    # Django's default Cross-Origin-Opener-Policy (same-origin) would cut the tie between the
    # handoff window and the loading page framed by another site that opened it.
    assert client.get(url)["Cross-Origin-Opener-Policy"] == "same-origin"
    assert client.get(url + "?handoff=1")["Cross-Origin-Opener-Policy"] == "unsafe-none"
