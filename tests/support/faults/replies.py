"""A loopback TCP proxy that parses every reply Redis sends back and records how big it is.

`sizes` gets, per reply, the length of the largest array in it: an LRANGE window's elements,
an HSCAN or HGETALL reply's fields and values (two items per entry), a SCAN reply's keys, an
MGET's values. That is what bounds a reply whatever the command: the tests assert it stays
within a few times the configured chunk while a whole surface of big keys is read.

With `drip` set to n, replies are passed on in writes a millisecond apart, each cut just
before a bulk string element (every n-th ``\r\n$`` of what Redis sent): the client then
parses an array from many reads that end exactly between two of its elements.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import hiredis

__all__ = ["ReplySizes", "largest_array"]


def largest_array(reply: Any) -> int:
    """The length of the largest array anywhere in `reply` (0 when it holds none)."""
    if not isinstance(reply, list):
        return 0
    return max([len(reply), *(largest_array(item) for item in reply)])


def _cut(data: bytes, every: int) -> list[bytes]:
    """`data` cut right before every `every`-th bulk string element it holds."""
    pieces, start, seen, at = [], 0, 0, data.find(b"\r\n$")
    while at >= 0:
        seen += 1
        if seen % every == 0:
            pieces.append(data[start : at + 2])
            start = at + 2
        at = data.find(b"\r\n$", at + 1)
    pieces.append(data[start:])
    return [piece for piece in pieces if piece]


class ReplySizes:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target_port`, parsing the replies as they pass."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.sizes: list[int] = []
        self.drip = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """The ``redis://`` URL of database 0 through the proxy."""
        return f"redis://127.0.0.1:{self.port}/0"

    async def __aenter__(self) -> ReplySizes:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._server.wait_closed()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.close()
            self._tasks.discard(task)
            return
        pumps = [
            asyncio.ensure_future(self._pump(client_r, server_w, None)),
            asyncio.ensure_future(self._pump(server_r, client_w, hiredis.Reader())),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            for writer in (client_w, server_w):
                writer.close()
            self._tasks.discard(task)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, parse: Any
    ) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while chunk := await reader.read(65536):
                if parse is not None:
                    parse.feed(chunk)
                    while (reply := parse.gets()) is not False:
                        self.sizes.append(largest_array(reply))
                if parse is None or not self.drip:
                    writer.write(chunk)
                    await writer.drain()
                    continue
                for piece in _cut(chunk, self.drip):
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.001)
