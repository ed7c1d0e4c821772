"""The reference pages cannot drift from the code: settings, checks, commands, modules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import load_command_class

import rocketchat_sso
from rocketchat_sso.conf import Settings
from tests.docs.rst import DOCS, definition_terms, definitions, list_table_rows, section
from tests.test_layers import COMPAT_STUBS, LAYERS, may_import

PACKAGE = Path(rocketchat_sso.__file__).resolve().parent
SETTING = re.compile(r"``(ROCKETCHAT_SSO_[A-Z0-9_]+)``")
CHECK_ID = re.compile(r"rocketchat_sso\.[EW]\d{3}")
MODULE = re.compile(r"``(rocketchat_sso/[\w/]+\.py)``")
PLACE = re.compile(r"``(rocketchat_sso/[\w/]*(?:\.py|/))``")
# Options every Django command has; the commands page documents only the command's own.
DJANGO_OPTIONS = {
    "-h", "--help", "--version", "-v", "--verbosity", "--settings", "--pythonpath",
    "--traceback", "--no-color", "--force-color", "--skip-checks",
}  # fmt: skip


def settings_properties() -> set[str]:
    return {name for name in vars(Settings) if name.startswith("ROCKETCHAT_SSO_")}


def test_settings_page_documents_every_setting_and_no_other() -> None:
    text = (DOCS / "settings.rst").read_text()
    documented = {name for term in definition_terms(text) for name in SETTING.findall(term)}
    assert documented == settings_properties()


def test_every_setting_named_anywhere_in_the_docs_exists() -> None:
    # A misspelt or renamed setting in a snippet or a sentence (ROCKETCHAT_ADMIN_TOKEN ...).
    pattern = re.compile(r"\bROCKETCHAT_SSO_[A-Z0-9_]*[A-Z0-9]\b")
    allowed = settings_properties()
    for page in DOCS.glob("*.rst"):
        assert set(pattern.findall(page.read_text())) - allowed == set(), page.name


def emitted_check_ids() -> set[str]:
    # checks.py, and the checks of subpackages (rooms/checks.py)
    return {i for path in PACKAGE.rglob("checks.py") for i in CHECK_ID.findall(path.read_text())}


def test_checks_page_lists_every_check_id_and_no_other() -> None:
    terms = definition_terms((DOCS / "checks.rst").read_text())
    documented = [i for term in terms for i in CHECK_ID.findall(term)]
    assert len(documented) == len(set(documented)), "an id is listed twice"
    assert set(documented) == emitted_check_ids()


@pytest.mark.django_db  # Django 6.1's model checks may query the database (JSONField)
def test_the_check_ids_are_the_ones_django_runs() -> None:
    # The regex over checks.py finds what the registered checks emit: break every setting.
    from django.core import checks as django_checks
    from django.test import override_settings

    with override_settings(
        ROCKETCHAT_SSO_URL="", ROCKETCHAT_SSO_LOGIN_METHOD="x", CORS_ALLOW_CREDENTIALS=False
    ):
        ids = {message.id for message in django_checks.run_checks()}
    assert {"rocketchat_sso.E001", "rocketchat_sso.E005", "rocketchat_sso.E010"} <= ids
    assert {i for i in ids if i and i.startswith("rocketchat_sso.")} <= emitted_check_ids()


def package_commands() -> list[str]:
    return sorted(
        path.stem
        for path in (PACKAGE / "management" / "commands").glob("*.py")
        if path.stem != "__init__"
    )


def command_options(name: str, app: str = "rocketchat_sso") -> set[str]:
    parser = load_command_class(app, name).create_parser("manage.py", name)
    return {
        option
        for action in parser._actions
        for option in action.option_strings
        if option not in DJANGO_OPTIONS
    }


def test_commands_page_documents_every_command_and_its_options() -> None:
    page = DOCS / "commands.rst"
    entries = definitions(page.read_text())
    terms = [term for term, _ in entries]
    for name in package_commands():
        described = [f"{t}\n{d}" for t, d in entries if t.startswith(f"``{name}")]
        assert described, f"{name} is not documented in {page.name}"
        text = "\n".join(described)
        missing = {o for o in command_options(name) if o not in text}
        assert not missing, f"{name}: options {sorted(missing)} missing from its entries"
    commands = {m for t in terms for m in re.findall(r"^``(\w+)", t)}
    assert commands == {*package_commands(), "demo"}
    demo = "\n".join(f"{t}\n{d}" for t, d in entries if t.startswith("``demo"))
    assert {o for o in command_options("demo", "example") if o not in demo} == set()


def package_modules() -> set[str]:
    return {
        str(path.relative_to(PACKAGE.parent))
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts
        and not (path.name == "__init__.py" and not path.read_text().strip())
    }


def test_architecture_page_lists_every_module_and_no_other() -> None:
    page = DOCS / "architecture.rst"
    modules = [
        *MODULE.findall(section(page, "Modules")),
        *MODULE.findall(section(page, "Kept for compatibility")),
    ]
    assert len(modules) == len(set(modules)), "a module is listed twice"
    assert set(modules) == package_modules()


def test_architecture_page_states_the_layers_the_layering_test_enforces() -> None:
    # Each layer's row: its name, where it is, what it may import, as tests/test_layers.py has it.
    page = DOCS / "architecture.rst"
    header, *rows = list_table_rows(section(page, "Layers"))
    assert header == ["layer", "concern", "where", "may import"]
    assert len(rows) == len({name for name, *_ in rows}), "a layer is listed twice"
    stated = {name: (set(PLACE.findall(where)), allowed) for name, _, where, allowed in rows}
    assert stated.keys() == LAYERS.keys()
    for name, (places, allowed) in stated.items():
        assert places == set(LAYERS[name][1]) - set(COMPAT_STUBS), name
        assert set(allowed.split(", ")) == may_import(name), name
    assert "kept for compatibility" in next(r[2] for r in rows if r[0] == "entry points")
    stubs = MODULE.findall(section(page, "Kept for compatibility"))
    assert stubs == list(COMPAT_STUBS)


def test_every_page_is_in_the_table_of_contents() -> None:
    index = (DOCS / "index.rst").read_text()
    listed = set(re.findall(r"^   ([\w-]+)$", index, re.M))
    assert listed == {p.stem for p in DOCS.glob("*.rst")} - {"index"}


DOCS_REFERENCE = re.compile(r"docs/(\w+)\.rst(?:, \"?\s*\"?\s*'([^']+)')?")


def test_pages_named_by_messages_and_comments_exist() -> None:
    # The hints of checks and of the doctor send people to a page and a section: both exist.
    sources = [
        *PACKAGE.rglob("*.py"),
        *PACKAGE.rglob("*.js"),
        *(PACKAGE.parent / "example_project").rglob("*.py"),
    ]
    found = 0
    for source in sources:
        text = re.sub(r'"\s*\n\s*"', "", source.read_text())  # join implicit concatenations
        for page, title in DOCS_REFERENCE.findall(text):
            found += 1
            assert (DOCS / f"{page}.rst").is_file(), f"{source.name}: docs/{page}.rst"
            if title:
                section(DOCS / f"{page}.rst", title)  # raises when there is none
    assert found >= 5
