"""The installation page's settings run as pasted into a fresh ``startproject``, without any
environment variable set (a newcomer's first paste), and keep the names the app reads.

``test_snippets`` runs the same block with the environment a deployment sets and the app's
checks; this one pins what a newcomer gets from the block itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import global_settings

from tests.docs.rst import DOCS, ROOT, code_blocks

PAGES = [ROOT / "README.rst", *sorted(DOCS.glob("*.rst"))]


def installation_settings() -> str:
    (block,) = [
        b for b in code_blocks(DOCS / "installation.rst") if b.code.startswith("# settings.py")
    ]
    return block.code


def startproject_settings() -> dict[str, Any]:
    """The namespace of the settings.py ``startproject`` writes."""
    template = Path(django.__file__).parent / "conf/project_template/project_name/settings.py-tpl"
    namespace: dict[str, Any] = {"__file__": str(template)}
    source = re.sub(r"\{\{ \w+ \}\}", "p", template.read_text())
    exec(compile(source, str(template), "exec"), namespace)  # noqa: S102
    return namespace


def test_the_settings_snippet_runs_as_pasted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("URL", "ADMIN_USER_ID", "ADMIN_TOKEN", "SITE_URL"):
        monkeypatch.delenv(f"ROCKETCHAT_SSO_{name}", raising=False)
    namespace = startproject_settings()
    exec(installation_settings(), namespace)  # noqa: S102
    assert namespace["INSTALLED_APPS"][-2:] == ["corsheaders", "rocketchat_sso"]
    assert namespace["MIDDLEWARE"][0] == "corsheaders.middleware.CorsMiddleware"
    assert namespace["CORS_ALLOW_CREDENTIALS"] is True
    assert namespace["LOGIN_URL"] != global_settings.LOGIN_URL
    assert namespace["ROCKETCHAT_SSO_SITE_URL"] == "http://localhost:8000"
    assert namespace["ROCKETCHAT_SSO_ADMIN_TOKEN"] == ""  # from the environment; E004 says so


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_one_naming_of_the_settings(page: Path) -> None:
    text = page.read_text()
    assert "ROCKETCHAT_ADMIN_" not in text
    assert re.search(r"\benv\(", text) is None
    assert "pip install django-rocketchat-sso\n" not in text  # not on PyPI yet
