"""Logging of the standalone server: LOG_LEVEL, LOG_FORMAT (text/json), LOG_FILE_PATH rotation."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fullon_cache_api import SettingsError
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.demo.server import free_port
from fullon_cache_api.observability._logconfig import LogConfig, configure_logging

from .support.processes import CLI, ROOT, wait_until_up


def test_settings_from_the_environment() -> None:
    """LOG_* are parsed, sizes accept units, and an explicit level beats LOG_LEVEL."""
    assert LogConfig.from_env({}) == LogConfig()
    env = {
        "LOG_LEVEL": "DEBUG",
        "LOG_FORMAT": "Json",
        "LOG_FILE_PATH": "/tmp/x.log",
        "LOG_FILE_MAX_BYTES": "2 MB",
        "LOG_FILE_BACKUPS": "0",
    }
    assert LogConfig.from_env(env) == LogConfig(
        level="debug",
        format="json",
        file_path="/tmp/x.log",
        file_max_bytes=2 * 1024**2,
        file_backups=0,
    )
    assert LogConfig.from_env(env, level="error").level == "error"
    assert LogConfig.from_env({"LOG_FILE_MAX_BYTES": "512kb"}).file_max_bytes == 512 * 1024


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("LOG_LEVEL", "loud"),
        ("LOG_FORMAT", "xml"),
        ("LOG_FILE_MAX_BYTES", "ten"),
        ("LOG_FILE_MAX_BYTES", "0"),
        ("LOG_FILE_BACKUPS", "-1"),
    ],
)
def test_invalid_values_name_the_variable(name: str, raw: str) -> None:
    """A bad value raises SettingsError naming the variable."""
    with pytest.raises(SettingsError, match=name):
        LogConfig.from_env({name: raw})


@pytest.mark.anyio
async def test_json_lines_carry_the_request_fields(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """In json format each record is one JSON object with the middleware's extra fields."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=1717584000.0)
    out = io.StringIO()
    undo = configure_logging(LogConfig(format="json"), stream=out)
    try:
        await client.get("/tickers/binance/BTC/USDT")
        await client.get("/tickers/binance/ETH/USDT")
    finally:
        undo()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    requests = [line for line in lines if line["logger"] == "fullon.api.cache.tickers"]
    assert [(r["status"], r["cache_hit"]) for r in requests] == [(200, True), (404, False)]
    found = requests[0]
    assert found["operation"] == "one_ticker"
    assert found["route"] == "/tickers/{exchange}/{symbol:path}"
    assert found["params"] == {"exchange": "binance", "symbol": "BTC/USDT"}
    assert isinstance(found["latency_ms"], float) and found["level"] == "INFO"
    assert found["time"].endswith("+00:00") and "one_ticker" in found["message"]


def test_json_tracebacks_stay_on_one_line() -> None:
    """An exception's traceback is a field of its one JSON line; non-ASCII survives."""
    out = io.StringIO()
    undo = configure_logging(LogConfig(format="json", level="debug"), stream=out)
    try:
        try:
            raise ValueError("bad \u00e9")
        except ValueError:
            logging.getLogger("fullon.api.cache.test").exception("failed %s", "here")
    finally:
        undo()
    (line,) = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "failed here" and record["level"] == "ERROR"
    assert "ValueError: bad \u00e9" in record["exc_info"]


def test_text_format_and_level() -> None:
    """Text lines read ``time LEVEL logger: message``; records under the level are dropped."""
    out = io.StringIO()
    undo = configure_logging(LogConfig(level="warning"), stream=out)
    try:
        logging.getLogger("fullon.api.cache.test").info("hidden")
        logging.getLogger("fullon.api.cache.test").warning("shown %d", 7)
    finally:
        undo()
    (line,) = out.getvalue().splitlines()
    assert line.endswith(" WARNING fullon.api.cache.test: shown 7")


def test_file_rotates_by_size(tmp_path: Path) -> None:
    """LOG_FILE_PATH keeps the file under the size limit and at most N rotated files."""
    path = tmp_path / "gateway.log"
    config = LogConfig(file_path=str(path), file_max_bytes=2000, file_backups=2)
    undo = configure_logging(config, stream=io.StringIO())
    try:
        for n in range(300):
            logging.getLogger("fullon.api.cache.test").info("line %03d %s", n, "x" * 40)
    finally:
        undo()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["gateway.log", "gateway.log.1", "gateway.log.2"]
    assert all((tmp_path / name).stat().st_size <= 2000 for name in files)
    assert path.read_text().splitlines()[-1].endswith("line 299 " + "x" * 40)


def test_undo_restores_the_root_logger() -> None:
    """The undo removes exactly our handler and restores the root level."""
    root = logging.getLogger()
    before_handlers, before_level = list(root.handlers), root.level
    undo = configure_logging(LogConfig(level="debug"), stream=io.StringIO())
    assert len(root.handlers) == len(before_handlers) + 1 and root.level == logging.DEBUG
    undo()
    assert root.handlers == before_handlers and root.level == before_level


def test_the_library_adds_no_handlers() -> None:
    """Importing the package and building an app configures no logging at all."""
    code = (
        "import logging, fullon_cache_api as f; f.create_app(); "
        "print(len(logging.getLogger().handlers), len(logging.getLogger('fullon').handlers))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.split() == ["0", "0"], done.stderr


@pytest.mark.slow
def test_demo_logs_json_lines(tmp_path: Path) -> None:
    """`demo` with LOG_FORMAT=json writes only JSON lines to stderr, request fields included."""
    port = free_port()
    env = {**os.environ, "LOG_FORMAT": "json", "LOG_LEVEL": "info"}
    stderr_path = tmp_path / "stderr.log"
    with (
        stderr_path.open("wb") as stderr,
        subprocess.Popen(
            [*CLI, "demo", "--no-live", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        ) as proc,
    ):
        try:
            wait_until_up(f"http://127.0.0.1:{port}/tickers", proc, timeout=30)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    lines = [json.loads(line) for line in stderr_path.read_text().splitlines()]
    routes = [line.get("route") for line in lines]
    assert "/tickers" in routes
    assert any(line["logger"].startswith("uvicorn") for line in lines)


def test_invalid_log_format_is_a_configuration_error() -> None:
    """`serve` with LOG_FORMAT=xml exits 2 naming the variable, before touching Redis."""
    env = {**os.environ, "LOG_FORMAT": "xml"}
    done = subprocess.run(
        [*CLI, "serve", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "LOG_FORMAT" in done.stderr and "Traceback" not in done.stderr
