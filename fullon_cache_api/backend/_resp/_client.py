"""`ReadOnlyRedis`, the gateway's own client, and its `Pipeline`: read commands only.

Method names, argument spellings and return values are redis-py's (``decode_responses=False``)
for the subset the gateway uses, so the data layer runs on either client. There is no write
command here on purpose: the gateway cannot write to Redis even by mistake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import Any, Self

import hiredis
from redis import exceptions as redis_errors

from ._commands import (
    Arg,
    Parse,
    info_args,
    keys_and_args,
    pairs,
    parse_hscan,
    parse_info,
    parse_ping,
    parse_scan,
    scan_args,
)
from ._connection import pack, reply_error
from ._pool import ConnectionPool

__all__ = ["Pipeline", "ReadOnlyRedis"]


class ReadOnlyRedis:
    """A read-only Redis client over one `ConnectionPool`, which it owns (`aclose`).

    Return types are annotated as redis-py annotates them (``bytes | str``), so code typed
    for either client type-checks; this client only ever returns bytes.
    """

    def __init__(self, connection_pool: ConnectionPool) -> None:
        self.connection_pool = connection_pool

    async def _execute(self, parse: Parse | None, *args: Arg) -> Any:
        reply = await self.connection_pool.request(pack(args), 1)
        if type(reply) is hiredis.ReplyError:
            raise reply_error(reply)
        return reply if parse is None else parse(reply)

    # -- strings and keys -------------------------------------------------------------------
    def get(self, name: Arg) -> Awaitable[bytes | str | None]:
        return self._execute(None, b"GET", name)

    def mget(self, keys: Arg | Iterable[Arg], *args: Arg) -> Awaitable[list[bytes | str | None]]:
        return self._execute(None, b"MGET", *keys_and_args(keys, args))

    def exists(self, *names: Arg) -> Awaitable[int]:
        return self._execute(None, b"EXISTS", *names)

    def type(self, name: Arg) -> Awaitable[bytes | str]:
        return self._execute(None, b"TYPE", name)

    def ttl(self, name: Arg) -> Awaitable[int]:
        return self._execute(None, b"TTL", name)

    def scan(
        self,
        cursor: int = 0,
        match: Arg | None = None,
        count: int | None = None,
        _type: str | None = None,
    ) -> Awaitable[tuple[int, list[bytes | str]]]:
        return self._execute(parse_scan, b"SCAN", *scan_args(cursor, match, count, _type))

    async def scan_iter(
        self, match: Arg | None = None, count: int | None = None, _type: str | None = None
    ) -> AsyncIterator[bytes | str]:
        """Every key SCAN finds, cursor after cursor (a key may come twice, as with SCAN)."""
        cursor = None
        while cursor != 0:
            cursor, keys = await self.scan(cursor or 0, match=match, count=count, _type=_type)
            for key in keys:
                yield key

    # -- hashes -----------------------------------------------------------------------------
    def hget(self, name: Arg, key: Arg) -> Awaitable[bytes | str | None]:
        return self._execute(None, b"HGET", name, key)

    def hmget(
        self, name: Arg, keys: Arg | Iterable[Arg], *args: Arg
    ) -> Awaitable[list[bytes | str | None]]:
        return self._execute(None, b"HMGET", name, *keys_and_args(keys, args))

    def hgetall(self, name: Arg) -> Awaitable[dict[bytes | str, bytes | str]]:
        return self._execute(pairs, b"HGETALL", name)

    def hlen(self, name: Arg) -> Awaitable[int]:
        return self._execute(None, b"HLEN", name)

    def hexists(self, name: Arg, key: Arg) -> Awaitable[bool]:
        return self._execute(bool, b"HEXISTS", name, key)

    def hscan(
        self, name: Arg, cursor: int = 0, match: Arg | None = None, count: int | None = None
    ) -> Awaitable[tuple[int, dict[bytes | str, bytes | str]]]:
        return self._execute(parse_hscan, b"HSCAN", name, *scan_args(cursor, match, count))

    # -- lists ------------------------------------------------------------------------------
    def lrange(self, name: Arg, start: int, end: int) -> Awaitable[list[bytes | str]]:
        return self._execute(None, b"LRANGE", name, start, end)

    def llen(self, name: Arg) -> Awaitable[int]:
        return self._execute(None, b"LLEN", name)

    def lindex(self, name: Arg, index: int) -> Awaitable[bytes | str | None]:
        return self._execute(None, b"LINDEX", name, index)

    # -- server -----------------------------------------------------------------------------
    def ping(self) -> Awaitable[bool]:
        return self._execute(parse_ping, b"PING")

    def info(self, section: str | None = None, *args: str) -> Awaitable[dict[str, Any]]:
        return self._execute(parse_info, b"INFO", *info_args(section, args))

    # -- lifecycle --------------------------------------------------------------------------
    def pipeline(self, transaction: bool = False) -> Pipeline:
        """Commands queued and sent in one write; never MULTI/EXEC (`transaction` must be False)."""
        if transaction:
            raise ValueError("the read-only client has no transactions: use transaction=False")
        return Pipeline(self.connection_pool)

    async def aclose(self) -> None:
        """Close the pool's connections."""
        await self.connection_pool.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class Pipeline:
    """Read commands queued, then sent in one write by `execute` and answered in one round."""

    def __init__(self, connection_pool: ConnectionPool) -> None:
        self.connection_pool = connection_pool
        self._queued: list[tuple[tuple[Arg, ...], Parse | None]] = []

    def _queue(self, parse: Parse | None, *args: Arg) -> Self:
        self._queued.append((args, parse))
        return self

    def __len__(self) -> int:
        return len(self._queued)

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Every reply, in order; an error reply is raised after all are read (or returned)."""
        queued, self._queued = self._queued, []
        if not queued:
            return []
        packed = b"".join([pack(args) for args, _ in queued])
        replies = await self.connection_pool.request(packed, len(queued))
        if len(queued) == 1:
            replies = [replies]
        results: list[Any] = []
        first: tuple[int, redis_errors.RedisError] | None = None
        for number, ((_args, parse), reply) in enumerate(zip(queued, replies, strict=True), 1):
            if type(reply) is hiredis.ReplyError:
                error = reply_error(reply)
                first = first or (number, error)
                results.append(error)
            else:
                results.append(reply if parse is None else parse(reply))
        if first is not None and raise_on_error:
            raise _annotated(*first, queued[first[0] - 1][0])
        return results

    def reset(self) -> None:
        """Forget the queued commands."""
        self._queued = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.reset()

    # -- the same read commands, queued -----------------------------------------------------
    def get(self, name: Arg) -> Self:
        return self._queue(None, b"GET", name)

    def mget(self, keys: Arg | Iterable[Arg], *args: Arg) -> Self:
        return self._queue(None, b"MGET", *keys_and_args(keys, args))

    def exists(self, *names: Arg) -> Self:
        return self._queue(None, b"EXISTS", *names)

    def type(self, name: Arg) -> Self:
        return self._queue(None, b"TYPE", name)

    def ttl(self, name: Arg) -> Self:
        return self._queue(None, b"TTL", name)

    def scan(
        self,
        cursor: int = 0,
        match: Arg | None = None,
        count: int | None = None,
        _type: str | None = None,
    ) -> Self:
        return self._queue(parse_scan, b"SCAN", *scan_args(cursor, match, count, _type))

    def hget(self, name: Arg, key: Arg) -> Self:
        return self._queue(None, b"HGET", name, key)

    def hmget(self, name: Arg, keys: Arg | Iterable[Arg], *args: Arg) -> Self:
        return self._queue(None, b"HMGET", name, *keys_and_args(keys, args))

    def hgetall(self, name: Arg) -> Self:
        return self._queue(pairs, b"HGETALL", name)

    def hlen(self, name: Arg) -> Self:
        return self._queue(None, b"HLEN", name)

    def hexists(self, name: Arg, key: Arg) -> Self:
        return self._queue(bool, b"HEXISTS", name, key)

    def hscan(
        self, name: Arg, cursor: int = 0, match: Arg | None = None, count: int | None = None
    ) -> Self:
        return self._queue(parse_hscan, b"HSCAN", name, *scan_args(cursor, match, count))

    def lrange(self, name: Arg, start: int, end: int) -> Self:
        return self._queue(None, b"LRANGE", name, start, end)

    def llen(self, name: Arg) -> Self:
        return self._queue(None, b"LLEN", name)

    def lindex(self, name: Arg, index: int) -> Self:
        return self._queue(None, b"LINDEX", name, index)

    def ping(self) -> Self:
        return self._queue(parse_ping, b"PING")

    def info(self, section: str | None = None, *args: str) -> Self:
        return self._queue(parse_info, b"INFO", *info_args(section, args))


def _annotated(
    number: int, error: redis_errors.RedisError, args: tuple[Arg, ...]
) -> redis_errors.RedisError:
    """redis-py's wording: which command of the pipeline failed (the server text is kept)."""
    command = " ".join(a.decode(errors="replace") if isinstance(a, bytes) else str(a) for a in args)
    if len(command) > 100:
        command = command[:97] + "..."
    message = f"Command # {number} ({command}) of pipeline caused error: {error.args[0]}"
    error.args = (message, *error.args[1:])
    return error
