"""Measure ``manage.py rocketchat_sso_sync`` on many users against the Rocket.Chat stand-in.

The stand-in runs over HTTP in its own process (``python -m rocketchat_sso.testing.server``),
so the figures are the sync command's own: wall time, Rocket.Chat calls, peak Python heap
(tracemalloc) and the process's peak RSS, with the CPU time spent here and in the stand-in
(whose user lookups scan all users, so it slows down as Rocket.Chat fills). Three runs:

1. first sync: every user is created in Rocket.Chat (users.create each, no lookup first);
2. again, nothing changed: the stored profile digests make it free of Rocket.Chat calls;
3. ``--full``: every user checked against Rocket.Chat (users.info each), under tracemalloc.

Run from the repository root: ``python benchmarks/sync_10k.py [--users 10000]``. It uses a
SQLite file of its own, whatever ``DATABASE_URL``/``REDIS_URL`` say: its users are made afresh
in every run, which a shared database would already hold.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CREATE_BATCH = 1000
# tests.settings would switch to the shared PostgreSQL database and Redis with these.
SHARED_SERVICES = ("DATABASE_URL", "REDIS_URL")


def start_stand_in() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "rocketchat_sso.testing.server", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    banner = process.stdout.readline()
    match = re.search(r"(http://\S+)", banner)
    if match is None:
        process.kill()
        raise SystemExit(f"stand-in did not start: {banner!r}")
    return process, match.group(1)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of this process, or of ``pid`` (Linux ``/proc``)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="rocketchat-sso-bench-"))
    ignored = [name for name in SHARED_SERVICES if os.environ.pop(name, "")]
    if ignored:
        print(f"{' and '.join(ignored)} ignored: this run uses a SQLite file of its own.")
    os.environ["TEST_SQLITE_NAME"] = str(workdir / "db.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    sys.path[:0] = [str(ROOT), str(ROOT / "example_project")]  # tests.settings lists the demo
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    server, url = start_stand_in()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so `finally` stops the stand-in
    try:
        settings.ROCKETCHAT_SSO_URL = url
        call_command("migrate", verbosity=0)
        user_model = get_user_model()
        for start in range(0, args.users, CREATE_BATCH):
            user_model.objects.bulk_create(
                user_model(username=f"user{i:06d}", email=f"user{i:06d}@example.com")
                for i in range(start, min(start + CREATE_BATCH, args.users))
            )
        print(f"{args.users} Django users; stand-in at {url}; peak RSS {peak_rss_mib():.0f} MiB")

        def run(label: str, *options: str, traced: bool = False) -> None:
            out = StringIO()
            if traced:
                tracemalloc.start()
            started, cpu, stand_in_cpu = time.monotonic(), cpu_seconds(), cpu_seconds(server.pid)
            call_command(
                "rocketchat_sso_sync", "--batch-size", str(args.batch_size), *options, stdout=out
            )
            elapsed = time.monotonic() - started
            cpu = cpu_seconds() - cpu
            stand_in_cpu = cpu_seconds(server.pid) - stand_in_cpu
            heap = ""
            if traced:
                heap = f", peak heap {tracemalloc.get_traced_memory()[1] / 2**20:.1f} MiB"
                tracemalloc.stop()
            summary = out.getvalue().strip().splitlines()[-1]
            print(
                f"{label}: {elapsed:.1f} s wall ({cpu:.1f} s CPU here, {stand_in_cpu:.1f} s in "
                f"the stand-in){heap}, peak RSS {peak_rss_mib():.0f} MiB"
            )
            print(f"    {summary}")

        run("first sync")
        run("second sync, nothing changed")
        run("--full", "--full", traced=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
