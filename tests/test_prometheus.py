"""A real Prometheus server scrapes a real gateway (``fullon-cache-api serve``, authentication
on, a bearer token read from a file) and its query API shows the domain gauges of a seeded
cache; it also loads deploy/prometheus/alerts.yml.

Debian's ``prometheus`` package provides the server. Under CI (``CI=true``) the test runs or
fails, never skips: `.ci/run` installs it. Elsewhere it is skipped when it is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from redis.asyncio import Redis

from fullon_cache_api._settings import AuthConfig
from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.security import make_token

from .support.alert_rules import RULES, alert_names
from .support.gauges import AGE_SLACK, AGES, EXPECTED, seed_health
from .support.processes import CLI, running

PROMETHEUS = shutil.which("prometheus")
SECRET = "prometheus-test-secret-of-32-bytes!"
# Bounds: Prometheus up and ready, then the seeded values in its query API.
READY_WITHIN = 30.0
VALUES_WITHIN = 30.0

pytestmark = pytest.mark.skipif(
    PROMETHEUS is None and os.environ.get("CI") != "true",
    reason="prometheus is not installed (apt-get install prometheus); CI never skips this",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def prometheus(tmp_path: Path, target: str, token: str) -> Iterator[str]:
    """A Prometheus server (storage in `tmp_path`) scraping `target` every second with
    `token` as its bearer credentials file; yields its URL, and is always stopped."""
    assert PROMETHEUS is not None, "CI=true but prometheus is missing: .ci/run installs it"
    credentials = tmp_path / "token"
    credentials.write_text(token)
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {
                "job_name": "fullon_cache_api",
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "metrics_path": "/metrics",
                "authorization": {"type": "Bearer", "credentials_file": str(credentials)},
                "static_configs": [{"targets": [target]}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    for attempt in range(3):  # a free port may be taken before Prometheus binds it: retry
        process, url = start_prometheus(tmp_path, attempt)
        try:
            if wait_ready(url, process, tmp_path / f"prometheus-{attempt}.log"):
                yield url
                return
        finally:
            stop(process)
    pytest.fail("prometheus could not bind a free port in 3 attempts")


def start_prometheus(tmp_path: Path, attempt: int) -> tuple[subprocess.Popen[bytes], str]:
    """Prometheus on a free loopback port, logging to ``prometheus-{attempt}.log``."""
    port = free_port()
    with (tmp_path / f"prometheus-{attempt}.log").open("w") as log:
        process = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / f'data-{attempt}'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL after 10 s; reaped either way."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    """Whether Prometheus became ready (False: its port was taken); fails on anything else."""
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if "address already in use" in log.read_text():
                return False
            pytest.fail(f"prometheus exited with {process.returncode}: {log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200:
                return True
        time.sleep(0.2)
    pytest.fail(f"prometheus was not ready within {READY_WITHIN} s: {log.read_text()}")


def query(url: str, promql: str) -> list[dict[str, Any]]:
    """The instant vector `promql` evaluates to now."""
    answer = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=5.0)
    assert answer.status_code == 200, answer.text
    result: list[dict[str, Any]] = answer.json()["data"]["result"]
    return result


def gauges(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every ``fullon_cache_api_*`` series Prometheus holds now (prefix, job and instance
    removed), keyed like `EXPECTED`."""
    found = {}
    for series in query(url, '{__name__=~"fullon_cache_api_.+", job="fullon_cache_api"}'):
        labels = dict(series["metric"])
        name = labels.pop("__name__").removeprefix("fullon_cache_api_")
        labels.pop("job"), labels.pop("instance")
        found[(name, tuple(sorted(labels.items())))] = float(series["value"][1])
    return found


def test_prometheus_scrapes_the_domain_gauges(tmp_path: Path, flushed: RedisServer) -> None:
    """Prometheus, authenticated with a bearer token from a file, scrapes the gateway (which
    refuses an anonymous scrape), and its query API shows every seeded gauge value; the
    alert rules load."""

    async def seed() -> None:
        client = Redis(port=flushed.port)
        try:
            await seed_health(CacheWriter(client))
        finally:
            await client.aclose()

    anyio.run(seed)
    env = {
        "REDIS_URL": flushed.url,
        "JWT_SECRET_KEY": SECRET,
        "FULLON_CACHE_API_GAUGES_INTERVAL": "0.5",
        "FULLON_CACHE_API_GAUGES_BUDGET": "0.5",
    }
    token = make_token(1, "prometheus@example.com", 3600, AuthConfig(jwt_secret_key=SECRET))
    with running([*CLI, "serve", "--port", "0"], env) as gateway:
        assert httpx.get(f"{gateway.url}/metrics", timeout=5.0).status_code == 401
        target = gateway.url.removeprefix("http://")
        with prometheus(tmp_path, target, token) as url:
            deadline = time.monotonic() + VALUES_WITHIN
            seen: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
            while time.monotonic() < deadline:
                seen = gauges(url)
                if all(key in seen for key in (*EXPECTED, *AGES)):
                    break
                time.sleep(0.25)
            up = query(url, 'up{job="fullon_cache_api"}')
            rules = httpx.get(f"{url}/api/v1/rules", timeout=5.0).json()["data"]["groups"]
    assert [series["value"][1] for series in up] == ["1"]
    for key, expected in EXPECTED.items():
        assert seen.get(key) == expected, (key, seen.get(key))
    for key, age in AGES.items():
        assert age <= seen[key] <= age + AGE_SLACK, (key, seen[key])
    assert seen[("redis_up", ())] == 1
    loaded = [rule["name"] for group in rules for rule in group["rules"]]
    assert loaded == alert_names()
