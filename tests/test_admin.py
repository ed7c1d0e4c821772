from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from rocketchat_sso.accounts.signin import issue_login_token
from rocketchat_sso.models import RocketChatAccount, SettingsSnapshot
from rocketchat_sso.testing import FakeResponse, FakeRocketChat, Fault

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


# -- actions ---------------------------------------------------------------------------------

CHANGELIST = "admin:rocketchat_sso_rocketchataccount_changelist"


def run_action(admin_client: Client, action: str, *accounts: RocketChatAccount) -> list[str]:
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [a.pk for a in accounts]},
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def synced(rocketchat: FakeRocketChat, user: Any) -> RocketChatAccount:
    issue_login_token(user)
    return RocketChatAccount.objects.get(user=user)


def test_one_failure_does_not_stop_the_others(
    admin_client: Client,
    rocketchat: FakeRocketChat,
    user: Any,
    synced: RocketChatAccount,
    django_user_model: Any,
) -> None:
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "pw")
    issue_login_token(bob)
    bobs = RocketChatAccount.objects.get(user=bob)
    later = synced.created_at + timedelta(seconds=1)
    RocketChatAccount.objects.filter(pk=bobs.pk).update(created_at=later)  # listed first
    user.first_name = "Alicia"
    user.save()
    rocketchat.inject(FakeResponse(400, {"success": False, "error": "Boom"}), "/api/v1/users.info")
    assert run_action(admin_client, "sync_now", synced, bobs) == [
        "bob: failed: Rocket.Chat refused GET /api/v1/users.info: Boom",
        "alice: updated in Rocket.Chat (name)",
    ]
    assert RocketChatAccount.objects.get(user=bob).last_error.endswith("Boom")
    assert RocketChatAccount.objects.get(user=user).last_error == ""


def test_sync_now_updates_and_reports_changes(
    admin_client: Client, rocketchat: FakeRocketChat, user: Any, synced: RocketChatAccount
) -> None:
    user.first_name = "Alicia"
    user.save()
    assert run_action(admin_client, "sync_now", synced) == ["alice: updated in Rocket.Chat (name)"]
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None and rc_user["name"] == "Alicia Liddell"
    assert run_action(admin_client, "sync_now", synced) == [
        "alice: already in step with Rocket.Chat"
    ]


def test_sync_now_retries_a_deleted_users_deactivation(
    admin_client: Client, rocketchat: FakeRocketChat, synced: RocketChatAccount
) -> None:
    RocketChatAccount.objects.filter(pk=synced.pk).update(user=None, last_error="unreachable")
    synced.refresh_from_db()
    found = run_action(admin_client, "sync_now", synced)
    assert found == ["deleted user (Rocket.Chat alice): deactivated in Rocket.Chat"]
    rc_user = rocketchat.user_by_username("alice")
    assert rc_user is not None and rc_user["active"] is False
    assert not RocketChatAccount.objects.exists()


def test_log_out_everywhere_action(
    admin_client: Client, rocketchat: FakeRocketChat, user: Any, synced: RocketChatAccount
) -> None:
    assert run_action(admin_client, "log_out_everywhere", synced) == [
        "alice: logged out of every Rocket.Chat session"
    ]
    assert rocketchat.tokens_of(synced.rocketchat_user_id) == []
    assert run_action(admin_client, "log_out_everywhere", synced) == [
        "alice: had no Rocket.Chat session"
    ]


def test_deactivate_and_reactivate_actions(
    admin_client: Client,
    rocketchat: FakeRocketChat,
    user: Any,
    synced: RocketChatAccount,
    django_capture_on_commit_callbacks: Any,
) -> None:
    rc_user = rocketchat.user_by_id(synced.rocketchat_user_id)
    assert rc_user is not None
    assert run_action(admin_client, "deactivate", synced) == ["alice: deactivated in Rocket.Chat"]
    assert rc_user["active"] is False
    with django_capture_on_commit_callbacks(execute=True):
        user.save()  # an operator's deactivation is not undone by saving the Django user
    assert rc_user["active"] is False
    assert run_action(admin_client, "reactivate", synced) == ["alice: reactivated in Rocket.Chat"]
    assert rc_user["active"] is True


def test_reactivating_an_inactive_django_user_warns(
    admin_client: Client, rocketchat: FakeRocketChat, user: Any, synced: RocketChatAccount
) -> None:
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    (message,) = run_action(admin_client, "reactivate", synced)
    assert message.startswith("alice: reactivated in Rocket.Chat, but the Django user is inactive")


def test_action_failure_is_shown_and_recorded(
    admin_client: Client, rocketchat: FakeRocketChat, synced: RocketChatAccount
) -> None:
    rocketchat.inject(Fault.CONNECTION_REFUSED, times=10)
    (message,) = run_action(admin_client, "deactivate", synced)
    assert message.startswith("alice: failed: Rocket.Chat could not be reached")
    synced.refresh_from_db()
    assert "could not be reached" in synced.last_error


