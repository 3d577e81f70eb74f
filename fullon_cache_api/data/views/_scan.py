"""What the derived views share: bounded reads of big hashes and lists, exact money, ages.

Money policy: every amount read from the cache is a float written by ``json.dumps``. A view
turns it into ``Decimal(repr(value))`` -- the shortest text that round-trips, i.e. exactly the
digits the writer stored -- adds and multiplies exactly, and converts the result back to the
nearest float only when answering. ``0.1 + 0.2`` therefore answers ``0.3``, not
``0.30000000000000004``. Arithmetic runs at 60 significant digits, so sums and products of
stored floats are exact; only a division (an inverse rate) is rounded, at that precision.
NaN, Infinity and non-numbers are never summed: the entry is reported as not valued, with
the reason.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from decimal import Context, Decimal
from typing import Any, cast

from ...backend import CacheClient, translate_errors
from .._base import Deadline, text
from .._chunks import HashWalk, checkpoint
from .._codec import to_float
from .._limits import ReadLimits

__all__ = [
    "Deadline",
    "age_of",
    "as_float",
    "exact_div",
    "exact_mul",
    "exact_sum",
    "hash_batches",
    "list_windows",
    "money",
]

# Two 17-digit floats multiply to at most 34 digits; 60 keeps products and long sums exact
# (the default context's 28 would round them).
_EXACT = Context(prec=60)


def money(value: Any) -> Decimal | None:
    """A stored number as the exact Decimal of its shortest repr; NaN, inf and text are None."""
    number = to_float(value)
    if number is None or not math.isfinite(number):
        return None
    return Decimal(repr(number))


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """The exact sum of `values` (0 when empty)."""
    result = Decimal(0)
    for value in values:
        result = _EXACT.add(result, value)
    return result


def exact_mul(left: Decimal, right: Decimal) -> Decimal:
    """The exact product."""
    return _EXACT.multiply(left, right)


def exact_div(left: Decimal, right: Decimal) -> Decimal:
    """The quotient, rounded at 60 significant digits."""
    return _EXACT.divide(left, right)


def as_float(value: Decimal | None) -> float | None:
    """The nearest float of an exact result (how every amount is answered)."""
    return None if value is None else float(value)


def age_of(when: datetime | None, now: float) -> float | None:
    """Seconds from `when` to `now` (epoch seconds), to the millisecond; None when unknown."""
    return None if when is None else round(now - when.timestamp(), 3)


async def hash_batches(
    redis: CacheClient, key: str, limits: ReadLimits, deadline: Deadline | None = None
) -> AsyncIterator[list[tuple[str, bytes | str]]]:
    """The fields of hash `key`, one HSCAN reply (about `chunk` fields) per batch; a hash that
    fits one reply comes whole. With a `deadline`, no further reply is read once it is spent.

    No field names are remembered across replies (a view of a million fields would hold them
    all): Redis repeats a field only while a hash shrinks, and a view counts it twice then.
    """
    async for found in HashWalk(redis, key, limits, deadline=deadline).chunks():
        yield [(text(field), value) for field, value in found.items()]


async def list_windows(
    redis: CacheClient,
    key: str,
    start: int,
    stop: int,
    window: int,
    deadline: Deadline | None = None,
) -> AsyncIterator[list[bytes]]:
    """Elements `start`..`stop` (inclusive, non-negative) of list `key`, `window` at a time.

    With a `deadline`, no further window is read once it is spent.

    LRANGE only: the list is peeked, never popped. A window shorter than asked means the list
    shrank under us (a consumer popped it), and the walk ends there.
    """
    position = start
    while position <= stop:
        if position != start:
            await checkpoint()
        last = min(position + window - 1, stop)
        with translate_errors(key):
            # The gateway's client does not decode responses: elements are bytes.
            page = cast(list[bytes], await redis.lrange(key, position, last))
        if page:
            yield page
        if len(page) < last - position + 1:
            return
        position = last + 1
        if position <= stop and deadline is not None and deadline.spent():
            return
