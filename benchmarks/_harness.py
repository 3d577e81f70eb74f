"""The measuring machinery: an app under a server in a subprocess, and `wrk` driving load at it.

Every server binds 127.0.0.1 only. An app factory runs under uvicorn (one worker, uvloop,
httptools, the way the master API runs) or granian (its CLI: one worker process, uvloop),
access logs off and warnings only, so the terminal is not what we measure. The documented
``fullon-cache-api serve`` runs as the README shows it (its default log level included: every
request logged, to a file here). webdis runs with one thread.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import msgspec

from fullon_cache_api.demo.server import free_port

__all__ = [
    "WEBDIS_MISSING",
    "WRK_MISSING",
    "BenchError",
    "Measurement",
    "Server",
    "check_get",
    "descendants",
    "find_wrk",
    "machine",
    "run_wrk",
    "source",
]

ROOT = Path(__file__).resolve().parent.parent

WEBDIS_MISSING = "webdis is not installed (the C anchor): apt-get install -y webdis (Debian/Ubuntu)"
WRK_MISSING = (
    "wrk is not installed: the benchmarks drive load with it. "
    "Install it with `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk` (macOS)."
)


class BenchError(RuntimeError):
    """A benchmark could not run (a server did not start, wrk failed, a response was wrong)."""


class Measurement(msgspec.Struct, frozen=True, kw_only=True):
    """What one wrk run measured."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def find_wrk() -> str | None:
    """Path of the wrk binary, or None."""
    return shutil.which("wrk")


