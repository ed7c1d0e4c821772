"""The example project's ``demo`` command (``make demo``), without serving forever."""

from __future__ import annotations

import socket
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from example.management.commands import demo
from example.standin.chat import ChatRocketChat

pytestmark = pytest.mark.django_db


def run_demo(*args: str) -> str:
    out = StringIO()
    with override_settings():  # the command points the app at its own stand-in: undo that
        call_command("demo", "--check", "--port", "8765", *args, stdout=out)
    return out.getvalue()


def test_demo_prints_how_to_use_it_and_creates_the_user() -> None:
    text = run_demo("--chat-port", "0", "--chatter", "5")
    assert "Site:        http://localhost:8765/  (log in as demo / demo-password;" in text
    assert "Rocket.Chat: http://127.0.0.1:" in text
    assert "Alex Colleague writes to you every 5 s" in text
    assert "Check passed" in text
    user = get_user_model().objects.get(username="demo")
    assert user.check_password("demo-password")
    assert user.is_superuser and user.email == "demo@example.com"


def test_demo_says_which_flow_works_where_in_each_layout() -> None:
    cross = run_demo("--chat-port", "0", "--chatter", "0")
    assert "Demo ready (cross-site)." in cross
    assert "Embedded chat on the site's home page (flow 2): signs you in in every browser." in cross
    assert "after one click on 'Continue to the chat'" in cross
    assert "manage.py demo --layout same-site" in cross
    same = run_demo("--chat-port", "0", "--chatter", "0", "--layout", "same-site")
    assert "Site:        http://demo.localhost:8765/" in same
    assert "Rocket.Chat: http://chat.demo.localhost:" in same
    assert "Both flows sign you in in every browser and setting" in same


def test_demo_plays_the_newest_release_or_the_one_asked_for() -> None:
    assert "playing Rocket.Chat 8.8)" in run_demo("--chat-port", "0", "--chatter", "0")
    text = run_demo("--chat-port", "0", "--chatter", "0", "--rocketchat-version", "7.10")
    assert "playing Rocket.Chat 7.10)" in text


def test_demo_says_it_ignores_a_configured_rocketchat() -> None:
    with override_settings(ROCKETCHAT_SSO_URL="https://chat.example.com"):
        text = run_demo("--chat-port", "0", "--chatter", "0")
    assert "Note: ROCKETCHAT_SSO_URL is 'https://chat.example.com'" in text
    assert "writes to you" not in text


def test_demo_reports_a_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(CommandError, match="Cannot serve the stand-in"):
            run_demo("--chat-port", str(busy.getsockname()[1]))


@pytest.mark.parametrize(
    ("option", "host"), [("--port", "localhost"), ("--chat-port", "127.0.0.1")]
)
def test_a_busy_port_is_named_with_its_option_before_ready(option: str, host: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = StringIO()
        args = ["--check", "--port", "8765", "--chat-port", "0", option, str(port)]
        with override_settings(), pytest.raises(CommandError) as info:
            call_command("demo", *args, stdout=out)
    message = str(info.value)
    assert f"{host}:{port}: port {port} is already in use" in message
    assert f'make demo ARGS="{option} {port + 1}"' in message
    assert "Demo ready." not in out.getvalue()


def test_a_stand_in_on_another_port_needs_no_note() -> None:
    with override_settings(ROCKETCHAT_SSO_URL="http://127.0.0.1:3000"):
        text = run_demo("--chat-port", "0", "--chatter", "0")
    assert "Note:" not in text
    assert "Rocket.Chat: http://127.0.0.1:" in text
    assert "Rocket.Chat: http://127.0.0.1:3000/" not in text


def test_the_demo_tells_the_app_where_the_site_is() -> None:
    with override_settings():
        call_command("demo", "--check", "--port", "8765", "--chat-port", "0", stdout=StringIO())
        from django.conf import settings

        assert settings.ROCKETCHAT_SSO_SITE_URL == "http://localhost:8765"


def test_make_demo_passes_its_options() -> None:
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    assert "manage.py demo $(ARGS)" in makefile


class Ticks:
    """A stop event that lets ``times`` waits pass, then says stop."""

    def __init__(self, times: int) -> None:
        self.left = times

    def wait(self, timeout: float) -> bool:
        self.left -= 1
        return self.left < 0


def test_colleague_writes_once_the_demo_user_exists() -> None:
    fake = ChatRocketChat()
    fake.add_user(*demo.COLLEAGUE)
    demo._chatter(fake, 1, Ticks(1))  # type: ignore[arg-type]
    user: Any = fake.add_user("demo", "demo@example.com", "Demo User")
    assert fake.subscriptions_of(user["_id"]) == []
    demo._chatter(fake, 1, Ticks(2))  # type: ignore[arg-type]
    [direct] = fake.subscriptions_of(user["_id"])
    assert (direct["name"], direct["unread"]) == ("alex", 2)


def test_colleague_stops_after_the_messages_asked_for() -> None:
    fake = ChatRocketChat()
    fake.add_user(*demo.COLLEAGUE)
    user: Any = fake.add_user("demo", "demo@example.com", "Demo User")
    ticks = Ticks(5)
    demo._chatter(fake, 1, ticks, 3)  # type: ignore[arg-type]
    [direct] = fake.subscriptions_of(user["_id"])
    assert direct["unread"] == 3
    assert ticks.left == 2  # it stopped waiting once done, not at the end of the demo


def test_the_demo_user_is_in_the_mapped_groups() -> None:
    with override_settings(ROCKETCHAT_SSO_GROUP_ROOMS={"Staff": "staff", "Course 101": "c-101"}):
        run_demo("--chat-port", "0", "--chatter", "0")
    user = get_user_model().objects.get(username="demo")
    assert sorted(user.groups.values_list("name", flat=True)) == ["Course 101", "Staff"]


def test_the_demo_chat_lists_a_room_per_group_and_opens_it() -> None:
    from rocketchat_sso.testing.model import FakeRequest

    fake = ChatRocketChat()
    user: Any = fake.add_user("demo", "demo@example.com", "Demo User")
    fake.rooms.add_group("staff", owner="admin", members=("demo",))
    [room] = [s for s in fake.subscriptions_of(user["_id"]) if s["t"] == "p"]
    assert room["name"] == "staff"
    admin = {"X-User-Id": "rcadmin0000000001", "X-Auth-Token": "admin-personal-access-token"}
    query = {"roomId": room["rid"]}
    answer = fake.handle(FakeRequest("GET", "/api/v1/groups.history", query, admin))
    assert answer.status == 200  # type: ignore[union-attr]
    fake.rooms.remove_member("staff", "demo")
    assert [s for s in fake.subscriptions_of(user["_id"]) if s["t"] == "p"] == []
