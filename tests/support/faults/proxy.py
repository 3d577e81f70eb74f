"""A loopback TCP proxy that delays what Redis sends back (slow-Redis and pool tests).

The delay applies to the server-to-client direction only and is constant per chunk (each chunk
is held until `latency` seconds after it arrived), so pipelined replies are not slowed more
than one latency. `latency` can change while connections are open.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any

__all__ = ["LatencyProxy", "latency_proxy"]


class LatencyProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target_port`, delaying replies by `latency`."""

    def __init__(self, target_port: int, latency: float = 0.0) -> None:
        self.target_port = target_port
        self.latency = latency
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        """The ``redis://`` URL of database 0 through the proxy."""
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and cut every proxied connection."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.close()
            return
        self._writers.update((client_w, server_w))
        upstream = self._spawn(self._pump(client_r, server_w, delayed=False))
        downstream = self._spawn(self._pump(server_r, client_w, delayed=True))
        await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
        for writer in (client_w, server_w):
            writer.close()
            self._writers.discard(writer)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, delayed: bool
    ) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        sender = self._spawn(self._send(queue, writer)) if delayed else None
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while chunk := await reader.read(65536):
                if sender is None:
                    writer.write(chunk)
                    await writer.drain()
                else:
                    queue.put_nowait((time.monotonic(), chunk))
        if sender is not None:
            queue.put_nowait((0.0, b""))  # end marker: the sender stops after flushing
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    async def _send(
        self, queue: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter
    ) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while True:
                arrived, chunk = await queue.get()
                if not chunk:
                    return
                wait = arrived + self.latency - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(chunk)
                await writer.drain()


@contextlib.asynccontextmanager
async def latency_proxy(target_port: int, latency: float = 0.0) -> AsyncIterator[LatencyProxy]:
    """A started `LatencyProxy`, closed on exit."""
    proxy = LatencyProxy(target_port, latency)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
