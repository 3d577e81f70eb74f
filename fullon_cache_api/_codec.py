"""Tolerant decoding of what fullon_cache stores, and timestamp normalisation.

fullon_cache writes with Python's ``json.dumps`` defaults, so values may hold the bare tokens
``NaN``/``Infinity`` that strict parsers (msgspec included) reject. We decode with msgspec
first (fast path) and fall back to the stdlib parser only when that fails. NaN survives as a
float and is encoded as ``null`` in responses.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import msgspec

__all__ = ["Undecodable", "decode", "decode_any", "to_datetime", "to_float"]

T = TypeVar("T")

# Epoch values above this are milliseconds (1e11 s is the year 5138).
_MS_THRESHOLD = 1e11


class Undecodable(ValueError):
    """A stored value is not JSON of the expected shape."""


# One decoder per type, built on first use (the types are the code's own: a bounded set). A
# plain dict: on hot paths (a ticker list decodes hundreds of values) its lookup is the cheapest.
_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def decode(raw: bytes | str, type_: type[T]) -> T:
    """Decode stored JSON into `type_`, tolerating NaN/Infinity; raise `Undecodable`."""
    decoder = _DECODERS.get(type_)
    if decoder is None:
        decoder = _DECODERS[type_] = msgspec.json.Decoder(type_)
    try:
        decoded: T = decoder.decode(raw)
        return decoded
    except (msgspec.MsgspecError, RecursionError):
        pass
    try:
        return msgspec.convert(json.loads(raw), type_, strict=False)
    except (ValueError, TypeError, RecursionError, msgspec.MsgspecError) as exc:
        raise Undecodable(str(exc)) from None


def decode_any(raw: bytes | str) -> Any:
    """Decode stored JSON of any shape (NaN tolerated); raise `Undecodable`."""
    return decode(raw, cast(type[Any], Any))


def to_float(value: Any) -> float | None:
    """A stored number as float: ints, floats and numeric strings; anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def to_datetime(value: Any) -> datetime | None:
    """Normalise a stored timestamp (ISO text, epoch s or ms, numeric text) to aware UTC.

    Naive ISO values are taken as UTC, as fullon_cache's own readers do. Values that are not
    a timestamp give None rather than an error: a bad time never hides the rest of an entry.
    """
    if type(value) is float and abs(value) < _MS_THRESHOLD:  # the common case: epoch seconds
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):  # NaN, or outside the platform's range
            return None
    if isinstance(value, str):
        return _from_text(value)
    number = to_float(value)
    if number is None or not math.isfinite(number):
        return None
    return _from_epoch(number)


def _from_text(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        number = to_float(text)
        return None if number is None or not math.isfinite(number) else _from_epoch(number)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _from_epoch(seconds: float) -> datetime | None:
    if abs(seconds) > _MS_THRESHOLD:
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
