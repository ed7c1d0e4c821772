"""Signing in on each Rocket.Chat release (issue 11), and linking only what may be linked
(issue 12: takeover by a typed address, a deleted user's account, ``verified``, email case).

Most tests use the ``rocketchat`` fixture, so the run's ``--rocketchat-version`` decides the
release; the call counts are measured on all three releases in every run.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.test import Client, RequestFactory, override_settings
from django.views.debug import ExceptionReporter

from rocketchat_sso.accounts import creations, signin
from rocketchat_sso.accounts.profiles import RocketChatProfile, profile_changes, rocketchat_password
from rocketchat_sso.accounts.signin import issue_login_token, sync_user
from rocketchat_sso.exceptions import (
    RocketChatAccountConflict,
    RocketChatCreateTokenRefused,
    RocketChatUnavailable,
    RocketChatUserInactive,
)
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.rocketchat import capabilities
from rocketchat_sso.rocketchat.addresses import same_address
from rocketchat_sso.rocketchat.client import RocketChatClient, has_address
from rocketchat_sso.testing import FakeRocketChat, Fault, mock_rocketchat
from tests.conftest import paths

pytestmark = pytest.mark.django_db

URL = "https://chat.example.com"
TOKEN_URL = "/rocketchat/token/"
RELEASES = ("7.10", "8.0", "8.8")
VERIFIED = {"ROCKETCHAT_SSO_EMAIL_VERIFIED": True}


def open_chat(browser: Client) -> Any:
    return browser.post(TOKEN_URL)


def browser_of(user: Any) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def verified_account(
    fake: FakeRocketChat, username: str, email: str, *, roles: tuple[str, ...] = ("user",)
) -> dict[str, Any]:
    """Someone's own Rocket.Chat account, with their own password, address verified."""
    record = fake.add_user(
        username, email, name=username.title(), password="their-own", roles=roles
    )
    record["emails"][0]["verified"] = True
    return record


def untouched(fake: FakeRocketChat, before: dict[str, Any]) -> None:
    """The account is as it was: same name and username, and its owner still logs in."""
    after = fake.user_by_id(before["_id"])
    assert after is not None
    assert (after["username"], after["name"], after["active"]) == (
        before["username"],
        before["name"],
        before["active"],
    )
    assert fake.calls_to("/api/v1/users.update") == []
    if before["active"]:
        RocketChatClient().login(username=before["username"], password="their-own")


# -- the call counts, per release and login method ---------------------------------------------

SETUP = {
    "7.10": {"create_tokens_for_users": True},
    "8.0": {"create_tokens_secret": "k"},
    "8.8": {"create_tokens_secret": "k"},
}
EXPECTED_CALLS = {
    "password": (["POST users.create", "POST login"], ["POST login"]),
    "create_token": (
        ["POST users.create", "POST users.createToken"],
        ["GET users.info", "POST users.createToken"],
    ),
}


@pytest.mark.parametrize("method", sorted(EXPECTED_CALLS))
@pytest.mark.parametrize("version", RELEASES)
def test_calls_per_signin_on_each_release(
    user: Any, settings: Any, version: str, method: str
) -> None:
    """New user 2, known user's new session 1 (password) or 2 (create_token), warm opening 0;
    with Rocket.Chat's rate limiter at its defaults."""
    settings.ROCKETCHAT_SSO_LOGIN_METHOD = method
    settings.ROCKETCHAT_SSO_CREATE_TOKEN_SECRET = "k" if version != "7.10" else ""
    settings.ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL = 300  # the default: a warm opening
    new_user, new_session = EXPECTED_CALLS[method]
    with mock_rocketchat(URL, version=version, **SETUP[version]) as fake:
        browser = browser_of(user)
        assert open_chat(browser).status_code == 200
        assert paths(fake) == new_user
        fake.reset_calls()
        assert open_chat(browser).status_code == 200
        assert paths(fake) == []  # warm opening
        fake.reset_calls()
        assert open_chat(browser_of(user)).status_code == 200
        assert paths(fake) == new_session


# -- issue 11: a new user signs in although users.list ignores query ---------------------------


def test_a_new_user_signs_in_next_to_the_admin(rocketchat: FakeRocketChat, user: Any) -> None:
    """7.0+ ignore users.list's query: the old lookup met the admin first and refused (409)."""
    response = open_chat(browser_of(user))
    assert response.status_code == 200, response.content
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None and response.json()["loginToken"] in rocketchat.tokens_of(
        rc_user["_id"]
    )
    assert rocketchat.calls_to("/api/v1/users.list") == []


