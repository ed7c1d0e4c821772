"""Revocation that does not depend on the token cache (issue 12, finding 2).

Rocket.Chat keeps a login token for 90 days; the cache keeps it for a day at most, and may drop
it any time. Whatever the cache remembers, a session's token is revoked when the session ends:
logout, a password change, an expired or deleted session. A failed revocation is kept and
retried.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import caches
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from rocketchat_sso.models import IssuedToken, RocketChatAccount
from rocketchat_sso.testing import FakeResponse, FakeRocketChat, mock_rocketchat
from tests.conftest import paths

pytestmark = pytest.mark.django_db

TOKEN_URL = "/rocketchat/token/"


def open_chat(browser: Client) -> str:
    response = browser.post(TOKEN_URL)
    assert response.status_code == 200, response.content
    return str(response.json()["loginToken"])


def rc_tokens(fake: FakeRocketChat, user: Any) -> list[str]:
    return fake.tokens_of(RocketChatAccount.objects.get(user=user).rocketchat_user_id)


def browser_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def forget_cache() -> None:
    """The token cache expired or evicted every entry."""
    for cache in caches.all():
        cache.clear()


def test_logout_revokes_a_token_the_cache_forgot(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any
) -> None:
    token = open_chat(signed_in)
    forget_cache()
    signed_in.logout()
    assert token not in rc_tokens(rocketchat, user)
    assert paths(rocketchat)[-1] == "POST logout"


def test_the_stored_token_is_reused_when_the_cache_forgot_it(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any
) -> None:
    """No second token (Rocket.Chat drops the oldest over its cap), no untracked one."""
    token = open_chat(signed_in)
    forget_cache()
    rocketchat.reset_calls()
    assert open_chat(signed_in) == token
    assert paths(rocketchat) == ["GET me"]
    assert rc_tokens(rocketchat, user) == [token]


def test_each_logout_costs_one_call(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any
) -> None:
    open_chat(signed_in)
    rocketchat.reset_calls()
    signed_in.logout()
    assert paths(rocketchat) == ["POST logout"]


def test_the_database_holds_no_token_or_session_key(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any
) -> None:
    token = open_chat(signed_in)
    session_key = signed_in.session.session_key
    assert session_key is not None
    stored = repr(list(IssuedToken.objects.values()))
    assert token not in stored
    assert session_key not in stored
    assert IssuedToken.objects.get().expires_at > timezone.now() + timedelta(days=89)


def test_password_change_revokes_the_other_sessions_and_keeps_this_one(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    laptop, phone = browser_of(user), browser_of(user)
    kept, other = open_chat(laptop), open_chat(phone)
    forget_cache()
    response = laptop.post(
        "/password/",
        {"old_password": "pw", "new_password1": "n3w-Pa55word!", "new_password2": "n3w-Pa55word!"},
    )
    assert response.status_code == 302, response.content
    assert rc_tokens(rocketchat, user) == [kept]
    assert other not in rc_tokens(rocketchat, user)
    rocketchat.reset_calls()
    assert open_chat(laptop) == kept  # the session Django kept (new key) keeps its token
    assert paths(rocketchat) == ["GET me"]
    assert phone.post(TOKEN_URL).status_code == 401  # Django logged the phone out


def test_password_change_outside_a_request_revokes_every_session(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    for browser in (browser_of(user), browser_of(user)):
        open_chat(browser)
    user.set_password("changed-by-a-command")
    user.save()
    assert rc_tokens(rocketchat, user) == []


def test_saving_a_user_without_a_new_password_revokes_nothing(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any
) -> None:
    token = open_chat(signed_in)
    rocketchat.reset_calls()
    user.first_name = "Alicia"
    user.save()
    assert rc_tokens(rocketchat, user) == [token]
    assert rocketchat.calls == []


def test_expired_and_deleted_sessions_are_revoked_by_the_command(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    expired, deleted, alive = browser_of(user), browser_of(user), browser_of(user)
    tokens = {name: open_chat(b) for name, b in (("e", expired), ("d", deleted), ("a", alive))}
    forget_cache()
    store = SessionStore(expired.session.session_key)
    store.set_expiry(-1)
    store.save()  # what clearsessions then removes
    SessionStore(deleted.session.session_key).delete()
    call_command("rocketchat_sso_revoke", "--expired", verbosity=0)
    assert rc_tokens(rocketchat, user) == [tokens["a"]]
    rocketchat.reset_calls()
    call_command("rocketchat_sso_revoke", "--expired", verbosity=0)
    assert rocketchat.calls == []  # nothing left to do


def test_a_failed_revocation_is_kept_and_retried(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any
) -> None:
    token = open_chat(signed_in)
    rocketchat.inject(FakeResponse(503, {"success": False}), path="/api/v1/logout", times=5)
    signed_in.logout()
    assert token in rc_tokens(rocketchat, user)
    row = IssuedToken.objects.get()
    assert row.pending and row.attempts == 1 and "503" in row.last_error
    rocketchat.clear_faults()
    call_command("rocketchat_sso_revoke", verbosity=0)
    assert rc_tokens(rocketchat, user) == []
    row.refresh_from_db()
    assert row.revoked_at is not None and row.encrypted_token == ""


def test_a_failed_revocation_is_retried_at_the_next_logout(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    first, second = browser_of(user), browser_of(user)
    lost = open_chat(first)
    rocketchat.inject(FakeResponse(503, {"success": False}), path="/api/v1/logout", times=1)
    first.logout()
    open_chat(second)
    second.logout()
    assert lost not in rc_tokens(rocketchat, user)
    assert rc_tokens(rocketchat, user) == []


def test_revocation_waits_for_an_empty_logout_bucket(user: Any) -> None:
    """Rocket.Chat's /logout bucket is empty: the revocation is kept, not lost."""
    browsers = [browser_of(user) for _ in range(3)]
    with (
        mock_rocketchat("https://chat.example.com") as fake,
        override_settings(ROCKETCHAT_SSO_RATE_LIMIT_WAIT=0),
    ):
        fake.set_setting("API_Enable_Rate_Limiter_Limit_Calls_Default", 1)
        fake.set_setting("API_Enable_Rate_Limiter", False)
        tokens = [open_chat(b) for b in browsers]
        fake.set_setting("API_Enable_Rate_Limiter", True)
        for browser in browsers:
            browser.logout()
        rc_id = RocketChatAccount.objects.get(user=user).rocketchat_user_id
        assert len(fake.tokens_of(rc_id)) == 2  # one call went through
        assert IssuedToken.objects.filter(revoked_at__isnull=True).count() == 2
        call_command("rocketchat_sso_revoke", verbosity=0)  # still limited: stops at once
        assert len(fake.calls_to("/api/v1/logout")) == 4  # 1 + 2 refused + 1 refused
        fake.set_setting("API_Enable_Rate_Limiter", False)
        call_command("rocketchat_sso_revoke", verbosity=0)
        assert [t for t in tokens if t in fake.tokens_of(rc_id)] == []


