"""Endpoints declared once, bound to either client: ``client.ticker(...)`` is awaited on
`AsyncCacheClient` and called on `CacheClient`.

An endpoint is a route template, the Struct its 200 answer decodes to, and a builder that
names the arguments (`get`). Read from a client instance it becomes a bound call
(`_calls`); paged endpoints (`paged`, `listed`) add ``.pages(...)`` and ``.items(...)``,
which follow ``next_cursor``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from ._calls import (
    AsyncCall,
    AsyncListed,
    AsyncPaged,
    AsyncStreamCall,
    SyncCall,
    SyncListed,
    SyncPaged,
    SyncStreamCall,
)
from ._request import Params, Request, build_request

if TYPE_CHECKING:
    from ._session import AsyncSession, SyncSession

__all__ = ["Endpoint", "Listed", "Paged", "StreamEndpoint", "get", "listed", "paged", "stream"]

P = ParamSpec("P")
T = TypeVar("T")
I = TypeVar("I")  # noqa: E741  # an item of a listed page
S = TypeVar("S")
U = TypeVar("U")


class Endpoint(Generic[P, T]):
    """A GET route: its template, its answer's type, and the builder of its arguments."""

    def __init__(self, path: str, response: type[T], build: Callable[P, Params]) -> None:
        self.path = path
        self.response = response
        self.build = build
        self.name = build.__name__
        self.__doc__ = build.__doc__
        self.__wrapped__ = build  # inspect.signature and help() show the builder's

    def request(self, *args: P.args, **kwargs: P.kwargs) -> Request[T]:
        """The request these arguments make."""
        return build_request(self.path, self.response, self.build(*args, **kwargs))

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Endpoint[P, T]: ...
    @overload
    def __get__(self, client: AsyncSession, owner: type[Any]) -> AsyncCall[P, T]: ...
    @overload
    def __get__(self, client: SyncSession, owner: type[Any]) -> SyncCall[P, T]: ...
    def __get__(self, client: Any, owner: type[Any]) -> Any:
        if client is None:
            return self
        return (AsyncCall if client.is_async else SyncCall)(client, self)


class Paged(Endpoint[P, T]):
    """An endpoint answering pages (``next_cursor``, passed back as ``cursor``)."""

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Paged[P, T]: ...
    @overload
    def __get__(self, client: AsyncSession, owner: type[Any]) -> AsyncPaged[P, T]: ...
    @overload
    def __get__(self, client: SyncSession, owner: type[Any]) -> SyncPaged[P, T]: ...
    def __get__(self, client: Any, owner: type[Any]) -> Any:
        if client is None:
            return self
        return (AsyncPaged if client.is_async else SyncPaged)(client, self)


class Listed(Paged[P, T], Generic[P, T, I]):
    """A paged endpoint whose pages hold one list of items, in the field `items`."""

    def __init__(
        self, path: str, response: type[T], build: Callable[P, Params], items: str, item: type[I]
    ) -> None:
        super().__init__(path, response, build)
        self.items = items
        self.item = item

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Listed[P, T, I]: ...
    @overload
    def __get__(self, client: AsyncSession, owner: type[Any]) -> AsyncListed[P, T, I]: ...
    @overload
    def __get__(self, client: SyncSession, owner: type[Any]) -> SyncListed[P, T, I]: ...
    def __get__(self, client: Any, owner: type[Any]) -> Any:
        if client is None:
            return self
        return (AsyncListed if client.is_async else SyncListed)(client, self)


class StreamEndpoint(Generic[P, S, U]):
    """A Server-Sent Events route: a `snapshot` of type S, then `update` events of type U."""

    def __init__(
        self, path: str, snapshot: type[S], update: type[U], build: Callable[P, Params]
    ) -> None:
        self.path = path
        self.snapshot = snapshot
        self.update = update
        self.build = build
        self.name = build.__name__
        self.__doc__ = build.__doc__
        self.__wrapped__ = build

    def request(self, *args: P.args, **kwargs: P.kwargs) -> Request[S]:
        """The request that opens the stream (its `response` is the snapshot's type)."""
        return build_request(self.path, self.snapshot, self.build(*args, **kwargs))

    @overload
    def __get__(self, client: None, owner: type[Any]) -> StreamEndpoint[P, S, U]: ...
    @overload
    def __get__(self, client: AsyncSession, owner: type[Any]) -> AsyncStreamCall[P, S, U]: ...
    @overload
    def __get__(self, client: SyncSession, owner: type[Any]) -> SyncStreamCall[P, S, U]: ...
    def __get__(self, client: Any, owner: type[Any]) -> Any:
        if client is None:
            return self
        return (AsyncStreamCall if client.is_async else SyncStreamCall)(client, self)


def get(path: str, response: type[T]) -> Callable[[Callable[P, Params]], Endpoint[P, T]]:
    """Declare a GET endpoint; the decorated function names its arguments."""
    return lambda build: Endpoint(path, response, build)


def paged(path: str, response: type[T]) -> Callable[[Callable[P, Params]], Paged[P, T]]:
    """Declare a paged endpoint whose pages hold several lists (``.pages()`` only)."""
    return lambda build: Paged(path, response, build)


def listed(
    path: str, response: type[T], items: str, item: type[I]
) -> Callable[[Callable[P, Params]], Listed[P, T, I]]:
    """Declare a paged endpoint whose pages hold the list `items` of `item`s."""
    return lambda build: Listed(path, response, build, items, item)


def stream(
    path: str, snapshot: type[S], update: type[U]
) -> Callable[[Callable[P, Params]], StreamEndpoint[P, S, U]]:
    """Declare a Server-Sent Events endpoint."""
    return lambda build: StreamEndpoint(path, snapshot, update, build)
