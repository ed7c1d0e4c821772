from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from rocketchat_sso.accounts import lifecycle, signin
from rocketchat_sso.models import RocketChatAccount
from rocketchat_sso.testing import FakeResponse, FakeRocketChat, Fault
from tests.conftest import paths

pytestmark = pytest.mark.django_db


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def sync(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("rocketchat_sso_sync", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def counts(output: str) -> dict[str, int]:
    line = [line for line in output.splitlines() if "failed" in line][-1]
    return {name: int(n) for name, n in re.findall(r"(\w+) (\d+)", line)}


@pytest.fixture
def people(django_user_model: Any) -> list[Any]:
    return [
        django_user_model.objects.create_user(name, f"{name}@example.com", "pw")
        for name in ("ann", "ben", "cy")
    ]


def test_creates_the_missing_then_costs_nothing(
    rocketchat: FakeRocketChat, people: list[Any]
) -> None:
    out, err = sync()
    assert counts(out)["created"] == 3
    assert counts(out)["failed"] == 0
    assert "3 Rocket.Chat calls" in out  # users.create per new user (no lookup first)
    assert err == ""
    assert all(rocketchat.user_by_username(p.username) for p in people)
    rocketchat.reset_calls()
    out, _ = sync()
    assert counts(out)["unchanged"] == 3
    assert rocketchat.calls == []  # the stored digests say nothing changed


def test_changed_profiles_are_updated(rocketchat: FakeRocketChat, people: list[Any]) -> None:
    sync()
    people[0].first_name = "Ann"
    people[0].save()
    rocketchat.reset_calls()
    out, _ = sync("-v", "2")
    assert "ann: updated (name)" in out
    assert counts(out)["updated"] == 1 and counts(out)["unchanged"] == 2
    assert paths(rocketchat) == ["GET users.info", "POST users.update"]


def test_full_checks_everyone_against_rocketchat(
    rocketchat: FakeRocketChat, people: list[Any]
) -> None:
    sync()
    rc_ben = rocketchat.user_by_username("ben")
    assert rc_ben is not None
    rc_ben["name"] = "edited in Rocket.Chat"
    rocketchat.reset_calls()
    out, _ = sync("--full")
    assert counts(out)["updated"] == 1 and counts(out)["unchanged"] == 2
    assert rc_ben["name"] == "ben"
    assert paths(rocketchat).count("GET users.info") == 3


def test_inactive_users_are_deactivated_not_created(
    rocketchat: FakeRocketChat, people: list[Any]
) -> None:
    sync()
    type(people[0]).objects.filter(pk=people[0].pk).update(is_active=False)  # no signal
    people[1].__class__.objects.create_user("dora", "dora@example.com", "pw", is_active=False)
    out, _ = sync()
    assert counts(out)["deactivated"] == 1
    assert counts(out)["skipped"] == 1
    assert rocketchat.user_by_username("dora") is None
    rc_ann = rocketchat.user_by_username("ann")
    assert rc_ann is not None and rc_ann["active"] is False
    type(people[0]).objects.filter(pk=people[0].pk).update(is_active=True)
    out, _ = sync()
    assert counts(out)["reactivated"] == 1
    assert rc_ann["active"] is True


def test_deleted_users_left_behind_are_retried(
    rocketchat: FakeRocketChat, people: list[Any]
) -> None:
    sync()
    rc_ann = rocketchat.user_by_username("ann")
    assert rc_ann is not None
    RocketChatAccount.objects.filter(user=people[0]).update(user=None, last_error="down")
    people[0].delete()
    out, _ = sync("--failed")
    assert counts(out)["deactivated"] == 1
    assert rc_ann["active"] is False
    assert RocketChatAccount.objects.count() == 2


def test_failures_are_reported_and_exit_non_zero(
    rocketchat: FakeRocketChat, people: list[Any]
) -> None:
    refused = FakeResponse(400, {"success": False, "error": "Name contains invalid characters"})
    rocketchat.inject(refused, "/api/v1/users.create")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 failed"):
        call_command("rocketchat_sso_sync", stdout=out, stderr=err)
    assert counts(out.getvalue())["created"] == 2
    assert counts(out.getvalue())["failed"] == 1
    assert err.getvalue() == (
        "ann: failed: Rocket.Chat refused POST /api/v1/users.create: "
        "Name contains invalid characters\n"
    )
    rocketchat.reset_calls()
    out_again, _ = sync("--failed")  # nothing recorded: the user was never linked
    assert counts(out_again)["created"] == 0
    out_again, _ = sync()
    assert counts(out_again)["created"] == 1


def test_failed_updates_are_retried_with_failed(
    rocketchat: FakeRocketChat, people: list[Any]
) -> None:
    sync()
    people[0].first_name = "Ann"
    people[0].save()
    rocketchat.inject(Fault.CONNECTION_REFUSED, "/api/v1/users.info", times=3)
    with pytest.raises(CommandError):
        sync()
    rocketchat.clear_faults()
    assert RocketChatAccount.objects.get(user=people[0]).last_error
    out, _ = sync("--failed")
    assert counts(out)["updated"] == 1
    assert sum(counts(out).values()) == 1
    assert RocketChatAccount.objects.get(user=people[0]).last_error == ""


def test_dry_run_changes_nothing(rocketchat: FakeRocketChat, people: list[Any]) -> None:
    out, _ = sync("--dry-run", "-v", "2")
    assert out.splitlines()[0] == "ann: would be created"
    assert "Dry run, nothing changed. Would be: created 3," in out
    assert rocketchat.calls == []
    assert not RocketChatAccount.objects.exists()


def test_filters(rocketchat: FakeRocketChat, people: list[Any]) -> None:
    out, _ = sync("ben")
    assert counts(out)["created"] == 1
    assert rocketchat.user_by_username("ann") is None
    out, _ = sync("--since-pk", str(people[1].pk))
    assert counts(out)["created"] == 1
    assert rocketchat.user_by_username("cy") is not None
    assert rocketchat.user_by_username("ann") is None


def test_interrupted_run_says_how_to_resume(
    rocketchat: FakeRocketChat, people: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = lifecycle.reconcile_user

    def until_the_third(user: Any, *args: Any, **kwargs: Any) -> Any:
        if user.username == "cy":
            raise KeyboardInterrupt
        return real(user, *args, **kwargs)

    monkeypatch.setattr(lifecycle, "reconcile_user", until_the_third)
    out = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("rocketchat_sso_sync", stdout=out, stderr=StringIO())
    assert info.value.returncode == 130
    assert f"--since-pk {people[1].pk}" in str(info.value)
    assert counts(out.getvalue())["created"] == 2
    monkeypatch.setattr(lifecycle, "reconcile_user", real)
    out_again, _ = sync()
    assert counts(out_again)["created"] == 1 and counts(out_again)["unchanged"] == 2


def test_progress_only_on_a_terminal(rocketchat: FakeRocketChat, people: list[Any]) -> None:
    out, _ = sync()
    assert "\r" not in out
    terminal = Terminal()
    call_command("rocketchat_sso_sync", stdout=terminal, stderr=StringIO())
    assert "\r3/3 users" in terminal.getvalue()


def test_batch_size_must_be_positive(rocketchat: FakeRocketChat) -> None:
    with pytest.raises(CommandError, match="batch-size"):
        sync("--batch-size", "0")


@override_settings(ROCKETCHAT_SSO_ON_USER_DELETE="delete")
def test_a_small_run_in_batches(rocketchat: FakeRocketChat, django_user_model: Any) -> None:
    """The 10,000-user benchmark (benchmarks/sync_10k.py) in small: 120 users, batches of 25."""
    django_user_model.objects.bulk_create(
        [django_user_model(username=f"u{i:04d}", email=f"u{i:04d}@example.com") for i in range(120)]
    )
    out, _ = sync("--batch-size", "25")
    assert counts(out)["created"] == 120
    assert "120 Rocket.Chat calls" in out  # one users.create each: no lookup first
    assert RocketChatAccount.objects.count() == 120


# -- --link: an administrator links an existing Rocket.Chat account deliberately ---------------


def test_link_says_what_it_will_do_then_links(
    rocketchat: FakeRocketChat, django_user_model: Any
) -> None:
    """Without ROCKETCHAT_SSO_EMAIL_VERIFIED sign-in refuses the existing account (409); the
    administrator vouches for the address with --link."""
    existing = rocketchat.add_user("bob.old", "BOB@example.com", name="Robert", password="own")
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "pw", first_name="Bob")
    out, _ = sync("--link", "--dry-run", "bob")
    assert "bob: will link bob to the Rocket.Chat account 'bob.old'" in out
    assert "change its username from 'bob.old' to 'bob'" in out
    assert "logs the account out of every Rocket.Chat device" in out
    assert not RocketChatAccount.objects.filter(user=bob).exists()
    assert rocketchat.calls_to("/api/v1/users.update") == []
    out, _ = sync("--link", "--yes", "bob")
    assert "bob: linked (name, username)." in out
    account = RocketChatAccount.objects.get(user=bob)
    assert account.rocketchat_user_id == existing["_id"]
    assert existing["username"] == "bob"
    assert signin.issue_login_token(bob).user_id == existing["_id"]  # sets the password now


def test_link_refuses_privileged_and_deactivated_accounts(
    rocketchat: FakeRocketChat, django_user_model: Any
) -> None:
    rocketchat.add_user("boss", "boss@example.com", roles=("admin",))
    rocketchat.add_user("gone", "gone@example.com", active=False)
    for name in ("boss", "gone"):
        django_user_model.objects.create_user(name, f"{name}@example.com", "pw")
    out = StringIO()
    err = StringIO()
    with pytest.raises(CommandError, match="2 could not be linked"):
        call_command(
            "rocketchat_sso_sync", "--link", "--yes", "boss", "gone", stdout=out, stderr=err
        )
    assert "boss: cannot link: A Rocket.Chat account with roles (admin)" in err.getvalue()
    assert "gone: cannot link: A deactivated Rocket.Chat account" in err.getvalue()
    assert rocketchat.calls_to("/api/v1/users.update") == []
    assert not RocketChatAccount.objects.exists()


def test_link_needs_usernames_and_asks_outside_a_terminal(
    rocketchat: FakeRocketChat, django_user_model: Any
) -> None:
    with pytest.raises(CommandError, match="needs the usernames"):
        sync("--link")
    rocketchat.add_user("dan.old", "dan@example.com")
    django_user_model.objects.create_user("dan", "dan@example.com", "pw")
    with pytest.raises(CommandError, match="--yes"):
        sync("--link", "dan")
    assert not RocketChatAccount.objects.exists()
