"""Reader of ProcessCache's keys (prefix ``process:``).

- ``process:active:{type}`` hash: process id -> ISO time of its last register/update (no TTL);
- ``process:data:{id}`` string: the JSON process document (TTL 24 h, reset by each update).

Active entries outlive their data key, so an id whose document is gone is dropped and counted
as `expired` (normal), never as `skipped` (corrupt: bad JSON, a data key of another Redis
type, a ``process:active:`` key that is not a hash, or an unreadable active time).

A heartbeat is *stale* when it is older than the request's window (`since_minutes`), exactly as
fullon_cache's ``get_active_processes`` sets ``_heartbeat_stale``; a missing or unreadable
heartbeat is stale too. ``/processes/health`` therefore uses 60 minutes, as
``get_system_health`` does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from .._codec import Undecodable, decode, to_datetime
from .._errors import CorruptEntry, NotFound
from .._redis import translate_errors
from ..structs.processes import Process, ProcessHealth, ProcessList
from ._base import BaseReader, text

__all__ = [
    "DEFAULT_WINDOW_MINUTES",
    "HEALTH_WINDOW_MINUTES",
    "ProcessReader",
    "split_process_id",
]

# fullon_cache's defaults: get_active_processes(since_minutes=5), get_system_health() 60.
DEFAULT_WINDOW_MINUTES = 5
HEALTH_WINDOW_MINUTES = 60

_ACTIVE = "process:active:"
_DATA = "process:data:"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _StoredProcess(msgspec.Struct):
    """The keys of a process document; unknown keys are ignored, missing ones are None."""

    process_type: str | None = None
    component: str | None = None
    params: dict[str, Any] | None = None
    status: str | None = None
    message: str | None = None
    created_at: str | float | None = None
    updated_at: str | float | None = None
    heartbeat: str | float | None = None


@dataclass
class _Found:
    processes: list[Process] = field(default_factory=list)
    skipped: int = 0
    expired: int = 0


def split_process_id(process_id: str) -> tuple[str, str, str] | None:
    """``(type, component, epoch)`` of ``{type}:{component}:{epoch}``, else None.

    The type ends at the first ``:`` and the epoch starts after the last one; the component
    (which may itself hold ``:`` and ``/``) is everything between.
    """
    first, last = process_id.find(":"), process_id.rfind(":")
    if first < 0 or last == first:
        return None
    return process_id[:first], process_id[first + 1 : last], process_id[last + 1 :]


class ProcessReader(BaseReader):
    """Processes registered through fullon_cache's ProcessCache, of every type found by SCAN."""

    async def active(
        self,
        *,
        process_type: str | None = None,
        component: str | None = None,
        since_minutes: int = DEFAULT_WINDOW_MINUTES,
    ) -> ProcessList:
        """Processes active in the last `since_minutes`, newest update first.

        SCAN ``process:active:*`` (or ``process:active:{type}``) TYPE hash, HGETALL each in one
        pipeline, then one MGET of the ``process:data:{id}`` keys still in the window.
        """
        found = await self._find(process_type, component, since_minutes)
        return ProcessList(
            since_minutes=since_minutes,
            count=len(found.processes),
            skipped=found.skipped,
            expired=found.expired,
            processes=found.processes,
        )

    async def system_health(self) -> ProcessHealth:
        """Counts over the last 60 minutes (same commands as `active`).

        Unhealthy when any process has a stale heartbeat or the status ``error``.
        """
        found = await self._find(None, None, HEALTH_WINDOW_MINUTES)
        by_type = Counter(process.process_type for process in found.processes)
        by_status = Counter(process.status or "unknown" for process in found.processes)
        stale = sum(process.heartbeat_stale for process in found.processes)
        errors = by_status.get("error", 0)
        return ProcessHealth(
            healthy=stale == 0 and errors == 0,
            total_processes=len(found.processes),
            by_type=dict(sorted(by_type.items())),
            by_status=dict(sorted(by_status.items())),
            stale_processes=stale,
            error_processes=errors,
            skipped=found.skipped,
        )

    async def one(self, process_id: str, *, since_minutes: int = DEFAULT_WINDOW_MINUTES) -> Process:
        """The document of `process_id` (GET ``process:data:{id}``), active or not.

        `since_minutes` only sets the window that `heartbeat_stale` is judged against.
        """
        key = f"{_DATA}{process_id}"
        with translate_errors(key):
            raw = await self.redis.get(key)
        if raw is None:
            raise NotFound(f"no process {process_id!r} in the cache (never, stopped or expired)")
        now = datetime.now(UTC)
        try:
            return _process(process_id, None, raw, now, now - timedelta(minutes=since_minutes))
        except Undecodable as exc:
            raise CorruptEntry(f"{key} is not a valid process document: {exc}") from None

    async def _find(
        self, process_type: str | None, component: str | None, since_minutes: int
    ) -> _Found:
        now = datetime.now(UTC)
        cutoff = now - timedelta(minutes=since_minutes)
        found = _Found()
        wanted = await self._recent(process_type, component, cutoff, found)
        documents = await self._documents(list(wanted))
        gone = [pid for pid, raw in zip(wanted, documents, strict=True) if raw is None]
        retyped = await self._retyped(gone)
        for (pid, ptype), raw in zip(wanted.items(), documents, strict=True):
            if raw is None:
                if pid in retyped:
                    found.skipped += 1
                else:
                    found.expired += 1
                continue
            try:
                process = _process(pid, ptype, raw, now, cutoff)
            except Undecodable as exc:
                self.skipped(pid, f"{_DATA}{pid}", exc)
                found.skipped += 1
                continue
            if component is None or process.component == component:
                found.processes.append(process)
        found.processes.sort(key=lambda process: process.process_id)
        found.processes.sort(key=lambda process: process.updated_at or _EPOCH, reverse=True)
        return found

    async def _recent(
        self, process_type: str | None, component: str | None, cutoff: datetime, found: _Found
    ) -> dict[str, str]:
        """Ids (-> type from the key) of `component` whose active time is within the window."""
        scanned = await self.scan_typed(f"{_ACTIVE}{process_type or '*'}", "hash")
        keys = scanned.keys
        found.skipped += len(scanned.wrong_type)
        with translate_errors("process:active hashes"):
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hgetall(key)
                hashes: list[dict[bytes, bytes]] = await pipe.execute()
        recent: dict[str, str] = {}
        for key, entries in zip(keys, hashes, strict=True):
            for raw_id, raw_time in entries.items():
                pid = text(raw_id)
                if not _may_match(pid, component):
                    continue
                when = to_datetime(text(raw_time))
                if when is None:
                    self.skipped(pid, key, f"active time {text(raw_time)[:40]!r} is unreadable")
                    found.skipped += 1
                elif when >= cutoff:
                    recent[pid] = key.removeprefix(_ACTIVE)
        return recent

    async def _retyped(self, process_ids: list[str]) -> set[str]:
        """Of ids whose document MGET read as nil, those whose data key exists with another
        Redis type (corrupt: logged, counted as skipped); the rest are gone (expired).

        One TYPE pipeline, only when some document read as nil.
        """
        keys = [f"{_DATA}{pid}" for pid in process_ids]
        retyped: set[str] = set()
        for pid, key, kind in zip(process_ids, keys, await self.types_of(keys), strict=True):
            if kind != "none":
                self.skipped(pid, key, f"wrong Redis type: {kind}, expected string")
                retyped.add(pid)
        return retyped

    async def _documents(self, process_ids: list[str]) -> list[bytes | str | None]:
        """MGET of the data keys (a key of another Redis type reads as nil, like a gone one)."""
        if not process_ids:
            return []
        with translate_errors("process:data keys"):
            values: list[bytes | str | None] = await self.redis.mget(
                [f"{_DATA}{pid}" for pid in process_ids]
            )
        return values


