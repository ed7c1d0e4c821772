"""Rooms from groups: Rocket.Chat private groups whose members follow the Django groups."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from rocketchat_sso.accounts.signin import issue_login_token
from rocketchat_sso.models import MappedRoom, RocketChatAccount, RoomMembership
from rocketchat_sso.rooms import dispatch
from rocketchat_sso.rooms.checks import check_rooms
from rocketchat_sso.testing import FakeRocketChat, Fault

pytestmark = pytest.mark.django_db

ROOMS = {"Staff": "staff", "Course 101": "course-101", "Tenant A": {"name": "tenant-a"}}
Commit = Callable[..., Any]


@pytest.fixture(autouse=True)
def mapped(settings: Any) -> None:
    settings.ROCKETCHAT_SSO_GROUP_ROOMS = ROOMS
    settings.ROCKETCHAT_SSO_ROOMS_RUN = "inline"


@pytest.fixture
def groups() -> dict[str, Group]:
    return {name: Group.objects.create(name=name) for name in [*ROOMS, "Unmapped"]}


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Commit) -> Callable[[], Any]:
    """``with commit():`` runs what was left for after the commit, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def room_calls(fake: FakeRocketChat) -> list[str]:
    return [
        f"{c.method} {c.path.removeprefix('/api/v1/')}"
        for c in fake.calls
        if c.path.startswith("/api/v1/groups.")
    ]


def sign_in(user: Any, commit: Callable[[], Any]) -> None:
    with commit():
        issue_login_token(user)


def make_user(django_user_model: Any, name: str, *group_objs: Group) -> Any:
    user = django_user_model.objects.create_user(
        username=name, email=f"{name}@example.com", password="pw"
    )
    user.groups.add(*group_objs)
    return user


# -- sign-in ---------------------------------------------------------------------------------


def test_sign_in_puts_the_user_in_the_room_of_each_mapped_group(
    rocketchat: FakeRocketChat, user: Any, groups: dict[str, Group], commit: Any
) -> None:
    user.groups.add(groups["Staff"], groups["Course 101"], groups["Tenant A"], groups["Unmapped"])
    sign_in(user, commit)
    for room in ("staff", "course-101", "tenant-a"):
        assert rocketchat.rooms.members_of(room) == ["admin", "alice"]
    assert len(rocketchat.rooms.groups()) == 3
    # Three rooms created with Alice in them: one call each.
    assert room_calls(rocketchat) == ["POST groups.create"] * 3
    rocketchat.reset_calls()
    sign_in(user, commit)  # nothing changed: no room call
    assert room_calls(rocketchat) == []


def test_sign_in_joins_existing_rooms_with_one_call_each(
    rocketchat: FakeRocketChat,
    user: Any,
    groups: dict[str, Group],
    commit: Any,
    django_user_model: Any,
) -> None:
    bob = make_user(django_user_model, "bob", groups["Staff"], groups["Course 101"])
    sign_in(bob, commit)
    user.groups.add(groups["Staff"], groups["Course 101"])
    rocketchat.reset_calls()
    sign_in(user, commit)
    assert room_calls(rocketchat) == ["POST groups.invite"] * 2
    assert rocketchat.rooms.members_of("staff") == ["admin", "alice", "bob"]


def test_a_room_made_by_hand_with_the_admin_in_it_is_found_not_duplicated(
    rocketchat: FakeRocketChat, user: Any, groups: dict[str, Group], commit: Any
) -> None:
    rocketchat.rooms.add_group("staff", owner="admin")
    user.groups.add(groups["Staff"])
    sign_in(user, commit)
    assert [g["name"] for g in rocketchat.rooms.groups()] == ["staff"]
    assert rocketchat.rooms.members_of("staff") == ["admin", "alice"]
    assert room_calls(rocketchat) == ["POST groups.create", "GET groups.info", "POST groups.invite"]


# -- group changes -----------------------------------------------------------------------------


@pytest.fixture
def alice_signed_in(
    rocketchat: FakeRocketChat, user: Any, groups: dict[str, Group], commit: Any
) -> Any:
    """Alice signed in once while in Staff; the rooms of all mapped groups exist."""
    user.groups.add(groups["Staff"])
    sign_in(user, commit)
    for room in ("course-101", "tenant-a"):
        rocketchat.rooms.add_group(room, owner="admin")
        MappedRoom.objects.create(name=room, rocketchat_room_id=rocketchat.rooms.group(room)["_id"])
    rocketchat.reset_calls()
    return user


def test_group_add_and_remove_cost_one_call_each(
    rocketchat: FakeRocketChat, alice_signed_in: Any, groups: dict[str, Group], commit: Any
) -> None:
    with commit():
        alice_signed_in.groups.add(groups["Course 101"])
    assert room_calls(rocketchat) == ["POST groups.invite"]
    assert rocketchat.rooms.members_of("course-101") == ["admin", "alice"]
    rocketchat.reset_calls()
    with commit():
        alice_signed_in.groups.remove(groups["Staff"])
    assert room_calls(rocketchat) == ["POST groups.kick"]
    assert rocketchat.rooms.members_of("staff") == ["admin"]