@override_settings(**VERIFIED)
@pytest.mark.usefixtures("email_two_factor_off")
def test_an_existing_account_with_a_vouched_address_is_linked(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    """Found by the lookup of this release (users.info?email= on 8.6+, users.list pages before),
    behind other users sorted before it."""
    for n in range(3):
        rocketchat.add_user(f"aaa{n}", f"aaa{n}@example.com")
    existing = verified_account(rocketchat, "alice.l", "alice@example.com")
    response = open_chat(browser_of(user))
    assert response.status_code == 200, response.content
    account = RocketChatAccount.objects.get(user=user)
    assert account.rocketchat_user_id == existing["_id"]
    assert response.json()["loginToken"] in rocketchat.tokens_of(existing["_id"])
    lookup = capabilities.email_lookup_path(RocketChatClient().version())
    if lookup == capabilities.LOOKUP_USERS_INFO_EMAIL:
        assert rocketchat.calls_to("/api/v1/users.list") == []
    else:
        assert rocketchat.calls_to("/api/v1/users.list")


@override_settings(**VERIFIED)
@pytest.mark.usefixtures("email_two_factor_off")
def test_email_case_does_not_matter(rocketchat: FakeRocketChat, django_user_model: Any) -> None:
    """Issue 12 #8: Django ``Bob@corp.example``, Rocket.Chat ``bob@corp.example`` (it used to end
    in 409 "No free Rocket.Chat username")."""
    existing = verified_account(rocketchat, "bob", "bob@corp.example")
    bob = django_user_model.objects.create_user("bob", "Bob@corp.example", "pw")
    response = open_chat(browser_of(bob))
    assert response.status_code == 200, response.content
    assert RocketChatAccount.objects.get(user=bob).rocketchat_user_id == existing["_id"]
    rocketchat.reset_calls()
    assert open_chat(browser_of(bob)).status_code == 200
    assert "POST users.update" not in paths(rocketchat)  # the address is in step, whatever case


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("Kate@Example.com", " kate@example.com ", True),
        ("\u212aate@example.com", "kate@example.com", False),  # the Kelvin sign
        ("\u017fam@example.com", "sam@example.com", False),  # long s
        ("stra\u00dfe@example.com", "strasse@example.com", False),  # casefold() makes ss
        ("\u00c9lise@example.com", "\u00e9lise@example.com", False),  # non-ASCII case: kept
        ("", "", False),
    ],
)
def test_addresses_differ_other_than_by_ascii_case(first: str, second: str, same: bool) -> None:
    assert same_address(first, second) is same
    assert has_address({"emails": [{"address": second}]}, first) is same


@override_settings(**VERIFIED)
def test_a_kelvin_sign_never_links_kates_account(
    rocketchat: FakeRocketChat, django_user_model: Any
) -> None:
    """Issue 19 #5: ``str.lower()`` made ``\u212aate@example.com`` match ``kate@example.com`` and
    the attacker was linked to Kate's account. Rocket.Chat's own lookup may fold it (the
    stand-in's does); the app does not follow."""
    kate = verified_account(rocketchat, "kate", "kate@example.com")
    mallory = django_user_model.objects.create_user("mallory", "\u212aate@example.com", "pw")
    response = open_chat(browser_of(mallory))
    assert response.status_code == 409, response.content
    assert not RocketChatAccount.objects.filter(rocketchat_user_id=kate["_id"]).exists()
    assert kate["emails"] == [{"address": "kate@example.com", "verified": True}]
    assert rocketchat.calls_to("/api/v1/users.update") == []


def test_a_profile_with_a_kelvin_sign_is_not_in_step_with_kates_address() -> None:
    profile = RocketChatProfile(username="k", email="\u212aate@example.com", name="K")
    rc_user = {"username": "k", "name": "K", "emails": [{"address": "kate@example.com"}]}
    assert profile_changes(rc_user, profile, ["k"]) == {
        "email": "\u212aate@example.com",
        "verified": False,
    }


# -- issue 12 #1: no takeover by a typed address ------------------------------------------------


