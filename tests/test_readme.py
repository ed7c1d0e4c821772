"""README.rst's installation snippets run as pasted into a fresh ``django-admin startproject``."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import global_settings

README = (Path(__file__).resolve().parent.parent / "README.rst").read_text()


def code_block_after(marker: str) -> str:
    """The first ``.. code-block:: python`` after ``marker``, dedented."""
    rest = README[README.index(marker) :]
    block = re.search(r"\.\. code-block:: python\n\n((?:(?: {4}.*)?\n)+)", rest)
    assert block is not None, marker
    return textwrap.dedent(block.group(1))


def startproject_settings() -> dict[str, Any]:
    """The INSTALLED_APPS and MIDDLEWARE of the settings.py ``startproject`` writes."""
    template = Path(django.__file__).parent / "conf/project_template/project_name/settings.py-tpl"
    namespace: dict[str, Any] = {"__file__": str(template)}
    source = re.sub(r"\{\{ \w+ \}\}", "p", template.read_text())
    exec(compile(source, str(template), "exec"), namespace)  # noqa: S102
    return namespace


def test_the_settings_snippet_runs_as_pasted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("URL", "ADMIN_USER_ID", "ADMIN_TOKEN", "SITE_URL"):
        monkeypatch.delenv(f"ROCKETCHAT_SSO_{name}", raising=False)
    namespace = startproject_settings()
    exec(code_block_after("Then add to the end of your ``settings.py``"), namespace)  # noqa: S102
    assert namespace["INSTALLED_APPS"][-2:] == ["corsheaders", "rocketchat_sso"]
    assert namespace["MIDDLEWARE"][0] == "corsheaders.middleware.CorsMiddleware"
    assert namespace["CORS_ALLOW_CREDENTIALS"] is True
    assert namespace["LOGIN_URL"] != global_settings.LOGIN_URL
    assert namespace["ROCKETCHAT_SSO_SITE_URL"] == "http://localhost:8000"
    assert namespace["ROCKETCHAT_SSO_ADMIN_TOKEN"] == ""  # from the environment; E004 says so


def test_one_naming_of_the_settings() -> None:
    assert "ROCKETCHAT_ADMIN_" not in README
    assert re.search(r"\benv\(", README) is None
    assert "pip install django-rocketchat-sso\n" not in README  # not on PyPI yet
