"""A redis-py client behind the read-client seam: `RedisPy`, which owns redis-py's cancel rule.

redis-py 8 cannot be cancelled safely mid-command: on Python 3.11 a cancel that lands while
its ``wait_for`` sends a command can hang that task forever (keeping its pooled connection),
and one that lands while a reply is read is often swallowed (the command returns normally).
So each command runs in a task of its own that the caller's cancel does not reach
(`asyncio.shield`): the caller stops at once, and the abandoned command finishes within the
socket timeout and puts its connection back. Our own client (`_resp`) needs none of this: a
cancelled caller drops its reply and the connection stays in order.

The layers above see a `CacheClient` and never which client it is; injected clients
(`adopt_injected`) and Sentinel clients (`_redis.build_client`) are wrapped here.
"""

from __future__ import annotations

import asyncio
from typing import Any, Self

from redis.asyncio import Redis

from ._client import CacheClient, ConnectionMaker

__all__ = ["RedisPy", "adopt_injected"]


def adopt_injected(client: CacheClient) -> CacheClient:
    """The client `create_app(redis=...)` reads through: a redis-py client behind `RedisPy`
    (refused when it decodes replies: the gateway serves and digests the stored bytes), any
    other `CacheClient` as it is."""
    if not isinstance(client, Redis):
        return client
    if client.connection_pool.connection_kwargs.get("decode_responses"):
        raise ValueError(
            "create_app(redis=...) needs a client with decode_responses=False (redis-py's "
            "default): the gateway passes the stored bytes through as they are"
        )
    return RedisPy(client)


class RedisPy:
    """`CacheClient` over a redis-py ``Redis``: every command detached from its caller."""

    __slots__ = ("_inflight", "redis")

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._inflight: set[asyncio.Future[Any]] = set()

    @property
    def connection_pool(self) -> ConnectionMaker:
        pool: ConnectionMaker = self.redis.connection_pool
        return pool

    async def run(self, work: Any) -> Any:
        """Await redis-py's `work` in a task of its own that cancelling the caller does not
        cancel (see the module docstring); kept referenced until it settles."""
        task = asyncio.ensure_future(work)
        self._inflight.add(task)
        task.add_done_callback(self._settled)
        return await asyncio.shield(task)

    def _settled(self, task: asyncio.Future[Any]) -> None:
        self._inflight.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: an abandoned failure is not reported as unhandled

    async def get(self, name: str, /) -> bytes | str | None:
        reply: bytes | str | None = await self.run(self.redis.get(name))
        return reply

    async def mget(self, keys: list[str], /) -> list[bytes | str | None]:
        reply: list[bytes | str | None] = await self.run(self.redis.mget(keys))
        return reply

    async def ttl(self, name: str, /) -> int:
        reply: int = await self.run(self.redis.ttl(name))
        return reply

    async def scan(
        self, cursor: int = 0, match: str | None = None, count: int | None = None
    ) -> tuple[int, list[bytes | str]]:
        reply: tuple[int, list[bytes | str]] = await self.run(
            self.redis.scan(cursor, match=match, count=count)
        )
        return reply

    async def hget(self, name: str, key: str, /) -> bytes | str | None:
        reply: bytes | str | None = await self.run(self.redis.hget(name, key))
        return reply

    async def hmget(self, name: str, keys: list[str], /) -> list[bytes | str | None]:
        reply: list[bytes | str | None] = await self.run(self.redis.hmget(name, keys))
        return reply

    async def hgetall(self, name: str, /) -> dict[bytes | str, bytes | str]:
        reply: dict[bytes | str, bytes | str] = await self.run(self.redis.hgetall(name))
        return reply

    async def hlen(self, name: str, /) -> int:
        reply: int = await self.run(self.redis.hlen(name))
        return reply

    async def hscan(
        self, name: str, cursor: int = 0, match: str | None = None, count: int | None = None
    ) -> tuple[int, Any]:
        reply: tuple[int, Any] = await self.run(
            self.redis.hscan(name, cursor, match=match, count=count)
        )
        return reply

    async def lrange(self, name: str, start: int, end: int, /) -> list[bytes | str]:
        reply: list[bytes | str] = await self.run(self.redis.lrange(name, start, end))
        return reply

    async def ping(self) -> bool:
        reply: bool = await self.run(self.redis.ping())
        return reply

    async def info(self, section: str | None = None, /) -> dict[str, Any]:
        reply: dict[str, Any] = await self.run(self.redis.info(section))
        return reply

    def pipeline(self, transaction: bool = False) -> _Pipeline:
        """Commands queued here and sent by `execute`, through one redis-py pipeline that the
        detached task opens and resets (a cancelled caller never resets it mid-send)."""
        return _Pipeline(self, transaction)

    async def aclose(self) -> None:
        """Let abandoned commands finish (each within the socket timeout), then close."""
        await asyncio.gather(*self._inflight, return_exceptions=True)
        await self.redis.aclose()


class _Pipeline:
    """`ReadPipeline` for `RedisPy`: records the commands; `execute` sends them detached."""

    __slots__ = ("_client", "_commands", "_transaction")

    def __init__(self, client: RedisPy, transaction: bool) -> None:
        self._client = client
        self._transaction = transaction
        self._commands: list[tuple[str, tuple[Any, ...]]] = []

    def _queue(self, command: str, *args: Any) -> Self:
        self._commands.append((command, args))
        return self

    def get(self, name: str, /) -> Self:
        return self._queue("get", name)

    def mget(self, keys: list[str], /) -> Self:
        return self._queue("mget", keys)

    def type(self, name: str, /) -> Self:
        return self._queue("type", name)

    def ttl(self, name: str, /) -> Self:
        return self._queue("ttl", name)

    def hget(self, name: str, key: str, /) -> Self:
        return self._queue("hget", name, key)

    def hmget(self, name: str, keys: list[str], /) -> Self:
        return self._queue("hmget", name, keys)

    def hlen(self, name: str, /) -> Self:
        return self._queue("hlen", name)

    def hexists(self, name: str, key: str, /) -> Self:
        return self._queue("hexists", name, key)

    def lrange(self, name: str, start: int, end: int, /) -> Self:
        return self._queue("lrange", name, start, end)

    def llen(self, name: str, /) -> Self:
        return self._queue("llen", name)

    def ping(self) -> Self:
        return self._queue("ping")

    def info(self, section: str | None = None, /) -> Self:
        return self._queue("info", section)

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        commands, self._commands = self._commands, []
        replies: list[Any] = await self._client.run(self._send(commands, raise_on_error))
        return replies

    async def _send(
        self, commands: list[tuple[str, tuple[Any, ...]]], raise_on_error: bool
    ) -> list[Any]:
        async with self._client.redis.pipeline(transaction=self._transaction) as pipe:
            for command, args in commands:
                getattr(pipe, command)(*args)
            replies: list[Any] = await pipe.execute(raise_on_error=raise_on_error)
        return replies

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self._commands.clear()