@pytest.mark.usefixtures("email_two_factor_off")
def test_an_unvouched_address_never_takes_over_an_account(
    rocketchat: FakeRocketChat, django_user_model: Any
) -> None:
    """By default (ROCKETCHAT_SSO_EMAIL_VERIFIED False) a Django user who typed Bob's address
    gets a JSON 409 they can act on; Bob's account is untouched and he still logs in."""
    bob = verified_account(rocketchat, "bob", "bob@corp.example")
    mallory = django_user_model.objects.create_user("mallory", "bob@corp.example", "pw")
    tokens_before = rocketchat.tokens_of(bob["_id"])
    response = open_chat(browser_of(mallory))
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "rocketchat_account_conflict"
    assert "verif" in body["message"] and "administrator" in body["message"]
    untouched(rocketchat, bob)
    assert set(tokens_before) <= set(rocketchat.tokens_of(bob["_id"]))
    assert not RocketChatAccount.objects.filter(user=mallory).exists()


@pytest.mark.parametrize(
    "roles",
    [("admin",), ("user", "bot"), ("user", "livechat-agent"), ("user", "app"), ("bot",)],
    ids=lambda roles: "+".join(roles),
)
@override_settings(**VERIFIED)
@pytest.mark.usefixtures("email_two_factor_off")
def test_privileged_accounts_are_never_linked(
    rocketchat: FakeRocketChat, user: Any, roles: tuple[str, ...]
) -> None:
    other = verified_account(rocketchat, "boss", "alice@example.com", roles=roles)
    response = open_chat(browser_of(user))
    assert response.status_code == 409
    assert "roles" in response.json()["message"]
    untouched(rocketchat, other)


@override_settings(**VERIFIED, ROCKETCHAT_SSO_LINKABLE_ROLES=["user", "guest", "bot"])
@pytest.mark.usefixtures("email_two_factor_off")
def test_linkable_roles_widen_the_allow_list_but_never_to_privileged_roles(
    rocketchat: FakeRocketChat, user: Any, django_user_model: Any
) -> None:
    guest = verified_account(rocketchat, "alice.g", "alice@example.com", roles=("guest",))
    assert open_chat(browser_of(user)).status_code == 200
    assert RocketChatAccount.objects.get(user=user).rocketchat_user_id == guest["_id"]
    rocketchat.reset_calls()
    bot = verified_account(rocketchat, "robot", "robot@example.com", roles=("user", "bot"))
    robot = django_user_model.objects.create_user("robot", "robot@example.com", "pw")
    assert open_chat(browser_of(robot)).status_code == 409
    untouched(rocketchat, bot)


