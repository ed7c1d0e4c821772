"""Sphinx configuration of django-rocketchat-sso's documentation: Sphinx alone, no network."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

project = "django-rocketchat-sso"
author = "django-rocketchat-sso developers"
copyright = "django-rocketchat-sso developers"  # noqa: A001 - Sphinx's name
# One version source: pyproject.toml (read as text, so the build needs no installed package).
_version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
release = version = _version.group(1) if _version else "unknown"

extensions: list[str] = []
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_title = f"{project} {release}"
# The snippets' languages (nginx, html+django, ...) come with Pygments; no highlighting
# failure may pass silently under -W.
highlight_language = "none"
nitpicky = True
