"""``{% rocketchat_iframe %}`` and ``{% rocketchat_sso_script %}``: the exact HTML they render."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory, override_settings

from rocketchat_sso.embed import chat_url
from rocketchat_sso.views import csrf_refused

ALLOW = "camera; microphone; display-capture; clipboard-write; fullscreen; autoplay"
SCRIPT = '<script src="/static/rocketchat_sso/rocketchat-sso.js" defer></script>'


def render(tag: str, context: dict[str, Any] | None = None) -> str:
    return Template("{% load rocketchat_sso %}" + tag).render(Context(context or {}))


def iframe(
    src: str = "https://chat.example.com/", user: str = "anonymous", csrf: str = "", **attrs: str
) -> str:
    extra = "".join(f' {name}="{value}"' for name, value in attrs.items())
    csrf_attr = f' data-rocketchat-csrf-token="{csrf}"' if csrf else ""
    return (
        f'<iframe src="{src}" title="Rocket.Chat" width="100%" height="600"{extra}'
        f' allow="{ALLOW}" data-rocketchat-sso data-rocketchat-origin="https://chat.example.com"'
        ' data-rocketchat-token-url="/rocketchat/token/"'
        f' data-rocketchat-logout-url="/rocketchat/logout/"{csrf_attr}'
        f' data-rocketchat-user="{user}" data-rocketchat-sync-logout="true"></iframe>'
    )


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
    token = re.search(r'data-rocketchat-csrf-token="([^"]+)"', html)
    assert token, html
    assert html == iframe(user="authenticated", csrf=token.group(1)) + SCRIPT
    # The token the page's cookie goes with, as logout() will send it.
    logout = RequestFactory().post("/rocketchat/logout/", headers={"X-CSRFToken": token.group(1)})
    logout.COOKIES[settings.CSRF_COOKIE_NAME] = request.META["CSRF_COOKIE"]
    assert not csrf_refused(logout)
    anonymous = render("{% rocketchat_iframe %}", {"request": request_of(AnonymousUser())})
    assert anonymous == iframe() + SCRIPT


@pytest.mark.django_db
def test_signed_in_user_from_the_context_alone(user: Any) -> None:
    assert (
        render("{% rocketchat_iframe %}", {"user": user}) == iframe(user="authenticated") + SCRIPT
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
        ' data-rocketchat-origin="https://chat.example.com"'
        ' data-rocketchat-token-url="/rocketchat/token/"'
        ' data-rocketchat-logout-url="/rocketchat/logout/" data-rocketchat-user="anonymous"'
        ' data-rocketchat-sync-logout="false"></iframe>'
    )


@override_settings(ROCKETCHAT_SSO_PUBLIC_URL="https://talk.example.com:8443/")
def test_iframe_uses_the_public_url() -> None:
    html = render('{% rocketchat_iframe path="direct/bob" %}')
    assert html.startswith('<iframe src="https://talk.example.com:8443/direct/bob" ')
    assert 'data-rocketchat-origin="https://talk.example.com:8443"' in html


def test_csp_nonce_from_the_context_or_the_request() -> None:
    nonce_script = SCRIPT.replace(" defer>", ' defer nonce="n0nce">')
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
