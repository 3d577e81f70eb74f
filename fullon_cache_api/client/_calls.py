"""Endpoints bound to a client: call them, page through them, open streams.

On `AsyncCacheClient` every call is awaited and ``.pages()`` / ``.items()`` are async
iterators; on `CacheClient` the same names block and iterate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from ._request import Request
from ._stream_aio import AsyncStream
from ._stream_sync import SyncStream

if TYPE_CHECKING:
    from ._session import AsyncSession, Declared, DeclaredList, DeclaredStream, SyncSession

__all__ = [
    "AsyncCall",
    "AsyncListed",
    "AsyncPaged",
    "AsyncStreamCall",
    "SyncCall",
    "SyncListed",
    "SyncPaged",
    "SyncStreamCall",
]

P = ParamSpec("P")
T = TypeVar("T")
I = TypeVar("I")  # noqa: E741
S = TypeVar("S")
U = TypeVar("U")


def _next(page: Any, request: Request[T]) -> Request[T] | None:
    """The request of the page after `page`, or None when it was the last."""
    cursor = getattr(page, "next_cursor", None)
    return None if cursor is None else request.with_cursor(cursor)


class AsyncCall(Generic[P, T]):
    """An endpoint of an `AsyncCacheClient`: ``await client.ticker("binance", "BTC/USDT")``."""

    def __init__(self, client: AsyncSession, endpoint: Declared[P, T]) -> None:
        self.client = client
        self.endpoint = endpoint
        self.__doc__ = endpoint.__doc__
        self.__wrapped__ = endpoint.build

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.client.send(self.endpoint.request(*args, **kwargs))

    def request(self, *args: P.args, **kwargs: P.kwargs) -> Request[T]:
        """The request these arguments make (for `AsyncCacheClient.poll`)."""
        return self.endpoint.request(*args, **kwargs)


class AsyncPaged(AsyncCall[P, T]):
    """A paged endpoint: ``async for page in client.bots.pages(limit=100)``."""

    async def pages(self, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
        """Every page, from the one these arguments name, following ``next_cursor``."""
        request: Request[T] | None = self.endpoint.request(*args, **kwargs)
        while request is not None:
            page = await self.client.send(request)
            yield page
            request = _next(page, request)


class AsyncListed(AsyncPaged[P, T], Generic[P, T, I]):
    """A paged list: ``async for bot in client.bots.items()``."""

    def __init__(self, client: AsyncSession, endpoint: DeclaredList[P, T]) -> None:
        super().__init__(client, endpoint)
        self.field = endpoint.items

    async def items(self, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[I]:
        """Every item of every page."""
        async for page in self.pages(*args, **kwargs):
            for item in getattr(page, self.field):
                yield item


class AsyncStreamCall(Generic[P, S, U]):
    """A stream of an `AsyncCacheClient`: ``async with client.stream_ticker(...) as s``."""

    def __init__(self, client: AsyncSession, endpoint: DeclaredStream[P, S, U]) -> None:
        self.client = client
        self.endpoint = endpoint
        self.__doc__ = endpoint.__doc__
        self.__wrapped__ = endpoint.build

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> AsyncStream[S, U]:
        request = self.endpoint.request(*args, **kwargs)
        return AsyncStream(self.client, request, self.endpoint.update)


class SyncCall(Generic[P, T]):
    """An endpoint of a `CacheClient`: ``client.ticker("binance", "BTC/USDT")``."""

    def __init__(self, client: SyncSession, endpoint: Declared[P, T]) -> None:
        self.client = client
        self.endpoint = endpoint
        self.__doc__ = endpoint.__doc__
        self.__wrapped__ = endpoint.build

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.client.send(self.endpoint.request(*args, **kwargs))

    def request(self, *args: P.args, **kwargs: P.kwargs) -> Request[T]:
        """The request these arguments make (for `CacheClient.poll`)."""
        return self.endpoint.request(*args, **kwargs)


class SyncPaged(SyncCall[P, T]):
    """A paged endpoint: ``for page in client.bots.pages(limit=100)``."""

    def pages(self, *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        """Every page, from the one these arguments name, following ``next_cursor``."""
        request: Request[T] | None = self.endpoint.request(*args, **kwargs)
        while request is not None:
            page = self.client.send(request)
            yield page
            request = _next(page, request)


class SyncListed(SyncPaged[P, T], Generic[P, T, I]):
    """A paged list: ``for bot in client.bots.items()``."""

    def __init__(self, client: SyncSession, endpoint: DeclaredList[P, T]) -> None:
        super().__init__(client, endpoint)
        self.field = endpoint.items

    def items(self, *args: P.args, **kwargs: P.kwargs) -> Iterator[I]:
        """Every item of every page."""
        for page in self.pages(*args, **kwargs):
            yield from getattr(page, self.field)


class SyncStreamCall(Generic[P, S, U]):
    """A stream of a `CacheClient`: ``with client.stream_ticker(...) as s: for e in s``."""

    def __init__(self, client: SyncSession, endpoint: DeclaredStream[P, S, U]) -> None:
        self.client = client
        self.endpoint = endpoint
        self.__doc__ = endpoint.__doc__
        self.__wrapped__ = endpoint.build

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> SyncStream[S, U]:
        request = self.endpoint.request(*args, **kwargs)
        return SyncStream(self.client, request, self.endpoint.update)