def test_clear_and_set_on_the_user_side(
    rocketchat: FakeRocketChat, alice_signed_in: Any, groups: dict[str, Group], commit: Any
) -> None:
    with commit():
        alice_signed_in.groups.set([groups["Course 101"], groups["Tenant A"]])
    assert rocketchat.rooms.members_of("staff") == ["admin"]
    assert rocketchat.rooms.members_of("course-101") == ["admin", "alice"]
    assert rocketchat.rooms.members_of("tenant-a") == ["admin", "alice"]
    assert sorted(room_calls(rocketchat)) == ["POST groups.invite"] * 2 + ["POST groups.kick"]
    with commit():
        alice_signed_in.groups.clear()
    for room in ("staff", "course-101", "tenant-a"):
        assert rocketchat.rooms.members_of(room) == ["admin"]
    assert not RoomMembership.objects.exists()


def test_changes_on_the_group_side(
    rocketchat: FakeRocketChat,
    alice_signed_in: Any,
    groups: dict[str, Group],
    commit: Any,
    django_user_model: Any,
) -> None:
    course = groups["Course 101"]
    with commit():
        course.user_set.add(alice_signed_in)
    assert rocketchat.rooms.members_of("course-101") == ["admin", "alice"]
    with commit():
        course.user_set.remove(alice_signed_in)
    assert rocketchat.rooms.members_of("course-101") == ["admin"]
    with commit():
        course.user_set.set([alice_signed_in])
    assert rocketchat.rooms.members_of("course-101") == ["admin", "alice"]
    with commit():
        course.user_set.clear()
    assert rocketchat.rooms.members_of("course-101") == ["admin"]


def test_users_who_never_signed_in_cause_no_call(
    rocketchat: FakeRocketChat, groups: dict[str, Group], commit: Any, django_user_model: Any
) -> None:
    with commit():
        carol = make_user(django_user_model, "carol", groups["Staff"])
        carol.groups.remove(groups["Staff"])
        groups["Course 101"].user_set.add(carol)
    assert rocketchat.calls == []


def test_a_group_change_while_rocketchat_is_down_saves_and_is_completed_at_sign_in(
    rocketchat: FakeRocketChat, alice_signed_in: Any, groups: dict[str, Group], commit: Any
) -> None:
    admin = Client()
    admin_user = type(alice_signed_in).objects.create_superuser("root", "r@example.com", "pw")
    admin.force_login(admin_user)
    rocketchat.inject(Fault.CONNECTION_REFUSED, times=10)
    account = RocketChatAccount.objects.get(user=alice_signed_in)
    url = f"/admin/auth/user/{alice_signed_in.pk}/change/"
    data = {
        "username": "alice",
        "email": "alice@example.com",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "groups": [groups["Staff"].pk, groups["Course 101"].pk],
        "rocketchat_account-TOTAL_FORMS": "1",
        "rocketchat_account-INITIAL_FORMS": "1",
        "rocketchat_account-MIN_NUM_FORMS": "0",
        "rocketchat_account-MAX_NUM_FORMS": "0",
        "rocketchat_account-0-id": str(account.pk),
        "rocketchat_account-0-user": str(alice_signed_in.pk),
    }
    with commit():
        answer = admin.post(url, data)
    errors = answer.context["adminform"].form.errors if answer.status_code == 200 else None
    assert answer.status_code == 302, errors
    assert set(alice_signed_in.groups.values_list("name", flat=True)) == {"Staff", "Course 101"}
    row = RoomMembership.objects.get(account__user=alice_signed_in, room__name="course-101")
    assert row.state == RoomMembership.PENDING_ADD
    assert "could not be reached" in row.last_error
    # The account's page and the user's page in the admin show it.
    page = admin.get(url)
    assert b"course-101: to add" in page.content and b"could not be reached" in page.content
    page = admin.get(f"/admin/rocketchat_sso/rocketchataccount/{account.pk}/change/")
    assert b"course-101" in page.content and b"could not be reached" in page.content
    rocketchat.clear_faults()
    sign_in(alice_signed_in, commit)
    assert rocketchat.rooms.members_of("course-101") == ["admin", "alice"]
    row.refresh_from_db()
    assert (row.state, row.last_error) == (RoomMembership.MEMBER, "")


# -- rooms the admin cannot manage -------------------------------------------------------------


