"""Structs of the processes domain (``process:active:*``, ``process:data:*``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

__all__ = ["Process", "ProcessBrief", "ProcessHealth", "ProcessList", "ProcessStatus"]


class Process(msgspec.Struct, frozen=True, kw_only=True):
    """One process document; `heartbeat_stale` means its heartbeat is older than the window."""

    process_id: str
    process_type: str
    component: str | None
    params: dict[str, Any]
    status: str | None
    message: str | None
    created_at: datetime | None
    updated_at: datetime | None
    heartbeat: datetime | None
    heartbeat_age_seconds: float | None
    heartbeat_stale: bool


class ProcessList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of the processes active in the last `since_minutes`, newest update first.

    `skipped` counts corrupt entries (bad JSON or active time); `expired` counts active
    entries whose 24 h data key is gone, which is normal and not corruption. `partial`: the
    read budget ran out before every active entry was read (these are the newest of those
    read); `next_cursor` fetches the next page (null: this was the last).
    """

    since_minutes: int
    count: int
    skipped: int
    expired: int
    partial: bool = False
    next_cursor: str | None = None
    processes: list[Process]


class ProcessHealth(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """System health over the last 60 minutes, as fullon_cache's ``get_system_health``;
    `partial`: the read budget ran out before every active entry was counted."""

    healthy: bool
    total_processes: int
    by_type: dict[str, int]
    by_status: dict[str, int]
    stale_processes: int
    error_processes: int
    skipped: int
    partial: bool = False


class ProcessBrief(msgspec.Struct, frozen=True, kw_only=True):
    """One active process at a glance: what it is, its status, and how old its heartbeat is."""

    process_id: str
    process_type: str
    component: str | None
    status: str | None
    message: str | None
    heartbeat: datetime | None
    heartbeat_age_seconds: float | None
    heartbeat_stale: bool


class ProcessStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Process monitoring at a glance: the processes active in the last `since_minutes`
    (newest update first; `skipped` and `expired` as in ``/processes``) and the system health
    over the last 60 minutes."""

    since_minutes: int
    count: int
    skipped: int
    expired: int
    processes: list[ProcessBrief]
    health: ProcessHealth