def test_error_and_orphan_filters(
    admin_client: Client, account: RocketChatAccount, django_user_model: Any
) -> None:
    RocketChatAccount.objects.create(rocketchat_user_id="gone1", rocketchat_username="gone")
    url = reverse(CHANGELIST)
    failed = admin_client.get(url, {"failed": "yes"}).content
    assert b"rcid00000000000001" in failed and b"gone1" not in failed
    assert b"gone1" in admin_client.get(url, {"failed": "no"}).content
    orphans = admin_client.get(url, {"orphaned": "yes"}).content
    assert b"gone1" in orphans and b"rcid00000000000001" not in orphans
    assert b"gone1" not in admin_client.get(url, {"orphaned": "no"}).content


# -- on the user admin -----------------------------------------------------------------------


def test_user_admin_shows_the_account_with_a_link_to_its_actions(
    admin_client: Client, account: RocketChatAccount, user: Any
) -> None:
    response = admin_client.get(reverse("admin:auth_user_change", args=[user.pk]))
    assert response.status_code == 200
    assert b"rcid00000000000001" in response.content
    link = f"{reverse(CHANGELIST)}?user__id__exact={user.pk}"
    assert link.encode() in response.content
    listing = admin_client.get(link)
    assert listing.status_code == 200
    assert b"rcid00000000000001" in listing.content


def test_a_sites_own_user_admin_is_left_alone() -> None:
    from django.contrib import admin as django_admin
    from django.contrib.auth.admin import UserAdmin

    from rocketchat_sso import admin as our_admin

    class SiteUserAdmin(UserAdmin):  # type: ignore[type-arg]
        pass

    site = django_admin.AdminSite()
    user_model = get_user_model()
    site.register(user_model, SiteUserAdmin)
    original, django_admin.site = django_admin.site, site
    try:
        our_admin._add_inline_to_default_user_admin()
    finally:
        django_admin.site = original
    assert type(site._registry[user_model]) is SiteUserAdmin


def test_recorded_rocketchat_settings_are_shown_read_only(admin_client: Client) -> None:
    snapshot = SettingsSnapshot.objects.create(
        rocketchat_url="https://chat.example.com",
        site_url="https://www.example.com",
        values={"Accounts_iframe_enabled": False, "Accounts_iframe_url": ""},
    )
    changelist = admin_client.get(reverse("admin:rocketchat_sso_settingssnapshot_changelist"))
    assert b"https://www.example.com" in changelist.content
    detail = admin_client.get(
        reverse("admin:rocketchat_sso_settingssnapshot_change", args=[snapshot.pk])
    )
    assert b"Accounts_iframe_enabled" in detail.content
    assert b'name="_save"' not in detail.content
    assert admin_client.get(reverse("admin:rocketchat_sso_settingssnapshot_add")).status_code == 403


# -- permissions: a view-only staff user changes nothing ----------------------------------------


@pytest.fixture
def viewer(django_user_model: Any) -> Any:
    """A staff user allowed to look at every model of the app, and to change none."""
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user("viewer", "viewer@example.com", "pw")
    staff.is_staff = True
    staff.save()
    staff.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="rocketchat_sso", codename__startswith="view_"
        )
    )
    return django_user_model.objects.get(pk=staff.pk)  # a fresh permission cache


def test_a_view_only_staff_user_is_offered_no_action(viewer: Any) -> None:
    """Every action of the app's admin changes Rocket.Chat or the records: none for a viewer."""
    from django.contrib import admin
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = viewer
    model_admins = [
        model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == "rocketchat_sso"
    ]
    assert len(model_admins) == 4  # accounts, mapped rooms, settings snapshots, issued tokens
    for model_admin in model_admins:
        assert model_admin.has_view_permission(request)
        assert model_admin.get_actions(request) == {}, type(model_admin).__name__


def test_a_view_only_staff_user_cannot_revoke_a_live_token(
    rocketchat: FakeRocketChat, signed_in: Client, user: Any, viewer: Any
) -> None:
    """The retry action revokes live rows too: it signs a user out of the chat."""
    from rocketchat_sso.models import IssuedToken

    token = signed_in.post(reverse("rocketchat_sso:token")).json()["loginToken"]
    row = IssuedToken.objects.get()
    staff = Client()
    staff.force_login(viewer)
    url = reverse("admin:rocketchat_sso_issuedtoken_changelist")
    assert staff.get(url).status_code == 200
    staff.post(url, {"action": "retry_revocation", "_selected_action": [row.pk]}, follow=True)
    row.refresh_from_db()
    assert row.ended_at is None and row.revoked_at is None
    linked = RocketChatAccount.objects.get(user=user).rocketchat_user_id
    assert token in rocketchat.tokens_of(linked)  # still signed in to the chat


def test_change_permission_on_issued_tokens_allows_the_retry(
    rocketchat: FakeRocketChat, signed_in: Client, viewer: Any
) -> None:
    from django.contrib.auth.models import Permission

    from rocketchat_sso.models import IssuedToken

    signed_in.post(reverse("rocketchat_sso:token"))
    viewer.user_permissions.add(Permission.objects.get(codename="change_issuedtoken"))
    staff = Client()
    staff.force_login(viewer)
    row = IssuedToken.objects.get()
    done = staff.post(
        reverse("admin:rocketchat_sso_issuedtoken_changelist"),
        {"action": "retry_revocation", "_selected_action": [row.pk]},
        follow=True,
    )
    assert "Revoked 1" in done.content.decode()