def test_a_room_the_admin_is_not_in_gets_no_twin_and_breaks_nothing(
    rocketchat: FakeRocketChat,
    user: Any,
    groups: dict[str, Group],
    commit: Any,
    django_user_model: Any,
) -> None:
    rocketchat.add_user("bob", "bob@example.com", password="x")
    rocketchat.rooms.add_group("staff", owner="bob")  # the admin is not in it
    user.groups.add(groups["Staff"], groups["Course 101"])
    browser = Client()
    browser.force_login(user)
    with commit():
        answer = browser.post("/rocketchat/token/")
    assert answer.status_code == 200 and answer.json()["loginToken"]
    assert sorted(g["name"] for g in rocketchat.rooms.groups()) == ["course-101", "staff"]
    assert rocketchat.rooms.members_of("staff") == ["bob"]
    assert rocketchat.rooms.members_of("course-101") == ["admin", "alice"]
    row = RoomMembership.objects.get(room__name="staff")
    assert row.state == RoomMembership.PENDING_ADD
    assert "add the admin user to the private group 'staff'" in row.last_error
    # The next sign-in spends no call on it: only the sync asks again.
    rocketchat.reset_calls()
    sign_in(user, commit)
    assert room_calls(rocketchat) == []
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("rocketchat_sso_sync", stdout=out, stderr=err)
    assert "staff: cannot be managed" in err.getvalue()
    assert "add the admin user to the private group 'staff'" in err.getvalue()
    # Fixed in Rocket.Chat: the next sync completes it.
    rocketchat.rooms.add_member("staff", "admin")
    call_command("rocketchat_sso_sync", stdout=StringIO())
    assert rocketchat.rooms.members_of("staff") == ["admin", "alice", "bob"]
    assert MappedRoom.objects.get(name="staff").problem == ""


# -- the sync ----------------------------------------------------------------------------------


@pytest.fixture
def population(
    rocketchat: FakeRocketChat, groups: dict[str, Group], commit: Any, django_user_model: Any
) -> list[Any]:
    users = [
        make_user(django_user_model, f"u{i}", groups["Staff"], groups["Course 101"])
        for i in range(5)
    ]
    for user in users:
        sign_in(user, commit)
    rocketchat.reset_calls()
    return users


def test_a_sync_with_nothing_to_change_reads_each_room_once(
    rocketchat: FakeRocketChat, population: list[Any]
) -> None:
    out = StringIO()
    call_command("rocketchat_sso_sync", stdout=out)
    assert room_calls(rocketchat) == ["GET groups.members"] * 2
    assert "staff: 6 members, added 0, removed 0" in out.getvalue()


def test_the_sync_repairs_drift_and_touches_only_what_this_site_linked(
    rocketchat: FakeRocketChat, population: list[Any], groups: dict[str, Group]
) -> None:
    rocketchat.add_user("hand", "hand@example.com")
    rocketchat.add_user("bot", "bot@example.com", roles=("bot",))
    rocketchat.rooms.add_member("staff", "hand")  # added by hand, not linked: stays
    rocketchat.rooms.add_member("staff", "bot")
    rocketchat.rooms.remove_member("staff", "u1")  # removed by hand: comes back
    rocketchat.rooms.add_group("elsewhere", owner="admin", members=("u2",))  # unmapped: untouched
    # u3 left Staff while Rocket.Chat was down (no receiver ran): removed by the sync
    RoomMembership.objects.filter(account__user=population[3]).update(state="pending-remove")
    population[3].groups.through.objects.filter(
        user_id=population[3].pk, group=groups["Staff"]
    ).delete()
    rocketchat.reset_calls()
    call_command("rocketchat_sso_sync", stdout=StringIO())
    assert rocketchat.rooms.members_of("staff") == ["admin", "bot", "hand", "u0", "u1", "u2", "u4"]
    assert rocketchat.rooms.members_of("elsewhere") == ["admin", "u2"]
    assert sorted(room_calls(rocketchat)) == [
        "GET groups.members",
        "GET groups.members",
        "POST groups.invite",
        "POST groups.kick",
    ]
    assert not RoomMembership.objects.filter(account__user=population[3], room__name="staff")


def test_an_unmapped_room_is_forgotten_not_emptied(
    rocketchat: FakeRocketChat, population: list[Any], settings: Any, commit: Any
) -> None:
    settings.ROCKETCHAT_SSO_GROUP_ROOMS = {"Staff": "staff"}
    with commit():
        population[0].groups.clear()
    assert rocketchat.rooms.members_of("course-101") == ["admin", "u0", "u1", "u2", "u3", "u4"]
    assert rocketchat.rooms.members_of("staff") == ["admin", "u1", "u2", "u3", "u4"]
    assert room_calls(rocketchat) == ["POST groups.kick"]


def test_dry_run_changes_nothing(rocketchat: FakeRocketChat, population: list[Any]) -> None:
    rocketchat.rooms.remove_member("staff", "u1")
    out = StringIO()
    call_command("rocketchat_sso_sync", "--dry-run", stdout=out)
    assert "staff: 5 members, would add 1, remove 0" in out.getvalue()
    assert rocketchat.rooms.members_of("staff") == ["admin", "u0", "u2", "u3", "u4"]


