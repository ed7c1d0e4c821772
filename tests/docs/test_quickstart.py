"""The quick start and the installation page, followed literally in a fresh ``startproject``.

The page's settings and URL blocks are appended to what ``django-admin startproject`` makes,
its shell block is run as written (its ``export`` lines, then each ``manage.py`` command but
the interactive ``createsuperuser`` and the endless ``runserver``): every command must succeed
and ``check`` must be silent; then the token endpoint, called as Rocket.Chat's web client calls
it, must hand the logged-in user a token from the Rocket.Chat stand-in. Both pages' settings
blocks are one and the same.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from tests.docs.rst import DOCS, ROOT, code_blocks

SIGN_IN = """
import json
import os
from django.contrib.auth import get_user_model
from django.test import Client
from rocketchat_sso.testing import mock_rocketchat

user = get_user_model().objects.create_user("ann", "ann@example.com", "pw")
browser = Client(SERVER_NAME="localhost")
anonymous = browser.get("/rocketchat/login/")
browser.force_login(user)
secret = os.environ["ROCKETCHAT_SSO_CREATE_TOKEN_SECRET"]  # the stand-in's, as started
with mock_rocketchat("http://localhost:3000", create_tokens_secret=secret) as rocketchat:
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


def manage(project: Path, *arguments: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=project,
        env={**newcomers_environment(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


NOT_RUN = {"createsuperuser", "runserver"}  # interactive; serves until stopped


def python_blocks(page: str) -> dict[str, str]:
    return {
        b.code.splitlines()[0]: b.code for b in code_blocks(DOCS / page) if b.language == "python"
    }


def fresh_project(tmp_path: Path, page: str) -> Path:
    """``startproject mysite`` with the page's settings and URL blocks pasted at the end."""
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite"],
        cwd=tmp_path,
        env=newcomers_environment(),
        check=True,
    )
    project = tmp_path / "mysite"
    blocks = python_blocks(page)
    for name in ("settings.py", "urls.py"):
        with open(project / "mysite" / name, "a") as module:
            module.write("\n" + blocks[f"# {name}, at the end"])
    return project


def follow_shell_block(project: Path, page: str) -> tuple[dict[str, str], list[str]]:
    """Run the page's block of ``manage.py`` commands as written; the variables it exported
    and each command's output."""
    (block,) = [
        b
        for b in code_blocks(DOCS / page)
        if b.language == "sh" and "python manage.py migrate" in b.code
    ]
    exported: dict[str, str] = {}
    outputs = []
    for line in block.code.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"]:
            exported.update(word.split("=", 1) for word in words[1:])  # type: ignore[misc]
        elif words[:2] == ["python", "manage.py"] and words[2] not in NOT_RUN:
            outputs.append(manage(project, *words[2:], env=exported))
        else:
            assert words[:2] == ["python", "manage.py"], f"{page}: what runs {line!r}?"
    return exported, outputs


def test_installation_page_as_pasted_migrates_and_checks(tmp_path: Path) -> None:
    project = fresh_project(tmp_path, "installation.rst")
    exported, outputs = follow_shell_block(project, "installation.rst")
    assert set(exported) >= {"ROCKETCHAT_SSO_ADMIN_USER_ID", "ROCKETCHAT_SSO_ADMIN_TOKEN"}
    assert len(outputs) == 2  # migrate, check: both succeeded
    assert "System check identified no issues" in outputs[-1]


def test_installation_and_quick_start_paste_the_same_block() -> None:
    assert python_blocks("installation.rst") == python_blocks("quickstart.rst")


def test_quick_start_in_a_fresh_project_signs_the_user_in(tmp_path: Path) -> None:
    project = fresh_project(tmp_path, "quickstart.rst")
    exported, _ = follow_shell_block(project, "quickstart.rst")
    assert "System check identified no issues" in manage(
        project, "check", "--fail-level", "WARNING", env=exported
    )
    outcome = json.loads(
        manage(project, "shell", "--command", SIGN_IN, env=exported).strip().splitlines()[-1]
    )
    assert outcome == {
        "status": 200,
        "cors": "http://localhost:3000",
        "token_is_anns": True,
        "login_link": True,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_doctor_passes_on_the_quick_starts_stand_in(tmp_path: Path) -> None:
    """The stand-in started as the page says (on a free port, as its paragraph on ports says
    how), and ``rocketchat_sso_doctor`` run in the page's project: every check passes."""
    project = fresh_project(tmp_path, "quickstart.rst")
    exported, _ = follow_shell_block(project, "quickstart.rst")
    (command,) = [
        b.code.strip()
        for b in code_blocks(DOCS / "quickstart.rst")
        if b.language == "sh" and "example.standin" in b.code
    ]
    words = shlex.split(command)
    assert words[:4] == ["PYTHONPATH=example_project", "python", "-m", "example.standin"]
    port = free_port()
    words[words.index("--port") + 1] = str(port)
    environment = newcomers_environment()
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT / "example_project"), str(ROOT)])
    with subprocess.Popen(
        [sys.executable, *words[2:]], cwd=ROOT, env=environment, stdout=subprocess.PIPE, text=True
    ) as stand_in:  # closes its stdout pipe once it is done
        try:
            assert stand_in.stdout is not None
            announced = stand_in.stdout.readline().split()[-1]
            assert announced == f"http://localhost:{port}"  # the host asked for
            out = manage(
                project, "rocketchat_sso_doctor", env={**exported, "ROCKETCHAT_SSO_URL": announced}
            )
        finally:
            stand_in.terminate()
            stand_in.wait(timeout=10)
    statuses = [text.split()[0] for text in out.splitlines() if not text.startswith(" ")]
    assert statuses and set(statuses) == {"OK"}, out
    assert max(len(text) for text in out.splitlines()) <= 100, out