def _may_match(process_id: str, component: str | None) -> bool:
    """Whether the component in the id can match the filter (pre-filters before MGET).

    fullon_cache filters on the document's component, which its ids always repeat; ids that do
    not parse are kept and judged by their document.
    """
    parts = split_process_id(process_id)
    return component is None or parts is None or parts[1] == component


def _process(
    process_id: str, key_type: str | None, raw: bytes | str, now: datetime, cutoff: datetime
) -> Process:
    stored = decode(raw, _StoredProcess)
    parts = split_process_id(process_id)
    id_type, id_component, id_epoch = parts if parts is not None else (None, None, None)
    heartbeat = to_datetime(stored.heartbeat)
    return Process(
        process_id=process_id,
        process_type=stored.process_type or key_type or id_type or "unknown",
        component=stored.component if stored.component is not None else id_component,
        params=stored.params or {},
        status=stored.status,
        message=stored.message,
        created_at=to_datetime(stored.created_at) or to_datetime(id_epoch),
        updated_at=to_datetime(stored.updated_at),
        heartbeat=heartbeat,
        heartbeat_age_seconds=(
            None if heartbeat is None else round((now - heartbeat).total_seconds(), 3)
        ),
        heartbeat_stale=heartbeat is None or heartbeat < cutoff,
    )
