from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from rocketchat_sso import creations
from rocketchat_sso.checks import check_settings
from rocketchat_sso.client import RocketChatClient
from rocketchat_sso.exceptions import (
    RocketChatAccountConflict,
    RocketChatCreateTokenRefused,
    RocketChatUnavailable,
    RocketChatUserInactive,
)
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.profiles import (
    RocketChatProfile,
    clean_name,
    clean_username,
    default_profile,
    rocketchat_password,
)
from rocketchat_sso.signin import issue_login_token, sync_user
from rocketchat_sso.testing import FakeRocketChat, Fault, mock_rocketchat
from tests.conftest import paths

pytestmark = pytest.mark.django_db


def test_first_token_creates_and_links_the_user(rocketchat: FakeRocketChat, user: Any) -> None:
    token = issue_login_token(user)
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None
    assert rc_user["name"] == "Alice Liddell"
    assert rc_user["emails"][0]["address"] == "alice@example.com"
    assert token.user_id == rc_user["_id"]
    assert token.auth_token in rocketchat.tokens_of(rc_user["_id"])
    account = RocketChatAccount.objects.get(user=user)
    assert account.rocketchat_user_id == rc_user["_id"]
    assert account.rocketchat_username == "alice"
    assert account.last_synced_at is not None
    assert account.last_login_at is not None


def test_warm_path_uses_the_stored_id(rocketchat: FakeRocketChat, user: Any) -> None:
    issue_login_token(user)
    rocketchat.reset_calls()
    issue_login_token(user)
    assert paths(rocketchat) == ["POST login"]


def test_profile_changes_reach_rocketchat(rocketchat: FakeRocketChat, user: Any) -> None:
    issue_login_token(user)
    user.first_name, user.email = "Alicia", "alicia@example.com"
    user.save()
    issue_login_token(user)
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None
    assert rc_user["name"] == "Alicia Liddell"
    assert rc_user["emails"][0]["address"] == "alicia@example.com"


def test_user_deleted_in_rocketchat_is_recreated(rocketchat: FakeRocketChat, user: Any) -> None:
    issue_login_token(user)
    old_id = RocketChatAccount.objects.get(user=user).rocketchat_user_id
    RocketChatClient().delete_user(old_id)
    issue_login_token(user)
    account = RocketChatAccount.objects.get(user=user)
    assert account.rocketchat_user_id != old_id
    assert rocketchat.user_by_id(account.rocketchat_user_id) is not None


@override_settings(ROCKETCHAT_SSO_EMAIL_VERIFIED=True)  # the site vouches for addresses
def test_existing_verified_rocketchat_user_is_linked_not_duplicated(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    existing = rocketchat.add_user("alice.l", "alice@example.com", name="Alice", password="own")
    existing["emails"][0]["verified"] = True
    token = issue_login_token(user)
    assert token.user_id == existing["_id"]
    assert RocketChatAccount.objects.get(user=user).rocketchat_user_id == existing["_id"]
    assert len(rocketchat.users()) == 2  # the admin and Alice: the create was refused


def test_unverified_email_match_is_not_linked(rocketchat: FakeRocketChat, user: Any) -> None:
    existing = rocketchat.add_user("mallory", "alice@example.com", name="M", password="own")
    existing["emails"][0]["verified"] = False
    with pytest.raises(RocketChatAccountConflict):
        issue_login_token(user)
    assert not RocketChatAccount.objects.filter(user=user).exists()


def test_admin_is_never_linked(rocketchat: FakeRocketChat, user: Any) -> None:
    admin = rocketchat.add_user("boss", "alice@example.com", name="Boss", roles=("admin",))
    admin["emails"][0]["verified"] = True
    with pytest.raises(RocketChatAccountConflict):
        issue_login_token(user)


def test_username_taken_by_someone_else_gets_a_unique_variant(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    rocketchat.add_user("alice", "other-alice@example.com", name="Other Alice")
    issue_login_token(user)
    account = RocketChatAccount.objects.get(user=user)
    assert account.rocketchat_username == f"alice.{user.pk}"
    rocketchat.reset_calls()
    issue_login_token(user)  # the variant is in step: no rename attempt
    assert paths(rocketchat) == ["POST login"]


def test_concurrent_creation_links_the_winner(rocketchat: FakeRocketChat, user: Any) -> None:
    """Another request created the user between our lookup and our create."""
    original_create = RocketChatClient.create_user

    def racing_create(self: RocketChatClient, **kwargs: Any) -> Any:
        rival = original_create(self, **kwargs)  # the other request wins (and records it)...
        creations.note_created(user, str(rival["_id"]))
        return original_create(self, **kwargs)  # ...and ours gets error-field-unavailable

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(RocketChatClient, "create_user", racing_create)
        token = issue_login_token(user)
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None and token.user_id == rc_user["_id"]
    assert RocketChatAccount.objects.filter(user=user).count() == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("alice", "alice"),
        ("Zoë Ñúñez", "Zoe_Nunez"),
        ("bob@example.com", "bob_example.com"),
        ("  ..weird//name..  ", "weird_name"),
        ("日本語", "user7"),
        ("a" * 200, "a" * 64),
    ],
)
def test_usernames_are_mapped_to_valid_ones(raw: str, expected: str) -> None:
    assert clean_username(raw, fallback="user7") == expected


def test_names_lose_characters_rocketchat_refuses() -> None:
    assert clean_name("<script>Bob</script> 100%", fallback="x") == "script Bob script 100"
    assert clean_name("<>", fallback="bob") == "bob"


