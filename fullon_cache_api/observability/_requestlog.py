"""The request log's fast lane: one line per request for about a microsecond.

Through `logging`, one request line cost more than the request itself (about 100 µs of a
~70 µs request under `serve`): a `LogRecord` with its caller lookup, a copy for the queue, a
wake-up of the writer thread per record (the two threads ping-ponging the GIL), a formatter
and a filter per record, and one ``write`` plus ``flush`` per line.

While the standalone server's logging is configured (`_logconfig.configure_logging`, used by
``serve`` and ``demo`` only), the gateway hands each request to the `RequestLane` instead. The
lane writes the line at once, as the text or JSON formatter would write the same record, from
parts it keeps: what repeats from one request to the next (logger, operation, route, the
parameters, already redacted and JSON-escaped) is formatted once, so a request costs one
f-string and a deque append. The writer thread takes what has accumulated every
`FLUSH_SECONDS` (or when it wakes for another record) and writes it with one ``write`` per
handler. (Formatting there instead costs more: the entries it would read are cold in another
core's cache.)

Secrets: a path parameter is whatever the client sent, so the parts holding parameters go
through `_redact.redact` when they look suspect, as `RedactSecrets` would rewrite the record.

Without that configuration (a host's logging, pytest's caplog) requests are logged through
`logging` as before: the lane is a fast path for the server we run, not a second API.
"""

from __future__ import annotations

import collections
import functools
import logging
import time
from typing import Any, Literal

import msgspec
from starlette.types import Scope

from ..security import redact, suspect
from ._route_names import ROUTE_SCOPE_KEY, route_template

__all__ = ["FLUSH_SECONDS", "RequestLane", "active_lane", "install", "log_request", "uninstall"]

FLUSH_SECONDS = 0.05  # how late a request line may be written, at most (and the batch size)
_MAX_LOGGED_VALUE = 100  # characters of a path parameter logged


class RequestLane:
    """Request log lines waiting for the writer thread, in the text or JSON format.

    `add` runs in the event loop and `take` in the writer thread: a deque's ``append`` and
    ``popleft`` are atomic, so neither needs a lock and no line is lost between them.
    """

    __slots__ = ("_json", "_lines", "_parts", "_second", "_time")

    def __init__(self, kind: Literal["text", "json"]) -> None:
        self._lines: collections.deque[str] = collections.deque()
        self._parts: dict[tuple[Any, ...], _Parts] = {}
        self._json = kind == "json"
        # logging.Formatter's asctime (local, ",mmm"), JsonFormatter's time (UTC ISO, ".mmm")
        self._time = (time.gmtime, "%Y-%m-%dT%H:%M:%S.") if self._json else _LOCAL
        self._second = (-1, "")  # (second, its text): one strftime a second, not a line

    def add(
        self,
        name: str,
        endpoint: Any,
        route: str,
        path_params: dict[str, Any] | None,
        status: int,
        latency_ms: float,
    ) -> None:
        """Log one request on logger `name` (the fields `log_request` logs;
        `route` is the route's template, which names the parameters)."""
        try:
            key = (endpoint, route, *(path_params.values() if path_params else ()))
            parts = self._parts.get(key)
        except TypeError:  # a parameter that cannot be a key: its parts are made each time
            key, parts = None, None
        if parts is None:
            parts = self._keep(key, _parts(name, endpoint, route, path_params))
        millis = int(_now() * 1000)
        whole, fraction = divmod(millis, 1000)
        second = self._second
        if second[0] != whole:
            convert, fmt = self._time
            second = self._second = (whole, time.strftime(fmt, convert(whole)))
        if self._json:
            hit = "true" if 200 <= status < 300 or status == 304 else "false"
            line = (
                f'{{"time":"{second[1]}{_MILLIS[fraction]}+00:00",{parts[1]} -> {status} in '
                f'{latency_ms:.2f} ms",{parts[2]}{latency_ms:.3f},"cache_hit":{hit},'
                f'"status":{status}}}\n'
            )
        else:
            line = (
                f"{second[1]}{_MILLIS[fraction]} INFO    {parts[0]} -> {status} in "
                f"{latency_ms:.2f} ms\n"
            )
        self._lines.append(line)

    def take(self) -> str:
        """Every line queued so far, oldest first, as one text."""
        lines = self._lines
        return "".join([lines.popleft() for _ in range(len(lines))])

    def _keep(self, key: tuple[Any, ...] | None, parts: _Parts) -> _Parts:
        if key is not None:
            if len(self._parts) >= _KEPT_PARTS:  # bounded, whatever paths clients send
                self._parts.clear()
            self._parts[key] = parts
        return parts


