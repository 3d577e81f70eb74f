"""`ReadOnlyRedis`, the gateway's own client, and its `Pipeline`: read commands only.

Both take their commands from `_commands.Commands`, where each is spelled once, with
redis-py's names, arguments and reply shapes (``decode_responses=False``) for the subset the
gateway uses, so the data layer runs on either client. There is no write command on purpose:
the gateway cannot write to Redis even by mistake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any, Self

import hiredis
from redis import exceptions as redis_errors

from ._commands import Arg, Commands, Parse
from ._connection import pack, reply_error
from ._pool import ConnectionPool

__all__ = ["Pipeline", "ReadOnlyRedis"]


class ReadOnlyRedis(Commands[Awaitable[Any]]):
    """A read-only Redis client over one `ConnectionPool`, which it owns (`aclose`): each
    read command (`Commands`) is sent at once and its reply awaited."""

    def __init__(self, connection_pool: ConnectionPool) -> None:
        self.connection_pool = connection_pool

    async def _execute(self, parse: Parse | None, *args: Arg) -> Any:
        reply = await self.connection_pool.request(pack(args), 1)
        if type(reply) is hiredis.ReplyError:
            raise reply_error(reply)
        return reply if parse is None else parse(reply)

    _command = _execute

    async def scan_iter(
        self, match: Arg | None = None, count: int | None = None, _type: str | None = None
    ) -> AsyncIterator[bytes | str]:
        """Every key SCAN finds, cursor after cursor (a key may come twice, as with SCAN)."""
        cursor = None
        while cursor != 0:
            cursor, keys = await self.scan(cursor or 0, match=match, count=count, _type=_type)
            for key in keys:
                yield key

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


class Pipeline(Commands["Pipeline"]):
    """Read commands (`Commands`) queued, then sent in one write by `execute` and answered in
    one round."""

    def __init__(self, connection_pool: ConnectionPool) -> None:
        self.connection_pool = connection_pool
        self._queued: list[tuple[tuple[Arg, ...], Parse | None]] = []

    def _queue(self, parse: Parse | None, *args: Arg) -> Pipeline:
        self._queued.append((args, parse))
        return self

    _command = _queue

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
