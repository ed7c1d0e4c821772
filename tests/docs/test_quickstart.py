"""The quick start, followed literally in a fresh ``startproject``, signs a user in.

The page's settings and URL blocks are appended to what ``django-admin startproject`` makes;
``manage.py check`` must be silent, and the token endpoint, called as Rocket.Chat's web client
calls it, must hand the logged-in user a token from the Rocket.Chat stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.docs.rst import DOCS, ROOT, code_blocks

SIGN_IN = """
import json
from django.contrib.auth import get_user_model
from django.test import Client
from rocketchat_sso.testing import mock_rocketchat

user = get_user_model().objects.create_user("ann", "ann@example.com", "pw")
browser = Client(SERVER_NAME="localhost")
anonymous = browser.get("/rocketchat/login/")
browser.force_login(user)
with mock_rocketchat("http://localhost:3000") as rocketchat:
    answer = browser.post("/rocketchat/token/", HTTP_ORIGIN="http://localhost:3000")
    token = answer.json()["loginToken"]
    ann = rocketchat.user_by_username("ann")
    print(json.dumps({
        "status": answer.status_code,
        "cors": answer.headers.get("Access-Control-Allow-Origin"),
        "token_is_anns": token in rocketchat.tokens_of(ann["_id"]),
        "login_link": "/admin/login/" in anonymous.content.decode(),
    }))
"""


def newcomers_environment() -> dict[str, str]:
    """A shell of someone new to the app: none of this test run's settings or variables."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key != "DJANGO_SETTINGS_MODULE" and not key.startswith("ROCKETCHAT_SSO_")
    }
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), environment.get("PYTHONPATH", "")])
    return environment


def manage(project: Path, *arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=project,
        env=newcomers_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_quick_start_in_a_fresh_project_signs_the_user_in(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite"],
        cwd=tmp_path,
        env=newcomers_environment(),
        check=True,
    )
    project = tmp_path / "mysite"
    blocks = {
        b.code.splitlines()[0]: b.code
        for b in code_blocks(DOCS / "quickstart.rst")
        if b.language == "python"
    }
    for name in ("settings.py", "urls.py"):
        with open(project / "mysite" / name, "a") as module:
            module.write("\n" + blocks[f"# {name}, at the end"])

    assert "System check identified no issues" in manage(
        project, "check", "--fail-level", "WARNING"
    )
    manage(project, "migrate", "--verbosity", "0")
    outcome = json.loads(manage(project, "shell", "--command", SIGN_IN).strip().splitlines()[-1])
    assert outcome == {
        "status": 200,
        "cors": "http://localhost:3000",
        "token_is_anns": True,
        "login_link": True,
    }
