"""Bounded concurrent load on an in-process gateway, recording every answer with its timing."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import httpx
from redis.asyncio import Redis
from starlette.applications import Starlette

__all__ = ["Load", "Sample", "gateway_client", "gateway_connections"]

GATEWAY_NAME = "fullon_cache_api"


@dataclass(frozen=True)
class Sample:
    """One request: when it started (monotonic), how long it took, what it answered."""

    path: str
    started: float
    elapsed: float
    status: int
    retry_after: str | None
    content_type: str
    detail: str = ""


@dataclass
class Load:
    """`clients` concurrent loops cycling over `paths`, each pausing `pause` between requests."""

    http: httpx.AsyncClient
    paths: Sequence[str]
    clients: int = 20
    pause: float = 0.005
    samples: list[Sample] = field(default_factory=list)

    async def run(self, seconds: float) -> None:
        """Hammer for `seconds` (each loop sends at least once); every request is recorded."""
        until = time.monotonic() + seconds
        async with anyio.create_task_group() as group:
            for offset in range(self.clients):
                group.start_soon(self._loop, offset, until)

    async def _loop(self, offset: int, until: float) -> None:
        index = offset
        # At least one request per loop: on a slow machine the window can close before a
        # task first runs, and a run with no samples proves nothing.
        while index == offset or time.monotonic() < until:
            path = self.paths[index % len(self.paths)]
            index += 1
            started = time.monotonic()
            response = await self.http.get(path)
            self.samples.append(
                Sample(
                    path=path,
                    started=started,
                    elapsed=time.monotonic() - started,
                    status=response.status_code,
                    retry_after=response.headers.get("retry-after"),
                    content_type=response.headers.get("content-type", ""),
                    detail=_detail(response),
                )
            )
            await anyio.sleep(self.pause)

    def between(self, start: float, end: float) -> list[Sample]:
        """The samples whose request started in [start, end)."""
        return [sample for sample in self.samples if start <= sample.started < end]

    def within(self, start: float, end: float) -> list[Sample]:
        """The samples whose request started and ended in [start, end]."""
        return [
            sample
            for sample in self.samples
            if start <= sample.started and sample.started + sample.elapsed <= end
        ]


def _detail(response: httpx.Response) -> str:
    """The problem detail of an error answer (empty for a success)."""
    if response.status_code < 400:
        return ""
    detail: str = response.json().get("detail", "")
    return detail


@asynccontextmanager
async def gateway_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling `app` in-process inside its lifespan (which closes the pool)."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=30.0
        ) as http,
    ):
        yield http


async def gateway_connections(port: int) -> int:
    """How many connections named like the gateway's the Redis on `port` lists."""
    admin = Redis(port=port)
    try:
        clients = await admin.client_list()
    finally:
        await admin.aclose()
    return sum(1 for client in clients if client.get("name") == GATEWAY_NAME)
