"""``make test``'s closing line (.ci/summary.py): skipped and degraded tox envs, fatal in CI."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_SKIP = "production-shaped test needs PostgreSQL: DATABASE_URL is not set; start it"


def load_summary() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_summary", ROOT / ".ci" / "summary.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def junit(root: Path, env: str, *skips: str, tests: int = 10) -> None:
    cases = "".join(
        f'<testcase name="t{i}"><skipped message="{m}"/></testcase>' for i, m in enumerate(skips)
    )
    path = root / ".tox" / env / "tmp" / "junit.xml"
    path.parent.mkdir(parents=True)
    path.write_text(
        f'<testsuites><testsuite tests="{tests}" failures="0" errors="0" skipped="{len(skips)}">'
        f"{cases}</testsuite></testsuites>"
    )


@pytest.fixture
def run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[bool], tuple[int, list[str]]]:
    summary = load_summary()
    monkeypatch.setattr(summary, "ROOT", tmp_path)
    monkeypatch.delenv("CI", raising=False)
    envs = {
        ".pkg_external": {},  # tox's package builder: no result of its own
        "py313-django61-rc88": {"test": []},  # not chosen (tox -e ...): no result either
        "py312-django60-rc80": {"result": {"success": True, "skipped": True}},
        "py310-django42-rc710": {"result": {"success": True, "skipped": False}},
        "py311-django52-postgres": {"result": {"success": True, "skipped": False}},
    }
    (tmp_path / "result.json").write_text(json.dumps({"testenvs": envs}))
    # The SQLite env leaves the production tests to the postgres env: not degraded.
    junit(tmp_path, "py310-django42-rc710", PRODUCTION_SKIP)
    junit(tmp_path, "py311-django52-postgres", PRODUCTION_SKIP, PRODUCTION_SKIP)
    junit(tmp_path, "py313-django61-rc88", tests=5)  # left by an earlier run: not counted

    def report(ci: bool) -> tuple[int, list[str]]:
        if ci:
            monkeypatch.setenv("CI", "true")
        status = summary.main(["report", str(tmp_path / "result.json")])
        return status, capsys.readouterr().out.splitlines()

    return report


def test_skipped_and_degraded_envs_are_named_on_the_last_line(
    run: Callable[[bool], tuple[int, list[str]]],
) -> None:
    status, lines = run(False)
    assert status == 0
    assert lines[-2] == "tests: 17 passed, 0 failed, 3 skipped"
    assert lines[-1].startswith("make test: 2 of 3 tox envs passed")
    assert "skipped: py312-django60-rc80 (no python3.12 on PATH)" in lines[-1]
    assert "degraded: py311-django52-postgres (2 PostgreSQL/Redis tests skipped" in lines[-1]
    assert "py310-django42-rc710" not in lines[-1]


def test_in_ci_a_skipped_or_degraded_env_fails_the_run(
    run: Callable[[bool], tuple[int, list[str]]],
) -> None:
    status, lines = run(True)
    assert status == 1
    assert lines[-1].endswith("CI=true: every env must run in full, failing")


def test_the_makefile_fails_when_the_summary_does() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert ".ci/summary.py report .tox/result.json || status=1" in makefile
    assert "exit $$status" in makefile


def test_accessibility_tests_skipped_for_want_of_axe_core_degrade_the_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing node_modules/axe-core must not pass unseen: the env is degraded (CI fails)."""
    summary = load_summary()
    monkeypatch.setattr(summary, "ROOT", tmp_path)
    reason = "no axe-core at /repo/node_modules/axe-core/axe.min.js: run `npm ci`"
    junit(tmp_path, "py313-django61-rc88", reason, reason)
    assert summary._degradations("py313-django61-rc88") == [
        f"2 accessibility tests skipped: {reason}"
    ]
