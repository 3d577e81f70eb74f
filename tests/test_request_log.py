"""The request log under the standalone server's logging (`_requestlog`): every request one
line, in the text or JSON format the formatters write, written in batches by the writer thread
without anyone flushing, rotated within the file's limit, and no credential in a path
parameter ever shown."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fullon_cache_api import RedactSecrets
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.observability import log_request
from fullon_cache_api.observability._logconfig import LogConfig, configure_logging
from fullon_cache_api.observability._requestlog import FLUSH_SECONDS, RequestLane, active_lane

pytestmark = pytest.mark.anyio

TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO    fullon\.api\.cache\.tickers: "
    r"one_ticker \{'exchange': 'binance', 'symbol': 'BTC/USDT'\} -> 200 in \d+\.\d\d ms$"
)


@pytest.fixture(autouse=True)
def quiet_client() -> Iterator[None]:
    """The test client (httpx) logs its own request lines at INFO: not the gateway's."""
    client_log = logging.getLogger("httpx")
    previous = client_log.level
    client_log.setLevel(logging.WARNING)
    yield
    client_log.setLevel(previous)


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNlY3JldA"


async def test_every_request_is_one_text_line(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """50 requests, 50 lines, each as ``logging.Formatter`` writes the record."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=time.time())
    out = io.StringIO()
    undo = configure_logging(LogConfig(), stream=out)
    try:
        assert active_lane() is not None
        for _ in range(50):
            assert (await client.get("/tickers/binance/BTC/USDT")).status_code == 200
    finally:
        undo()
    assert active_lane() is None
    lines = [line for line in out.getvalue().splitlines() if "one_ticker" in line]
    assert len(lines) == 50
    assert all(TEXT_LINE.match(line) for line in lines), lines[0]


async def test_lines_are_written_without_a_flush(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """The writer thread writes queued lines by itself, within a few flush periods."""
    out = io.StringIO()
    undo = configure_logging(LogConfig(format="json"), stream=out)
    try:
        for _ in range(3):
            await client.get("/tickers/binance/ETH/USDT")
        async with asyncio.timeout(5):
            while out.getvalue().count('"operation":"one_ticker"') < 3:  # noqa: ASYNC110
                await asyncio.sleep(FLUSH_SECONDS)
        found = [json.loads(line) for line in out.getvalue().splitlines() if "one_ticker" in line]
    finally:
        undo()
    assert [(line["status"], line["cache_hit"]) for line in found] == [(404, False)] * 3


async def test_json_lines_match_the_json_formatter(client: httpx.AsyncClient) -> None:
    """A request line has exactly the keys, order and values `JsonFormatter` gives the
    record `log_request` logs through `logging`."""
    out = io.StringIO()
    undo = configure_logging(LogConfig(format="json"), stream=out)
    try:
        await client.get("/tickers/binance/ETH/USDT")
    finally:
        undo()
    (line,) = [json.loads(text) for text in out.getvalue().splitlines() if "one_ticker" in text]
    assert list(line) == [
        "time",
        "level",
        "logger",
        "message",
        "operation",
        "route",
        "params",
        "latency_ms",
        "cache_hit",
        "status",
    ]
    assert line["logger"] == "fullon.api.cache.tickers" and line["level"] == "INFO"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
    # The message shows the measured latency to 2 decimals, the field to 3: both round the
    # same measurement, so they differ by at most half a unit of the message's last place
    # (re-rounding the field's value to 2 decimals may differ in the last digit).
    message = re.fullmatch(
        r"one_ticker \{'exchange': 'binance', 'symbol': 'ETH/USDT'\} -> 404 in (\d+\.\d\d) ms",
        line["message"],
    )
    assert message is not None, line["message"]
    assert abs(float(message.group(1)) - line["latency_ms"]) <= 0.0051
    assert line["route"] == "/tickers/{exchange}/{symbol:path}"
    assert line["params"] == {"exchange": "binance", "symbol": "ETH/USDT"}


@pytest.mark.parametrize("kind", ["text", "json"])
async def test_a_token_in_a_path_never_shows(client: httpx.AsyncClient, kind: str) -> None:
    """A JWT or ``?token=`` sent as a path parameter is redacted in the message and, in JSON,
    in the ``params`` field too; the line stays valid JSON."""
    out = io.StringIO()
    undo = configure_logging(LogConfig(format=kind), stream=out)  # type: ignore[arg-type]
    try:
        await client.get(f"/tickers/binance/{JWT}")
        await client.get("/bots/a%3Ftoken%3Dsecret-in-a-path-9")
    finally:
        undo()
    text = out.getvalue()
    assert JWT.split(".")[2] not in text and "secret-in-a-path-9" not in text
    assert text.count("[redacted]") >= (4 if kind == "json" else 2)
    if kind == "json":
        lines = [json.loads(line) for line in text.splitlines()]
        params = [line["params"] for line in lines if line.get("operation") == "one_ticker"]
        assert params == [{"exchange": "binance", "symbol": "[redacted]"}]


async def test_request_lines_rotate_within_the_limit(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Request lines written in batches still rotate the file before it passes its limit."""
    path = tmp_path / "gateway.log"
    config = LogConfig(file_path=str(path), file_max_bytes=2000, file_backups=2)
    undo = configure_logging(config, stream=io.StringIO())
    try:
        for _ in range(60):
            await client.get("/tickers/binance/ETH/USDT")
    finally:
        undo()
    files = {name: (tmp_path / name).read_text() for name in ("gateway.log", "gateway.log.1")}
    assert sorted(p.name for p in tmp_path.iterdir()) == [*files, "gateway.log.2"]  # noqa: ASYNC240
    assert all(0 < len(text) <= 2000 for text in files.values())
    assert all(line.endswith(" ms") for line in files["gateway.log"].splitlines())


def test_lane_parts_are_bounded_and_survive_unhashable_parameters() -> None:
    """Distinct parameters beyond the kept number start over; a parameter that cannot be a
    key is still logged."""
    lane = RequestLane("text")
    for n in range(5000):
        lane.add("fullon.api.cache.bots", log_request, "/b/{id}", {"id": str(n)}, 200, 0.5)
    lane.add("fullon.api.cache.bots", None, "/b", {"ids": ["a"]}, 500, 1.0)
    lines = lane.take().splitlines()
    assert len(lines) == 5001 and len(lane._parts) <= 4096
    assert lines[-1].endswith(
        "fullon.api.cache.bots: unrouted {'ids': \"['a']\"} -> 500 in 1.00 ms"
    )
    assert lane.take() == ""


def test_without_the_servers_logging_records_go_through_logging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No lane unless `configure_logging` installed one: a host's logging gets records."""
    caplog.set_level(logging.INFO, logger="fullon.api.cache")
    assert active_lane() is None
    log_request({"path_params": {"x": "1"}}, 200, 1.0)
    (record,) = [r for r in caplog.records if r.name == "fullon.api.cache.http"]
    assert record.getMessage() == "unrouted {'x': '1'} -> 200 in 1.00 ms"


def test_the_filter_redacts_the_params_field_of_a_record() -> None:
    """Through `logging` (a host's handlers), `RedactSecrets` hides a token in the request
    record's ``params`` field as well as in its message (JSON formatters write both)."""
    record = logging.makeLogRecord(
        {"msg": "%s %s", "args": ("one_ticker", {"symbol": JWT}), "params": {"symbol": JWT}}
    )
    RedactSecrets().filter(record)
    assert record.params == {"symbol": "[redacted]"}
    assert JWT not in record.getMessage()


async def test_records_keep_their_place_among_request_lines(client: httpx.AsyncClient) -> None:
    """A record logged between two requests is written between their lines, though request
    lines wait for their batch and records do not."""
    out = io.StringIO()
    undo = configure_logging(LogConfig(), stream=out)
    test_log = logging.getLogger("fullon.api.cache.test")
    try:
        await client.get("/tickers/binance/ETH/USDT")
        test_log.warning("between the two")
        await client.get("/tickers/binance/XRP/USDT")
        test_log.warning("after both")
    finally:
        undo()
    order = [
        word
        for line in out.getvalue().splitlines()
        for word in ("ETH", "between", "XRP", "after")
        if word in line
    ]
    assert order == ["ETH", "between", "XRP", "after"]
