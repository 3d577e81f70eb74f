"""No token in any log line of a real server: `fullon-cache-api serve` at every level and
format, with workers, and plain ``uvicorn fullon_cache_api.main:app`` as the README shows it.

Each run gets WebSockets with ``?token=`` (good and bad), with credential headers and with a
subprotocol token, an SSE stream with ``?token=``, and HTTP requests with headers and a query
token; then the process is stopped and everything it wrote is searched for any piece of any
secret. uvicorn itself logs WebSocket paths at INFO, the handshake headers at DEBUG and, in its
default access log, request lines with their query string.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import jwt
import pytest
from redis.asyncio import Redis
from uvicorn.logging import AccessFormatter
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.demo.server import free_port
from fullon_cache_api.security._auth import hash_api_key
from fullon_cache_api.security._redact import _HEADER_WORDS, _QUERY_WORDS, RedactSecrets, redact

from .support.processes import CLI, ROOT, interrupted_at_exit

JWT_SECRET = "redaction-jwt-secret-0123456789-abcdef"
ADMIN_KEY = "admin-key-Rr38-never-in-a-log"
PROTOCOL_KEY = "protocol-key-Tt55-never-in-a-log"
WRONG_KEY = "wrong-key-Uu66-never-in-a-log"


def _token(sub: str, user_id: int) -> str:
    claims = {"sub": sub, "user_id": user_id, "exp": int(time.time() + 3600)}
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


QUERY_JWT = _token("root@fullon.test", 1)
HEADER_JWT = _token("user@fullon.test", 7)
# A window this long of any secret must not show (a truncated token counts).
WINDOW = 10


def secret_pieces() -> set[str]:
    """Every WINDOW-long piece of every key, and of each JWT's payload and signature."""
    secrets = [JWT_SECRET, ADMIN_KEY, PROTOCOL_KEY, WRONG_KEY]
    secrets += [part for value in (QUERY_JWT, HEADER_JWT) for part in value.split(".")[1:]]
    return {s[i : i + WINDOW] for s in secrets for i in range(len(s) - WINDOW + 1)}


def environment(redis_url: str, **extra: str) -> dict[str, str]:
    keys = f"ops:{hash_api_key(ADMIN_KEY)}:admin,proto:{hash_api_key(PROTOCOL_KEY)}"
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "JWT_SECRET_KEY": JWT_SECRET,
        "ADMIN_MAIL": "root@fullon.test",
        "FULLON_CACHE_API_KEYS": keys,
        **extra,
    }
    for name in ("LOG_LEVEL", "LOG_FORMAT", "LOG_FILE_PATH"):
        if name not in extra:
            env.pop(name, None)
    return env


@contextmanager
def running(command: list[str], env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """Start `command`, yield its base URL once /health answers, stop it (SIGINT, then kill)."""
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    port = None if {"serve", "demo"} & set(command) else free_port()
    if port is not None:
        command = [*command, "--port", str(port)]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
        with interrupted_at_exit(proc):
            url = _wait_until_up(proc, out, port)
            yield url


def _wait_until_up(proc: subprocess.Popen[bytes], out: Path, port: int | None) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}")
        if port is None and (found := re.search(rb"serving on (http://\S+)", out.read_bytes())):
            port = int(found.group(1).rsplit(b":", 1)[1])
        if port is not None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    return f"http://127.0.0.1:{port}"
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    pytest.fail("the server did not answer within 30 s")


async def _ping(url: str, **options: object) -> None:
    async with connect(url, **options) as ws:  # type: ignore[arg-type]
        await ws.send('{"action": "ping", "request_id": "r", "params": {}}')
        assert json.loads(await ws.recv())["success"] is True


