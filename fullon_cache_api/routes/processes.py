"""Processes: ProcessCache's ``process:active:{type}`` hashes and ``process:data:{id}`` JSON."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..data import PROCESS_PAGE
from ..data.processes import DEFAULT_WINDOW_MINUTES
from ..http import (
    COMPONENT,
    CURSOR,
    PROCESS_TYPE,
    Bound,
    MsgspecResponse,
    query_int,
    query_text,
)
from ..structs.processes import (
    Process,
    ProcessBrief,
    ProcessHealth,
    ProcessList,
    ProcessStatus,
)
from ._common import ApiRoute, reader_from

# Minutes back an active entry (and its heartbeat) counts as live: default 5 as in
# fullon_cache's get_active_processes, at most one week.
SINCE_MINUTES = Bound(default=DEFAULT_WINDOW_MINUTES, minimum=1, maximum=10080)


async def active_processes(request: Request) -> Response:
    """Processes active in the last `since_minutes`, newest update first, a page at a time;
    filters `type` and `component`."""
    process_type = query_text(request, "type", PROCESS_TYPE)
    component = query_text(request, "component", COMPONENT)
    since_minutes = query_int(request, "since_minutes", SINCE_MINUTES)
    limit = query_int(request, "limit", PROCESS_PAGE)
    cursor = query_text(request, "cursor", CURSOR)
    found = await reader_from(request).processes.active(
        process_type=process_type,
        component=component,
        since_minutes=since_minutes,
        cursor=cursor,
        limit=limit,
    )
    return MsgspecResponse(found)


async def processes_health(request: Request) -> Response:
    """System health over the last 60 minutes: totals, by type and status, stale, errors."""
    return MsgspecResponse(await reader_from(request).processes.system_health())


async def process_status(request: Request) -> Response:
    """Process monitoring at a glance: active processes and the system health summary.

    The processes active in the last `since_minutes` (default 5) with their type, component,
    status, heartbeat age and staleness (as /processes), and the health summary over the last
    60 minutes (as /processes/health).
    """
    since_minutes = query_int(request, "since_minutes", SINCE_MINUTES)
    processes = reader_from(request).processes
    active = await processes.active(since_minutes=since_minutes)
    health = await processes.system_health()
    return MsgspecResponse(
        ProcessStatus(
            since_minutes=active.since_minutes,
            count=active.count,
            skipped=active.skipped,
            expired=active.expired,
            processes=[_brief(process) for process in active.processes],
            health=health,
        )
    )


def _brief(process: Process) -> ProcessBrief:
    return ProcessBrief(
        process_id=process.process_id,
        process_type=process.process_type,
        component=process.component,
        status=process.status,
        message=process.message,
        heartbeat=process.heartbeat,
        heartbeat_age_seconds=process.heartbeat_age_seconds,
        heartbeat_stale=process.heartbeat_stale,
    )


async def one_process(request: Request) -> Response:
    """One process document; `since_minutes` is the window its heartbeat is judged against."""
    process_id = request.path_params["process_id"]
    since_minutes = query_int(request, "since_minutes", SINCE_MINUTES)
    found = await reader_from(request).processes.one(process_id, since_minutes=since_minutes)
    return MsgspecResponse(found)


routes = [
    ApiRoute(
        "/processes",
        active_processes,
        response=ProcessList,
        query={
            "type": PROCESS_TYPE,
            "component": COMPONENT,
            "since_minutes": SINCE_MINUTES,
            "limit": PROCESS_PAGE,
            "cursor": CURSOR,
        },
        ages=True,
    ),
    ApiRoute("/processes/health", processes_health, response=ProcessHealth),
    ApiRoute(
        "/processes/status",
        process_status,
        response=ProcessStatus,
        query={"since_minutes": SINCE_MINUTES},
        ages=True,
    ),
    ApiRoute(
        "/processes/{process_id:path}",
        one_process,
        response=Process,
        query={"since_minutes": SINCE_MINUTES},
        ages=True,
    ),
]
