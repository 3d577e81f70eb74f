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

``process:active:*`` hashes grow forever (their entries outlive the documents), so they are
read in HSCAN replies of `chunk` entries, each reply's documents fetched with one MGET and
decoded before the next reply is asked for, within the read budget (``partial`` past it). The
listing keeps the newest `limit` in a top-k (see ``_topk``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from .._errors import CorruptEntry, NotFound
from ..backend import translate_errors
from ..structs.processes import Process, ProcessHealth, ProcessList
from ._base import BaseReader, Deadline, text
from ._chunks import HashWalk
from ._codec import Invalid, to_datetime
from ._cursor import decode_cursor, encode_cursor
from ._instrument import timed_read
from ._pages import PROCESS_PAGE
from ._skips import Skips
from ._topk import TopK

__all__ = [
    "DEFAULT_WINDOW_MINUTES",
    "HEALTH_WINDOW_MINUTES",
    "PROCESS_PAGE",
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


# A process's place in a listing: newest update first (no update time last), then by id.
_Rank = tuple[float, str]


@dataclass
class _Found:
    """What one read of the active processes found, counted as it went."""

    skipped: int = 0
    expired: int = 0
    partial: bool = False
    skips: dict[str, Skips] = field(default_factory=dict)

    def skip(self, key: str, what: str, reason: object) -> None:
        self.skips.setdefault(key, Skips(key)).add(what, reason)
        self.skipped += 1


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

    @timed_read
    async def active(
        self,
        *,
        process_type: str | None = None,
        component: str | None = None,
        since_minutes: int = DEFAULT_WINDOW_MINUTES,
        cursor: str | None = None,
        limit: int = PROCESS_PAGE.default,
    ) -> ProcessList:
        """The `limit` processes active in the last `since_minutes` that come after `cursor`,
        newest update first.

        SCAN ``process:active:*`` (or ``process:active:{type}``) TYPE hash, HSCAN each, one
        MGET of the ``process:data:{id}`` keys in the window per reply, within the budget.
        """
        after = None if cursor is None else decode_cursor(cursor, "k", tuple[float, str])
        top: TopK[Process] = TopK(limit)
        eligible = 0

        def keep(process: Process) -> None:
            nonlocal eligible
            rank = _rank(process)
            if after is None or rank > after:
                eligible += 1
                top.offer(process.process_id, rank, process)

        found = await self._find(process_type, component, since_minutes, keep)
        processes = [process for _, process in top.smallest()]
        more = eligible > len(processes)
        return ProcessList(
            since_minutes=since_minutes,
            count=len(processes),
            skipped=found.skipped,
            expired=found.expired,
            partial=found.partial,
            next_cursor=encode_cursor("k", *_rank(processes[-1])) if more else None,
            processes=processes,
        )

    @timed_read
    async def system_health(self) -> ProcessHealth:
        """Counts over the last 60 minutes (same commands as `active`).

        Unhealthy when any process has a stale heartbeat or the status ``error``.
        """
        by_type: Counter[str] = Counter()
        by_status: Counter[str] = Counter()
        stale = 0

        def count(process: Process) -> None:
            nonlocal stale
            by_type[process.process_type] += 1
            by_status[process.status or "unknown"] += 1
            stale += process.heartbeat_stale

        found = await self._find(None, None, HEALTH_WINDOW_MINUTES, count)
        errors = by_status.get("error", 0)
        return ProcessHealth(
            healthy=stale == 0 and errors == 0,
            total_processes=sum(by_type.values()),
            by_type=dict(sorted(by_type.items())),
            by_status=dict(sorted(by_status.items())),
            stale_processes=stale,
            error_processes=errors,
            skipped=found.skipped,
            partial=found.partial,
        )

    @timed_read
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
        stored = self.limits.decode(raw, _StoredProcess)
        if isinstance(stored, Invalid):
            raise CorruptEntry(f"{key} is not a valid process document: {stored.reason}")
        return _process(process_id, None, stored, now, now - timedelta(minutes=since_minutes))

    async def _find(
        self,
        process_type: str | None,
        component: str | None,
        since_minutes: int,
        sink: Callable[[Process], None],
    ) -> _Found:
        """Every process of `component` active within the window, handed to `sink`."""
        now = datetime.now(UTC)
        cutoff = now - timedelta(minutes=since_minutes)
        found = _Found()
        deadline = Deadline(self.limits.budget)
        scanned = await self.scan_typed(f"{_ACTIVE}{process_type or '*'}", "hash", deadline)
        found.skipped += len(scanned.wrong_type)
        for key in scanned.keys:
            if deadline.spent():
                break
            async for entries in HashWalk(self.redis, key, self.limits, deadline=deadline).chunks():
                wanted = self._recent(key, entries, component, cutoff, found)
                for process in await self._documents(wanted, now, cutoff, found):
                    if component is None or process.component == component:
                        sink(process)
        for skips in found.skips.values():
            self.report(skips)
        found.partial = deadline.cut
        return found

    def _recent(
        self,
        key: str,
        entries: dict[Any, Any],
        component: str | None,
        cutoff: datetime,
        found: _Found,
    ) -> dict[str, str]:
        """Ids (-> type from the key) of `component` whose active time is within the window."""
        recent: dict[str, str] = {}
        for raw_id, raw_time in entries.items():
            pid = text(raw_id)
            if not _may_match(pid, component):
                continue
            when = to_datetime(text(raw_time)) if len(raw_time) <= 64 else None
            if when is None:
                found.skip(key, pid, f"active time {text(raw_time[:40])!r} is unreadable")
            elif when >= cutoff:
                recent[pid] = key.removeprefix(_ACTIVE)
        return recent

    async def _documents(
        self, wanted: dict[str, str], now: datetime, cutoff: datetime, found: _Found
    ) -> list[Process]:
        """The documents of `wanted` (one MGET; a data key of another Redis type reads as nil,
        like a gone one, and is told apart by TYPE)."""
        if not wanted:
            return []
        with translate_errors("process:data keys"):
            documents: list[bytes | str | None] = await self.redis.mget(
                [f"{_DATA}{pid}" for pid in wanted]
            )
        retyped = await self._retyped(
            [pid for pid, raw in zip(wanted, documents, strict=True) if raw is None]
        )
        processes: list[Process] = []
        for (pid, ptype), raw in zip(wanted.items(), documents, strict=True):
            if raw is None:
                if pid in retyped:
                    found.skip(f"{_DATA}{pid}", pid, retyped[pid])
                else:
                    found.expired += 1
                continue
            stored = self.limits.decode(raw, _StoredProcess)
            if isinstance(stored, Invalid):
                found.skip("process:data", pid, stored.reason)
                continue
            processes.append(_process(pid, ptype, stored, now, cutoff))
        return processes

    async def _retyped(self, process_ids: list[str]) -> dict[str, str]:
        """Of ids whose document MGET read as nil, those whose data key exists with another
        Redis type (corrupt: skipped), with why; the rest are gone (expired).

        One TYPE pipeline, only when some document read as nil.
        """
        keys = [f"{_DATA}{pid}" for pid in process_ids]
        return {
            pid: f"wrong Redis type: {kind}, expected string"
            for pid, kind in zip(process_ids, await self.types_of(keys), strict=True)
            if kind != "none"
        }


def _rank(process: Process) -> _Rank:
    """A process's place: newest update first (none: last), then by id."""
    updated = process.updated_at or _EPOCH
    return (-updated.timestamp(), process.process_id)


def _may_match(process_id: str, component: str | None) -> bool:
    """Whether the component in the id can match the filter (pre-filters before MGET).

    fullon_cache filters on the document's component, which its ids always repeat; ids that do
    not parse are kept and judged by their document.
    """
    parts = split_process_id(process_id)
    return component is None or parts is None or parts[1] == component


def _process(
    process_id: str, key_type: str | None, stored: _StoredProcess, now: datetime, cutoff: datetime
) -> Process:
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