def test_no_rooms_option_skips_them(rocketchat: FakeRocketChat, population: list[Any]) -> None:
    call_command("rocketchat_sso_sync", "--no-rooms", stdout=StringIO())
    assert room_calls(rocketchat) == []


# -- where the work runs -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_thread_does_the_work_by_default_without_tasks(
    rocketchat: FakeRocketChat, settings: Any, django_user_model: Any
) -> None:
    settings.ROCKETCHAT_SSO_ROOMS_RUN = "auto"
    assert dispatch.mode() == "thread"
    staff = Group.objects.create(name="Staff")
    user = make_user(django_user_model, "dora")
    issue_login_token(user)
    dispatch.wait()
    rocketchat.reset_calls()
    user.groups.add(staff)  # returns before Rocket.Chat is asked
    dispatch.wait()
    assert rocketchat.rooms.members_of("staff") == ["admin", "dora"]
    assert room_calls(rocketchat) == ["POST groups.create"]


def test_tasks_are_used_where_the_site_configured_them(settings: Any) -> None:
    pytest.importorskip("django.tasks", reason="django.tasks needs Django 6.0+")
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.ROCKETCHAT_SSO_ROOMS_RUN = "auto"
    assert dispatch.mode() == "tasks"


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("django.tasks") is None,
    reason="django.tasks needs Django 6.0+",
)
def test_the_task_does_the_work(
    rocketchat: FakeRocketChat, user: Any, groups: dict[str, Group], commit: Any, settings: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.ROCKETCHAT_SSO_ROOMS_RUN = "tasks"
    sign_in(user, commit)
    with commit():
        user.groups.add(groups["Staff"])
    assert rocketchat.rooms.members_of("staff") == ["admin", "alice"]


# -- checks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"ROCKETCHAT_SSO_GROUP_ROOMS": ["staff"]}, ["rocketchat_sso.E070"]),
        ({"ROCKETCHAT_SSO_GROUP_ROOMS": "no.such.callable"}, ["rocketchat_sso.E070"]),
        ({"ROCKETCHAT_SSO_GROUP_ROOMS": {"Staff": "Staff Room"}}, ["rocketchat_sso.E071"]),
        ({"ROCKETCHAT_SSO_GROUP_ROOMS": {"Staff": "#staff"}}, ["rocketchat_sso.E071"]),
        ({"ROCKETCHAT_SSO_GROUP_ROOMS": {"Staff": {"room": "x"}}}, ["rocketchat_sso.E072"]),
        ({"ROCKETCHAT_SSO_GROUP_ROOMS": {"Staff": 3}}, ["rocketchat_sso.E072"]),
        (
            {"ROCKETCHAT_SSO_GROUP_ROOMS": {"Staff": {"name": "staff", "moderators": ["A"]}}},
            ["rocketchat_sso.E072"],
        ),
        ({"ROCKETCHAT_SSO_ROOM_NAME_VALIDATION": "[a-z"}, ["rocketchat_sso.W070"]),
        ({"ROCKETCHAT_SSO_ROOMS_RUN": "celery"}, ["rocketchat_sso.E073"]),
        ({"ROCKETCHAT_SSO_ROOMS_RUN": "tasks"}, ["rocketchat_sso.W071"]),
        (
            {
                "ROCKETCHAT_SSO_GROUP_ROOMS": {"Staff": "Équipe"},
                "ROCKETCHAT_SSO_ROOM_NAME_VALIDATION": r"[\w-]+",
            },
            [],
        ),
        ({"ROCKETCHAT_SSO_GROUP_ROOMS": "tests.test_rooms.computed_rooms"}, []),
    ],
)
def test_checks(settings: Any, overrides: dict[str, object], expected: list[str]) -> None:
    for key, value in overrides.items():
        setattr(settings, key, value)
    if expected == ["rocketchat_sso.W071"] and dispatch.tasks_available():
        expected = []
    messages = check_rooms()
    assert [m.id for m in messages] == expected
    assert all(m.hint for m in messages)


def computed_rooms() -> dict[str, str]:
    """A computed mapping, as a site's course model would give it."""
    return {f"Course {n}": f"course-{n}" for n in (101, 102)}


def test_a_callable_mapping(
    rocketchat: FakeRocketChat, user: Any, settings: Any, commit: Any
) -> None:
    settings.ROCKETCHAT_SSO_GROUP_ROOMS = "tests.test_rooms.computed_rooms"
    user.groups.add(Group.objects.create(name="Course 102"))
    sign_in(user, commit)
    assert rocketchat.rooms.members_of("course-102") == ["admin", "alice"]


def test_a_read_only_room(
    rocketchat: FakeRocketChat, user: Any, settings: Any, commit: Any
) -> None:
    settings.ROCKETCHAT_SSO_GROUP_ROOMS = {"News": {"name": "news", "read_only": True}}
    user.groups.add(Group.objects.create(name="News"))
    sign_in(user, commit)
    assert rocketchat.rooms.group("news")["ro"] is True


