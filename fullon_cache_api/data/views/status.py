"""System views: fullon_cache's process metrics, and Redis INFO with key counts per domain."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from ...backend import translate_errors
from ...structs.views import CacheStatus, ProcessMetrics, RedisInfo
from .._base import BaseReader, text
from .._codec import Invalid, to_datetime
from .._skips import Skips
from ..processes import _StoredProcess
from ._scan import Deadline, age_of

__all__ = ["DOMAINS", "PROCESS_TYPES", "StatusReader", "domain_of"]

# fullon_cache's ProcessType values: get_metrics reports active_{type} for each of them.
PROCESS_TYPES = (
    "tick",
    "ohlcv",
    "bot",
    "account",
    "order",
    "bot_status_service",
    "crawler",
    "user_trades_service",
)
# Key prefixes (or whole names) of each fullon_cache domain; anything else is "other".
DOMAINS: dict[str, tuple[str, ...]] = {
    "tickers": ("tickers:", "ticker_time:"),
    "accounts": ("accounts", "account_positions"),
    "orders": ("order_status:", "new_orders:"),
    "bots": ("bot_status", "block_exchange", "opening_position"),
    "trades": ("trades:", "TRADE:STATUS:", "user_trades:", "USER_TRADE:STATUS:"),
    "ohlcv": ("ohlcv:",),
    "processes": ("process:",),
}
_COMPONENTS = "process:components"


def domain_of(key: str) -> str:
    """The fullon_cache domain a key belongs to (prefixes end in ``:``, others are names)."""
    for domain, marks in DOMAINS.items():
        for mark in marks:
            if key == mark or (mark.endswith(":") and key.startswith(mark)):
                return domain
    return "other"


class StatusReader(BaseReader):
    """Process metrics and the cache-wide status."""

    async def process_metrics(self, deadline: Deadline) -> ProcessMetrics:
        """HLEN of each ``process:active:{type}`` and ``process:components``, then SCAN
        ``process:data:*`` (string) with one MGET per page for statuses and heartbeats, until
        done or `deadline` spent. Keys of another Redis type are counted in `skipped`."""
        active_scan = await self.scan_typed("process:active:*", "hash")
        found = [key.removeprefix("process:active:") for key in active_scan.keys]
        types = sorted({*PROCESS_TYPES, *found})
        keys = [*(f"process:active:{process_type}" for process_type in types), _COMPONENTS]
        with translate_errors("process hashes"):
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hlen(key)
                # A key of another type answers an error reply: it counts 0, and is skipped.
                replies = await pipe.execute(raise_on_error=False)
        *active, components = [reply if isinstance(reply, int) else 0 for reply in replies]
        total, skipped = 0, len(active_scan.wrong_type)
        for key, reply in zip(keys, replies, strict=True):
            if isinstance(reply, Exception) and key not in active_scan.wrong_type:
                self.skipped(key, "process hashes", reply)
                skipped += 1
        now = time.time()
        by_status: Counter[str] = Counter()
        oldest: tuple[datetime, str] | None = None
        async for keys, wrong in self._chunks("process:data:*", "string", deadline):
            total += len(keys)
            skipped += wrong
            if not keys:
                continue
            with translate_errors("process:data keys"):
                values: list[bytes | str | None] = await self.redis.mget(keys)
            skips = Skips("process:data")
            for key, raw in zip(keys, values, strict=True):
                if raw is None:
                    continue  # expired since the SCAN
                stored = self.limits.decode(raw, _StoredProcess)
                if isinstance(stored, Invalid):
                    skips.add(key, stored.reason)
                    continue
                by_status[stored.status or "unknown"] += 1
                beat = to_datetime(stored.heartbeat)
                if beat is not None and (oldest is None or beat < oldest[0]):
                    oldest = (beat, key.removeprefix("process:data:"))
            skipped += skips.count
            self.report(skips)
        return ProcessMetrics(
            total_processes=total,
            active_processes=sum(active),
            components=components,
            active_by_type=dict(zip(types, active, strict=True)),
            by_status=dict(sorted(by_status.items())),
            oldest_heartbeat=oldest[0] if oldest else None,
            oldest_heartbeat_age_seconds=age_of(oldest[0], now) if oldest else None,
            oldest_heartbeat_process=oldest[1] if oldest else None,
            skipped=skipped,
            partial=deadline.cut,
        )

    async def cache_status(self, budget: float) -> CacheStatus:
        """INFO, then SCAN of every key (COUNT `chunk` per step) until done or `budget` spent."""
        deadline = Deadline(budget)
        with translate_errors("INFO"):
            info: dict[str, Any] = await self.redis.info()
        counts = dict.fromkeys([*DOMAINS, "other"], 0)
        scanned, cursor, partial = 0, 0, False
        while True:
            with translate_errors("keys"):
                cursor, keys = await self.redis.scan(cursor, count=self.limits.chunk)
            for key in keys:
                counts[domain_of(text(key))] += 1
            scanned += len(keys)
            if cursor == 0:
                break
            if deadline.expired:
                partial = True
                break
        return CacheStatus(
            redis=_redis_info(info),
            keys_by_domain=counts,
            scanned=scanned,
            partial=partial,
            budget_ms=round(budget * 1000.0, 3),
            elapsed_ms=deadline.elapsed_ms,
        )

    async def _chunks(
        self, pattern: str, key_type: str, deadline: Deadline
    ) -> AsyncIterator[tuple[list[str], int]]:
        """Per SCAN step: its keys of `key_type` (at most SCAN_COUNT: bounded memory) and how
        many of another type; no step once `deadline` is spent."""
        if deadline.spent():
            return
        async for keys, wrong in self.typed_batches(pattern, key_type, deadline):
            yield keys, len(wrong)


def _redis_info(info: dict[str, Any]) -> RedisInfo:
    keyspace = {
        name: int(value.get("keys", 0))
        for name, value in info.items()
        if name.startswith("db") and isinstance(value, dict)
    }
    return RedisInfo(
        version=_text(info.get("redis_version")),
        uptime_seconds=_int(info.get("uptime_in_seconds")),
        used_memory=_int(info.get("used_memory")),
        used_memory_human=_text(info.get("used_memory_human")),
        connected_clients=_int(info.get("connected_clients")),
        ops_per_second=_int(info.get("instantaneous_ops_per_sec")),
        keyspace=dict(sorted(keyspace.items())),
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    # redis-py parses INFO values: a version such as "7.2" may arrive as a float.
    return None if value is None else str(value)
