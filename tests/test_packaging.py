"""What ``pip install`` gets: the wheel's files, its version and its classifiers.

``tox -e package`` builds the wheel and runs this module against it (``ROCKETCHAT_SSO_DIST_DIR``,
without Django). The test envs install that wheel, so there the installed distribution's
``RECORD`` is checked; in an editable install (a development venv) the wheel tests skip.
"""

from __future__ import annotations

import configparser
import email
import os
import re
import zipfile
from email.message import Message
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rocketchat_sso"
DISTRIBUTION = "django-rocketchat-sso"
# What a site needs at run time besides the modules, each a path inside the wheel.
REQUIRED = (
    "rocketchat_sso/py.typed",
    "rocketchat_sso/templates/rocketchat_sso/base.html",
    "rocketchat_sso/templates/rocketchat_sso/login.html",
    "rocketchat_sso/static/rocketchat_sso/login.js",
    "rocketchat_sso/static/rocketchat_sso/login.css",
    "rocketchat_sso/static/rocketchat_sso/rocketchat-sso.js",
    "rocketchat_sso/static/rocketchat_sso/sso-fetch.js",
    "rocketchat_sso/locale/de/LC_MESSAGES/django.po",
    "rocketchat_sso/locale/de/LC_MESSAGES/django.mo",
    "rocketchat_sso/testing/rest_schemas.json",
    "rocketchat_sso/migrations/0001_initial.py",
)


def _wheel_files_and_metadata() -> tuple[set[str], Message]:
    dist_dir = os.environ.get("ROCKETCHAT_SSO_DIST_DIR")
    if dist_dir:
        [wheel] = Path(dist_dir).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
            [meta] = [n for n in names if n.endswith(".dist-info/METADATA")]
            return names, email.message_from_bytes(archive.read(meta))
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pytest.skip(f"{DISTRIBUTION} is not installed; run tox -e package")
    # pip adds the bytecode it compiled to RECORD: that is the installer's, not the wheel's.
    names = {str(path) for path in dist.files or () if "__pycache__" not in path.parts}
    # An egg-info (a source tree's) lists its sources, not what was installed: no RECORD.
    if dist.read_text("RECORD") is None or "rocketchat_sso/__init__.py" not in names:
        pytest.skip("installed editable (no wheel to look into); tox -e package checks the wheel")
    return names, dist.metadata  # type: ignore[return-value]


@pytest.fixture(scope="module")
def wheel() -> tuple[set[str], Message]:
    return _wheel_files_and_metadata()


def test_the_wheel_holds_what_a_site_needs(wheel: tuple[set[str], Message]) -> None:
    names, _ = wheel
    assert [path for path in REQUIRED if path not in names] == []


def test_the_wheel_holds_every_file_of_the_package(wheel: tuple[set[str], Message]) -> None:
    names, _ = wheel
    source = {
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert sorted(source - names) == []


def test_the_wheel_holds_nothing_but_the_package(wheel: tuple[set[str], Message]) -> None:
    names, _ = wheel
    tops = {name.split("/")[0] for name in names if not name.startswith("../")}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"rocketchat_sso"}
    assert [n for n in names if "__pycache__" in n or n.endswith(".pyc")] == []


def test_one_version_source(wheel: tuple[set[str], Message]) -> None:
    _, meta = wheel
    match = re.search(r'^__version__ = "([^"]+)"$', (PACKAGE / "__init__.py").read_text(), re.M)
    assert match is not None
    assert meta["Version"] == match.group(1)


def test_tox_runs_the_suite_against_the_installed_wheel() -> None:
    """tox sets ROCKETCHAT_SSO_TEST_INSTALLED: there the source tree must not shadow the wheel."""
    import rocketchat_sso

    imported_from = Path(rocketchat_sso.__file__).resolve().parent
    assert (imported_from != PACKAGE) == bool(os.environ.get("ROCKETCHAT_SSO_TEST_INSTALLED"))


def _tox_envs() -> list[str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    return parser["tox"]["env_list"].split()


def test_classifiers_match_what_tox_runs(wheel: tuple[set[str], Message]) -> None:
    _, meta = wheel
    classifiers = meta.get_all("Classifier") or []
    envs = _tox_envs()
    pythons = {f"3.{m}" for env in envs for m in re.findall(r"(?:^|-)py3(\d+)(?:-|$)", env)}
    djangos = {f"{a}.{b}" for env in envs for a, b in re.findall(r"-django(\d)(\d)(?:-|$)", env)}
    claimed_pythons = {
        c.rsplit(" :: ", 1)[1]
        for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    claimed_djangos = {
        c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(r"Framework :: Django :: .+", c)
    }
    assert claimed_pythons == pythons
    assert claimed_djangos == djangos
    assert meta["Requires-Python"] == f">={min(pythons, key=lambda v: int(v.split('.')[1]))}"
    assert f"django>={min(djangos)}" in [
        r.replace(" ", "").lower() for r in meta.get_all("Requires-Dist") or []
    ]


def test_every_rocketchat_release_gets_a_whole_suite() -> None:
    envs = _tox_envs()
    for factor in ("rc710", "rc80", "rc88"):
        assert any(factor in env.split("-") for env in envs), factor
    assert "py311-django52-postgres" in envs
