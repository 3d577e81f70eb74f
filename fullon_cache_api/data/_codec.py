"""Tolerant decoding of what fullon_cache stores, and timestamp normalisation.

fullon_cache writes with Python's ``json.dumps`` defaults, so values may hold the bare tokens
``NaN``/``Infinity`` that strict parsers (msgspec included) reject. We decode with msgspec
first (fast path) and fall back to the stdlib parser only when the value holds such a token.
NaN survives as a float and is encoded as ``null`` in responses.

Lists of thousands of entries are decoded with `attempt`, which returns an `Invalid` instead
of raising: a corrupt entry costs about what a valid one costs (a value that cannot be JSON of
the expected kind is refused from its first and last byte, without a parse), and no exception
-- whose traceback would keep the frames holding the raw bytes alive -- outlives the call.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import msgspec

__all__ = ["Invalid", "Undecodable", "attempt", "decode", "decode_any", "to_datetime", "to_float"]

T = TypeVar("T")

# Epoch values above this are milliseconds (1e11 s is the year 5138).
_MS_THRESHOLD = 1e11


class Undecodable(ValueError):
    """A stored value is not JSON of the expected shape."""


class Invalid:
    """Why a stored value could not be decoded (what `attempt` returns instead of raising)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Invalid({self.reason!r})"


class _Decoder:
    """A msgspec decoder for one type, and the byte its JSON must start and end with."""

    __slots__ = ("close", "decode", "kind", "open")

    def __init__(self, type_: Any) -> None:
        self.decode = msgspec.json.Decoder(type_).decode
        info = msgspec.inspect.type_info(type_)
        self.kind, self.open, self.close = "value", -1, -1
        if isinstance(info, msgspec.inspect.StructType | msgspec.inspect.DictType):
            self.kind, self.open, self.close = "object", ord("{"), ord("}")
        elif isinstance(info, msgspec.inspect.ListType):
            self.kind, self.open, self.close = "array", ord("["), ord("]")


# One decoder per type, built on first use (the types are the code's own: a bounded set). A
# plain dict: on hot paths (a ticker list decodes hundreds of values) its lookup is the cheapest.
_DECODERS: dict[Any, _Decoder] = {}
# The only malformed JSON fullon_cache writes: json.dumps's bare non-finite floats.
_NON_FINITE = (b"NaN", b"Infinity")
# JSON whitespace, as bytes values (a value may be padded with it).
_BLANK = frozenset(b" \t\n\r")


def attempt(raw: bytes | str, type_: type[T]) -> T | Invalid:
    """Decode stored JSON into `type_`, tolerating NaN/Infinity; `Invalid` when it is not.

    Never raises for a bad value: the exceptions msgspec raises are caught here and dropped.
    """
    decoder = _DECODERS.get(type_)
    if decoder is None:
        decoder = _DECODERS[type_] = _Decoder(type_)
    data = raw.encode() if type(raw) is str else cast(bytes, raw)
    opener = decoder.open
    if opener >= 0 and (
        not data
        or (data[0] != opener and data[0] not in _BLANK)
        or (data[-1] != decoder.close and data[-1] not in _BLANK)
    ):
        return Invalid(f"not a JSON {decoder.kind}")
    try:
        decoded: T = decoder.decode(data)
        return decoded
    except msgspec.ValidationError:
        # Valid JSON of the wrong types: convert leniently (a number written as text).
        return _converted(data, type_, lenient=False)
    except msgspec.DecodeError as exc:
        if not any(token in data for token in _NON_FINITE):
            return Invalid(str(exc))
    except RecursionError:
        return Invalid("JSON nested too deeply")
    return _converted(data, type_, lenient=True)


def _converted(data: bytes, type_: type[T], *, lenient: bool) -> T | Invalid:
    """`data` parsed untyped (the stdlib parser when `lenient`: it takes NaN), then converted
    to `type_` with strings accepted as numbers."""
    try:
        value = json.loads(data) if lenient else msgspec.json.decode(data)
        converted: T = msgspec.convert(value, type_, strict=False)
        return converted
    except (ValueError, TypeError, RecursionError, msgspec.MsgspecError) as exc:
        return Invalid(str(exc))


def decode(raw: bytes | str, type_: type[T]) -> T:
    """Decode stored JSON into `type_`, tolerating NaN/Infinity; raise `Undecodable`."""
    found = attempt(raw, type_)
    if isinstance(found, Invalid):
        raise Undecodable(found.reason)
    return found


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