async def exercise(url: str) -> None:
    """Credentials every way the gateway takes them, over real sockets."""
    ws = "ws" + url.removeprefix("http")
    async with asyncio.timeout(20):
        await _ping(f"{ws}/ws/tickers/c1?token={ADMIN_KEY}")
        await _ping(f"{ws}/ws?token={QUERY_JWT}")
        await _ping(f"{ws}/ws", additional_headers={"Authorization": f"Bearer {HEADER_JWT}"})
        await _ping(f"{ws}/ws/orders/c2", additional_headers={"X-API-Key": ADMIN_KEY})
        await _ping(f"{ws}/ws", subprotocols=["bearer", PROTOCOL_KEY])
        with pytest.raises(ConnectionClosed):
            await _ping(f"{ws}/ws/tickers/c3?token={WRONG_KEY}")
        async with httpx.AsyncClient(base_url=url, timeout=5) as http:
            path = f"/tickers/binance/stream?token={ADMIN_KEY}"
            async with http.stream("GET", path) as stream:
                assert stream.status_code == 200
                assert await anext(stream.aiter_lines()) == "retry: 2000"
            assert (await http.get("/tickers", headers={"X-API-Key": ADMIN_KEY})).is_success
            bearer = {"Authorization": f"Bearer {HEADER_JWT}"}
            assert (await http.get("/tickers", headers=bearer)).is_success
            assert (await http.get(f"/tickers?token={ADMIN_KEY}")).status_code == 401
            assert (await http.get(f"/tickers/binance/stream?token={WRONG_KEY}")).status_code == 401


def leaks(text: str) -> list[str]:
    pieces = secret_pieces()
    return sorted({text[i : i + WINDOW] for i in range(len(text) - WINDOW + 1)} & pieces)


SERVE_RUNS = {
    "serve-info": ([], {}),
    "serve-debug": (["--log-level", "debug"], {}),
    "serve-debug-json": (["--log-level", "debug"], {"LOG_FORMAT": "json"}),
    "serve-workers-debug": (["--workers", "2"], {"LOG_LEVEL": "debug"}),
}


@pytest.fixture
def seeded(flushed: RedisServer) -> RedisServer:
    """The test Redis with one ticker, written as fullon_cache writes it."""

    async def write() -> None:
        client = Redis(port=flushed.port)
        try:
            await CacheWriter(client).set_ticker(
                "binance", "BTC/USDT", price=1.0, volume=1.0, time=time.time()
            )
        finally:
            await client.aclose()

    asyncio.run(write())
    return flushed


@pytest.mark.slow
@pytest.mark.parametrize("server", ["uvicorn", "granian"])
@pytest.mark.parametrize("run", list(SERVE_RUNS))
def test_serve_logs_no_token(seeded: RedisServer, tmp_path: Path, run: str, server: str) -> None:
    """`serve` (either server, any level, text or JSON, with workers) logs its lines, the
    server's own included, without a piece of any token or key. uvicorn writes WebSocket
    paths with their query and, at debug, handshake headers: they show ``[redacted]``."""
    flags, extra = SERVE_RUNS[run]
    log_file = tmp_path / "gateway.log"  # the rotated file gets the same filtered records
    extra = {**extra, "LOG_FILE_PATH": str(log_file)}
    command = [*CLI, "serve", "--port", "0", "--server", server, *flags]
    with running(command, environment(seeded.url, **extra), tmp_path) as url:
        asyncio.run(exercise(url))
    logged = (tmp_path / "stdout.log").read_text() + (tmp_path / "stderr.log").read_text()
    in_file = log_file.read_text()
    logged += in_file
    assert "list_exchanges" in in_file  # the request log reached the file
    if server == "uvicorn":
        assert "WebSocket /ws/tickers/c1?token=[redacted]" in in_file
        if "debug" in run:
            assert re.search(r"x-api-key: \[redacted\]", logged, re.IGNORECASE), logged[-2000:]
            assert "sec-websocket-protocol: [redacted]" in logged.lower()
    else:
        assert "_granian" in in_file  # granian's own records go through our handlers
    assert leaks(logged) == [], logged[-3000:]


UVICORN_RUNS = {"uvicorn-default": [], "uvicorn-debug": ["--log-level", "debug"]}


