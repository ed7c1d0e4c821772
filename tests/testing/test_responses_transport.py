"""The ``responses`` adapter: request conversion, faults as ``requests`` exceptions, latency."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests
import responses

from rocketchat_sso.testing import FakeResponse, FakeRocketChat, Fault, mock_rocketchat
from rocketchat_sso.testing.responses_transport import register
from tests.testing.helpers import ADMIN, BASE, Api


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.CONNECTION_REFUSED, requests.ConnectionError),
        (Fault.TIMEOUT, requests.ReadTimeout),
        (Fault.DROP_MID_BODY, requests.exceptions.ChunkedEncodingError),
    ],
)
def test_faults_raise_what_requests_raises(
    fake: FakeRocketChat, api: Api, fault: Fault, error: type[Exception]
) -> None:
    fake.inject(fault, path="/api/v1/me")
    with pytest.raises(error):
        api.get("/api/v1/me")
    assert api.get("/api/v1/me").status_code == 200


def test_timeout_is_a_requests_timeout(fake: FakeRocketChat, api: Api) -> None:
    fake.inject(Fault.TIMEOUT)
    with pytest.raises(requests.Timeout):
        api.get("/api/info")


def test_non_json_200_is_an_html_page(fake: FakeRocketChat, api: Api) -> None:
    fake.inject(Fault.NON_JSON_200)
    response = api.get("/api/v1/me")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_injected_response_keeps_status_body_and_headers(fake: FakeRocketChat, api: Api) -> None:
    fake.inject(FakeResponse(429, {"success": False}, {"x-ratelimit-reset": "123"}))
    response = api.get("/api/v1/me")
    assert (response.status_code, response.json()) == (429, {"success": False})
    assert response.headers["x-ratelimit-reset"] == "123"
    assert response.headers["Content-Type"] == "application/json"


def test_request_is_converted_faithfully(fake: FakeRocketChat, api: Api) -> None:
    api.get("/api/v1/users.info", {"username": "admin", "fields": ""})
    api.post("/api/v1/users.logout", {"userId": "x"})
    info, logout = fake.calls
    assert (info.method, info.path, info.query) == (
        "GET",
        "/api/v1/users.info",
        {"username": "admin", "fields": ""},
    )
    assert info.header("x-user-id") == ADMIN["X-User-Id"] and info.body == b""
    assert (logout.method, logout.body) == ("POST", b'{"userId": "x"}')


def test_latency_is_slept_per_call() -> None:
    with mock_rocketchat(BASE, latency=0.05):
        started = time.monotonic()
        Api().get("/api/info")
        assert time.monotonic() - started >= 0.05


def test_base_url_with_a_path_prefix() -> None:
    with mock_rocketchat("https://intranet.example.com/chat/") as fake:
        api = Api("https://intranet.example.com/chat")
        assert api.get("/api/v1/me").json()["username"] == "admin"
        assert fake.calls[0].path == "/api/v1/me"
        with pytest.raises(requests.ConnectionError):
            requests.get("https://intranet.example.com/other/api/v1/me", timeout=5)


def test_other_hosts_are_refused(fake: FakeRocketChat) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get("https://elsewhere.example.com/api/info", timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.get("https://chat.example.com.evil.test/api/info", timeout=5)
    assert fake.calls == []


def test_register_on_an_existing_mock() -> None:
    fake = FakeRocketChat(version="8.2.0")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get("https://www.example.com/ping", json={"pong": True})
        register(rsps, fake, BASE)
        # /api/info answers callers without get-server-info the version without its patch
        assert requests.get(f"{BASE}/api/info", timeout=5).json()["version"] == "8.2"
        assert requests.get("https://www.example.com/ping", timeout=5).json() == {"pong": True}


def test_every_method_reaches_the_model(fake: FakeRocketChat) -> None:
    for method in ("PUT", "PATCH", "DELETE", "OPTIONS"):
        response = requests.request(method, f"{BASE}/api/v1/me", headers=ADMIN, timeout=5)
        assert response.status_code == 404
    assert [call.method for call in fake.calls] == ["PUT", "PATCH", "DELETE", "OPTIONS"]


def test_importing_the_package_does_not_import_responses() -> None:
    code = (
        "import sys, rocketchat_sso.testing as t; "
        "t.FakeRocketChat(); "
        "assert 'responses' not in sys.modules and 'jsonschema' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
