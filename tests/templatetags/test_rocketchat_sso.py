"""``{% rocketchat_iframe %}`` and ``{% rocketchat_sso_script %}``: the exact HTML they render."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory, override_settings
from django.utils.html import escape

from rocketchat_sso.web.decorators import csrf_refused
from rocketchat_sso.web.embed import NOTICE_TEXTS, chat_url

ALLOW = "camera; microphone; display-capture; clipboard-write; fullscreen; autoplay"


def render(tag: str, context: dict[str, Any] | None = None) -> str:
    return Template("{% load rocketchat_sso %}" + tag).render(Context(context or {}))


def iframe(src: str = "https://chat.example.com/", sync: str = "true", **attrs: str) -> str:
    extra = "".join(f' {name}="{value}"' for name, value in attrs.items())
    return (
        f'<iframe src="{src}" title="Rocket.Chat" width="100%" height="600"{extra}'
        f' allow="{ALLOW}" data-rocketchat-sso data-rocketchat-sync-logout="{sync}"></iframe>'
    )


def script(
    user: str = "anonymous",
    csrf: str = "",
    nonce: str = "",
    origin: str = "https://chat.example.com",
    timeout: int = 10000,
    notice: bool = True,
) -> str:
    """The script tag, its configuration (all the script trusts) in its own attribute."""
    config = {
        "origin": origin,
        "tokenUrl": "/rocketchat/token/",
        "logoutUrl": "/rocketchat/logout/",
        "csrfToken": csrf,
        "user": user,
        "loginUrl": "/accounts/login/",
        "redirectField": "next",
        "timeout": timeout,
        "notice": notice,
        "texts": {kind: str(text) for kind, text in NOTICE_TEXTS.items()},
    }
    nonce_attr = f' nonce="{nonce}"' if nonce else ""
    return (
        # The shared fetch helper first (deferred scripts run in order), with the same nonce.
        f'<script src="/static/rocketchat_sso/sso-fetch.js" defer{nonce_attr}></script>'
        f'<script src="/static/rocketchat_sso/rocketchat-sso.js" defer{nonce_attr}'
        f' data-rocketchat-sso-config="{escape(json.dumps(config, separators=(",", ":")))}">'
        "</script>"
    )


SCRIPT = script()


def config_of(html: str) -> dict[str, Any]:
    found = re.search(r'data-rocketchat-sso-config="([^"]+)"', html)
    assert found, html
    return dict(json.loads(unescape(found.group(1))))


def request_of(user: Any) -> Any:
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_defaults_for_an_anonymous_page() -> None:
    assert render("{% rocketchat_iframe %}") == iframe() + SCRIPT


@pytest.mark.django_db
def test_signed_in_user_from_the_request(user: Any) -> None:
    request = request_of(user)
    html = render("{% rocketchat_iframe %}", {"request": request})
    token = config_of(html)["csrfToken"]
    assert token, html
    assert html == iframe() + script(user="authenticated", csrf=token)
    # The token the page's cookie goes with, as logout() will send it.
    logout = RequestFactory().post("/rocketchat/logout/", headers={"X-CSRFToken": token})
    logout.COOKIES[settings.CSRF_COOKIE_NAME] = request.META["CSRF_COOKIE"]
    assert not csrf_refused(logout)
    anonymous = render("{% rocketchat_iframe %}", {"request": request_of(AnonymousUser())})
    assert anonymous == iframe() + SCRIPT


@pytest.mark.django_db
def test_signed_in_user_from_the_context_alone(user: Any) -> None:
    assert render("{% rocketchat_iframe %}", {"user": user}) == iframe() + script(
        user="authenticated"
    )


def test_every_option() -> None:
    # Values from the context are escaped; template literals are trusted, as Django does.
    html = render(
        '{% rocketchat_iframe path="/channel/general" embedded=True width=400 height="50vh"'
        ' class="chat wide" id="team-chat" title=title allow="camera"'
        " sync_logout=False script=False %}",
        {"title": 'Team "chat" <b>'},
    )
    assert html == (
        '<iframe src="https://chat.example.com/channel/general?layout=embedded"'
        ' title="Team &quot;chat&quot; &lt;b&gt;" width="400" height="50vh" class="chat wide"'
        ' id="team-chat" allow="camera" data-rocketchat-sso'
        ' data-rocketchat-sync-logout="false"></iframe>'
    )
    html = render("{% rocketchat_iframe timeout=3000 notice=False %}")
    assert html == iframe() + script(timeout=3000, notice=False)
    assert render("{% rocketchat_sso_script timeout=3000 %}") == script(timeout=3000)


@override_settings(ROCKETCHAT_SSO_PUBLIC_URL="https://talk.example.com:8443/")
def test_iframe_uses_the_public_url() -> None:
    html = render('{% rocketchat_iframe path="direct/bob" %}')
    assert html.startswith('<iframe src="https://talk.example.com:8443/direct/bob" ')
    assert config_of(html)["origin"] == "https://talk.example.com:8443"
    assert "data-rocketchat-origin" not in html  # an iframe never says where tokens go


def test_csp_nonce_from_the_context_or_the_request() -> None:
    nonce_script = script(nonce="n0nce")
    assert render("{% rocketchat_iframe %}", {"csp_nonce": "n0nce"}) == iframe() + nonce_script
    request = request_of(AnonymousUser())
    request.csp_nonce = "n0nce"  # django-csp's request attribute
    assert render("{% rocketchat_iframe %}", {"request": request}) == iframe() + nonce_script
    assert render("{% rocketchat_sso_script %}", {"request": request}) == nonce_script
    assert render("{% rocketchat_sso_script %}") == SCRIPT


def test_unknown_options_are_template_errors() -> None:
    with pytest.raises(TemplateSyntaxError, match="colour, nonce"):
        render('{% rocketchat_iframe colour="red" nonce="x" %}')


@pytest.mark.parametrize(
    ("path", "embedded", "url"),
    [
        ("", False, "https://chat.example.com/"),
        ("/home", True, "https://chat.example.com/home?layout=embedded"),
        ("channel/a b", False, "https://chat.example.com/channel/a%20b"),
        ("/channel/x?msg=1", True, "https://chat.example.com/channel/x?msg=1&layout=embedded"),
        ("/group/x?layout=embedded", True, "https://chat.example.com/group/x?layout=embedded"),
    ],
)
def test_chat_url(path: str, embedded: bool, url: str) -> None:
    assert chat_url(path, embedded=embedded) == url


@pytest.mark.parametrize("path", ["https://evil.example.com/x", "//evil.example.com/x"])
def test_chat_url_refuses_other_sites(path: str) -> None:
    with pytest.raises(ValueError, match="not a path inside Rocket.Chat"):
        chat_url(path)