def test_default_profile_without_email(django_user_model: Any) -> None:
    user = django_user_model.objects.create_user(username="no.mail")
    profile = default_profile(user)
    assert profile == RocketChatProfile(
        username="no.mail", email="no.mail@users.noreply.invalid", name="no.mail"
    )


@override_settings(ROCKETCHAT_SSO_USER_MAPPER="rocketchat_sso.services.default_profile")
def test_the_default_mappers_former_path_still_works(rocketchat: FakeRocketChat, user: Any) -> None:
    # Settings written before services.py was split name the default mapper there.
    assert "rocketchat_sso.E008" not in [message.id for message in check_settings()]
    issue_login_token(user)
    assert rocketchat.user_by_username(user.get_username()) is not None


def custom_mapper(user: Any) -> RocketChatProfile:
    return RocketChatProfile(username=f"staff-{user.pk}", email=user.email, name="Staff")


@override_settings(ROCKETCHAT_SSO_USER_MAPPER="tests.test_services.custom_mapper")
def test_custom_user_mapper(rocketchat: FakeRocketChat, user: Any) -> None:
    issue_login_token(user)
    assert rocketchat.user_by_username(f"staff-{user.pk}") is not None


def test_password_is_derived_never_stored(rocketchat: FakeRocketChat, user: Any) -> None:
    password = rocketchat_password(user)
    assert password == rocketchat_password(user)
    assert len(password) >= 40
    assert any(c.isupper() for c in password) and any(c.isdigit() for c in password)
    with override_settings(ROCKETCHAT_SSO_PASSWORD_KEY="another key"):
        assert rocketchat_password(user) != password
    issue_login_token(user)
    stored = RocketChatAccount.objects.filter(user=user).values().get()
    assert password not in repr(stored)


@override_settings(ROCKETCHAT_SSO_EMAIL_VERIFIED=True)
def test_password_login_repairs_a_password_it_does_not_know(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    existing = rocketchat.add_user("alice", "alice@example.com", name="Alice", password="own")
    existing["emails"][0]["verified"] = True
    token = issue_login_token(user)
    assert token.user_id == existing["_id"]
    assert "POST users.update" in paths(rocketchat)


# How each release is set up for users.createToken (server env) and the app's secret.
CREATE_TOKEN_SETUP = {
    "7.10": ({"create_tokens_for_users": True}, ""),
    "8.0": ({"create_tokens_secret": "k"}, "k"),
    "8.8": ({"create_tokens_secret": "k"}, "k"),
}


@pytest.mark.parametrize("version", sorted(CREATE_TOKEN_SETUP))
def test_create_token_method_on_each_release(user: Any, settings: Any, version: str) -> None:
    options, secret = CREATE_TOKEN_SETUP[version]
    settings.ROCKETCHAT_SSO_LOGIN_METHOD = "create_token"
    settings.ROCKETCHAT_SSO_CREATE_TOKEN_SECRET = secret
    with mock_rocketchat("https://chat.example.com", version=version, **options) as fake:
        token = issue_login_token(user)
        assert paths(fake) == ["POST users.create", "POST users.createToken"]
        assert token.auth_token in fake.tokens_of(token.user_id)
        fake.reset_calls()
        again = issue_login_token(user)  # a known user's new session: at most 2 calls
        assert paths(fake) == ["GET users.info", "POST users.createToken"]
        assert again.auth_token in fake.tokens_of(token.user_id)


@pytest.mark.parametrize(
    ("version", "fix", "not_fix"),
    [
        ("7.10", "CREATE_TOKENS_FOR_USERS=true", "CREATE_TOKENS_FOR_USERS_SECRET"),
        ("8.0", "CREATE_TOKENS_FOR_USERS_SECRET", "CREATE_TOKENS_FOR_USERS=true"),
        ("8.8", "CREATE_TOKENS_FOR_USERS_SECRET", "CREATE_TOKENS_FOR_USERS=true"),
    ],
)
@override_settings(ROCKETCHAT_SSO_LOGIN_METHOD="create_token")
def test_a_create_token_refusal_names_the_fix_for_the_release(
    user: Any, version: str, fix: str, not_fix: str
) -> None:
    with (
        mock_rocketchat("https://chat.example.com", version=version),
        pytest.raises(RocketChatCreateTokenRefused) as refused,
    ):
        issue_login_token(user)
    message = refused.value.message
    assert fix in message and not_fix not in message
    assert "user-generate-access-token" in message
    assert "Ignore Two Factor Authentication" in message
    assert fix in RocketChatAccount.objects.get(user=user).last_error  # shown in the admin


def test_deactivated_in_rocketchat_is_not_overruled(rocketchat: FakeRocketChat, user: Any) -> None:
    token = issue_login_token(user)
    RocketChatClient().set_active_status(token.user_id, False)
    with pytest.raises(RocketChatUserInactive):
        issue_login_token(user)


def test_failures_are_recorded_on_the_account(rocketchat: FakeRocketChat, user: Any) -> None:
    issue_login_token(user)
    rocketchat.inject(Fault.CONNECTION_REFUSED, times=10)
    with pytest.raises(RocketChatUnavailable):
        issue_login_token(user)
    account = RocketChatAccount.objects.get(user=user)
    assert "could not be reached" in account.last_error
    assert account.last_error_at is not None
    rocketchat.clear_faults()
    issue_login_token(user)  # recovered: the error is cleared
    assert RocketChatAccount.objects.get(user=user).last_error == ""


def test_sync_user_returns_rocketchat_record(rocketchat: FakeRocketChat, user: Any) -> None:
    account, rc_user = sync_user(user)
    assert account.rocketchat_user_id == rc_user["_id"]
    assert RocketChatAccount.objects.count() == 1
