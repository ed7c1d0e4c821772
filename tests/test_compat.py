"""The old paths the docs named keep working until 0.2 (issue 22), each saying where it moved.

A site that uses only the new paths never sees a warning: nothing in the package imports the
deprecated stubs, and the paths that did not move import silently.
"""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.checks import CheckMessage, run_checks
from django.test import Client, override_settings
from django.utils.module_loading import import_string

import rocketchat_sso
from rocketchat_sso._moved import MOVED_MODULES
from rocketchat_sso.accounts.profiles import default_profile
from rocketchat_sso.accounts.verification import allauth_email_verified
from rocketchat_sso.conf import conf
from rocketchat_sso.testing import FakeRocketChat

PACKAGE = Path(rocketchat_sso.__file__).resolve().parent

# What the 0.1 docs told adopters to import from each old path (and what a user mapper needs).
DOCUMENTED = {
    "rocketchat_sso.profiles": (
        "rocketchat_sso.accounts.profiles",
        ["default_profile", "RocketChatProfile", "clean_username", "clean_name"],
    ),
    "rocketchat_sso.signin": ("rocketchat_sso.accounts.signin", ["sync_user"]),
    "rocketchat_sso.middleware": ("rocketchat_sso.web.middleware", ["ClientAddressMiddleware"]),
    "rocketchat_sso.verification": (
        "rocketchat_sso.accounts.verification",
        ["allauth_email_verified"],
    ),
    "rocketchat_sso.embed": ("rocketchat_sso.web.embed", ["iframe_html"]),
    "rocketchat_sso.tokens": ("rocketchat_sso.sessions.tokens", ["session_lock"]),
    "rocketchat_sso.views": (
        "rocketchat_sso.web.views",
        [
            "LOADING_PAGE_REASONS",
            "token",
            "login_page",
            "logout",
            "app_token",
            "sign_out_everywhere",
            "sign_in_window",
        ],
    ),
}
OLD_MIDDLEWARE = "rocketchat_sso.middleware.ClientAddressMiddleware"
NEW_MIDDLEWARE = "rocketchat_sso.web.middleware.ClientAddressMiddleware"
# Public paths that did not move: no warning, ever.
UNMOVED = [
    "rocketchat_sso",
    "rocketchat_sso.urls",
    "rocketchat_sso.admin",
    "rocketchat_sso.apps",
    "rocketchat_sso.signals",
    "rocketchat_sso.exceptions",
    "rocketchat_sso.models",
    "rocketchat_sso.conf",
    "rocketchat_sso.testing",
    "rocketchat_sso.testing.pytest_plugin",
    "rocketchat_sso.templatetags.rocketchat_sso",
]


def moved_message(old: str) -> str:
    return f"{old} moved to {DOCUMENTED[old][0]}; the old path goes in 0.2"


@pytest.fixture
def fresh() -> Iterator[None]:
    """The stubs unimported, so the next import of one runs it (and warns) again."""
    for old in MOVED_MODULES:
        sys.modules.pop(old, None)
    yield
    for old in MOVED_MODULES:
        sys.modules.pop(old, None)


def test_every_moved_module_is_covered() -> None:
    assert {old: new for old, (new, _) in DOCUMENTED.items()} == MOVED_MODULES


@pytest.mark.usefixtures("fresh")
@pytest.mark.parametrize("old", sorted(DOCUMENTED))
def test_an_old_path_warns_and_gives_the_very_same_objects(old: str) -> None:
    new, names = DOCUMENTED[old]
    with pytest.warns(DeprecationWarning) as caught:
        module = importlib.import_module(old)
    assert [str(w.message) for w in caught] == [moved_message(old)]
    target = importlib.import_module(new)
    for name in names:
        assert getattr(module, name) is getattr(target, name), name


@pytest.mark.usefixtures("fresh")
def test_the_warning_points_at_the_import() -> None:
    with pytest.warns(DeprecationWarning) as caught:
        from rocketchat_sso.profiles import RocketChatProfile, default_profile  # noqa: F401
    assert [(w.filename, str(w.message)) for w in caught] == [
        (__file__, moved_message("rocketchat_sso.profiles"))
    ]


@pytest.mark.usefixtures("fresh")
def test_dotted_paths_of_settings_still_import() -> None:
    with pytest.warns(DeprecationWarning, match="rocketchat_sso.accounts.profiles"):
        assert import_string("rocketchat_sso.profiles.default_profile") is default_profile
    with pytest.warns(DeprecationWarning, match="rocketchat_sso.accounts.verification"):
        found = import_string("rocketchat_sso.verification.allauth_email_verified")
    assert found is allauth_email_verified


@pytest.mark.usefixtures("fresh")
@override_settings(ROCKETCHAT_SSO_USER_MAPPER="rocketchat_sso.profiles.default_profile")
def test_the_old_user_mapper_setting_maps_to_the_new_one_silently() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert conf.user_mapper is default_profile
    assert "rocketchat_sso.profiles" not in sys.modules


