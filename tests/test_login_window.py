"""The loading page's desktop-app mode (``?client=electron``) and the sign-in window's URL."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_loading_page_knows_the_desktop_app(signed_in: Client) -> None:
    # Rocket.Chat adds client=electron to the Iframe URL in its desktop app (useIframe.ts).
    page = signed_in.get("/rocketchat/login/?client=electron").content.decode()
    assert 'data-client="electron"' in page
    assert 'data-window-url="/rocketchat/window/"' in page
    assert 'data-client=""' in signed_in.get("/rocketchat/login/?client=other").content.decode()


def test_the_sign_in_window_has_an_address_without_login_words(signed_in: Client) -> None:
    # Words the desktop app's pull request 3088 sends to the system browser (tests/apps).
    assert not any(word in "/rocketchat/window/" for word in ("login", "auth", "sso", "signin"))
    response = signed_in.get("/rocketchat/window/")
    assert response.status_code == 200
    assert 'data-handoff="true"' in response.content.decode()
    # It hands the token to its opener, which Django's default COOP would cut off.
    assert response["Cross-Origin-Opener-Policy"] == "unsafe-none"


def test_signed_out_the_window_sends_the_user_to_the_login_and_back_to_it(client: Client) -> None:
    page = client.get("/rocketchat/window/").content.decode()
    assert "/accounts/login/?next=/rocketchat/window/" in page
