from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rocketchat_sso.models import RocketChatAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(user: Any) -> RocketChatAccount:
    return RocketChatAccount.objects.create(
        user=user,
        rocketchat_user_id="rcid00000000000001",
        rocketchat_username="alice",
        last_error="Rocket.Chat could not be reached",
    )


def test_changelist_lists_accounts_with_search(
    admin_client: Client, account: RocketChatAccount
) -> None:
    url = reverse("admin:rocketchat_sso_rocketchataccount_changelist")
    response = admin_client.get(url, {"q": "alice"})
    assert response.status_code == 200
    assert b"rcid00000000000001" in response.content
    assert admin_client.get(url, {"q": "nobody"}).content.count(b"rcid00000000000001") == 0


def test_no_add_and_read_only(admin_client: Client, account: RocketChatAccount) -> None:
    assert (
        admin_client.get(reverse("admin:rocketchat_sso_rocketchataccount_add")).status_code == 403
    )
    change = reverse("admin:rocketchat_sso_rocketchataccount_change", args=[account.pk])
    response = admin_client.get(change)
    assert response.status_code == 200
    assert b'name="rocketchat_user_id"' not in response.content  # shown, not editable
    assert b"Rocket.Chat could not be reached" in response.content


def test_str() -> None:
    assert str(RocketChatAccount(rocketchat_username="bob", rocketchat_user_id="x1")) == "bob (x1)"
