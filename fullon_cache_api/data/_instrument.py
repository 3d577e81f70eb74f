"""Timing the data layer's reads and counting the entries it skips, for whoever watches (the
app wires in its metrics): the data layer knows its readers, the watcher only gets callbacks."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ._base import BaseReader

__all__ = ["instrument_reads"]

# The observer of one operation (``tickers.one``): called with the seconds a read took.
ReadTimer = Callable[[str], Callable[[float], None]]
# The counter of one domain's skipped entries: called with how many a read left out.
SkipCounter = Callable[[str], Callable[[int], object]]


def instrument_reads(reader: object, time_read: ReadTimer, count_skips: SkipCounter) -> None:
    """Time every public read of `reader`'s domains and count their skipped entries."""
    for domain, part in vars(reader).items():
        if domain != "redis" and not domain.startswith("_"):
            _instrument(domain, part, time_read, count_skips)


def _instrument(domain: str, part: Any, time_read: ReadTimer, count_skips: SkipCounter) -> None:
    """Wrap the domain's public read methods; hook its readers (and composed ones) to count
    skipped entries."""
    for name in _own_methods(type(part)):
        setattr(part, name, _timed(getattr(part, name), time_read(f"{domain}.{name}")))
    count = count_skips(domain)
    for inner in (part, *getattr(part, "__dict__", {}).values()):
        if isinstance(inner, BaseReader):
            inner.on_skip = count


def _own_methods(cls: type) -> list[str]:
    """Public coroutine methods a domain reader defines (BaseReader's helpers excluded)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass in (BaseReader, object):
            break
        names.update(
            name
            for name, value in vars(klass).items()
            if not name.startswith("_") and inspect.iscoroutinefunction(value)
        )
    return sorted(names)


def _timed(
    method: Callable[..., Awaitable[Any]], observe: Callable[[float], None]
) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await method(*args, **kwargs)
        finally:
            observe(time.perf_counter() - started)

    return timed