@pytest.fixture
def _quiet_threads() -> Iterator[None]:
    yield
    dispatch.wait()


# -- the doctor --------------------------------------------------------------------------------


def test_the_doctor_names_rooms_the_admin_cannot_manage(
    rocketchat: FakeRocketChat, user: Any, groups: dict[str, Group], commit: Any
) -> None:
    from rocketchat_sso.operations import doctor
    from rocketchat_sso.rocketchat.client import RocketChatClient

    check = [c for c in doctor.CHECKS if c.name == "rooms"]
    with RocketChatClient() as client:
        (finding,) = doctor.Doctor(client).run(check)
    assert finding.status == "OK" and "not created yet" in finding.detail
    rocketchat.add_user("bob", "bob@example.com")
    rocketchat.rooms.add_group("staff", owner="bob")
    user.groups.add(groups["Staff"], groups["Course 101"])
    sign_in(user, commit)
    with RocketChatClient() as client:
        (finding,) = doctor.Doctor(client).run(check)
    assert finding.status == "FAIL"
    assert finding.detail == "the admin cannot manage staff"
    assert "add the admin user to the private group 'staff'" in finding.hint


# -- the stand-in's groups.* routes, as Rocket.Chat answers them -------------------------------


def call(fake: FakeRocketChat, method: str, route: str, **params: Any) -> tuple[int, Any]:
    from rocketchat_sso.exceptions import RocketChatError
    from rocketchat_sso.rocketchat.client import RocketChatClient

    with RocketChatClient(retries=0) as client:
        try:
            if method == "GET":
                return 200, client.request("GET", route, params=params)
            return 200, client.request("POST", route, body=params)
        except RocketChatError as error:
            return int(error.status or 0), error.error_type or error.message


def test_stand_in_groups_routes(rocketchat: FakeRocketChat) -> None:
    rocketchat.add_user("bob", "bob@example.com")
    rocketchat.add_user("carol", "carol@example.com")
    bob_id = rocketchat.user_by_username("bob")["_id"]
    assert call(rocketchat, "POST", "groups.create", name="bad name") == (
        400,
        "error-invalid-room-name",
    )
    status, answer = call(rocketchat, "POST", "groups.create", name="team", members=["bob"])
    assert status == 200 and answer["group"]["t"] == "p"
    assert rocketchat.rooms.members_of("team") == ["admin", "bob"]
    assert call(rocketchat, "POST", "groups.create", name="team") == (
        400,
        "error-duplicate-channel-name",
    )
    room_id = answer["group"]["_id"]
    assert call(rocketchat, "POST", "groups.invite", roomId=room_id) == (
        400,
        "error-users-params-not-provided",
    )
    assert call(rocketchat, "POST", "groups.invite", roomId=room_id, userIds=["nobody"]) == (
        400,
        "error-empty-invite-list",
    )
    assert call(rocketchat, "POST", "groups.kick", roomId=room_id, userId=bob_id)[0] == 200
    assert call(rocketchat, "POST", "groups.kick", roomId=room_id, userId=bob_id) == (
        400,
        "error-user-not-in-room",
    )
    admin_id = rocketchat.user_by_username("admin")["_id"]
    assert call(rocketchat, "POST", "groups.kick", roomId=room_id, userId=admin_id) == (
        400,
        "error-you-are-last-owner",
    )
    status, answer = call(rocketchat, "GET", "groups.members", roomId=room_id, count="0")
    assert [m["username"] for m in answer["members"]] == ["admin"] and answer["total"] == 1
    # A private group the admin is not in: invisible, and closed to invites and kicks.
    rocketchat.rooms.add_group("theirs", owner="bob", members=("carol",))
    theirs = rocketchat.rooms.group("theirs")["_id"]
    assert call(rocketchat, "GET", "groups.info", roomName="theirs") == (
        400,
        "error-room-not-found",
    )
    assert call(rocketchat, "GET", "groups.members", roomId=theirs) == (400, "error-room-not-found")
    assert call(rocketchat, "POST", "groups.invite", roomId=theirs, userIds=[bob_id]) == (
        400,
        "error-not-allowed",
    )
    carol_id = rocketchat.user_by_username("carol")["_id"]
    assert call(rocketchat, "POST", "groups.kick", roomId=theirs, userId=carol_id) == (
        400,
        "error-room-not-found",
    )
    assert rocketchat.rooms.members_of("theirs") == ["bob", "carol"]


