"""The demo's chat (example.standin.chat): user status, rooms, messages, unread counters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from example.standin.chat import GENERAL_ROOM_ID, ChatRocketChat

from rocketchat_sso.testing import mock_rocketchat
from tests.testing.helpers import BASE, Api


@pytest.fixture
def fake() -> Iterator[ChatRocketChat]:
    """The chat stand-in served at ``BASE`` through ``responses``."""
    with mock_rocketchat(BASE, model=ChatRocketChat) as rocketchat:
        assert isinstance(rocketchat, ChatRocketChat)
        yield rocketchat


def test_set_status(fake: ChatRocketChat, api: Api) -> None:
    api.create()
    auth = api.login()
    response = api.post("/api/v1/users.setStatus", {"status": "busy", "message": "Away"}, auth)
    assert response.json() == {"success": True}
    user = fake.user_by_username("bob")
    assert user is not None
    assert (user["status"], user["statusText"]) == ("busy", "Away")
    refused = api.post("/api/v1/users.setStatus", {"status": "sleeping"}, auth)
    assert (refused.status_code, refused.json()["errorType"]) == (400, "error-invalid-status")


# -- rooms, messages, unread counters ---------------------------------------------------------


def test_new_users_join_the_default_channel_unless_told_not_to(
    fake: ChatRocketChat, api: Api
) -> None:
    bob = api.create().json()["user"]
    carol = api.create("carol", joinDefaultChannels=False).json()["user"]
    assert [s["rid"] for s in fake.subscriptions_of(bob["_id"])] == [GENERAL_ROOM_ID]
    assert fake.subscriptions_of(carol["_id"]) == []


def test_direct_messages_count_as_unread_until_read(fake: ChatRocketChat, api: Api) -> None:
    api.create()
    fake.add_user("carol", "carol@example.com", "Carol")
    bob = api.login()
    message = fake.post_message("carol", "@bob", "Hi Bob")
    subscriptions = api.get("/api/v1/subscriptions.get", auth=bob).json()
    direct = next(s for s in subscriptions["update"] if s["t"] == "d")
    assert (direct["name"], direct["fname"], direct["unread"], direct["alert"]) == (
        "carol",
        "Carol",
        1,
        True,
    )
    assert subscriptions["remove"] == []
    history = api.get("/api/v1/im.history", {"roomId": direct["rid"]}, auth=bob).json()
    assert [m["msg"] for m in history["messages"]] == ["Hi Bob"]
    assert history["messages"][0]["_id"] == message["_id"]
    read = api.post("/api/v1/subscriptions.read", {"rid": direct["rid"]}, auth=bob)
    assert read.json() == {"success": True}
    after = next(s for s in fake.subscriptions_of(bob["X-User-Id"]) if s["t"] == "d")
    assert (after["unread"], after["alert"]) == (0, False)


def test_channel_messages_count_only_mentions_by_default(fake: ChatRocketChat, api: Api) -> None:
    api.create()
    api.create("carol")
    bob = api.login()
    api.post("/api/v1/chat.postMessage", {"channel": "#general", "text": "hello all"}, bob)
    carol = next(s for s in fake.subscriptions_of(fake.user_by_username("carol")["_id"]))  # type: ignore[index]
    assert (carol["unread"], carol["alert"]) == (0, True)  # Unread_Count: mentions only
    api.post("/api/v1/chat.postMessage", {"roomId": GENERAL_ROOM_ID, "text": "@carol look"}, bob)
    carol = fake.subscriptions_of(carol["u"]["_id"])[0]
    assert (carol["unread"], carol["userMentions"]) == (1, 1)
    api.post("/api/v1/chat.postMessage", {"channel": "#general", "text": "@all hi"}, bob)
    carol = fake.subscriptions_of(carol["u"]["_id"])[0]
    assert (carol["unread"], carol["groupMentions"]) == (2, 1)
    fake.set_setting("Unread_Count", "all_messages")
    api.post("/api/v1/chat.postMessage", {"channel": "#general", "text": "plain"}, bob)
    assert fake.subscriptions_of(carol["u"]["_id"])[0]["unread"] == 3
    own = fake.subscriptions_of(bob["X-User-Id"])[0]
    assert own["unread"] == 0  # nobody counts their own messages


def test_post_message_answer_and_history(api: Api) -> None:
    api.create()
    bob = api.login()
    response = api.post("/api/v1/chat.postMessage", {"channel": "#general", "text": "one"}, bob)
    body = response.json()
    assert (body["success"], body["channel"], body["message"]["msg"]) == (True, "#general", "one")
    assert body["message"]["u"]["username"] == "bob"
    api.post("/api/v1/chat.postMessage", {"channel": "#general", "text": "two"}, bob)
    history = api.get("/api/v1/channels.history", {"roomId": GENERAL_ROOM_ID}, auth=bob).json()
    assert [m["msg"] for m in history["messages"]] == ["two", "one"]  # newest first
    assert (
        api.get("/api/v1/channels.history", {"roomId": GENERAL_ROOM_ID, "count": "1"}, bob).json()[
            "messages"
        ][0]["msg"]
        == "two"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"text": "no room"},
        {"channel": "#nowhere", "text": "x"},
        {"channel": "@nobody", "text": "x"},
    ],
)
def test_post_message_to_no_room_is_refused(api: Api, body: dict[str, str]) -> None:
    api.create()
    response = api.post("/api/v1/chat.postMessage", body, api.login())
    assert (response.status_code, response.json()["errorType"]) == (400, "invalid-channel")


def test_direct_rooms_are_private_to_their_members(fake: ChatRocketChat, api: Api) -> None:
    api.create()
    api.create("carol")
    api.create("dave")
    fake.post_message("carol", "@bob", "secret")
    rid = next(
        s["rid"]
        for s in fake.subscriptions_of(fake.user_by_username("bob")["_id"])
        if s["t"] == "d"
    )  # type: ignore[index]
    dave = api.login("dave")
    assert api.get("/api/v1/im.history", {"roomId": rid}, auth=dave).status_code == 403
    assert api.get("/api/v1/rooms.info", {"roomId": rid}, auth=dave).status_code == 400
    refused = api.post("/api/v1/chat.postMessage", {"roomId": rid, "text": "hi"}, dave)
    assert refused.status_code == 400
    assert api.post("/api/v1/subscriptions.read", {"rid": rid}, dave).json()["errorType"] == (
        "error-invalid-subscription"
    )
    assert api.get("/api/v1/channels.history", {"roomId": rid}, auth=dave).status_code == 400


def test_rooms_info(api: Api) -> None:
    api.create()
    bob = api.login()
    by_name = api.get("/api/v1/rooms.info", {"roomName": "general"}, auth=bob).json()
    assert (by_name["room"]["_id"], by_name["room"]["t"]) == (GENERAL_ROOM_ID, "c")
    by_id = api.get("/api/v1/rooms.info", {"roomId": GENERAL_ROOM_ID}, auth=bob).json()
    assert by_id["room"]["name"] == "general"


def test_post_message_helper_needs_a_known_author(fake: ChatRocketChat) -> None:
    with pytest.raises(ValueError, match="nobody"):
        fake.post_message("nobody", "#general", "hi")


def test_deleting_a_user_drops_their_subscriptions(fake: ChatRocketChat, api: Api) -> None:
    user = api.create().json()["user"]
    api.post("/api/v1/users.delete", {"userId": user["_id"]})
    assert fake.subscriptions_of(user["_id"]) == []