_lane: RequestLane | None = None


def active_lane() -> RequestLane | None:
    """The lane request lines go to, or None: then they are logged through `logging`."""
    return _lane


def install(lane: RequestLane) -> None:
    """Send request lines to `lane` (the standalone server's logging does)."""
    global _lane
    _lane = lane


def uninstall(lane: RequestLane) -> None:
    """Stop sending request lines to `lane` (if it is still the active one)."""
    global _lane
    if _lane is lane:
        _lane = None


_encode = msgspec.json.encode
_now = time.time
_LOCAL = (time.localtime, "%Y-%m-%d %H:%M:%S,")
_MILLIS = tuple(f"{n:03d}" for n in range(1000))
_KEPT_PARTS = 4096  # distinct (endpoint, route, parameters) kept formatted
# What repeats in one request's line: the text line's middle, the JSON line's (see `_parts`).
_Parts = tuple[str, str, str]


def _message(endpoint: Any, path_params: dict[str, Any] | None) -> tuple[str, dict[str, str]]:
    """The start of the message (``operation {params}``) and the parameters as logged,
    credentials redacted."""
    operation = getattr(endpoint, "__name__", "unrouted")
    params = {key: str(value)[:_MAX_LOGGED_VALUE] for key, value in (path_params or {}).items()}
    head = f"{operation} {params!r}"
    if suspect(head):  # parameters are what a client chose: they could hold anything
        head = redact(head)
        params = {key: redact(value) for key, value in params.items()}
    return head, params


def _parts(name: str, endpoint: Any, route: str, path_params: dict[str, Any] | None) -> _Parts:
    """The parts of a line that do not change between two requests with the same logger,
    endpoint, route and parameters: the text line up to its status; the JSON line from the
    level up to the message's variable end, and from the operation up to ``latency_ms``'s
    value."""
    head, params = _message(endpoint, path_params)
    start = f'"level":"INFO","logger":{_string(name)},"message":{_string(head)[:-1]}'
    fields = {
        "operation": getattr(endpoint, "__name__", "unrouted"),
        "route": route,
        "params": params,
    }
    middle = _encode(fields).decode()[1:-1] + ',"latency_ms":'
    return f"{name}: {head}", start, middle


def _string(text: str) -> str:
    return _encode(text).decode()


@functools.lru_cache(maxsize=256)
def _logger(module: str) -> logging.Logger:
    """The logger of an endpoint's module: ``fullon.api.cache.{domain}`` (``http`` if not
    one of our route modules); cached, since `logging.getLogger` takes a lock."""
    domain = module.rsplit(".", 1)[-1] if module.startswith("fullon_cache_api.routes") else "http"
    return logging.getLogger(f"fullon.api.cache.{domain}")


def log_request(scope: Scope, status: int, latency_ms: float) -> None:
    """Log operation, path parameters, latency_ms, cache_hit and status of one request.

    Records go to ``fullon.api.cache.{domain}`` as ``extra`` fields; they are built only
    when that logger is enabled for INFO. Under the standalone server's logging the fields
    go to the request lane instead (`_requestlog`), written in batches. Query
    strings are never logged (they may carry tokens).
    """
    endpoint: Any = scope.get("endpoint")
    logger = _logger(getattr(endpoint, "__module__", "") or "")
    if not logger.isEnabledFor(logging.INFO):
        return
    lane = active_lane()
    if lane is not None:
        template = getattr(scope.get(ROUTE_SCOPE_KEY), "path", None) or "unrouted"
        lane.add(logger.name, endpoint, template, scope.get("path_params"), status, latency_ms)
        return
    operation = getattr(endpoint, "__name__", "unrouted")
    params = {
        name: str(value)[:_MAX_LOGGED_VALUE] for name, value in scope.get("path_params", {}).items()
    }
    logger.info(
        "%s %s -> %d in %.2f ms",
        operation,
        params,
        status,
        latency_ms,
        extra={
            "operation": operation,
            "route": route_template(scope),
            "params": params,
            "latency_ms": round(latency_ms, 3),
            "cache_hit": 200 <= status < 300 or status == 304,
            "status": status,
        },
    )