def test_stand_in_groups_create_needs_create_p(rocketchat: FakeRocketChat) -> None:
    from rocketchat_sso.exceptions import RocketChatPermissionDenied
    from rocketchat_sso.rocketchat.client import RocketChatClient

    guest = rocketchat.add_user("guest", "guest@example.com", password="pw", roles=("guest",))
    with RocketChatClient(retries=0) as client:
        token = client.login(username="guest", password="pw")
        with pytest.raises(RocketChatPermissionDenied):
            client.request(
                "POST",
                "groups.create",
                body={"name": "mine"},
                headers={"X-User-Id": guest["_id"], "X-Auth-Token": token.auth_token},
                authenticated=False,
            )


def test_the_plugin_fixture_lets_a_site_assert_on_rooms(
    rocketchat_rooms: Any, user: Any, django_capture_on_commit_callbacks: Commit
) -> None:
    staff = Group.objects.create(name="Staff")
    with django_capture_on_commit_callbacks(execute=True):
        issue_login_token(user)
        user.groups.add(staff)
    assert rocketchat_rooms.members_of("staff") == ["admin", "alice"]


def test_many_users_added_to_a_group_at_once_cost_one_call(
    rocketchat: FakeRocketChat, population: list[Any], commit: Any
) -> None:
    tenant = Group.objects.get(name="Tenant A")
    rocketchat.rooms.add_group("tenant-a", owner="admin")
    MappedRoom.objects.create(
        name="tenant-a", rocketchat_room_id=rocketchat.rooms.group("tenant-a")["_id"]
    )
    rocketchat.reset_calls()
    with commit():
        tenant.user_set.add(*population)
    assert room_calls(rocketchat) == ["POST groups.invite"]
    assert rocketchat.rooms.members_of("tenant-a") == ["admin", "u0", "u1", "u2", "u3", "u4"]


def test_the_sync_creating_users_reconciles_their_rooms_once_per_room(
    rocketchat: FakeRocketChat, groups: dict[str, Group], django_user_model: Any, commit: Any
) -> None:
    for i in range(4):
        make_user(django_user_model, f"n{i}", groups["Staff"])
    with commit():
        call_command("rocketchat_sso_sync", stdout=StringIO())
    assert room_calls(rocketchat) == [
        "POST groups.create",
        "GET groups.members",
        "POST groups.invite",
    ]
    assert rocketchat.rooms.members_of("staff") == ["admin", "n0", "n1", "n2", "n3"]


def test_the_sync_of_named_users_brings_their_rooms_in_line(
    rocketchat: FakeRocketChat, population: list[Any]
) -> None:
    rocketchat.rooms.remove_member("staff", "u1")
    RoomMembership.objects.filter(account__user=population[1]).update(state="pending-add")
    call_command("rocketchat_sso_sync", "u1", stdout=StringIO())
    assert rocketchat.rooms.members_of("staff") == ["admin", "u0", "u1", "u2", "u3", "u4"]
    assert "GET groups.members" not in room_calls(rocketchat)


def test_a_room_deleted_in_rocketchat_is_made_again_once(
    rocketchat: FakeRocketChat, alice_signed_in: Any, groups: dict[str, Group], commit: Any
) -> None:
    rocketchat.rooms.delete_group("course-101")
    with commit():
        alice_signed_in.groups.add(groups["Course 101"])
    assert rocketchat.rooms.members_of("course-101") == ["admin", "alice"]
    assert [g["name"] for g in rocketchat.rooms.groups()].count("course-101") == 1
    assert room_calls(rocketchat) == ["POST groups.invite", "POST groups.create"]


def test_a_sync_whose_invites_fail_leaves_them_pending_and_says_so(
    rocketchat: FakeRocketChat, population: list[Any]
) -> None:
    rocketchat.rooms.remove_member("staff", "u1")
    rocketchat.inject(Fault.CONNECTION_REFUSED, path="/api/v1/groups.invite", times=5)
    out = StringIO()
    with pytest.raises(CommandError, match="1 failed"):
        call_command("rocketchat_sso_sync", "--rooms-only", stdout=out)
    assert "staff: 5 members, added 0, removed 0, failed 1 (left pending)" in out.getvalue()
    row = RoomMembership.objects.get(account__user=population[1], room__name="staff")
    assert row.state == RoomMembership.PENDING_ADD and "could not be reached" in row.last_error
    rocketchat.clear_faults()
    call_command("rocketchat_sso_sync", "--rooms-only", stdout=StringIO())
    row.refresh_from_db()
    assert row.state == RoomMembership.MEMBER


