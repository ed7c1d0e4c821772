"""No login attempt, ever, on a Rocket.Chat account this site did not create or link (issue 19).

A failed login counts against the account and the site's address in Rocket.Chat
(``Block_Multiple_Failed_Logins_*``, on in the stand-in as in Rocket.Chat): trying a password on
someone else's account locks them out, the admin included, or the site's own address for every
user's password sign-in. Whether an account is the user's own is decided from what the site
recorded (:mod:`rocketchat_sso.accounts.creations`, ``RocketChatAccount``).
"""

from __future__ import annotations

import contextlib
import json
import threading
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from rocketchat_sso.accounts import creations
from rocketchat_sso.accounts.lifecycle import end_rocketchat_sessions, set_active_in_rocketchat
from rocketchat_sso.accounts.signin import issue_login_token
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.rocketchat.client import RocketChatClient
from rocketchat_sso.testing import FakeRequest, FakeRocketChat

pytestmark = pytest.mark.django_db

TOKEN_URL = "/rocketchat/token/"
ADMIN_ADDRESS = "admin@example.com"  # the stand-in's admin account


def login_names(fake: FakeRocketChat) -> list[str]:
    """The username or address every ``/login`` call named, in order."""
    names = []
    for call in fake.calls_to("/api/v1/login"):
        body = json.loads(call.body or b"{}")
        names.append(str(body.get("user") or body.get("username") or body.get("email")))
    return names


def site_accounts(fake: FakeRocketChat) -> set[str]:
    """Usernames of the Rocket.Chat accounts this site created or linked."""
    ids = RocketChatAccount.objects.values_list("rocketchat_user_id", flat=True)
    return {str(doc["username"]) for doc in map(fake.user_by_id, ids) if doc is not None}


def open_chat(user: Any, times: int) -> list[int]:
    browser = Client()
    browser.force_login(user)
    return [browser.post(TOKEN_URL).status_code for _ in range(times)]


def test_users_aiming_at_the_admins_name_and_address_send_it_no_login(
    rocketchat: FakeRocketChat, django_user_model: Any
) -> None:
    """``admin!``, ``-admin`` and ``admin?`` all clean to ``admin`` and give the admin's address:
    3 users x 3 openings sent 9 failed logins for ``admin`` before."""
    for name in ("admin!", "-admin", "admin?"):
        user = django_user_model.objects.create_user(name, ADMIN_ADDRESS, "pw")
        assert open_chat(user, 3) == [409, 409, 409]
    assert "admin" not in login_names(rocketchat)
    assert rocketchat.login_attempts.failures("admin") == 0
    now = rocketchat.now()
    assert rocketchat.login_attempts.blocked(rocketchat.settings, "127.0.0.1", "admin", now) is None


def test_every_login_goes_to_an_account_the_site_created_or_linked(
    rocketchat: FakeRocketChat, django_user_model: Any
) -> None:
    """Sign-in (new and known users), the sync command, linking, lifecycle, the configure and
    doctor commands' live probes: a sweep."""
    rocketchat.add_user("bob", "bob@example.com", "Bob Stranger", password="bobs-own")
    carol = rocketchat.add_user("carol", "carol@example.com", "Carol", password="carols-own")
    carol["emails"][0]["verified"] = True
    make = django_user_model.objects.create_user
    users = [
        make("bob", "bob@example.com", "pw"),  # a stranger's address: not vouched
        make("bob!", "other@example.com", "pw"),  # a stranger's name: gets a variant
        make("carol", "carol@example.com", "pw"),  # linked below, by an administrator
        make("admin?", ADMIN_ADDRESS, "pw"),
        make("dave", "dave@example.com", "pw"),
    ]
    for user in users:
        open_chat(user, 2)
    with pytest.raises(CommandError):  # bob's, carol's and admin?'s addresses are taken
        call_command("rocketchat_sso_sync", "--full", stdout=StringIO(), stderr=StringIO())
    call_command("rocketchat_sso_sync", "carol", "--link", "--yes", stdout=StringIO())
    with override_settings(ROCKETCHAT_SSO_EMAIL_VERIFIED=True):
        for user in users:
            open_chat(user, 2)
    client = RocketChatClient()
    for user in users:
        account = RocketChatAccount.objects.filter(user=user).first()
        if account is not None:
            end_rocketchat_sessions(account, client=client)
            set_active_in_rocketchat(account, False, client=client)
            set_active_in_rocketchat(account, True, client=client)
        open_chat(user, 1)
    site = ("--site-url", "https://www.example.com")
    for command in ("rocketchat_sso_configure", "rocketchat_sso_doctor"):  # the live probes
        with contextlib.suppress(CommandError):
            call_command(command, *site, stdout=StringIO(), stderr=StringIO())
    allowed = site_accounts(rocketchat)
    assert {"carol", "dave", f"bob.{users[1].pk}"} <= allowed  # linked, created, a variant
    assert [name for name in login_names(rocketchat) if name not in allowed] == []
    for stranger in ("admin", "bob"):
        assert rocketchat.login_attempts.failures(stranger) == 0


def test_a_concurrent_creation_is_recognised_from_the_record(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    """The other request created the account and is about to link it: no password is tried,
    the recorded id decides."""
    original_create = RocketChatClient.create_user

    def racing_create(self: RocketChatClient, **kwargs: Any) -> Any:
        rival = original_create(self, **kwargs)  # the other request wins and notes its id...
        creations.note_created(user, str(rival["_id"]))
        return original_create(self, **kwargs)  # ...and ours gets error-field-unavailable

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(RocketChatClient, "create_user", racing_create)
        token = issue_login_token(user)
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None and token.user_id == rc_user["_id"]
    assert login_names(rocketchat) == ["alice"]  # the one login is the sign-in's, after proof


def test_a_creation_under_way_is_waited_for(rocketchat: FakeRocketChat, user: Any) -> None:
    """The loser of the race waits for the winner's record instead of trying a password."""
    rival = rocketchat.add_user("alice", "alice@example.com", "Alice Liddell", password="x")
    started, go = threading.Event(), threading.Event()

    def winner() -> None:
        with creations.creating(user, "alice", "alice@example.com"):
            started.set()
            go.wait(5)
            creations.note_created(user, str(rival["_id"]))

    thread = threading.Thread(target=winner)
    thread.start()
    assert started.wait(5)
    threading.Timer(0.05, go.set).start()
    assert creations.created_for(user, rival)
    thread.join()
    assert not creations.created_for(user, {"_id": "someone-elses-id"})
    assert login_names(rocketchat) == []


def test_a_blocked_account_is_waited_for_never_given_a_new_password(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    """Someone types wrong passwords for ``alice`` into Rocket.Chat's login form until it blocks
    her logins: her next sign-in waits (503 with Retry-After) instead of taking the refusal for
    a forgotten password and replacing it, which would sign her out of every device."""
    first = issue_login_token(user)
    for _ in range(10):
        wrong = {"user": "alice", "password": "guess"}
        rocketchat.handle(
            FakeRequest(
                "POST",
                "/api/v1/login",
                headers={"content-type": "application/json", "x-real-ip": "198.51.100.7"},
                body=json.dumps(wrong).encode(),
            )
        )
    rocketchat.reset_calls()
    browser = Client()
    browser.force_login(user)
    response = browser.post(TOKEN_URL)
    assert response.status_code == 503, response.content
    assert response.json()["error"] == "rocketchat_login_blocked"
    assert response["Retry-After"] == "300"
    assert rocketchat.calls_to("/api/v1/users.update") == []
    assert first.auth_token in rocketchat.tokens_of(first.user_id)
