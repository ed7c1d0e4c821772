#!/usr/bin/env python
"""Benchmark the token endpoint against the obvious ``rocketchat_API`` implementation.

Both are served by one Django site over real HTTP (Django's threaded WSGI server, in this
process), against the Rocket.Chat stand-in over real HTTP with an injected latency per call.
For each latency and implementation: Rocket.Chat calls per request for a new user (cold) and a
known one (warm), warm latency (median, p95) one request at a time, the Django-side overhead
(latency minus the time spent waiting for Rocket.Chat), and throughput at a concurrency.

    python benchmarks/token_endpoint.py                   # the figures of README.rst
    python benchmarks/token_endpoint.py --latency 0.05 --concurrency 20
    python benchmarks/token_endpoint.py --smoke --json    # seconds; what the test suite runs

It needs the dependency group ``bench`` (``rocketchat_API``, for the comparison); it stops at
the first request that fails, with the reason, and exits 1.

The site keeps its share of Rocket.Chat's rate limit at Rocket.Chat's default (issue 19: 10
calls with users' credentials a minute), so only 10 new users a minute get their first login:
a cold request told to wait (429 ``rocketchat_site_share`` with ``Retry-After``) waits as the
loading page does and asks again, and the waits are reported. At the defaults (20 users, two
latencies: 40 cold logins) that is about three minutes of waiting; ``--users 5`` fits in one
minute's share.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"  # its own site, whoever calls

from benchmarks.needs import BenchmarkFailed, describe, require, stop  # noqa: E402

RC_ORIGIN = "https://chat.example.com"
BASELINE = "/baseline/"  # a signed-in JSON view calling nothing: the site's own floor
IMPLEMENTATIONS = {
    "rocketchat_sso": "/rocketchat/token/",
    "obvious (rocketchat_API)": "/obvious/token/",
}
# Headers the site adds to each answer: time in Django, and waiting on Rocket.Chat within it.
APP_TIME, RC_TIME, RC_CALLS = "X-Bench-App-Time", "X-Bench-RC-Time", "X-Bench-RC-Calls"
# The site's answer when its share of Rocket.Chat's bucket is spent (issue 19): wait, ask again.
SITE_SHARE = "rocketchat_site_share"
MAX_WAITS = 5  # per request: a sliding window frees a slot within two Retry-Afters at most

_current = threading.local()  # the Django request a server thread is handling


def _install_rocketchat_timer() -> None:
    """Time every ``requests`` call a Django request makes (both implementations use it)."""
    send = requests.Session.send

    def timed_send(self: requests.Session, request: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return send(self, request, **kwargs)
        finally:
            spent = getattr(_current, "spent", None)
            if spent is not None:
                spent[0] += time.perf_counter() - started
                spent[1] += 1

    requests.Session.send = timed_send  # type: ignore[method-assign]


def _timed(app: Callable[..., Any]) -> Callable[..., Any]:
    """WSGI wrapper reporting Django's own time and Rocket.Chat's share of it in headers."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        _current.spent = [0.0, 0]
        started = time.perf_counter()
        captured: list[Any] = []
        result = app(environ, lambda status, headers, *exc: captured.extend([status, headers]))
        elapsed = time.perf_counter() - started
        rc_time, rc_calls = _current.spent
        _current.spent = None
        extra = [(APP_TIME, f"{elapsed:.6f}"), (RC_TIME, f"{rc_time:.6f}")]
        start_response(captured[0], [*captured[1], *extra, (RC_CALLS, str(rc_calls))])
        return result

    return wrapped


