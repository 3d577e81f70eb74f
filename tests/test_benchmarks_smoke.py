"""The benchmark suite runs: seeding, a server, wrk, the report (bounded to a few seconds)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks._cases import all_cases, select
from benchmarks._cpu import CpuMeter
from benchmarks._harness import WEBDIS_MISSING, parse_wrk

from .support.processes import ROOT

WRK_REPORT = """\
Running 1s test @ http://127.0.0.1:8000/health
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.10ms  250.00us   9.00ms   90.00%
    Req/Sec     7.30k   300.00     7.60k    80.00%
  Latency Distribution
     50%  987.00us
     75%    1.10ms
     90%    1.40ms
     99%    2.50ms
  7301 requests in 1.00s, 1.20MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   7290.12
Transfer/sec:      1.20MB
"""


def test_parse_wrk_reads_throughput_percentiles_and_errors() -> None:
    """wrk's report gives req/s, p50/p99 in ms (us converted) and socket + non-2xx errors."""
    found = parse_wrk(WRK_REPORT)
    assert found.rps == 7290.12
    assert found.p50_ms == 0.987
    assert found.p99_ms == 2.5
    assert found.requests == 7301
    assert found.errors == 7


def test_select_matches_exact_ids_globs_and_prefixes() -> None:
    """A pattern selects its exact id, ids it prefixes up to '.' or '@', and glob matches."""
    ids = [case.id for case in all_cases(32, 8, [])]
    chosen = [case.id for case in select(all_cases(32, 8, []), "gateway.ticker,fastapi.o*")]
    assert chosen == ["gateway.ticker", "gateway.ticker@c8", "fastapi.order", "fastapi.ohlcv-1000"]
    assert "gateway.tickers-500" in ids
    assert [c.id for c in select(all_cases(32, 8, []), "nothing-like-this")] == []


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads Linux /proc")
def test_cpu_meter_sees_a_busy_neighbour() -> None:
    """A process that is not ours spinning on a core shows up as foreign CPU."""
    spin = "import time\nend = time.monotonic() + 5\nwhile time.monotonic() < end: pass"
    with subprocess.Popen([sys.executable, "-c", spin]) as neighbour:
        try:
            time.sleep(0.2)  # past the interpreter's start-up
            meter = CpuMeter([])
            time.sleep(0.5)
            # Read before reaping it: a waited child counts as ours (wrk runs are).
            assert meter.foreign_percent() >= 40.0
        finally:
            neighbour.kill()


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("wrk") is None,
    reason="wrk is not installed (apt-get install -y wrk); the benchmarks drive load with it",
)
def test_suite_seeds_serves_and_reports(tmp_path: Path) -> None:
    """`python -m benchmarks` seeds Redis, measures a ceiling, the gateway, the documented
    `serve` (and, in turns, `serve` with and without the request log) and webdis, and writes
    JSON with the servers' table. webdis (an optional
    anchor) may be absent outside CI: its case is then skipped, never failed."""
    out = tmp_path / "bench.json"
    cases = "baseline.raw-asgi,gateway.ticker,serve.granian.ticker,serve.quiet.ticker,webdis.ticker"
    command = [
        sys.executable, "-m", "benchmarks", "--duration", "1", "--warmup", "0",
        "--connections", "4", "--p99-connections", "4", "--no-install", "--alternations", "1",
        "--cases", cases, "--json", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    results = {result["id"]: result for result in report["results"]}
    expected = set(cases.split(","))
    if shutil.which("webdis") is None and os.environ.get("CI") != "true":
        assert report["skipped"] == {"webdis.ticker": WEBDIS_MISSING}
        expected.discard("webdis.ticker")
    else:
        assert report["skipped"] == {}
    assert set(results) == expected
    for result in results.values():
        assert result["rps"] > 0
        assert result["errors"] == 0
        assert result["server_cores"] > 0 and result["client_cores"] > 0
    assert results["gateway.ticker"]["body_bytes"] > 100  # a real ticker, not an error body
    assert results["serve.granian.ticker"]["body_bytes"] > 100
    assert 0 < report["gateway_memory"]["rss_mb"] < 1024
    assert "gateway.ticker" in done.stdout
    assert "| `fullon-cache-api serve`, one ticker" in report["summary"]
    # The request log's pair is measured once more, in turns; the others once.
    runs = {case: result["runs"] for case, result in results.items()}
    assert runs.pop("serve.granian.ticker") == runs.pop("serve.quiet.ticker") == 2
    assert set(runs.values()) == {1}
    assert "medians of 2 runs each, in turns" in report["summary"]


@pytest.mark.slow
def test_scale_benchmark_seeds_serves_probes_and_reports(tmp_path: Path) -> None:
    """`python -m benchmarks.scale` at a tiny size: every endpoint answers 200 on a `serve`
    process, each stream gets its snapshot and its poller is counted, the probe samples, the
    big-value phase and the targets are reported."""
    out = tmp_path / "scale.json"
    command = [
        sys.executable, "-m", "benchmarks.scale", "--sizes", "300", "--repeat", "1",
        "--min-seconds", "0", "--big-value-mb", "2", "--stream-seconds", "1.5",
        "--json", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    rows = [row for row in report["rows"] if row["endpoint"] != "(probe alone)"]
    assert len(rows) == 8
    assert {status for row in rows for status in row["statuses"]} == {200}
    assert sum(row["probe_samples"] for row in report["rows"]) > 0
    assert report["big_value"][0]["statuses"] == [200] * 10
    streams = report["streams"]
    assert [row["stream"] for row in streams] == ["orders stream", "bots stream", "trades stream"]
    assert all(not row["error"] and row["snapshot_bytes"] > 0 for row in streams), streams
    assert all(row["commands_per_s"] > 0 and row["probe_samples"] > 0 for row in streams)
    assert "RSS after 10 big corrupt reads" in done.stdout
