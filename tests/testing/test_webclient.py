"""The stand-in's web client as served: Rocket.Chat's headers, the app shell, its files."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from example.standin.__main__ import main as standin_main
from example.standin.chat import ChatRocketChat
from example.standin.webclient import CSP, WebClient

from rocketchat_sso.testing import FakeRequest, FakeRocketChat
from rocketchat_sso.testing import server as server_module
from rocketchat_sso.testing.server import RocketChatServer, configure_for_site


@pytest.fixture
def fake() -> FakeRocketChat:
    return FakeRocketChat()


@pytest.fixture
def served(fake: FakeRocketChat) -> Iterator[RocketChatServer]:
    server = RocketChatServer(fake, web_client=WebClient(fake)).start()
    yield server
    server.stop()


def test_every_app_path_is_the_shell_with_rocketchats_headers(served: RocketChatServer) -> None:
    for path in ("/", "/home", "/channel/general?layout=embedded"):
        response = requests.get(served.url + path, timeout=5)
        assert response.status_code == 200
        assert '<script src="/_standin/webclient.js" defer></script>' in response.text
        assert response.headers["X-Frame-Options"] == "sameorigin"  # Rocket.Chat's default
        assert response.headers["Content-Security-Policy"] == CSP
        assert "script-src 'self' 'unsafe-eval';" in CSP  # so no inline script may run


def test_framing_and_csp_follow_the_settings(fake: FakeRocketChat) -> None:
    client = WebClient(fake)
    fake.set_setting("Iframe_X_Frame_Options", "deny")
    assert client(FakeRequest("GET", "/home"))[1]["X-Frame-Options"] == "deny"
    fake.set_setting("Iframe_Restrict_Access", False)
    fake.set_setting("Enable_CSP", False)
    headers = client(FakeRequest("GET", "/home"))[1]
    assert "X-Frame-Options" not in headers
    assert "Content-Security-Policy" not in headers


def test_assets_and_unknown_files(served: RocketChatServer) -> None:
    script = requests.get(served.url + "/_standin/webclient.js", timeout=5)
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert "useIframeCommands.ts" in script.text
    assert requests.get(served.url + "/_standin/webclient.css", timeout=5).status_code == 200
    assert requests.get(served.url + "/_standin/nope.js", timeout=5).status_code == 404
    assert requests.get(served.url + "/favicon.ico", timeout=5).status_code == 404
    assert requests.post(served.url + "/home", timeout=5).status_code == 405


def test_configure_for_site(fake: FakeRocketChat) -> None:
    changes = configure_for_site(fake, "https://www.example.com:8443/")
    assert changes == {
        "Accounts_iframe_enabled": True,
        "Accounts_iframe_url": "https://www.example.com:8443/rocketchat/login/",
        "Accounts_Iframe_api_url": "https://www.example.com:8443/rocketchat/token/",
        "Accounts_Iframe_api_method": "POST",
        "Iframe_Integration_send_enable": True,
        "Iframe_Integration_send_target_origin": "https://www.example.com:8443",
        "Iframe_Integration_receive_enable": True,
        "Iframe_Integration_receive_origin": "https://www.example.com:8443",
        "Iframe_Restrict_Access": False,
    }
    assert all(fake.settings[key] == value for key, value in changes.items())


def test_command_line_serves_the_web_client_set_up_for_a_site(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m example.standin``: the chat and the web client; the package's server alone
    (``python -m rocketchat_sso.testing.server``) serves the REST API and nothing else."""
    started: list[RocketChatServer] = []
    monkeypatch.setattr(RocketChatServer, "serve_forever", lambda self: started.append(self))
    standin_main(["--port", "0", "--site", "http://localhost:8000"])
    server_module.main(["--port", "0", "--site", "http://localhost:8000"])
    with_client, api_only = started
    assert isinstance(with_client.web_client, WebClient)
    assert isinstance(with_client.fake, ChatRocketChat)
    assert api_only.web_client is None
    assert type(api_only.fake) is FakeRocketChat
    for server in started:
        settings = server.fake.settings
        assert settings["Iframe_Integration_receive_origin"] == "http://localhost:8000"
        server.server_close()
    out = capsys.readouterr().out
    assert "Rocket.Chat stand-in with its web client on http://127.0.0.1:" in out
    assert "Rocket.Chat stand-in on http://127.0.0.1:" in out