@pytest.mark.django_db  # Django 6.1's model checks may query the database (JSONField)
@pytest.mark.usefixtures("fresh")
@override_settings(
    ROCKETCHAT_SSO_EMAIL_VERIFIED="rocketchat_sso.verification.allauth_email_verified"
)
def test_the_old_vouching_setting_is_read_at_its_new_place_and_the_checks_say_so(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rocketchat_sso.accounts import verification

    vouched: list[Any] = []
    monkeypatch.setattr(verification, "allauth_email_verified", vouched.append)  # no allauth here
    # A site running with warnings as errors still gets its checks: W150, not a traceback.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = {m.id for m in run_checks()}
        conf.email_verified(user)
    assert vouched == [user]
    assert "rocketchat_sso.W150" in found
    assert "rocketchat_sso.E011" not in found
    assert "rocketchat_sso.verification" not in sys.modules


def ids(checks: list[CheckMessage]) -> set[str]:
    return {message.id or "" for message in checks if "rocketchat_sso" in str(message.id)}


def moved_warnings(**overrides: Any) -> list[CheckMessage]:
    with override_settings(**overrides), warnings.catch_warnings():
        # Django's own middleware check imports an old MIDDLEWARE path: its stub warns there.
        warnings.simplefilter("ignore", DeprecationWarning)
        return [m for m in run_checks() if m.id == "rocketchat_sso.W150"]


@pytest.mark.django_db  # Django 6.1's model checks may query the database (JSONField)
def test_w150_names_each_old_path_in_the_settings_and_the_new_one() -> None:
    assert moved_warnings() == []
    assert (
        moved_warnings(
            MIDDLEWARE=[*settings.MIDDLEWARE, NEW_MIDDLEWARE],
            ROCKETCHAT_SSO_USER_MAPPER="rocketchat_sso.accounts.profiles.default_profile",
            ROCKETCHAT_SSO_EMAIL_VERIFIED="rocketchat_sso.accounts.verification."
            "allauth_email_verified",
        )
        == []
    )
    found = moved_warnings(
        MIDDLEWARE=[*settings.MIDDLEWARE, OLD_MIDDLEWARE],
        ROCKETCHAT_SSO_USER_MAPPER="rocketchat_sso.profiles.default_profile",
        ROCKETCHAT_SSO_EMAIL_VERIFIED="rocketchat_sso.verification.allauth_email_verified",
    )
    assert [(m.msg.split()[0], m.hint) for m in found] == [
        (
            "MIDDLEWARE",
            f"Use {NEW_MIDDLEWARE}. docs/installation.rst, "
            "'Upgrading from a pre-release checkout'.",
        ),
        (
            "ROCKETCHAT_SSO_USER_MAPPER",
            "Use rocketchat_sso.accounts.profiles.default_profile. "
            "docs/installation.rst, 'Upgrading from a pre-release checkout'.",
        ),
        (
            "ROCKETCHAT_SSO_EMAIL_VERIFIED",
            "Use rocketchat_sso.accounts.verification.allauth_email_verified. "
            "docs/installation.rst, 'Upgrading from a pre-release checkout'.",
        ),
    ]


OLD_FORWARDING = {
    "ROCKETCHAT_SSO_FORWARD_CLIENT_ADDRESS": "REMOTE_ADDR",
    "MIDDLEWARE": [*settings.MIDDLEWARE, OLD_MIDDLEWARE],
}


@pytest.mark.django_db
@override_settings(**OLD_FORWARDING)
def test_a_site_with_the_old_middleware_path_gets_w150_not_w060() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checks read the path, they do not import it
        found = ids(run_checks())
    assert "rocketchat_sso.W150" in found
    assert "rocketchat_sso.W060" not in found


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh")
@override_settings(**OLD_FORWARDING)
def test_a_site_with_the_old_middleware_path_still_forwards_the_address(
    rocketchat: FakeRocketChat, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user("far", "far@example.com")
    browser = Client(REMOTE_ADDR="203.0.113.7")
    browser.force_login(user)
    with pytest.warns(DeprecationWarning, match=NEW_MIDDLEWARE.rpartition(".")[0]):
        answer = browser.post("/rocketchat/token/")  # Django loads the middleware here
    assert answer.status_code == 200
    assert [call.header("x-real-ip") for call in rocketchat.calls_to("/api/v1/login")] == [
        "203.0.113.7"
    ]


def package_modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("rocketchat_sso", *path.relative_to(PACKAGE).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported_names(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, at the top or in a function, or names to import_string."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            source = ".".join(filter(None, [base, node.module or ""]))
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", "")) in IMPORTERS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value.rpartition(".")[0])
            names.add(node.args[0].value)
    return names


IMPORTERS = {"import_module", "import_string", "__import__"}


def test_no_module_of_the_package_imports_a_stub() -> None:
    # The stubs are for adopters only: the package itself uses the new paths.
    importers = {
        module: sorted(imported_names(path, module) & MOVED_MODULES.keys())
        for module, path in package_modules().items()
        if module not in MOVED_MODULES
    }
    assert {module: stubs for module, stubs in importers.items() if stubs} == {}


STARTUP = """
import importlib, os, sys, warnings
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
django.setup()
from django.core.management import get_commands, load_command_class
from django.template import engines
from django.urls import reverse
for name in sys.argv[1].split():
    importlib.import_module(name)
for name, app in get_commands().items():
    if app == "rocketchat_sso":
        load_command_class(app, name)
engines["django"].from_string("{% load rocketchat_sso %}")
for name in ("token", "login", "logout", "app_token", "sign_out_everywhere", "window"):
    reverse(f"rocketchat_sso:{name}")
print(" ".join(sorted(set(sys.argv[2].split()) & set(sys.modules))))
"""


def test_a_site_on_the_new_paths_never_sees_a_warning() -> None:
    # A fresh interpreter, every warning an error: setup, the entry points, every module.
    modules = [m for m in package_modules() if m not in MOVED_MODULES and ".migrations" not in m]
    run = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-c",
            STARTUP,
            " ".join([*UNMOVED, *modules]),
            " ".join(MOVED_MODULES),
        ],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},  # this run's package
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""  # no stub was imported on the way
