"""Rooms from groups in the demo's chat: the signed-in user finds a room per mapped group."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from tests.browser.conftest import Deployment, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def test_the_embedded_chat_lists_and_opens_a_room_per_group(
    context: Any, deployment: Deployment, alice: Any, settings: Any
) -> None:
    settings.ROCKETCHAT_SSO_GROUP_ROOMS = {"Staff": "staff", "Course 101": "course-101"}
    settings.ROCKETCHAT_SSO_ROOMS_RUN = "inline"  # joined before the token is answered
    alice.groups.add(Group.objects.create(name="Staff"), Group.objects.create(name="Course 101"))
    log_in(context, deployment, alice)
    page = context.new_page()
    page.goto(deployment.url("/"))
    chat = page.frame_locator("#chat")
    expect(chat.locator("#rc-user")).to_have_text("alice")
    rooms = chat.locator("#rc-rooms a")
    expect(rooms.filter(has_text="#staff")).to_have_count(1)
    expect(rooms.filter(has_text="#course-101")).to_have_count(1)
    deployment.fake.post_message("admin", "#staff", "Welcome to the staff room")
    rooms.filter(has_text="#staff").click()
    expect(chat.locator("#rc-room-title")).to_have_text("#staff")
    expect(chat.locator("#rc-messages")).to_contain_text("Welcome to the staff room")
