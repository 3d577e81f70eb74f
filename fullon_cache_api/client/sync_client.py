"""`CacheClient`: the gateway over httpx, blocking (scripts, notebooks, threads)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import TracebackType
from typing import Literal, TypeVar

import httpx

from ._config import Reconnect, Retry, client_options, stream_timeout
from ._market import MarketEndpoints
from ._polling import Revalidation
from ._private import PrivateEndpoints
from ._request import Request
from ._streams import StreamEndpoints
from .errors import Timeout, Unreachable, error_from_response

__all__ = ["CacheClient"]

T = TypeVar("T")


class CacheClient(MarketEndpoints, PrivateEndpoints, StreamEndpoints):
    """A typed client of the gateway: ``with CacheClient(url, api_key=...) as c``.

    `base_url` is the gateway's root, standalone (``http://host:8000``) or under a host's
    mount (``http://host/api/v1/cache``). `token` (a JWT, sent as ``Authorization: Bearer``)
    or `api_key` (``X-API-Key``). `timeout`: seconds (or an `httpx.Timeout`) per call;
    `stream_read_timeout`: how long a stream may stay silent (it carries heartbeats) before
    it reconnects. `transport`: any httpx transport (``httpx.HTTPTransport(retries=2)``...;
    to call an app in-process, use `AsyncCacheClient` with ``httpx.ASGITransport``).
    `retry`: opt-in retry of 429 and 503 answers; `reconnect`: how streams reconnect (None:
    a dropped stream raises). One connection pool is reused by every call; close the client
    (or leave the ``with``) to release it.
    """

    is_async: Literal[False] = False

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        token: str | None = None,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = 10.0,
        stream_read_timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        retry: Retry | None = None,
        reconnect: Reconnect | None = Reconnect(),  # noqa: B008  # frozen: safe to share
        headers: dict[str, str] | None = None,
    ) -> None:
        options = client_options(
            base_url, token=token, api_key=api_key, timeout=timeout, headers=headers
        )
        self.http = httpx.Client(**options, transport=transport)
        self.retry = retry
        self.reconnect = reconnect
        self.stream_timeout = stream_timeout(timeout, stream_read_timeout)

    def __enter__(self) -> CacheClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def send(self, request: Request[T]) -> T:
        """Send `request` and decode its answer (an error answer raises `CacheApiError`)."""
        _, body = self.fetch(request)
        return request.decode(body)

    def fetch(
        self, request: Request[T], headers: dict[str, str] | None = None
    ) -> tuple[httpx.Response, bytes]:
        """The answer to `request` (a 304 included), retried as `retry` allows; an error
        answer raises `CacheApiError`."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.http.get(request.path, params=request.params, headers=headers)
            except httpx.TimeoutException as exc:
                raise Timeout(f"no answer within the client's timeout ({exc!r})") from exc
            except httpx.TransportError as exc:
                raise Unreachable(f"the gateway could not be reached ({exc!r})") from exc
            if response.status_code < 400:
                return response, response.content
            error = error_from_response(response, response.content)
            retry = self.retry
            if retry is None or error.status not in retry.statuses or attempt >= retry.attempts:
                raise error
            time.sleep(retry.wait(attempt, error.retry_after))

    def poll(self, request: Request[T], *, interval: float = 1.0) -> Iterator[T]:
        """The answer to `request` now, then each time it changes, asked every `interval`
        seconds with ``If-None-Match`` (an unchanged answer is a bodiless 304, not yielded).
        ``client.poll(client.ticker.request("binance", "BTC/USDT"))``."""
        seen = Revalidation()
        while True:
            response, body = self.fetch(request, seen.headers())
            if seen.changed(response, body):
                yield request.decode(body)
            time.sleep(interval)
