"""What a benchmark needs installed, and how it stops when a request fails.

A benchmark whose requests fail measures nothing: it stops at the first failure with the
reason and exits non-zero, rather than print a table of errors. A missing package is said up
front, with the command that installs it (``benchmarks/README.rst``, "Before you run one").
"""

from __future__ import annotations

import importlib
import sys

EXIT_FAILED, EXIT_MISSING = 1, 2
# The dependency groups of pyproject.toml, and what installs each into the current environment.
INSTALL = "python -m pip install --group {group}  # pip 25.1+, from the repository root"


class BenchmarkFailed(Exception):
    """A request the benchmark needed did not succeed; the message says which and why."""


def require(script: str, modules: dict[str, str]) -> None:
    """Exit with :data:`EXIT_MISSING` unless every module imports; ``modules`` maps a module to
    the dependency group (pyproject.toml) that installs it."""
    missing = {m: g for m, g in modules.items() if not _importable(m)}
    if not missing:
        return
    groups = sorted(set(missing.values()))
    lines = [f"{script} needs {', '.join(sorted(missing))}, not installed here. Install with:"]
    lines += [f"    {INSTALL.format(group=group)}" for group in groups]
    print("\n".join(lines), file=sys.stderr)
    raise SystemExit(EXIT_MISSING)


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def stop(failure: BenchmarkFailed) -> int:
    """Say why the run stopped; the exit status for it."""
    print(f"Stopped at the first failed request: {failure}", file=sys.stderr)
    return EXIT_FAILED


def describe(status: int, body: str) -> str:
    """A failed answer in one line: its status and the start of its body."""
    text = " ".join(body.split())
    return f"{status} {text[:200]}" if text else str(status)