def test_a_rocketchat_capping_pages_is_read_page_by_page(
    rocketchat: FakeRocketChat, population: list[Any]
) -> None:
    rocketchat.set_setting("API_Allow_Infinite_Count", False)
    for i in range(120):
        rocketchat.add_user(f"h{i:03d}", f"h{i}@example.com")
        rocketchat.rooms.add_member("staff", f"h{i:03d}")
    rocketchat.reset_calls()
    out = StringIO()
    call_command("rocketchat_sso_sync", "--rooms-only", stdout=out)
    assert "staff: 126 members, added 0, removed 0" in out.getvalue()
    # staff: 50 (the default count) first, then a page of 100; course-101 (6 members): one
    assert room_calls(rocketchat) == ["GET groups.members"] * 3


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("django.tasks") is None,
    reason="django.tasks needs Django 6.0+",
)
def test_with_a_task_queue_the_change_waits_on_nothing(
    rocketchat: FakeRocketChat, user: Any, groups: dict[str, Group], commit: Any, settings: Any
) -> None:
    from django.tasks import task_backends

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.ROCKETCHAT_SSO_ROOMS_RUN = "auto"
    with commit():
        issue_login_token(user)
        user.groups.add(groups["Staff"])
    assert room_calls(rocketchat) == []  # queued, not done
    [queued] = task_backends["default"].results
    queued.task.call(*queued.args, **queued.kwargs)  # what a worker does
    assert rocketchat.rooms.members_of("staff") == ["admin", "alice"]


def test_inactive_users_keep_their_rooms_and_cost_no_call(
    rocketchat: FakeRocketChat, population: list[Any], groups: dict[str, Group]
) -> None:
    # Deactivated in Rocket.Chat (as this site does for an inactive user): groups.members does
    # not list them, so the sync neither re-invites them nor takes their rooms away.
    population[2].is_active = False
    population[2].save()
    RocketChatAccount.objects.filter(user=population[2]).update(deactivated_at="2026-01-01T00:00Z")
    rocketchat.user_by_username("u2")["active"] = False
    rocketchat.reset_calls()
    out = StringIO()
    call_command("rocketchat_sso_sync", "--rooms-only", stdout=out)
    assert "staff: 5 members, added 0, removed 0" in out.getvalue()
    assert room_calls(rocketchat) == ["GET groups.members"] * 2
    assert "u2" in rocketchat.rooms.members_of("staff")
    assert RoomMembership.objects.filter(account__user=population[2]).count() == 2


# -- moderators from another group -------------------------------------------------------------

COURSES = {
    "Course 101": {"name": "course-101", "moderators": "Teachers 101"},
    "Staff": "staff",
}


@pytest.fixture
def courses(settings: Any) -> dict[str, Group]:
    settings.ROCKETCHAT_SSO_GROUP_ROOMS = COURSES
    return {name: Group.objects.create(name=name) for name in ("Course 101", "Teachers 101")}


def test_a_teacher_joins_as_moderator_in_two_calls_and_steps_down_in_one(
    rocketchat: FakeRocketChat,
    user: Any,
    courses: dict[str, Group],
    commit: Any,
    django_user_model: Any,
) -> None:
    student = make_user(django_user_model, "stu", courses["Course 101"])
    sign_in(student, commit)  # the room exists, the admin its owner
    sign_in(user, commit)
    rocketchat.reset_calls()
    with commit():
        user.groups.add(courses["Teachers 101"])
    assert room_calls(rocketchat) == ["POST groups.invite", "POST groups.addModerator"]
    assert rocketchat.rooms.members_of("course-101") == ["admin", "alice", "stu"]
    assert rocketchat.rooms.moderators_of("course-101") == ["alice"]
    rocketchat.reset_calls()
    with commit():
        user.groups.add(courses["Course 101"])  # also a member: nothing changes
    assert room_calls(rocketchat) == []
    with commit():
        user.groups.remove(courses["Teachers 101"])  # still in the course: stays, not moderator
    assert room_calls(rocketchat) == ["POST groups.removeModerator"]
    assert rocketchat.rooms.members_of("course-101") == ["admin", "alice", "stu"]
    assert rocketchat.rooms.moderators_of("course-101") == []


def test_the_sync_repairs_moderators_with_one_more_read(
    rocketchat: FakeRocketChat,
    user: Any,
    courses: dict[str, Group],
    commit: Any,
    django_user_model: Any,
) -> None:
    teacher = make_user(django_user_model, "teach", courses["Teachers 101"])
    student = make_user(django_user_model, "stu", courses["Course 101"])
    sign_in(teacher, commit)
    sign_in(student, commit)
    rocketchat.add_user("hand", "hand@example.com")
    rocketchat.rooms.add_member("course-101", "hand")
    group_id = rocketchat.rooms.group("course-101")["_id"]
    # By hand in Rocket.Chat: the teacher demoted, the student and a stranger promoted.
    rocketchat.rooms._groups[group_id].members[rocketchat.user_by_username("teach")["_id"]].clear()
    for name in ("stu", "hand"):
        rocketchat.rooms._groups[group_id].members[rocketchat.user_by_username(name)["_id"]].add(
            "moderator"
        )
    rocketchat.reset_calls()
    out = StringIO()
    call_command("rocketchat_sso_sync", "--rooms-only", stdout=out)
    assert "course-101: 4 members, added 0, removed 0, moderators +1 -1" in out.getvalue()
    assert rocketchat.rooms.moderators_of("course-101") == ["hand", "teach"]
    assert sorted(room_calls(rocketchat)) == [
        "GET groups.members",
        "GET groups.moderators",
        "POST groups.addModerator",
        "POST groups.removeModerator",
    ]
    rocketchat.reset_calls()
    call_command("rocketchat_sso_sync", "--rooms-only", stdout=StringIO())
    assert room_calls(rocketchat) == ["GET groups.members", "GET groups.moderators"]


