"""Helpers for the near-cache tests (no tests here): reach the cache, wait for its link, count."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from starlette.applications import Starlette

from fullon_cache_api.backend._near import NearCache

LINK_DEADLINE = 5.0  # the link connects on first use; loopback takes milliseconds


def near_of(app: Starlette) -> NearCache:
    """The near cache `create_app` put in front of its client."""
    near = app.state.reader.redis
    assert isinstance(near, NearCache), type(near)
    return near


async def until(check: Callable[[], bool], deadline: float = LINK_DEADLINE) -> float:
    """Wait until `check()` holds; the seconds it took (fails after `deadline`)."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < deadline, "condition not reached in time"
        await asyncio.sleep(0.002)
    return time.monotonic() - start


async def linked(near: NearCache) -> NearCache:
    """`near` with its invalidation link up (a first read starts it)."""
    await near.get("tickers:warm-up")
    await until(lambda: near.store.active)
    return near


async def calls(port: int, command: str) -> int:
    """How many times Redis on `port` has run `command` (INFO commandstats)."""
    admin = Redis(port=port)
    try:
        stats: dict[str, Any] = await admin.info("commandstats")
    finally:
        await admin.aclose()
    entry = stats.get(f"cmdstat_{command.lower()}", {})
    return int(entry.get("calls", 0))


async def eventually(read: Callable[[], Awaitable[Any]], expected: Any, within: float) -> float:
    """Poll `read()` until it returns `expected`; the seconds it took (fails after `within`)."""
    start = time.monotonic()
    while (value := await read()) != expected:
        assert time.monotonic() - start < within, f"still {value!r} after {within} s"
        await asyncio.sleep(0.001)
    return time.monotonic() - start
