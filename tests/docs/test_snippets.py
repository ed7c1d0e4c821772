"""Every snippet of the docs and README that a user pastes is run or checked here.

Python blocks are executed: settings blocks after the settings of a fresh ``startproject``
(then the app's system checks run on them), URLconf blocks after its ``urls.py`` (then the app's
URLs must reverse), admin blocks against the real admin site, test blocks as tests with
pytest-django's fixtures, the rest in a fresh namespace. Shell blocks are checked command by
command: the management commands, make targets, modules, scripts and their options they name
must exist. Template blocks are rendered, JavaScript blocks parsed by node. A block that cannot
run anywhere says so with ``:class: no-test``; there are at most ``MAX_NO_TEST`` of them.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import shlex
import shutil
import subprocess
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.core import checks as django_checks
from django.core.management import call_command, get_commands, load_command_class
from django.template import engines
from django.test import RequestFactory, override_settings
from django.urls import resolve, reverse

from rocketchat_sso.conf import Settings
from rocketchat_sso.operations import checks
from tests.docs.rst import DOCS, ROOT, SNIPPET_FILES, CodeBlock, code_blocks, section

MAX_NO_TEST = 3
BLOCKS = [block for path in SNIPPET_FILES for block in code_blocks(path)]
# Read with regular expressions: tomllib is Python 3.11+ and the suite runs on 3.10 too.
PYPROJECT = (ROOT / "pyproject.toml").read_text()
PROJECT_NAME = re.search(r'^name = "([^"]+)"', PYPROJECT, re.M).group(1)  # type: ignore[union-attr]
EXTRAS = set(
    re.findall(
        r"^([\w-]+) = \[",
        PYPROJECT.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0],
        re.M,
    )
)
GROUPS = set(
    re.findall(
        r"^([\w-]+) = \[",
        PYPROJECT.split("[dependency-groups]", 1)[1].split("\n[", 1)[0],
        re.M,
    )
)
# Settings of a snippet that the app's checks read; the others (DATABASES, CACHES, ...) would
# reconfigure the test process itself.
CHECKED_SETTINGS = re.compile(
    r"^(ROCKETCHAT_SSO_\w+|CORS_\w+|SESSION_COOKIE_\w+|MIDDLEWARE|ALLOWED_HOSTS|DEBUG|LOGIN_URL)$"
)
APP_CHECKS = (
    checks.check_settings,
    checks.check_cors,
    checks.check_browser,
    checks.check_lifecycle,
)


def params(*languages: str) -> list[Any]:
    return [
        pytest.param(block, id=block.where)
        for block in BLOCKS
        if block.language in languages and not block.no_test
    ]


HANDLED = ("python", "sh", "html+django", "javascript", "yaml")


def test_every_block_is_run_or_checked() -> None:
    unhandled = [b.where for b in BLOCKS if b.language not in HANDLED and not b.no_test]
    assert unhandled == [], "give them a test, or :class: no-test"
    no_test = [b.where for b in BLOCKS if b.no_test]
    assert len(no_test) <= MAX_NO_TEST, no_test


# Python -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def startproject(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project as ``django-admin startproject mysite`` makes it."""
    target = tmp_path_factory.mktemp("startproject")
    call_command("startproject", "mysite", str(target))
    return target / "mysite"


def run(code: str, namespace: dict[str, Any], filename: str) -> dict[str, Any]:
    exec(compile(code, filename, "exec"), namespace)  # noqa: S102 - the snippet is the test
    return namespace


def environment_for(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Values for the environment variables a snippet reads, as a deployment sets them."""
    # os.environ["X"], and os.environ.get("X", "") whose empty default the checks refuse; a
    # .get() with a usable default runs with it.
    for groups in re.findall(r"os\.environ(?:\[\"(\w+)\"\]|\.get\(\"(\w+)\", \"\"\))", code):
        name = "".join(groups)
        monkeypatch.setenv(name, f"{name.lower()}-from-the-environment")


def installation_settings() -> CodeBlock:
    (block,) = [
        b for b in code_blocks(DOCS / "installation.rst") if b.code.startswith("# settings.py")
    ]
    return block


def run_settings(block: CodeBlock, startproject: Path) -> None:
    """A block adding the app runs after startproject's settings; any other block (a page's
    settings for one concern) after those and the installation page's."""
    settings_file = startproject / "settings.py"
    namespace = run(settings_file.read_text(), {"__file__": str(settings_file)}, "settings.py")
    if "INSTALLED_APPS" not in block.code:
        run(installation_settings().code, namespace, installation_settings().where)
    run(block.code, namespace, block.where)
    named = {name for name in namespace if name.startswith("ROCKETCHAT_SSO_")}
    assert named <= set(vars(Settings)), "a setting the app does not have"
    if "INSTALLED_APPS" in block.code:
        assert {"corsheaders", "rocketchat_sso"} <= set(namespace["INSTALLED_APPS"])
    overrides = {k: v for k, v in namespace.items() if CHECKED_SETTINGS.match(k)}
    with override_settings(**overrides):
        messages = [m for check in APP_CHECKS for m in check()]
    serious = [m for m in messages if m.level >= django_checks.WARNING]
    assert serious == [], f"{block.where}: the app's checks refuse these settings"


