"""``python -m benchmarks``: seed a private Redis, serve each app, drive it with wrk, report.

Everything runs on 127.0.0.1. Each app gets its own server process (uvicorn, granian, the
documented ``fullon-cache-api serve``, or webdis), started once for all of its cases; every
case is first checked with one GET (it must answer 200, so a benchmark never measures 404s),
warmed up, then measured for ``--duration`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import resource
import signal
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from types import FrameType
from typing import Any

import msgspec
import redis

from fullon_cache_api.demo import RedisServer

from ._alternate import alternate_pairs
from ._cases import APPS, App, Case, all_cases, select
from ._cpu import CpuMeter, cpu_seconds
from ._harness import (
    WRK_MISSING,
    BenchError,
    Measurement,
    Server,
    check_get,
    find_wrk,
    machine,
    run_wrk,
    source,
)
from ._report import Result, format_ratios, format_table, ratios
from ._seed import seed
from ._summary import summary_table
from .clients import DEFAULT_DIR, candidates, prepare

__all__ = ["main"]

_PACKAGES = (
    "redis",
    "hiredis",
    "msgspec",
    "starlette",
    "uvicorn",
    "granian",
    "uvloop",
    "httptools",
    "fastapi",
    "pydantic",
)


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=float, default=6.0, help="seconds measured per case (default: 6)"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=1.0,
        help="seconds of unmeasured load before each case (default: 1, 0: none)",
    )
    parser.add_argument(
        "--connections", type=int, default=32, help="open connections per case (default: 32)"
    )
    parser.add_argument(
        "--p99-connections",
        type=int,
        default=8,
        help="single-key gateway cases are also run at this many (default: 8)",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default: 1)")
    parser.add_argument(
        "--max-noise",
        type=float,
        default=15.0,
        help="%% of one core other processes may use during a case before it is retried "
        "(default: 15)",
    )
    parser.add_argument(
        "--retries", type=int, default=1, help="re-runs of a disturbed case (default: 1)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=720.0,
        help="seconds the whole run may take: retries stop when they would pass it (default: 720)",
    )
    parser.add_argument(
        "--alternations",
        type=int,
        default=2,
        help="extra turns of each alternated pair, e.g. the request log's (default: 2)",
    )
    parser.add_argument("--cases", help="comma-separated globs or words selecting case ids")
    parser.add_argument("--list", action="store_true", help="list the case ids and exit")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument(
        "--candidates-dir",
        type=Path,
        default=DEFAULT_DIR,
        help=f"where pip installs client candidates (default: {DEFAULT_DIR})",
    )
    parser.add_argument(
        "--no-install", action="store_true", help="never run pip; skip candidates not installed yet"
    )
    return parser


def main(
    argv: list[str] | None = None,
    *,
    default_cases: str | None = None,
    prog: str = "python -m benchmarks",
) -> int:
    """Run the selected cases; 0 when they all ran (targets missed are reported, not fatal)."""
    args = _parser(prog).parse_args(argv)
    clients = candidates(args.candidates_dir)
    apps = dict(APPS) | {app.key: app for app in clients}
    planned = all_cases(args.connections, args.p99_connections, clients)
    cases = select(planned, args.cases or default_cases)
    if args.list:
        print("\n".join(case.id for case in cases))
        return 0
    wrk = find_wrk()
    if wrk is None:
        print(f"{prog}: {WRK_MISSING}", file=sys.stderr)
        return 2
    if not cases:
        print(f"{prog}: no case matches {args.cases!r} (see --list)", file=sys.stderr)
        return 2
    skipped: dict[str, str] = {}
    for key in sorted({case.app for case in cases}):
        reason = prepare(apps[key], install=not args.no_install)
        if reason is not None:
            skipped.update({c.id: reason for c in cases if c.app == key})
    cases = [case for case in cases if case.id not in skipped]
    # SIGTERM unwinds like Ctrl-C, so the servers and Redis we started are stopped.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        report = _Run(wrk, args, skipped).execute(apps, cases)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    _print(report)
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n")
        print(f"\nresults written to {args.json}")
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class _Run:
    """One benchmark run: the load generator, the options, the private Redis, what was skipped."""

    def __init__(self, wrk: str, args: argparse.Namespace, skipped: dict[str, str]) -> None:
        self.wrk, self.args, self.skipped = wrk, args, skipped
        self.env: dict[str, str] = {}
        self.redis_pid = 0
        self.pending = 0  # cases not measured yet
        self.deadline = 0.0

    def execute(self, apps: dict[str, App], cases: list[Case]) -> dict[str, Any]:
        started = datetime.now(UTC)
        self.pending, self.deadline = len(cases), time.monotonic() + self.args.budget
        results: list[Result] = []
        memory: dict[str, float] | None = None
        with RedisServer() as store:
            print(f"seeding {store.url} ...", flush=True)
            asyncio.run(seed(store.url))
            info = redis.Redis(port=store.port).info("server")
            self.env, self.redis_pid = {"REDIS_URL": store.url}, int(info["process_id"])
            # Consecutive cases of one app share its server: run order is the case order.
            for key, group in groupby(cases, key=lambda case: case.app):
                app_cases = list(group)
                try:
                    measured, rss = self.serve(apps[key], app_cases)
                except BenchError as exc:
                    self.skip(app_cases, exc)
                    continue
                results.extend(measured)
                if key == "gateway":
                    memory = {"rss_mb": round(rss[0], 1), "peak_rss_mb": round(rss[1], 1)}
            results = alternate_pairs(self, apps, cases, results)
        found_ratios = ratios({result.id: result for result in results})
        return {
            "date": started.isoformat(timespec="seconds"),
            "machine": machine(),
            "source": source(),
            "versions": {"redis-server": info["redis_version"], **_versions()},
            "settings": {
                "duration_s": self.args.duration,
                "warmup_s": self.args.warmup,
                "connections": self.args.connections,
                "p99_connections": self.args.p99_connections,
                "wrk_threads": self.args.threads,
                "max_noise_pct": self.args.max_noise,
                "alternations": self.args.alternations,
            },
            "results": results,
            "ratios": found_ratios,
            "summary": summary_table(results, found_ratios),
            "gateway_memory": memory,
            "skipped": self.skipped,
        }

    def skip(self, cases: list[Case], why: BenchError) -> None:
        for case in cases:
            self.skipped[case.id] = str(why).splitlines()[0]
            print(f"  {case.id}: skipped: {why}", flush=True)

    def serve(self, app: App, cases: list[Case]) -> tuple[list[Result], tuple[float, float]]:
        """Start `app`, measure its cases, and read its memory before stopping it."""
        results: list[Result] = []
        with self.started(app) as server:
            for case in cases:
                try:
                    results.append(self.measure(server, case))
                except BenchError as exc:
                    self.skip([case], exc)
            return results, server.rss_mb()

    @contextlib.contextmanager
    def started(self, app: App) -> Iterator[Server]:
        """`app`'s server, started (and checked to run the version it should), then stopped."""
        env = self.env | app.env
        server = Server(
            app.factory, env=env, python_path=app.python_path, kind=app.server, args=app.args
        )
        with server:
            server.start()
            if app.version is not None:
                served = check_get(server.url("/version")).decode()
                if not served.startswith(app.version):
                    raise BenchError(f"{app.key} runs {served!r}, expected {app.version!r}")
            yield server

    def may_retry(self) -> bool:
        """Whether one more run still leaves time for every pending case within the budget."""
        per_case = float(self.args.duration + self.args.warmup + 1.0)
        return time.monotonic() + per_case * (1 + self.pending) < self.deadline

    def measure(self, server: Server, case: Case) -> Result:
        """Warm up, then measure; a run disturbed by other processes is retried."""
        url, args = server.url(case.path), self.args
        body = check_get(url, headers=case.headers)
        load: dict[str, Any] = {"connections": case.connections, "threads": args.threads}
        load["headers"] = case.headers
        if args.warmup > 0:
            run_wrk(self.wrk, url, duration=args.warmup, **load)
        best: tuple[float, Measurement, float, float, float] | None = None
        self.pending -= 1
        for attempt in range(1 + max(0, args.retries)):
            if attempt and not self.may_retry():
                break
            pids = server.pids()  # with workers: the supervisor and every worker
            meter, used = CpuMeter([*pids, self.redis_pid]), cpu_seconds(*pids)
            client, started = _children_cpu(), time.monotonic()
            found = run_wrk(self.wrk, url, duration=args.duration, **load)
            wall = max(1e-9, time.monotonic() - started)
            noise, used = meter.foreign_percent(), cpu_seconds(*pids) - used
            server_cores, client_cores = used / wall, (_children_cpu() - client) / wall
            if best is None or noise < best[0]:
                cpu_us = used / max(1, found.requests) * 1e6
                best = (noise, found, cpu_us, server_cores, client_cores)
            if noise <= args.max_noise:
                break
        assert best is not None  # the loop ran at least once
        noise, found, cpu_us, server_cores, client_cores = best
        print(
            f"  {case.id:<40} {found.rps:>9,.0f} req/s  p50 {found.p50_ms:6.2f} ms  "
            f"p99 {found.p99_ms:6.2f} ms  {cpu_us:5.0f} us/req  server {server_cores:4.2f} "
            f"cores  wrk {client_cores:4.2f}  noise {noise:3.0f}%",
            flush=True,
        )
        return Result(
            id=case.id,
            path=case.path,
            connections=case.connections,
            rps=found.rps,
            p50_ms=found.p50_ms,
            p99_ms=found.p99_ms,
            requests=found.requests,
            errors=found.errors,
            body_bytes=len(body),
            cpu_us=round(cpu_us, 1),
            server_cores=round(server_cores, 2),
            client_cores=round(client_cores, 2),
            noise_pct=noise,
        )


def _children_cpu() -> float:
    """CPU seconds our finished children (the wrk runs) used so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _versions() -> dict[str, str]:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def _print(report: dict[str, Any]) -> None:
    info = report["machine"]
    print(f"\nfullon_cache_api benchmarks, {report['date']}")
    print(
        f"machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}, "
        f"Python {info['python']}, {info['wrk']}"
    )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()))
    print(f"settings: {report['settings']}\n")
    print(format_table(report["results"]))
    memory = report["gateway_memory"]
    print()
    print(format_ratios(report["ratios"], memory["rss_mb"] if memory else None))
    for case, reason in report["skipped"].items():
        print(f"skipped {case}: {reason}")
    print("\nThe servers side by side (Markdown, as the README quotes it):\n")
    print(report["summary"])
