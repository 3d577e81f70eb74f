"""What bound calls, pages and streams need of the client that owns them and of the endpoint
they stand for, as Protocols: `_calls` and the stream modules then stand below the clients and
`_endpoints` (which satisfy them) instead of importing them back (an import cycle)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, ParamSpec, Protocol, TypeVar

import httpx

from ._config import Reconnect
from ._request import Request

__all__ = ["AsyncSession", "Declared", "DeclaredList", "DeclaredStream", "SyncSession"]

T = TypeVar("T")
P = ParamSpec("P")
U_co = TypeVar("U_co", covariant=True)


class AsyncSession(Protocol):
    """An `AsyncCacheClient`, as its calls and streams see it."""

    http: httpx.AsyncClient
    reconnect: Reconnect | None
    stream_timeout: httpx.Timeout

    @property
    def is_async(self) -> Literal[True]:
        """True: calls are awaited (the descriptors' overloads tell the clients apart)."""

    async def send(self, request: Request[T]) -> T:
        """Send `request` and decode its answer."""


class SyncSession(Protocol):
    """A `CacheClient`, as its calls and streams see it."""

    http: httpx.Client
    reconnect: Reconnect | None
    stream_timeout: httpx.Timeout

    @property
    def is_async(self) -> Literal[False]:
        """False: calls block."""

    def send(self, request: Request[T]) -> T:
        """Send `request` and decode its answer."""


class Declared(Protocol[P, T]):
    """An endpoint as its bound call sees it: the request its arguments make."""

    @property
    def build(self) -> Callable[..., Any]:
        """The function declaring the endpoint's arguments (its signature and help)."""

    def request(self, *args: P.args, **kwargs: P.kwargs) -> Request[T]:
        """The request these arguments make."""


class DeclaredList(Declared[P, T], Protocol[P, T]):
    """A paged endpoint whose pages hold one list, in the field `items`."""

    @property
    def items(self) -> str:
        """The name of the pages' list field."""


class DeclaredStream(Declared[P, T], Protocol[P, T, U_co]):
    """A stream: the request opens it (its answer type is the snapshot's), `update` types
    the events after it."""

    @property
    def update(self) -> type[U_co]:
        """The type of the update events."""