def serve_django() -> str:
    """The benchmark site on an ephemeral loopback port, in daemon threads; returns its URL."""
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Handler(WSGIRequestHandler):
        disable_nagle_algorithm = True  # else each answer waits ~40 ms for a delayed ACK

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    class Server(ThreadedWSGIServer):
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    server.set_app(_timed(get_wsgi_application()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def serve_rocketchat(latency: float) -> tuple[subprocess.Popen[str], str]:
    """The stand-in in a process of its own, so its work is not on this process's GIL.

    Its rate limiter is off: the obvious view logs in on every request, which Rocket.Chat's
    10 logins a minute would refuse from the 11th on. This app's site still counts its own
    share of that bucket at the default (the cold requests wait, see the module's docstring);
    ``benchmarks/signins.py`` measures sign-ins with the stand-in's limiter on.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "rocketchat_sso.testing.server", "--port", "0"]
        + ["--latency", str(latency), "--no-rate-limiter"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    url = process.stdout.readline().split()[-1]  # "Rocket.Chat stand-in on http://..."
    return process, url


def make_sessions(prefix: str, count: int) -> list[str]:
    """``count`` new Django users, each signed in: their session keys."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    keys = []
    for n in range(count):
        user = User(username=f"{prefix}{n}", email=f"{prefix}{n}@example.com", first_name="Bench")
        user.set_unusable_password()
        user.save()
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(str(session.session_key))
    return keys


@dataclass
class Sample:
    latency: float  # seconds, as the browser saw it
    app: float  # seconds inside Django
    rocketchat: float  # seconds of that waiting on Rocket.Chat
    calls: int  # to Rocket.Chat
    status: int


def browser(session_key: str) -> requests.Session:
    http = requests.Session()
    http.cookies.set("sessionid", session_key)
    return http


def ask(http: requests.Session, url: str, waits: list[float] | None = None) -> Sample:
    """One request; with ``waits``, a 429 of the site's share is waited out as the browser's
    loading page does (each wait appended), and the sample is the answer that came after."""
    for _ in range(MAX_WAITS + 1):
        started = time.perf_counter()
        response = http.post(url, headers={"Origin": RC_ORIGIN}, timeout=30)
        latency = time.perf_counter() - started
        retry_after = response.headers.get("Retry-After", "")
        if waits is None or not _told_to_wait(response) or not retry_after.isdigit():
            break
        waits.append(float(retry_after))
        time.sleep(int(retry_after))
    if response.status_code != 200:
        raise BenchmarkFailed(f"POST {url}: {describe(response.status_code, response.text)}")
    if url.endswith("/token/") and "loginToken" not in response.json():
        raise BenchmarkFailed(f"POST {url}: 200 without a loginToken: {response.text[:200]}")
    return Sample(
        latency,
        float(response.headers.get(APP_TIME, "nan")),
        float(response.headers.get(RC_TIME, "nan")),
        int(response.headers.get(RC_CALLS, "-1")),
        response.status_code,
    )


def _told_to_wait(response: requests.Response) -> bool:
    if response.status_code != 429:
        return False
    try:
        return bool(response.json().get("error") == SITE_SHARE)
    except ValueError:
        return False


def ms(values: Iterable[float]) -> dict[str, float]:
    """Median and 95th percentile, in milliseconds."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered) * 1000, 2), "p95": round(p95 * 1000, 2)}


def measure(
    site: str,
    path: str,
    prefix: str,
    users: int,
    rounds: int,
    total: int,
    threads: int,
    floor: list[requests.Session],
) -> dict[str, Any]:
    """Cold, warm and loaded figures of one implementation against a fresh Rocket.Chat.

    Each warm request is followed by one of the floor (``BASELINE``) from ``floor``'s browsers,
    so both see the same load on the machine: their ratio is what the other processes on a
    shared machine change least.
    """
    browsers = [browser(key) for key in make_sessions(prefix, users)]
    url = site + path

    waits: list[float] = []  # Retry-After of the cold requests told to wait
    cold = [ask(http, url, waits) for http in browsers]
    warm, beside = [], []
    for n in range(rounds):
        for index, http in enumerate(browsers):
            warm.append(ask(http, url))
            beside.append(ask(floor[(n * len(browsers) + index) % len(floor)], site + BASELINE))

    def worker(index: int) -> list[Sample]:
        mine = browsers[index::threads] or [browsers[index % users]]
        return [ask(mine[n % len(mine)], url) for n in range(total // threads)]

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        loaded = [s for samples in pool.map(worker, range(threads)) for s in samples]
    wall = time.perf_counter() - started

    everything = cold + warm + loaded
    return {
        "rocketchat_calls": {
            "cold": round(statistics.mean(s.calls for s in cold), 2),
            "warm": round(statistics.mean(s.calls for s in warm), 2),
            "loaded": round(statistics.mean(s.calls for s in loaded), 2),
        },
        "cold_waits": {"count": len(waits), "seconds": sum(waits)},
        "cold_latency_ms": ms(s.latency for s in cold),
        "warm_latency_ms": ms(s.latency for s in warm),
        "warm_rocketchat_ms": ms(s.rocketchat for s in warm),
        "django_overhead_ms": ms(s.latency - s.rocketchat for s in warm),
        "django_overhead_in_app_ms": ms(s.app - s.rocketchat for s in warm),
        "floor_in_app_ms": ms(s.app for s in beside),  # interleaved with the warm requests
        "warm_to_floor_in_app": round(
            statistics.median(s.app - s.rocketchat for s in warm)
            / statistics.median(s.app for s in beside),
            2,
        ),
        "throughput_rps": round(len(loaded) / wall, 1),
        "loaded_latency_ms": ms(s.latency for s in loaded),
        "errors": sum(s.status != 200 for s in everything),
        "requests": len(everything),
        "sample": asdict(warm[0]),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.backends.signals import connection_created

    _install_rocketchat_timer()
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:  # readers don't block the writer: closer to PostgreSQL
        cursor.execute("PRAGMA journal_mode=WAL")

    def tune(sender: Any, connection: Any, **kwargs: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous={args.sqlite_synchronous}")

    connection_created.connect(tune)
    site = serve_django()
    results: dict[str, Any] = {
        "setup": {
            "python": sys.version.split()[0],
            "django": django.get_version(),
            "cpus": os.cpu_count(),
            "users": args.users,
            "warm_rounds": args.rounds,
            "loaded_requests": args.requests,
            "concurrency": args.concurrency,
            "sqlite_synchronous": args.sqlite_synchronous,
            "load_average": [round(load, 2) for load in os.getloadavg()],
        },
        "runs": {},
    }
    try:
        floor = [browser(key) for key in make_sessions("base", args.users)]
        for http in floor:  # warm up: the first requests import and build what Django caches
            ask(http, site + BASELINE)
        samples = [ask(http, site + BASELINE) for _ in range(args.rounds) for http in floor]
        results["baseline"] = {
            "latency_ms": ms(s.latency for s in samples),
            "in_app_ms": ms(s.app for s in samples),
        }
        for latency in args.latency:
            process, settings.ROCKETCHAT_SSO_URL = serve_rocketchat(latency)
            try:
                run_results = {
                    name: measure(
                        site,
                        path,
                        f"l{int(latency * 1000)}i{n}u",
                        args.users,
                        args.rounds,
                        args.requests,
                        args.concurrency,
                        floor,
                    )
                    for n, (name, path) in enumerate(IMPLEMENTATIONS.items())
                }
            finally:
                process.terminate()
                process.wait()
                if process.stdout is not None:
                    process.stdout.close()  # the pipe its URL came through
            ours, obvious = (run_results[name]["throughput_rps"] for name in IMPLEMENTATIONS)
            run_results["throughput_ratio"] = round(ours / obvious, 2) if obvious else None
            results["runs"][f"{latency * 1000:g} ms"] = run_results
    finally:
        connection.close()
        database = str(settings.DATABASES["default"]["NAME"])
        for suffix in ("", "-wal", "-shm"):
            Path(database + suffix).unlink(missing_ok=True)
    return results


def _pair(figures: dict[str, float]) -> str:
    return f"{figures['median']} / {figures['p95']} ms"


ROWS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("RC calls: cold / warm", lambda r: "{cold:g} / {warm:g}".format(**r["rocketchat_calls"])),
    ("warm latency median / p95", lambda r: _pair(r["warm_latency_ms"])),
    ("of which Rocket.Chat, median", lambda r: f"{r['warm_rocketchat_ms']['median']} ms"),
    ("Django-side overhead median / p95", lambda r: _pair(r["django_overhead_ms"])),
    ("  of which inside Django", lambda r: _pair(r["django_overhead_in_app_ms"])),
    ("floor inside Django, interleaved", lambda r: _pair(r["floor_in_app_ms"])),
    ("inside Django: warm / floor", lambda r: f"{r['warm_to_floor_in_app']}x"),
    ("cold latency median / p95", lambda r: _pair(r["cold_latency_ms"])),
    (
        "cold requests told to wait (429)",
        lambda r: "{count} ({seconds:g} s)".format(**r["cold_waits"]),
    ),
    ("throughput", lambda r: f"{r['throughput_rps']} req/s"),
    ("latency under that load median / p95", lambda r: _pair(r["loaded_latency_ms"])),
    ("errors / requests", lambda r: f"{r['errors']} / {r['requests']}"),
]


def table(results: dict[str, Any]) -> str:
    """The figures as reStructuredText grid tables, one per latency."""
    names = list(IMPLEMENTATIONS)
    floor = results["baseline"]
    out = [
        "A signed-in JSON view that calls nothing, the site's floor: latency "
        f"{_pair(floor['latency_ms'])},\nof which inside Django {_pair(floor['in_app_ms'])}. "
        f"Load average at the start: {' '.join(map(str, results['setup']['load_average']))}.",
        "",
    ]
    for latency, run_results in results["runs"].items():
        header = [f"Rocket.Chat latency {latency}", *names]
        cells = [[label, *(fmt(run_results[name]) for name in names)] for label, fmt in ROWS]
        cells[9][0] = f"throughput at concurrency {results['setup']['concurrency']}"
        cells.append(["throughput ratio", f"{run_results['throughput_ratio']}x", "1x"])
        widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
        rule = "+" + "+".join("-" * (width + 2) for width in widths) + "+"

        def line(row: list[str], widths: list[int] = widths) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

        out += [rule, line(header), rule.replace("-", "=")]
        out += [f"{line(row)}\n{rule}" for row in cells] + [""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.02], help="seconds")
    parser.add_argument("--users", type=int, default=20, help="signed-in users per run")
    parser.add_argument("--rounds", type=int, default=5, help="warm requests per user")
    parser.add_argument("--requests", type=int, default=400, help="requests under load")
    parser.add_argument("--concurrency", type=int, default=10, help="browsers at once")
    parser.add_argument(
        "--sqlite-synchronous",
        default="NORMAL",
        choices=["OFF", "NORMAL", "FULL"],
        help="NORMAL: commits wait for no fsync (WAL), so the disk is not what is measured",
    )
    parser.add_argument("--smoke", action="store_true", help="a few seconds: tiny counts")
    parser.add_argument("--json", action="store_true", help="print JSON, not a table")
    args = parser.parse_args(argv)
    if args.smoke:
        args.users, args.rounds, args.requests, args.concurrency = 3, 2, 12, 3
    require("benchmarks/token_endpoint.py", {"rocketchat_API": "bench"})
    try:
        results = run(args)
    except BenchmarkFailed as failure:
        return stop(failure)
    print(json.dumps(results, indent=2) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
