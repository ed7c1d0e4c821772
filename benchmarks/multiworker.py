"""Token requests per second with 1 and 3 site worker processes, as deployed.

Each site worker is a gunicorn process (gthread, 4 threads) on PostgreSQL and Redis, in front
of the Rocket.Chat stand-in in its own process with 20 ms added to every API call. Clients
spread their requests over the workers in turn. Three kinds of request:

* cold: a brand-new user's first opening (the Rocket.Chat user is created);
* new session: a known user's first opening in a new browser session;
* warm: a session opening the chat again.

For each, requests per second and the Rocket.Chat API calls per request are measured.

Needs PostgreSQL and Redis (``exports="$(.ci/services)" && eval "$exports"``) and the
dependency group ``production``. Run from the repository root::

    python benchmarks/multiworker.py            # 1 and 3 workers
    python benchmarks/multiworker.py --workers 3 --users 300 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = "tests.settings"
COLD, NEW_SESSION, WARM = "cold", "new session", "warm"


@dataclass(frozen=True)
class Result:
    workers: int
    kind: str
    requests: int
    errors: int
    seconds: float
    rocketchat_calls: int
    refused: int = 0  # of those, refused by Rocket.Chat's rate limiter (429)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def calls_per_request(self) -> float:
        return self.rocketchat_calls / self.requests


def run_round(
    sessions: list[str], urls: list[str], rocketchat_url: str, clients: int, rounds: int = 1
) -> tuple[int, int, float]:
    """Every session opens the chat ``rounds`` times; each opening goes to the next worker.

    Returns (requests, errors, seconds); raises :class:`BenchmarkFailed` at the first
    opening that is not a 200.
    """
    from benchmarks.needs import BenchmarkFailed
    from tests.production.harness import Browser

    def browse(index: int) -> list[int]:
        statuses = []
        with Browser(sessions[index], rocketchat_url) as browser:
            for n in range(rounds):
                url = urls[(index + n) % len(urls)]
                status = browser.open_chat(url).status
                if status != 200:
                    raise BenchmarkFailed(f"opening the chat at {url}: {status}")
                statuses.append(status)
        return statuses

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        statuses = [
            status for browser in pool.map(browse, range(len(sessions))) for status in browser
        ]
    seconds = time.perf_counter() - started
    return len(statuses), sum(status != 200 for status in statuses), seconds


def measure(
    workers: int, args: argparse.Namespace, env: dict[str, str], stand_in: Any, log_dir: Path
) -> list[Result]:
    from django.contrib.auth import get_user_model

    from tests.production.harness import SiteWorkers, logged_in_session

    user_model: Any = get_user_model()
    stand_in.reset()
    results: list[Result] = []
    with SiteWorkers(workers, env, log_dir, threads=args.threads) as site:

        def timed(kind: str, sessions: list[str], rounds: int = 1) -> None:
            before = stand_in.snapshot()
            requests, errors, seconds = run_round(
                sessions, site.urls, stand_in.url, args.clients, rounds
            )
            after = stand_in.snapshot()
            calls = after.api_calls - before.api_calls
            refused = sum(after.refused.values()) - sum(before.refused.values())
            results.append(Result(workers, kind, requests, errors, seconds, calls, refused))

        def sessions_of(users: list[Any]) -> list[str]:
            return [logged_in_session(user) for user in users]

        # Load every module and connection of every worker before timing anything.
        warmup = [user_model.objects.create_user(f"w{workers}-warmup{i}") for i in range(workers)]
        run_round(sessions_of(warmup), site.urls, stand_in.url, args.clients, rounds=2)

        names = [f"w{workers}-user{i:04}" for i in range(args.users)]
        users = [user_model.objects.create_user(name, f"{name}@example.com") for name in names]
        cold_sessions = sessions_of(users)
        timed(COLD, cold_sessions)
        timed(NEW_SESSION, sessions_of(users))
        timed(WARM, cold_sessions, rounds=args.rounds)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--threads", type=int, default=4, help="threads per worker process")
    parser.add_argument("--clients", type=int, default=12, help="concurrent browsers")
    parser.add_argument("--users", type=int, default=240, help="new users per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="warm openings per session")
    parser.add_argument("--latency", type=float, default=0.020, help="seconds per API call")
    parser.add_argument(
        "--login-method",
        choices=["password", "create_token"],
        default="create_token",
        help="the site's ROCKETCHAT_SSO_LOGIN_METHOD (default: create_token, the one that "
        "scales at Rocket.Chat's defaults)",
    )
    parser.add_argument(
        "--recheck-interval",
        type=int,
        default=0,
        help="ROCKETCHAT_SSO_TOKEN_RECHECK_INTERVAL in seconds: 0 (default here) checks every "
        "warm opening with /me; the app's default is 300",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    args.load_before = os.getloadavg()  # the machine is shared: say how busy it was

    sys.path[:0] = [str(ROOT), str(ROOT / "example_project")]  # as pytest's pythonpath
    from benchmarks.needs import BenchmarkFailed, require, stop

    production = {"gunicorn": "production", "psycopg": "production", "redis": "production"}
    require("benchmarks/multiworker.py", production)
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if missing:
        print(f'Set {" and ".join(missing)}: exports="$(.ci/services)" && eval "$exports"')
        return 2
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from tests.production.harness import StandIn, worker_env

    # A database of its own, created and dropped here: never a test run's test_<name>.
    connection.settings_dict["TEST"]["NAME"] = f"rocketchat_sso_bench_{os.getpid()}"
    databases = setup_databases(verbosity=0, interactive=False)
    results: list[Result] = []
    try:
        with StandIn(latency=args.latency) as stand_in, tempfile.TemporaryDirectory() as logs:
            env = worker_env(
                stand_in.url,
                stand_in=stand_in if args.login_method == "create_token" else None,
                recheck_interval=args.recheck_interval,
            )
            for workers in args.workers:
                results += measure(workers, args, env, stand_in, Path(logs))
    except BenchmarkFailed as failure:
        return stop(failure)
    finally:
        connection.close()
        teardown_databases(databases, verbosity=0)
    report: Callable[[list[Result], argparse.Namespace], str] = as_json if args.json else as_table
    print(report(results, args))
    return 1 if any(result.errors for result in results) else 0


def as_json(results: list[Result], args: argparse.Namespace) -> str:
    rows = [
        {**asdict(r), "per_second": r.per_second, "calls_per_request": r.calls_per_request}
        for r in results
    ]
    return json.dumps({"settings": vars(args), "results": rows}, indent=2)


def as_table(results: list[Result], args: argparse.Namespace) -> str:
    load = ", ".join(f"{value:.1f}" for value in args.load_before)
    lines = [
        f"{os.cpu_count()} CPUs (load average before: {load}); gunicorn gthread "
        f"x{args.threads} threads per worker process; {args.clients} concurrent browsers; "
        f"stand-in latency {args.latency * 1000:g} ms, Rocket.Chat's rate limiter at its "
        f"defaults; login method {args.login_method}, recheck interval "
        f"{args.recheck_interval} s",
        f"{'workers':>7}  {'request':<12} {'requests':>8} {'errors':>6} {'req/s':>7} "
        f"{'RC calls/req':>12} {'RC 429s':>7}",
    ]
    for r in results:
        lines.append(
            f"{r.workers:>7}  {r.kind:<12} {r.requests:>8} {r.errors:>6} "
            f"{r.per_second:>7.1f} {r.calls_per_request:>12.2f} {r.refused:>7}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