class Server:
    """One server in a subprocess on a free loopback port (see the module for the kinds)."""

    def __init__(
        self,
        factory: str,
        env: Mapping[str, str] | None = None,
        python_path: tuple[str, ...] = (),
        *,
        kind: str = "uvicorn",
        args: tuple[str, ...] = (),
    ) -> None:
        self.factory = factory
        self.kind, self.args = kind, args
        self.port = free_port()
        self._env = dict(env or {})
        # Extra import roots go first, so a candidate's redis shadows the venv's.
        self._python_path = (*python_path, str(ROOT))
        self._log = tempfile.TemporaryFile()  # noqa: SIM115  # closed in stop()
        self._dir = tempfile.TemporaryDirectory()  # webdis's configuration; removed in stop()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The process we started (the one that serves, but for granian's and `serve
        --workers`' supervisors: see `pids`)."""
        if self._process is None:
            raise BenchError("server not started")
        return self._process.pid

    def pids(self) -> list[int]:
        """The process we started and all its descendants (workers): their CPU is the
        server's."""
        return descendants(self.pid)

    def command(self) -> list[str]:
        """How this kind of server is started."""
        host, port = "127.0.0.1", str(self.port)
        if self.kind == "uvicorn":
            return [
                sys.executable, "-m", "uvicorn", self.factory, "--factory",
                "--host", host, "--port", port, "--workers", "1",
                "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                "--log-level", "warning", "--backlog", "2048",
            ]  # fmt: skip
        if self.kind == "granian":
            return [
                sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
                "--host", host, "--port", port, "--workers", "1", "--loop", "uvloop",
                "--http", "1", "--log-level", "warning", "--backlog", "2048", self.factory,
            ]  # fmt: skip
        if self.kind == "serve":
            script = Path(sys.executable).with_name("fullon-cache-api")
            cli = [str(script)] if script.exists() else [sys.executable, "-m", "fullon_cache_api"]
            return [*cli, "serve", "--host", host, "--port", port, *self.args]
        if self.kind == "webdis":
            return [_webdis_binary(), self._webdis_config()]
        raise BenchError(f"unknown server kind {self.kind!r}")

    def _webdis_config(self) -> str:
        """webdis's JSON configuration: our Redis, one thread, no daemon, no log."""
        redis_url = self._env.get("REDIS_URL") or os.environ.get("REDIS_URL", "")
        found = re.fullmatch(r"redis://([^:/]+):(\d+)(?:/\d+)?", redis_url)
        if found is None:
            raise BenchError(f"webdis needs REDIS_URL=redis://host:port, not {redis_url!r}")
        path = Path(self._dir.name) / "webdis.json"
        config = {
            "redis_host": found[1],
            "redis_port": int(found[2]),
            "http_host": "127.0.0.1",
            "http_port": self.port,
            "threads": 1,
            "pool_size": 4,
            "daemonize": False,
            "websockets": False,
            "database": 0,
            "verbosity": 0,
            "logfile": str(Path(self._dir.name) / "webdis.log"),
        }
        path.write_bytes(msgspec.json.encode(config))
        return str(path)

    def url(self, path: str) -> str:
        """The http:// URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self, ready_path: str = "/", timeout: float = 30.0) -> None:
        """Start uvicorn and wait until `ready_path` answers (any HTTP status)."""
        env = {**os.environ, **self._env}
        env["PYTHONPATH"] = os.pathsep.join(
            [*self._python_path, *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        if self.kind == "serve":  # as documented: the log level and format are its defaults
            for name in ("LOG_LEVEL", "LOG_FORMAT", "LOG_FILE_PATH"):
                env.pop(name, None)
        self._process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own: `stop` reaches the workers too
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BenchError(f"{self.factory} exited at start:\n{self.output()}")
            try:
                check_get(self.url(ready_path), expect_status=None)
                return
            except (OSError, http.client.HTTPException):
                time.sleep(0.05)
        raise BenchError(f"{self.factory} did not answer in {timeout} s:\n{self.output()}")

    def rss_mb(self) -> tuple[float, float]:
        """Resident memory now and at its peak (VmRSS, VmHWM), in MiB."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        fields = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
        return int(fields["VmRSS"]) / 1024, int(fields["VmHWM"]) / 1024

    def output(self) -> str:
        """What the server printed so far (its last 4000 characters)."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts down and runs the lifespan), then SIGKILL after 10 s."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None:  # whatever the group left behind (workers)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self._log.close()
        self._dir.cleanup()

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _webdis_binary() -> str:
    found = shutil.which("webdis")
    if found is None:
        raise BenchError(WEBDIS_MISSING)
    return found


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (Linux /proc; just `pid` elsewhere)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def check_get(url: str, expect_status: int | None = 200, headers: tuple[str, ...] = ()) -> bytes:
    """GET `url` once; raise BenchError unless the status is `expect_status` (None: any)."""
    match = re.fullmatch(r"http://([^/:]+):(\d+)(/.*)", url)
    if match is None:
        raise BenchError(f"not a loopback URL: {url}")
    connection = http.client.HTTPConnection(match[1], int(match[2]), timeout=10)
    try:
        sent = dict(header.split(": ", 1) for header in headers)
        connection.request("GET", match[3], headers=sent)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if expect_status is not None and response.status != expect_status:
        raise BenchError(f"GET {url} answered {response.status}: {body[:300]!r}")
    return body


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def run_wrk(
    wrk: str,
    url: str,
    *,
    connections: int,
    duration: float,
    threads: int = 1,
    headers: tuple[str, ...] = (),
) -> Measurement:
    """Drive `url` for `duration` seconds and parse wrk's report (with --latency)."""
    threads = max(1, min(threads, connections))
    command = [
        wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
        "--latency", "--timeout", "5s", *(f"-H{header}" for header in headers), url,
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 30, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return parse_wrk(done.stdout)


def parse_wrk(report: str) -> Measurement:
    """The throughput, median and 99th percentile latency, and error count of a wrk report."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", report)
    total = re.search(r"(\d+) requests in", report)
    if rps is None or total is None:
        raise BenchError(f"unexpected wrk output:\n{report}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", report))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    errors += int(non_2xx[1]) if non_2xx else 0
    return Measurement(
        rps=float(rps[1]),
        p50_ms=_percentile(report, "50"),
        p99_ms=_percentile(report, "99"),
        requests=int(total[1]),
        errors=errors,
    )


def _percentile(report: str, which: str) -> float:
    found = re.search(rf"^\s+{which}%\s+([\d.]+)(us|ms|s|m|h)\s*$", report, re.MULTILINE)
    if found is None:
        raise BenchError(f"wrk reported no {which}th percentile:\n{report}")
    return round(float(found[1]) * _UNITS_MS[found[2]], 3)


def source() -> dict[str, str | int]:
    """Which code was measured: the commit, and how many files differed from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": git("rev-parse", "--short", "HEAD") or "unknown",
        "modified_files": len(changed.splitlines()),
    }


def machine() -> dict[str, str | int]:
    """What the numbers were measured on (they mean little without it)."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = found[1].strip() if found else cpu
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "nproc": len(affinity(0)) if affinity is not None else os.cpu_count() or 0,
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": _wrk_version(),
    }


def _wrk_version() -> str:
    wrk = find_wrk()
    if wrk is None:
        return "absent"
    probe = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    words = (probe.stdout or probe.stderr).split()
    return " ".join(words[:2])  # "wrk 4.2.0" (the rest is a copyright line)