def test_tokens_rocketchat_expired_are_dropped_without_a_call(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any
) -> None:
    open_chat(signed_in)
    rocketchat.inject(FakeResponse(503, {"success": False}), path="/api/v1/logout", times=1)
    signed_in.logout()
    IssuedToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    rocketchat.reset_calls()
    call_command("rocketchat_sso_revoke", verbosity=0)
    assert rocketchat.calls == []
    assert not IssuedToken.objects.exists()


def test_a_rotated_key_still_revokes(rocketchat: FakeRocketChat, user: Any, settings: Any) -> None:
    browser = browser_of(user)
    token = open_chat(browser)
    forget_cache()
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    browser.logout()
    assert token not in rc_tokens(rocketchat, user)


def test_the_sync_command_retries_pending_revocations(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any
) -> None:
    token = open_chat(signed_in)
    rocketchat.inject(FakeResponse(503, {"success": False}), path="/api/v1/logout", times=1)
    signed_in.logout()
    call_command("rocketchat_sso_sync", verbosity=0)
    assert token not in rc_tokens(rocketchat, user)


def test_a_deleted_users_tokens_are_revoked(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any
) -> None:
    open_chat(signed_in)
    user.delete()
    call_command("rocketchat_sso_revoke", "--expired", verbosity=0)
    assert IssuedToken.objects.filter(revoked_at__isnull=True).count() == 0


