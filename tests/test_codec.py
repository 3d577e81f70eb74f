"""Tolerant decoding and timestamp normalisation (`fullon_cache_api.data._codec`)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from fullon_cache_api.data._codec import Undecodable, decode, decode_any, to_datetime

AT = datetime(2024, 6, 5, 10, 40, 0, 250000, tzinfo=UTC)


class Point(msgspec.Struct):
    """A small target type."""

    x: float | None = None


@pytest.mark.parametrize(
    "value",
    [
        1717584000.25,
        1717584000250.0,
        1717584000250,
        "1717584000.25",
        "1717584000250",
        "2024-06-05T10:40:00.250Z",
        "2024-06-05T12:40:00.250+02:00",
        " 2024-06-05T10:40:00.250 ",
    ],
)
def test_timestamps_normalise_to_utc(value: Any) -> None:
    """Epoch seconds or ms (number or text) and ISO text (naive is UTC) give one aware time."""
    assert to_datetime(value) == AT
    assert to_datetime(value).tzinfo is UTC  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, 1e300, -1e300, "yesterday", "", None, True, [1], {"t": 1}],
)
def test_non_timestamps_give_none(value: Any) -> None:
    """Non-finite, out of range and non-time values give None, never an error."""
    assert to_datetime(value) is None


def test_epoch_zero_and_negative_seconds() -> None:
    """Small and negative epoch seconds are seconds (only beyond 1e11 are they ms)."""
    assert to_datetime(0.0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert to_datetime(-86400.0) == datetime(1969, 12, 31, tzinfo=UTC)
    assert to_datetime(99_999_999_999.0) == datetime.fromtimestamp(99_999_999_999, UTC)


def test_decode_tolerates_python_json_tokens() -> None:
    """NaN and Infinity, which json.dumps writes, decode (strict JSON decodes on the fast path)."""
    assert decode(b'{"x": 1.5}', Point) == Point(x=1.5)
    assert math.isnan(decode(b'{"x": NaN}', Point).x)  # type: ignore[arg-type]
    assert decode(b'{"x": -Infinity}', Point).x == -math.inf
    assert decode_any(b"[NaN, 2]")[1] == 2


@pytest.mark.parametrize("raw", [b"", b"{", b'{"x": "text"}', b"[" * 100_000, b"\xff"])
def test_undecodable_values_raise_one_error(raw: bytes) -> None:
    """Bad JSON, the wrong shape and nesting past the parser's depth all raise Undecodable."""
    with pytest.raises(Undecodable):
        decode(raw, Point)
