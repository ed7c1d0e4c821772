"""Build the sdist and wheel from a clean copy of the working tree into OUTDIR.

A clean copy, because setuptools reuses a stale ``*.egg-info/SOURCES.txt`` (left by an editable
install): a file missing from ``package-data`` would still reach the wheel here, and not on PyPI.
Usage: python .ci/build_dist.py OUTDIR
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns(
    ".git",
    ".tox",
    ".venv",
    "node_modules",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    "*.sqlite3",
)


def main(outdir: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp, "src")
        shutil.copytree(ROOT, source, ignore=SKIP)
        subprocess.run(
            [sys.executable, "-m", "build", "--outdir", str(Path(outdir).resolve()), str(source)],
            check=True,
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
