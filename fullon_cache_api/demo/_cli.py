"""The ``fullon-cache-api demo`` command: a throwaway redis-server, sample data in
fullon_cache's layout, a live feed, and the gateway serving it on loopback without
authentication."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from .._app import create_app
from .._settings import Settings
from ..server import GRACE_SECONDS, CLIError, bind, run, serve_uvicorn, url_of
from .seed import seed
from .server import RedisServer, RedisServerError
from .simulator import Simulator
from .writer import CacheWriter

__all__ = ["run_demo"]

_log = logging.getLogger("fullon.api.cache.cli")
_EXAMPLES = ("/tickers", "/tickers/binance/BTC/USDT", "/ohlcv/BTC/USDT/1m?limit=5")
# What answers on an empty Redis (--no-seed): the sample's keys would all be 404.
_EMPTY_EXAMPLES = ("/health", "/tickers", "/status")


def run_demo(args: argparse.Namespace) -> int:
    """Serve sample data from a throwaway redis-server until Ctrl-C; the exit status."""
    _check_loopback(args.host)  # it serves without authentication: this machine only
    sock = bind(args.host, args.port)  # fail on a busy port before starting anything
    try:
        server = RedisServer()
    except RedisServerError as exc:
        sock.close()
        raise CLIError(str(exc)) from None
    try:
        server.start()
        # Sample data on a throwaway Redis: nothing to protect, so no credentials needed.
        app = create_app(settings=Settings(redis_url=server.url), auth=False)

        async def seed_then_serve() -> None:
            if not args.no_seed:
                await _seed(server.url)
            live = not (args.no_seed or args.no_live)  # an empty Redis stays empty
            state = "empty" if args.no_seed else "sample data seeded"
            state += ", live feed on" if live else ""
            url = url_of(sock)
            print(
                f"fullon_cache_api demo: serving on {url}  "
                f"(Redis: {server.url}, {state}, authentication off)"
            )
            print(f"Docs: {url}/docs")
            examples = _EMPTY_EXAMPLES if args.no_seed else _EXAMPLES
            print("Try: " + "  ".join(url + path for path in examples), flush=True)
            async with _live_feed(server.url, live):
                await serve_uvicorn(app, sock, args.log_level, GRACE_SECONDS)

        return run(seed_then_serve())
    except RedisServerError as exc:
        raise CLIError(str(exc)) from None
    finally:
        sock.close()
        server.close()  # the redis-server never outlives us, whichever way we leave


def _check_loopback(host: str) -> None:
    """Refuse a `demo` --host other than loopback: anyone reaching it would read everything."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:  # a hostname: it could resolve to any interface
        loopback = False
    if not loopback:
        raise CLIError(
            f"demo serves without authentication, so it listens on loopback only "
            f"(127.0.0.1, ::1, localhost), not {host!r}; use `serve` with authentication "
            f"to listen elsewhere"
        )


async def _seed(url: str) -> None:
    client = Redis.from_url(url)
    try:
        summary = await seed(CacheWriter(client))
    finally:
        await client.aclose()
    _log.info("seeded %s", summary)


@contextlib.asynccontextmanager
async def _live_feed(url: str, enabled: bool) -> AsyncIterator[None]:
    """Run the demo simulator beside the server, in its event loop; cancel it on the way out."""
    if not enabled:
        yield
        return
    client = Redis.from_url(url)
    feed = asyncio.create_task(Simulator(client).run(), name="demo-feed")
    try:
        yield
    finally:
        if not await _stop(feed, within=GRACE_SECONDS):
            _log.warning("the demo feed did not stop within %s s; leaving it", GRACE_SECONDS)
        elif not feed.cancelled() and feed.exception() is not None:
            _log.error("the demo feed failed", exc_info=feed.exception())
        await client.aclose()


async def _stop(task: asyncio.Task[None], within: float) -> bool:
    """Cancel `task` and wait up to `within` seconds for it to end; True when it did.

    Bounded, so Ctrl-C ends the demo even if a client loses a cancel again. The wait outlasts
    a cancel of the task running it: after Ctrl-C uvicorn re-raises SIGINT, and asyncio.run
    answers by cancelling the main task, the one shutting down here.
    """
    task.cancel()
    deadline = time.monotonic() + within
    while not task.done() and (left := deadline - time.monotonic()) > 0:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait({task}, timeout=left)
    return task.done()