def test_stand_in_moderator_routes(rocketchat: FakeRocketChat) -> None:
    rocketchat.add_user("bob", "bob@example.com")
    status, answer = call(rocketchat, "POST", "groups.create", name="team")
    room_id = answer["group"]["_id"]
    bob_id = rocketchat.user_by_username("bob")["_id"]
    assert call(rocketchat, "POST", "groups.addModerator", roomId=room_id, userId=bob_id) == (
        400,
        "error-user-not-in-room",
    )
    assert call(rocketchat, "POST", "groups.removeModerator", roomId=room_id, userId=bob_id) == (
        400,
        "error-invalid-room",
    )
    call(rocketchat, "POST", "groups.invite", roomId=room_id, userIds=[bob_id])
    assert call(rocketchat, "POST", "groups.addModerator", roomId=room_id, userId=bob_id)[0] == 200
    assert call(rocketchat, "POST", "groups.addModerator", roomId=room_id, userId=bob_id) == (
        400,
        "error-user-already-moderator",
    )
    status, answer = call(rocketchat, "GET", "groups.moderators", roomId=room_id)
    assert answer["moderators"] == [{"_id": bob_id, "username": "bob"}]
    assert (
        call(rocketchat, "POST", "groups.removeModerator", roomId=room_id, userId=bob_id)[0] == 200
    )
    assert call(rocketchat, "POST", "groups.removeModerator", roomId=room_id, userId=bob_id) == (
        400,
        "error-user-not-moderator",
    )


def test_a_mapped_group_renamed_or_deleted_moves_its_members(
    rocketchat: FakeRocketChat, alice_signed_in: Any, groups: dict[str, Group], commit: Any
) -> None:
    staff = groups["Staff"]
    with commit():
        staff.name = "Former staff"
        staff.save()
    assert rocketchat.rooms.members_of("staff") == ["admin"]
    with commit():
        staff.name = "Staff"
        staff.save()
    assert rocketchat.rooms.members_of("staff") == ["admin", "alice"]
    with commit():
        staff.delete()
    assert rocketchat.rooms.members_of("staff") == ["admin"]
    assert room_calls(rocketchat) == ["POST groups.kick", "POST groups.invite", "POST groups.kick"]


def test_the_doctor_asks_about_a_bounded_number_of_rooms(
    rocketchat: FakeRocketChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rocketchat_sso.operations import doctor
    from rocketchat_sso.rocketchat.client import RocketChatClient
    from rocketchat_sso.rooms import membership

    monkeypatch.setattr(membership, "DOCTOR_MAX_ROOMS", 1)
    MappedRoom.objects.create(name="tenant-a", problem="tenant-a: add the admin user")
    check = [c for c in doctor.CHECKS if c.name == "rooms"]
    with RocketChatClient() as client:
        (finding,) = doctor.Doctor(client).run(check)
    assert (finding.status, finding.detail) == ("FAIL", "the admin cannot manage tenant-a")
    assert room_calls(rocketchat) == ["GET groups.info"]


def test_one_threads_commit_never_runs_what_another_has_not_committed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    callbacks: list[Any] = []
    applied: list[list[int]] = []
    monkeypatch.setattr(dispatch.transaction, "on_commit", callbacks.append)
    monkeypatch.setattr(dispatch, "apply_accounts", applied.append)
    other = threading.Thread(target=dispatch.schedule, args=([5],))  # its transaction stays open
    other.start()
    other.join()
    dispatch.schedule([7])
    callbacks[-1]()  # this thread commits
    assert applied == [[7]]


def test_the_admin_action_completes_pending_room_changes(
    rocketchat: FakeRocketChat, alice_signed_in: Any, groups: dict[str, Group], commit: Any
) -> None:
    rocketchat.inject(Fault.CONNECTION_REFUSED, times=5)
    with commit():
        alice_signed_in.groups.add(groups["Course 101"])
    rocketchat.clear_faults()
    account = RocketChatAccount.objects.get(user=alice_signed_in)
    assert account.room_memberships.get(room__name="course-101").state == "pending-add"
    admin = Client()
    admin.force_login(type(alice_signed_in).objects.create_superuser("root", "r@x.com", "pw"))
    answer = admin.post(
        "/admin/rocketchat_sso/rocketchataccount/",
        {"action": "sync_rooms", "_selected_action": [account.pk]},
        follow=True,
    )
    assert b"Rooms: added 1, removed 0, failed 0." in answer.content
    assert rocketchat.rooms.members_of("course-101") == ["admin", "alice"]