@override_settings(**VERIFIED)
def test_an_address_rocketchat_has_not_verified_is_not_linked_automatically(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    other = rocketchat.add_user("alice.l", "alice@example.com", name="A", password="their-own")
    response = open_chat(browser_of(user))
    assert response.status_code == 409
    assert "rocketchat_sso_sync --link" in response.json()["message"]
    untouched(rocketchat, other)


# -- issue 12 #4: a deleted (deactivated) user's account is never handed over ------------------


@override_settings(**VERIFIED)
@pytest.mark.usefixtures("email_two_factor_off")
def test_a_deleted_users_account_is_never_handed_to_a_newcomer(
    rocketchat: FakeRocketChat, django_user_model: Any, django_capture_on_commit_callbacks: Any
) -> None:
    vic = django_user_model.objects.create_user("vic", "vic@example.com", "pw")
    assert open_chat(browser_of(vic)).status_code == 200
    vic_rc = dict(rocketchat.user_by_username("vic") or {})
    with django_capture_on_commit_callbacks(execute=True):
        vic.delete()  # ROCKETCHAT_SSO_ON_USER_DELETE: deactivated in Rocket.Chat
    vic_rc = dict(rocketchat.user_by_id(vic_rc["_id"]) or {})
    assert vic_rc["active"] is False
    rocketchat.reset_calls()
    newcomer = django_user_model.objects.create_user("newcomer", "vic@example.com", "pw")
    response = open_chat(browser_of(newcomer))
    assert response.status_code == 409
    assert "deactivated" in response.json()["message"]
    untouched(rocketchat, vic_rc)
    assert rocketchat.tokens_of(vic_rc["_id"]) == []
    assert not RocketChatAccount.objects.filter(user=newcomer).exists()
    # Nor deliberately: an administrator must reactivate it in Rocket.Chat first.
    with pytest.raises(RocketChatAccountConflict, match="deactivated"):
        signin.plan_link(newcomer, client=RocketChatClient())


# -- issue 12 #7: `verified` comes from the site's vouching -------------------------------------


def _created_verified(fake: FakeRocketChat) -> bool:
    body = json.loads(fake.calls_to("/api/v1/users.create")[-1].body)
    return bool(body["verified"])


def vouch_for_alice(user: Any) -> bool:
    return str(user.get_username()) == "alice"


@pytest.mark.parametrize(
    ("setting", "verified"),
    [(False, False), (True, True), ("tests.test_signin.vouch_for_alice", True)],
)
@pytest.mark.usefixtures("email_two_factor_off")
def test_verified_is_sent_only_for_a_vouched_address(
    rocketchat: FakeRocketChat, user: Any, settings: Any, setting: Any, verified: bool
) -> None:
    settings.ROCKETCHAT_SSO_EMAIL_VERIFIED = setting
    assert open_chat(browser_of(user)).status_code == 200
    assert _created_verified(rocketchat) is verified
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None and rc_user["emails"][0]["verified"] is verified


def test_a_changed_address_is_sent_verified_only_when_vouched(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    assert open_chat(browser_of(user)).status_code == 200
    user.email = "alicia@example.com"
    user.save()
    assert open_chat(browser_of(user)).status_code == 200
    update = json.loads(rocketchat.calls_to("/api/v1/users.update")[-1].body)
    assert update["data"]["email"] == "alicia@example.com"
    assert update["data"]["verified"] is False


# -- the vouching callables ---------------------------------------------------------------------


@pytest.fixture
def fake_allauth(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """An ``allauth.account.models.EmailAddress`` whose manager filters a list of rows."""
    rows: list[dict[str, Any]] = []

    class Query:
        def __init__(self, **lookup: Any) -> None:
            self.lookup = lookup

        def _rows(self) -> list[dict[str, Any]]:
            return [
                row
                for row in rows
                if row["user"] == self.lookup["user"]
                and row["verified"] == self.lookup["verified"]
                and (
                    "email__iexact" not in self.lookup
                    or row["email"].lower() == self.lookup["email__iexact"].lower()
                )
            ]

        def exists(self) -> bool:
            return bool(self._rows())

        def values_list(self, field: str, *, flat: bool = False) -> list[Any]:
            assert flat
            return [row[field] for row in self._rows()]

    class Manager:
        def filter(self, **lookup: Any) -> Query:
            return Query(**lookup)

    models = types.ModuleType("allauth.account.models")
    models.EmailAddress = type("EmailAddress", (), {"objects": Manager()})  # type: ignore[attr-defined]
    for name, module in (
        ("allauth", types.ModuleType("allauth")),
        ("allauth.account", types.ModuleType("allauth.account")),
        ("allauth.account.models", models),
    ):
        monkeypatch.setitem(sys.modules, name, module)
    yield rows


def test_allauth_vouches_for_verified_addresses_only(user: Any, fake_allauth: Any) -> None:
    from rocketchat_sso.accounts.verification import allauth_email_verified

    assert allauth_email_verified(user) is False
    fake_allauth.append({"user": user, "email": "ALICE@example.com", "verified": False})
    assert allauth_email_verified(user) is False
    fake_allauth.append({"user": user, "email": "ALICE@example.com", "verified": True})
    assert allauth_email_verified(user) is True


def test_allauth_vouches_for_no_address_that_only_unicode_folding_matches(
    django_user_model: Any, fake_allauth: Any
) -> None:
    """Issue 19 #5: ``iexact`` is ``UPPER(...)`` on PostgreSQL, which folds ``\u017f`` (long s)
    to ``S``; allauth's verified ``sam@example.com`` does not vouch for ``\u017fam@...``."""
    from rocketchat_sso.accounts.verification import allauth_email_verified

    sam = django_user_model.objects.create_user("sam", "\u017fam@example.com", "pw")
    fake_allauth.append({"user": sam, "email": "sam@example.com", "verified": True})
    assert allauth_email_verified(sam) is False


@override_settings(
    ROCKETCHAT_SSO_EMAIL_VERIFIED="rocketchat_sso.accounts.verification.allauth_email_verified"
)
@pytest.mark.usefixtures("email_two_factor_off")
def test_allauth_vouching_links_an_existing_account(
    rocketchat: FakeRocketChat, user: Any, fake_allauth: Any
) -> None:
    existing = verified_account(rocketchat, "alice.l", "alice@example.com")
    assert open_chat(browser_of(user)).status_code == 409
    fake_allauth.append({"user": user, "email": "alice@example.com", "verified": True})
    assert open_chat(browser_of(user)).status_code == 200
    assert RocketChatAccount.objects.get(user=user).rocketchat_user_id == existing["_id"]


def test_the_allauth_module_is_imported_only_when_called() -> None:
    import rocketchat_sso.accounts.verification  # noqa: F401

    assert "allauth" not in sys.modules


# -- a taken username on update -----------------------------------------------------------------


def test_a_taken_username_keeps_the_rest_in_step_and_is_recorded(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    """users.update answers error-could-not-save-identity and saves nothing: the name still
    reaches Rocket.Chat, the conflict is on the account (and in the admin), and later
    sign-ins do not try the taken username again."""
    assert open_chat(browser_of(user)).status_code == 200
    rocketchat.add_user("bob", "bob@example.com", name="Bob")
    user.username, user.first_name = "bob", "Alicia"
    user.save()
    response = open_chat(browser_of(user))
    assert response.status_code == 200, response.content
    account = RocketChatAccount.objects.get(user=user)
    rc_user = rocketchat.user_by_id(account.rocketchat_user_id)
    assert rc_user is not None
    assert (rc_user["username"], rc_user["name"]) == ("alice", "Alicia Liddell")
    assert "username 'bob' is taken" in account.sync_conflict
    assert account.last_error == ""
    rocketchat.reset_calls()
    assert open_chat(browser_of(user)).status_code == 200
    assert paths(rocketchat) == ["POST login"]  # not retried on every sign-in


def test_the_admin_shows_the_conflict(rocketchat: FakeRocketChat, user: Any) -> None:
    from rocketchat_sso.admin import ACCOUNT_FIELDS, RocketChatAccountAdmin

    assert "sync_conflict" in ACCOUNT_FIELDS
    admin = RocketChatAccountAdmin(RocketChatAccount, site)
    assert "has_conflict" in admin.list_display
    assert open_chat(browser_of(user)).status_code == 200
    account = RocketChatAccount.objects.get(user=user)
    account.sync_conflict = "username 'bob' is taken in Rocket.Chat; kept 'alice'"
    assert admin.has_conflict(account) is True


# -- the password fallback is never used on an account not known to be linkable ----------------


def test_a_known_users_password_is_set_only_after_the_login_was_refused(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    """The password method sets the derived password (logging the account out everywhere)
    only when the login with it fails, for a linked, active, plain account."""
    assert open_chat(browser_of(user)).status_code == 200
    account = RocketChatAccount.objects.get(user=user)
    rocketchat.reset_calls()
    assert open_chat(browser_of(user)).status_code == 200
    assert "POST users.update" not in paths(rocketchat)
    RocketChatClient().update_user(account.rocketchat_user_id, {"roles": ["user", "bot"]})
    rocketchat.reset_calls()
    RocketChatClient().update_user(account.rocketchat_user_id, {"password": "Changed-1!"})
    response = open_chat(browser_of(user))
    assert response.status_code == 409  # now a bot: its password is not replaced
    updates = [json.loads(c.body)["data"] for c in rocketchat.calls_to("/api/v1/users.update")]
    assert all("password" not in data or data["password"] == "Changed-1!" for data in updates)


# -- secrets never reach Django's error reports -------------------------------------------------


def test_error_reports_do_not_show_the_password_or_the_admin_token(
    rocketchat: FakeRocketChat, user: Any, settings: Any
) -> None:
    settings.DEBUG = True
    assert open_chat(browser_of(user)).status_code == 200
    account = RocketChatAccount.objects.get(user=user)
    RocketChatClient().update_user(account.rocketchat_user_id, {"password": "Changed-1!"})

    def boom(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    request = RequestFactory().get("/")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("requests.Session.request", boom)
        try:
            issue_login_token(user)
        except RuntimeError:
            report = ExceptionReporter(request, *sys.exc_info()).get_traceback_text()
        else:  # pragma: no cover
            pytest.fail("no error")
    assert "boom" in report
    assert rocketchat_password(user) not in report
    assert settings.ROCKETCHAT_SSO_ADMIN_TOKEN not in report


# -- sign-in and sync (moved from the former tests/test_services.py) ------------------------


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
@pytest.mark.usefixtures("email_two_factor_off")
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


@override_settings(ROCKETCHAT_SSO_EMAIL_VERIFIED=True)
@pytest.mark.usefixtures("email_two_factor_off")
def test_password_login_repairs_a_password_it_does_not_know(
    rocketchat: FakeRocketChat, user: Any
) -> None:
    existing = rocketchat.add_user("alice", "alice@example.com", name="Alice", password="own")
    existing["emails"][0]["verified"] = True
    token = issue_login_token(user)
    assert token.user_id == existing["_id"]
    assert "POST users.update" in paths(rocketchat)


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