@pytest.mark.slow
@pytest.mark.parametrize("run", list(UVICORN_RUNS))
def test_plain_uvicorn_logs_no_token(seeded: RedisServer, tmp_path: Path, run: str) -> None:
    """``uvicorn fullon_cache_api.main:app``, as the README runs it (default access log on),
    logs request and WebSocket lines without a piece of any token or key."""
    command = [sys.executable, "-m", "uvicorn", "fullon_cache_api.main:app", *UVICORN_RUNS[run]]
    with running(command, environment(seeded.url), tmp_path) as url:
        asyncio.run(exercise(url))
    logged = (tmp_path / "stdout.log").read_text() + (tmp_path / "stderr.log").read_text()
    assert "GET /tickers/binance/stream?token=[redacted] HTTP/1.1" in logged  # access log
    assert '"WebSocket /ws/tickers/c1?token=[redacted]" [accepted]' in logged
    assert leaks(logged) == [], logged[-3000:]


def _record(msg: str, *args: object, name: str = "uvicorn.error") -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)


def test_filter_keeps_the_arguments_formatters_read() -> None:
    """uvicorn's access formatter reads the record's arguments: they are redacted in place,
    so the line still formats (and shows no token)."""
    record = _record(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5",
        "GET",
        f"/tickers/binance/stream?limit=2&token={ADMIN_KEY}",
        "1.1",
        200,
        name="uvicorn.access",
    )
    assert RedactSecrets().filter(record)
    line = AccessFormatter(fmt="%(client_addr)s %(request_line)s", use_colors=False).format(record)
    assert line == "127.0.0.1:5 GET /tickers/binance/stream?limit=2&token=[redacted] HTTP/1.1"


@pytest.mark.parametrize(
    ("msg", "args", "shown"),
    [
        ("< %s: %s", ("x-api-key", ADMIN_KEY), "< x-api-key: [redacted]"),
        ("< %s: %s", ("Sec-WebSocket-Protocol", f"bearer, {ADMIN_KEY}"), None),
        ("headers %r", ([(b"authorization", f"Bearer {HEADER_JWT}".encode())],), None),
        ("connecting to %s", (f"rediss://reader:{ADMIN_KEY}@cache:6380/0",), None),
        (f"token {QUERY_JWT} seen", (), "token [redacted] seen"),
    ],
)
def test_filter_hides_credentials_split_over_arguments(
    msg: str, args: tuple[object, ...], shown: str | None
) -> None:
    """A header whose name and value are separate arguments, header lists, URLs with a
    password and bare JWTs are all redacted."""
    record = _record(msg, *args)
    RedactSecrets().filter(record)
    text = record.getMessage()
    assert leaks(text) == [] and "[redacted]" in text
    if shown is not None:
        assert text == shown


@pytest.mark.parametrize(
    "line",
    [
        *(f"< {name}: Opaque-Value-1234567" for name in _HEADER_WORDS),
        *(f"> {name.upper()}: Opaque-Value-1234567" for name in _HEADER_WORDS),
        *(f'"GET /x?a=1&{name}=Opaque-Value-1234567 HTTP/1.1"' for name in _QUERY_WORDS),
        "connecting to rediss://reader:Opaque-Value-1234567@cache:6380/0",
        "header Bearer Opaque-Value-1234567 refused",
    ],
)
def test_every_credential_word_is_redacted(line: str) -> None:
    """Each header and query name the filter knows is redacted, in any case: the cheap first
    test and the patterns agree."""
    assert "Opaque-Value" not in redact(line) and "[redacted]" in redact(line)


@pytest.mark.slow
def test_demo_logs_no_token(tmp_path: Path) -> None:
    """`demo --log-level debug` (authentication off, but clients may still send tokens, as
    the examples do): its WebSocket and handshake lines show none."""
    command = [*CLI, "demo", "--port", "0", "--no-live", "--log-level", "debug"]
    with running(command, environment("redis://unused"), tmp_path) as url:

        async def visit() -> None:
            ws = "ws" + url.removeprefix("http")
            async with asyncio.timeout(20):
                await _ping(f"{ws}/ws/tickers/c1?token={ADMIN_KEY}")
                await _ping(f"{ws}/ws", additional_headers={"X-API-Key": PROTOCOL_KEY})

        asyncio.run(visit())
    logged = (tmp_path / "stdout.log").read_text() + (tmp_path / "stderr.log").read_text()
    assert "WebSocket /ws/tickers/c1?token=[redacted]" in logged
    assert leaks(logged) == [], logged[-3000:]
