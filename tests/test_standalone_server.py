"""``python -m fullon_cache_api.standalone_server``: the specification's testing entry runs
``fullon-cache-api serve`` (same flags, help, environment and clean stop)."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fullon_cache_api.demo import RedisServer

from .support.processes import ROOT

ENTRY = [sys.executable, "-m", "fullon_cache_api.standalone_server"]
SERVE = [sys.executable, "-m", "fullon_cache_api", "serve"]


@pytest.mark.slow
def test_help_lists_serves_flags() -> None:
    """--help exits 0 and prints serve's own help: the same flags, word for word."""
    ours = subprocess.run([*ENTRY, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    serve = subprocess.run([*SERVE, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert ours.returncode == serve.returncode == 0, ours.stderr
    assert ours.stdout == serve.stdout
    for flag in ("--host", "--port", "--workers", "--log-level"):
        assert flag in ours.stdout


@pytest.mark.slow
def test_a_bad_flag_is_refused_as_serve_refuses_it() -> None:
    """An unknown flag exits 2 with serve's usage line, before anything starts."""
    done = subprocess.run(
        [*ENTRY, "--no-such-flag"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "unrecognized arguments: --no-such-flag" in done.stderr
    assert done.stdout == ""


@pytest.mark.slow
def test_serves_the_configured_redis_and_stops_cleanly(
    flushed: RedisServer, tmp_path: Path
) -> None:
    """With REDIS_URL and --port 0 it binds loopback, says where, serves the gateway (the
    specification's paths included), and exits 0 on SIGINT."""
    env = {**os.environ, "REDIS_URL": flushed.url, "FULLON_CACHE_API_AUTH": "off"}
    with (
        (tmp_path / "stderr.log").open("wb") as log,
        subprocess.Popen(
            [*ENTRY, "--port", "0", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
        ) as proc,
    ):
        try:
            assert proc.stdout is not None
            readable, _, _ = select.select([proc.stdout], [], [], 30)  # a bounded wait
            assert readable, (tmp_path / "stderr.log").read_text()
            banner = proc.stdout.readline().decode()
            found = re.search(r"serve: serving on http://127\.0\.0\.1:(\d+) ", banner)
            assert found, (banner, (tmp_path / "stderr.log").read_text())
            base = f"http://127.0.0.1:{found.group(1)}"
            assert httpx.get(f"{base}/health", timeout=5).json()["status"] == "ok"
            summary = httpx.get(f"{base}/me/summary", timeout=5)
            assert (summary.status_code, summary.json()["ownership"]) == (200, "admin")
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
