"""Timing the data layer's reads and counting the entries it skips, for whoever watches (the
app wires in its metrics): the data layer knows its readers, the watcher only gets callbacks.

A read is timed because its method says so (`timed_read`, on each public read of a domain
reader); `instrument_reads` hands each reader its observers. Nothing is patched at run time.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from ._base import BaseReader

__all__ = ["instrument_reads", "timed_read"]

P = ParamSpec("P")
R = TypeVar("R")

# The observer of one operation (``tickers.one``): called with the seconds a read took.
ReadTimer = Callable[[str], Callable[[float], None]]
# The counter of one domain's skipped entries: called with how many a read left out.
SkipCounter = Callable[[str], Callable[[int], object]]
_TIMED: set[int] = set()  # the ids of the methods `timed_read` made (classes keep them alive)


class Timed(Protocol):
    """A reader whose reads may be timed: its observers, by method name."""

    read_timers: Mapping[str, Callable[[float], None]]


T = TypeVar("T", bound=Timed)


def timed_read(
    method: Callable[Concatenate[T, P], Awaitable[R]],
) -> Callable[Concatenate[T, P], Coroutine[Any, Any, R]]:
    """Time each call of a public read with the observer its reader holds under its name."""
    name = method.__name__

    @functools.wraps(method)
    async def timed(self: T, /, *args: P.args, **kwargs: P.kwargs) -> R:
        observe = self.read_timers.get(name)
        if observe is None:
            return await method(self, *args, **kwargs)
        started = time.perf_counter()
        try:
            return await method(self, *args, **kwargs)
        finally:
            observe(time.perf_counter() - started)

    _TIMED.add(id(timed))
    return timed


def instrument_reads(reader: object, time_read: ReadTimer, count_skips: SkipCounter) -> None:
    """Time every public read of `reader`'s domains and count their skipped entries."""
    for domain, part in vars(reader).items():
        if domain != "redis" and not domain.startswith("_"):
            _instrument(domain, part, time_read, count_skips)


def _instrument(domain: str, part: Any, time_read: ReadTimer, count_skips: SkipCounter) -> None:
    """Give the domain's reader its read observers; hook its readers (and composed ones) to
    count skipped entries."""
    names = _timed_reads(type(part))
    if names:
        part.read_timers = {name: time_read(f"{domain}.{name}") for name in names}
    count = count_skips(domain)
    for inner in (part, *getattr(part, "__dict__", {}).values()):
        if isinstance(inner, BaseReader):
            inner.on_skip = count


def _timed_reads(cls: type) -> list[str]:
    """The reads `cls` (and its classes up to BaseReader) mark with `timed_read`, sorted."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass in (BaseReader, object):
            break
        names.update(name for name, value in vars(klass).items() if id(value) in _TIMED)
    return sorted(names)
