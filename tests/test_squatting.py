"""Email squatting (issue 19, item 4): a user who types another person's address first.

With the defaults (no vouching), Mallory sets Kate's address and opens the chat first: her
Rocket.Chat account carries it. Kate then got ``409 rocketchat_account_conflict`` with no way
out but an administrator. An address the site does not vouch for never decides the account:
Kate gets an account of her own regardless (the address recorded as a conflict); where the site
vouches for Kate's address and not Mallory's, Kate gets the address too.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from rocketchat_sso.accounts.profiles import email_of
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.testing import FakeRocketChat

pytestmark = pytest.mark.django_db

TOKEN_URL = "/rocketchat/token/"
KATES = "kate@example.com"


def vouch_for_kate(user: Any) -> bool:
    """The site verified Kate's address (say, by mail), nobody else's."""
    return bool(user.username == "kate")


def open_chat(user: Any) -> Any:
    browser = Client()
    browser.force_login(user)
    return browser.post(TOKEN_URL)


@pytest.fixture
def mallory(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("mallory", KATES, "pw")


@pytest.fixture
def kate(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("kate", KATES, "pw")


def rc_record(rocketchat: FakeRocketChat, user: Any) -> dict[str, Any]:
    account = RocketChatAccount.objects.get(user=user)
    found = rocketchat.user_by_username(account.rocketchat_username)
    assert found is not None and found["_id"] == account.rocketchat_user_id
    return found


def test_the_owner_gets_an_account_of_her_own_when_the_squatter_came_first(
    rocketchat: FakeRocketChat, mallory: Any, kate: Any
) -> None:
    assert open_chat(mallory).status_code == 200
    squatted = rc_record(rocketchat, mallory)
    answer = open_chat(kate)
    assert answer.status_code == 200, answer.content  # was 409, with no way out
    kates = rc_record(rocketchat, kate)
    assert kates["_id"] != squatted["_id"]  # never Mallory's account
    assert answer.json()["loginToken"] in rocketchat.tokens_of(kates["_id"])
    assert email_of(kates).endswith(".invalid")  # a placeholder no one receives mail at
    account = RocketChatAccount.objects.get(user=kate)
    assert KATES in account.sync_conflict  # shown in the admin (filter: conflict)
    assert email_of(rc_record(rocketchat, mallory)) == KATES  # unvouched: nobody's to take


def test_the_placeholder_is_not_retried_on_every_sign_in(
    rocketchat: FakeRocketChat, mallory: Any, kate: Any
) -> None:
    open_chat(mallory)
    open_chat(kate)
    rocketchat.reset_calls()
    assert open_chat(kate).status_code == 200  # a new session of Kate's
    assert [c.path for c in rocketchat.calls] == ["/api/v1/login"]


@override_settings(ROCKETCHAT_SSO_EMAIL_VERIFIED="tests.test_squatting.vouch_for_kate")
def test_a_vouched_owner_takes_her_address_back_from_an_unvouched_squatter(
    email_two_factor_off: FakeRocketChat, mallory: Any, kate: Any
) -> None:
    rocketchat = email_two_factor_off  # Kate's verified address, password method (conftest)
    assert open_chat(mallory).status_code == 200
    answer = open_chat(kate)
    assert answer.status_code == 200, answer.content
    kates = rc_record(rocketchat, kate)
    assert email_of(kates) == KATES and kates["emails"][0]["verified"] is True
    malloys = rc_record(rocketchat, mallory)
    assert kates["_id"] != malloys["_id"]
    assert email_of(malloys).endswith(".invalid")
    assert KATES in RocketChatAccount.objects.get(user=mallory).sync_conflict
    assert RocketChatAccount.objects.get(user=kate).sync_conflict == ""
    assert open_chat(mallory).status_code == 200  # Mallory keeps her own account


@override_settings(ROCKETCHAT_SSO_EMAIL_VERIFIED=True)
def test_two_vouched_claims_leave_the_address_with_the_first(
    rocketchat: FakeRocketChat, mallory: Any, kate: Any
) -> None:
    """The site vouches for both (its promise broken): the address stays where it is, and the
    second still gets an account of her own."""
    open_chat(mallory)
    assert open_chat(kate).status_code == 200
    assert email_of(rc_record(rocketchat, mallory)) == KATES
    assert email_of(rc_record(rocketchat, kate)).endswith(".invalid")


def test_a_plain_rocketchat_account_with_the_address_still_needs_vouching(
    rocketchat: FakeRocketChat, kate: Any
) -> None:
    """Not this site's: an existing account is still never handed over nor shadowed."""
    rocketchat.add_user(username="katherine", email=KATES)
    answer = open_chat(kate)
    assert answer.status_code == 409
    assert answer.json()["error"] == "rocketchat_account_conflict"


def test_once_the_address_is_free_a_full_sync_writes_it(
    rocketchat: FakeRocketChat, mallory: Any, kate: Any
) -> None:
    from io import StringIO

    from django.core.management import call_command

    open_chat(mallory)
    open_chat(kate)
    mallory.email = "mallory@example.com"
    mallory.save()
    call_command("rocketchat_sso_sync", "--full", stdout=StringIO())
    assert email_of(rc_record(rocketchat, mallory)) == "mallory@example.com"
    assert email_of(rc_record(rocketchat, kate)) == KATES
    assert RocketChatAccount.objects.get(user=kate).sync_conflict == ""