def test_writing_the_row_costs_little(rocketchat: FakeRocketChat, user: Any) -> None:
    """The price of a mint's new database write (and two encryptions), printed for the report."""
    from rocketchat_sso.rocketchat.client import LoginToken
    from rocketchat_sso.sessions import revocation

    session = SessionStore()
    session.create()
    token = LoginToken(user_id="u" * 17, auth_token="t" * 43)
    started = time.perf_counter()
    for _ in range(50):
        revocation.record(session, user, token)
    each = (time.perf_counter() - started) / 50
    print(f"\nIssuedToken write per mint: {each * 1000:.2f} ms")
    assert each < 0.05


def test_the_admin_lists_pending_revocations_and_retries_them(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any, admin_client: Client
) -> None:
    token = open_chat(signed_in)
    rocketchat.inject(FakeResponse(503, {"success": False}), path="/api/v1/logout", times=1)
    signed_in.logout()
    url = "/admin/rocketchat_sso/issuedtoken/"
    page = admin_client.get(url + "?revocation=pending")
    assert page.status_code == 200
    content = page.content.decode()
    assert "503" in content and token not in content
    row = IssuedToken.objects.get()
    assert admin_client.get(f"{url}{row.pk}/change/").status_code == 200
    done = admin_client.post(
        url, {"action": "retry_revocation", "_selected_action": [row.pk]}, follow=True
    )
    assert "Revoked 1" in done.content.decode()
    assert token not in rc_tokens(rocketchat, user)


def test_logging_in_over_another_users_session_revokes_their_token(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any, django_user_model: Any
) -> None:
    """The shared computer without a logout: Django's login() flushes Alice's session."""
    alices = open_chat(signed_in)
    django_user_model.objects.create_user("bob", "bob@example.com", "bob-pw")
    forget_cache()
    response = signed_in.post("/login/", {"username": "bob", "password": "bob-pw"})
    assert response.status_code == 302, response.content
    assert alices not in rc_tokens(rocketchat, user)
    bobs = open_chat(signed_in)
    signed_in.post("/login/", {"username": "bob", "password": "bob-pw"})  # again: same user
    assert open_chat(signed_in) == bobs


def test_an_unchecked_hand_out_is_not_taken_for_a_check(
    rocketchat: FakeRocketChat, signed_in: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The warm path with /me refused hands the token out, but asks again next time."""
    from rocketchat_sso.sessions import tokens

    open_chat(signed_in)
    with override_settings(ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL=300):
        later = time.time() + 301
        monkeypatch.setattr(tokens.time, "time", lambda: later)
        rocketchat.inject(FakeResponse(429, {"success": False}), path="/api/v1/me", times=1)
        open_chat(signed_in)
        rocketchat.reset_calls()
        open_chat(signed_in)
        assert paths(rocketchat) == ["GET me"]


@override_settings(ROCKETCHAT_SSO_TOKEN_CACHE_TIMEOUT=0)
def test_without_reuse_every_token_of_the_session_is_revoked_at_logout(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any
) -> None:
    minted = {open_chat(signed_in) for _ in range(3)}
    assert len(minted) == 3 and set(rc_tokens(rocketchat, user)) == minted  # none ended early
    signed_in.logout()
    assert rc_tokens(rocketchat, user) == []


def test_a_relinked_accounts_old_token_is_revoked_not_forgotten(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any
) -> None:
    old = open_chat(signed_in)
    old_rc_id = RocketChatAccount.objects.get(user=user).rocketchat_user_id
    other = rocketchat.add_user("alice2", "a2@example.com", name="A")
    RocketChatAccount.objects.filter(user=user).update(rocketchat_user_id=other["_id"])
    assert open_chat(signed_in) != old
    assert IssuedToken.objects.get(rocketchat_user_id=old_rc_id).pending
    signed_in.logout()
    assert old not in rocketchat.tokens_of(old_rc_id)