def run_urls(block: CodeBlock, startproject: Path) -> None:
    module = types.ModuleType("snippet_urls")
    code = (startproject / "urls.py").read_text() + "\n" + block.code
    run(code, module.__dict__, block.where)
    assert reverse("rocketchat_sso:token", urlconf=module) == "/rocketchat/token/"
    assert reverse("rocketchat_sso:login", urlconf=module) == "/rocketchat/login/"


def run_admin(block: CodeBlock) -> None:
    registry = dict(admin.site._registry)
    try:
        namespace = run(block.code, {"__name__": "snippet_admin"}, block.where)
        model_admin = admin.site._registry[namespace["User"]]
        names = [inline.__name__ for inline in model_admin.inlines]
        assert "RocketChatAccountInline" in names
    finally:
        admin.site._registry.clear()
        admin.site._registry.update(registry)


def run_tests(block: CodeBlock, request: pytest.FixtureRequest) -> None:
    namespace = run(block.code, {"__name__": "snippet_tests"}, block.where)
    tests = {k: v for k, v in namespace.items() if k.startswith("test_") and callable(v)}
    assert tests, "a test block without a test"
    with override_settings(ROCKETCHAT_SSO_URL="https://chat.example.com"):
        for test in tests.values():
            for mark in getattr(test, "pytestmark", []):  # as pytest would: the fixtures read them
                request.node.own_markers.append(mark)
            arguments = inspect.signature(test).parameters
            test(**{name: request.getfixturevalue(name) for name in arguments})


