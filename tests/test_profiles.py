"""Profiles: the default mapper, the rules a username and a name must pass in Rocket.Chat, a
custom ``ROCKETCHAT_SSO_USER_MAPPER``, the derived password (moved from the former
``tests/test_services.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from rocketchat_sso.accounts.profiles import (
    RocketChatProfile,
    clean_name,
    clean_username,
    default_profile,
    rocketchat_password,
)
from rocketchat_sso.accounts.signin import issue_login_token
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.operations.checks import check_settings
from rocketchat_sso.testing import FakeRocketChat

pytestmark = pytest.mark.django_db


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


@override_settings(ROCKETCHAT_SSO_USER_MAPPER="tests.test_profiles.custom_mapper")
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
