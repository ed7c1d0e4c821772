"""``make test``'s first and last words: what it is about to do, then what did not run in full.

    python .ci/summary.py banner              what the run takes, and the Chromium it uses
    python .ci/summary.py report RESULT_JSON  the tests counted over all envs, then one line:
                                              every tox env skipped or degraded, and why

``report`` reads tox's ``--result-json`` and each env's JUnit file (``.tox/<env>/tmp/junit.xml``).
An env is *skipped* when tox had no interpreter for it, *degraded* when tests of it were skipped
for something missing on this machine (PostgreSQL/Redis, Chromium). With ``CI=true`` either one
fails the run (exit 1): in CI everything must run.
"""

from __future__ import annotations

import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Skip reasons (tests/conftest.py, tests/browser/conftest.py) that mean "this machine lacks it",
# with the tox factor of the envs where they count (None: every env). The SQLite envs leave the
# production-shaped tests to the postgres env by design.
DEGRADING = {
    "production-shaped test": ("PostgreSQL/Redis tests skipped", "postgres"),
    "no Chromium": ("browser tests skipped", None),
    "no axe-core": ("accessibility tests skipped", None),
}
# One full env on a 2-core machine, setup included: ~3 minutes alone; 7.2-7.7 minutes measured
# while four other test suites shared the machine (load average 10-15).
MINUTES_PER_TEST_ENV = 3


def banner() -> str:
    envs = _env_list()
    tests = [env for env in envs if env.startswith("py")]
    minutes = MINUTES_PER_TEST_ENV * len(tests) + 2
    chromium = (
        f"headless Chromium at {CHROMIUM}"
        if os.access(CHROMIUM, os.X_OK)
        else f"headless Chromium, NOT FOUND at {CHROMIUM} (its tests will skip)"
    )
    return (
        f"make test: tox runs {', '.join(envs)}; about {minutes} minutes on an idle 2-core "
        "machine, twice that on a busy one. "
        f"Browser tests use {chromium}: Debian's package 'chromium' (.ci/run installs it), "
        "or set CHROMIUM_PATH. One env: make test TOXENV=py311-django52-postgres"
    )


def _env_list() -> list[str]:
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    chosen = os.environ.get("TOXENV")
    return chosen.split(",") if chosen else parser["tox"]["env_list"].split()


def _missing_interpreter(env: str) -> str:
    match = re.search(r"(?:^|-)py3(\d+)(?:-|$)", env)
    return f"no python3.{match.group(1)} on PATH" if match else "no interpreter"


def _degradations(env: str) -> list[str]:
    junit = ROOT / ".tox" / env / "tmp" / "junit.xml"
    if not junit.exists():
        return []
    counts: Counter[str] = Counter()
    reasons: dict[str, str] = {}
    for skipped in ET.parse(junit).iter("skipped"):
        message = skipped.get("message", "")
        for prefix, (label, factor) in DEGRADING.items():
            if prefix in message and (factor is None or factor in env.split("-")):
                counts[label] += 1
                reasons.setdefault(label, message.split(";")[0])
    return [f"{n} {label}: {reasons[label]}" for label, n in counts.items()]


def totals(result_json: str) -> str:
    """The tests of every env that ran, added up: ``tests: N passed, N failed, N skipped``."""
    counts: Counter[str] = Counter()
    try:
        envs = json.loads(Path(result_json).read_text())["testenvs"]
    except (OSError, ValueError, KeyError):
        envs = {}
    for env, data in envs.items():
        junit = ROOT / ".tox" / env / "tmp" / "junit.xml"
        if not data.get("result") or data["result"].get("skipped") or not junit.exists():
            continue
        for suite in ET.parse(junit).iter("testsuite"):
            for key in ("tests", "failures", "errors", "skipped"):
                counts[key] += int(suite.get(key, 0))
    failed = counts["failures"] + counts["errors"]
    passed = counts["tests"] - failed - counts["skipped"]
    return f"tests: {passed} passed, {failed} failed, {counts['skipped']} skipped"


def report(result_json: str) -> tuple[str, bool]:
    """The closing line, and whether the run is complete (nothing skipped or degraded)."""
    try:
        envs = json.loads(Path(result_json).read_text())["testenvs"]
    except (OSError, ValueError, KeyError):
        return f"make test: no tox result at {result_json}: tox did not get to run", False
    ran, skipped, degraded, failed = [], [], [], []
    # Without a result: tox's package builders, and with -e the envs not chosen.
    envs = {env: data for env, data in envs.items() if data.get("result")}
    for env, data in envs.items():
        result = data.get("result") or {}
        if result.get("skipped"):
            skipped.append(f"{env} ({_missing_interpreter(env)})")
            continue
        ran.append(env)
        if not result.get("success", False):
            failed.append(env)
        degraded += [f"{env} ({why})" for why in _degradations(env)]
    parts = [f"{len(ran) - len(failed)} of {len(envs)} tox envs passed"]
    if failed:
        parts.append(f"FAILED: {', '.join(failed)}")
    parts.append(f"skipped: {'; '.join(skipped)}" if skipped else "none skipped")
    parts.append(f"degraded: {'; '.join(degraded)}" if degraded else "none degraded")
    return "make test: " + ", ".join(parts), not (skipped or degraded)


def main(argv: list[str]) -> int:
    if argv[:1] == ["banner"]:
        print(banner())
        return 0
    if argv[:1] == ["report"] and len(argv) == 2:
        print(totals(argv[1]))
        line, complete = report(argv[1])
        in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
        if in_ci and not complete:
            line += " -- CI=true: every env must run in full, failing"
        print(line)
        return 1 if in_ci and not complete else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