@pytest.mark.django_db
@pytest.mark.parametrize("block", params("python"))
def test_python_snippet_runs(
    block: CodeBlock,
    startproject: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environment_for(block.code + installation_settings().code, monkeypatch)
    first_line = block.code.splitlines()[0]
    if first_line.startswith("# settings.py"):
        run_settings(block, startproject)
    elif first_line.startswith("# urls.py"):
        run_urls(block, startproject)
    elif first_line.startswith("# admin.py"):
        run_admin(block)
    elif re.search(r"^def test_", block.code, re.M):
        run_tests(block, request)
    else:
        run(block.code, {"__name__": "snippet"}, block.where)


# Shell --------------------------------------------------------------------------------------

OPERATORS = {"&&", "||", ";", "|"}
# Commands whose arguments name nothing of this project.
FOREIGN = {"cd", "export", "eval", "docker", "gunicorn"}
PYTHONS = {"python", "python3", ".venv/bin/python"}


def logical_lines(code: str) -> Iterator[str]:
    yield from (line for line in code.replace("\\\n", " ").splitlines() if line.strip())


def commands(line: str) -> Iterator[list[str]]:
    command: list[str] = []
    for word in shlex.split(line, comments=True):
        if word in OPERATORS:
            yield command
            command = []
        else:
            command.append(word)
    yield command


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([\w-]+):", text, re.M))


def options_of(words: list[str]) -> set[str]:
    return {w.split("=", 1)[0] for w in words if w.startswith("--")}


def check_management_command(words: list[str]) -> None:
    name, arguments = words[0], words[1:]
    app = get_commands().get(name)
    assert app is not None, f"no management command {name!r}"
    command = load_command_class(app, name) if isinstance(app, str) else app
    parser = command.create_parser("manage.py", name)
    known = {o for action in parser._actions for o in action.option_strings}
    assert options_of(arguments) <= known, f"{name}: unknown options"


def check_source_options(source: Path, arguments: list[str]) -> None:
    text = source.read_text()
    missing = {o for o in options_of(arguments) if f'"{o}"' not in text}
    assert not missing, f"{source.name} has no options {sorted(missing)}"


def check_pip(arguments: list[str]) -> None:
    assert arguments[:1] == ["install"], arguments
    rest = arguments[1:]
    while "--group" in rest:  # pip 25.1+: a dependency group of pyproject.toml, nothing else
        at = rest.index("--group")
        assert rest[at + 1] in GROUPS, f"no dependency group {rest[at + 1]!r}"
        del rest[at : at + 2]
    for requirement in rest:
        if requirement.startswith("-"):
            continue
        requirement = requirement.split(" @ ", 1)[0]  # a direct reference: name @ URL
        name, _, extras = requirement.partition("[")
        assert Path(name).name == PROJECT_NAME, f"installs {requirement!r}, not this project"
        for extra in filter(None, extras.rstrip("]").split(",")):
            assert extra in EXTRAS, extra


def check_python(arguments: list[str]) -> None:
    if arguments[0] == "-m":
        module, rest = arguments[1], arguments[2:]
        if module == "pip":
            check_pip(rest)
            return
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.submodule_search_locations:  # a package runs its __main__
            spec = importlib.util.find_spec(f"{module}.__main__")
        assert spec is not None and spec.origin, f"no module {module!r}"
        check_source_options(Path(spec.origin), rest)
    elif arguments[0].endswith("manage.py"):
        check_management_command(arguments[1:])
    else:
        script = ROOT / arguments[0]
        assert script.is_file(), f"no script {arguments[0]}"
        check_source_options(script, arguments[1:])


def check_command(words: list[str]) -> None:
    while words and re.fullmatch(r"\w+=.*", words[0]):  # VAR=value before a command
        for inner in re.findall(r"\$\(([^)]*)\)", words[0]):
            check_command(shlex.split(inner))
        words = words[1:]
    if not words:
        return
    program, arguments = words[0], words[1:]
    if program in FOREIGN:
        return
    if program in PYTHONS:
        check_python(arguments)
    elif program == "django-admin":
        check_management_command(arguments)
    elif program == "make":
        targets = [a for a in arguments if "=" not in a and not a.startswith("-")]
        assert set(targets) <= makefile_targets(), f"make targets {targets}"
    elif program == "git":
        assert arguments[0] == "clone"
        assert arguments[1].removesuffix(".git").endswith("/" + PROJECT_NAME)
    elif program.endswith("pytest"):
        paths = [a for a in arguments if not a.startswith("-")]
        assert all((ROOT / p).exists() for p in paths), paths
    elif "/" in program:
        assert (ROOT / program).is_file(), f"no file {program}"
    else:
        raise AssertionError(f"unknown command {program!r}: teach this test what it checks")


@pytest.mark.parametrize("block", params("sh"))
def test_shell_snippet_names_what_exists(block: CodeBlock) -> None:
    for line in logical_lines(block.code):
        for words in commands(line):
            check_command(words)


# Templates, JavaScript, compose files -----------------------------------------------------


@pytest.mark.parametrize("block", params("html+django"))
def test_template_snippet_renders(block: CodeBlock) -> None:
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    html = engines["django"].from_string(block.code).render({}, request=request)
    if "<form" in block.code:  # a button for one of the app's POST views (docs/apps.rst)
        action = re.search(r'<form method="post" action="([^"]+)"', html)
        assert action is not None and resolve(action.group(1)).app_name == "rocketchat_sso"
        assert 'name="csrfmiddlewaretoken"' in html
        return
    assert "<iframe" in html


@pytest.mark.parametrize("block", params("javascript"))
def test_javascript_snippet_parses(block: CodeBlock, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = tmp_path / "snippet.js"
    script.write_text(block.code)
    subprocess.run([node, "--check", str(script)], check=True, capture_output=True)


def rocketchat_setting_ids() -> set[str]:
    text = section(DOCS / "rocketchat.rst", "Settings")
    return set(re.findall(r"^``(\w+)``", text, re.M))


@pytest.mark.parametrize("block", params("yaml"))
def test_compose_snippet_sets_the_documented_settings(block: CodeBlock) -> None:
    overwritten = dict(re.findall(r"OVERWRITE_SETTING_(\w+): (\S+)", block.code))
    assert set(overwritten) == rocketchat_setting_ids()
    assert overwritten["Accounts_Iframe_api_url"].endswith(reverse("rocketchat_sso:token"))
    assert overwritten["Accounts_iframe_url"].endswith(reverse("rocketchat_sso:login"))


def count(test: Callable[..., None]) -> int:
    marks = getattr(test, "pytestmark", [])
    return sum(len(mark.args[1]) for mark in marks if mark.name == "parametrize")


def test_most_snippets_are_executed() -> None:
    # Executed: python and templates; checked: shell, JavaScript, compose.
    executed = count(test_python_snippet_runs) + count(test_template_snippet_renders)
    assert executed >= 8, executed


if os.environ.get("DOCS_SNIPPETS_REPORT"):  # pragma: no cover - the figure for a report
    print(
        "snippets:",
        {lang: len(params(lang)) for lang in HANDLED},
        "no-test:",
        sum(b.no_test for b in BLOCKS),
    )
