"""The bounds every read of the data layer keeps, whatever the size of a key.

- `chunk`: entries per Redis reply. Hashes are read with HSCAN ``COUNT chunk``, lists in LRANGE
  windows of `chunk`, keys with SCAN ``COUNT chunk``, and per-key commands go out `chunk` per
  pipeline; each reply is decoded before the next is asked for, and the event loop serves
  other requests in between.
- `max_value_bytes`: a stored value longer than this is skipped as oversized (a single entry
  answers 502) before anything decodes it.
- `budget`: seconds a read that must go through a whole key (newest orders first, a page of a
  key scan, process listings) may take; past it the answer says what it has (``partial`` or a
  ``next_cursor`` to continue from). 0.9 s: with the reply in flight and the response, such an
  answer comes within a second.
- `socket_timeout`: seconds one Redis reply may take (the client's, from the settings that
  built it); the derived views budget their scans from it.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

import msgspec

from ._codec import Invalid, attempt

__all__ = ["DEFAULT_LIMITS", "ReadLimits"]

T = TypeVar("T")


class ReadLimits(msgspec.Struct, frozen=True, kw_only=True):
    """How much one Redis reply, one stored value and one whole-key read may cost."""

    chunk: Annotated[int, msgspec.Meta(ge=1)] = 1000
    max_value_bytes: Annotated[int, msgspec.Meta(ge=1)] = 1024 * 1024
    budget: Annotated[float, msgspec.Meta(gt=0)] = 0.9
    socket_timeout: Annotated[float, msgspec.Meta(gt=0)] = 5.0

    def oversized(self, raw: bytes | str) -> str | None:
        """Why `raw` is too long to decode, or None when it is not."""
        size = len(raw)
        if size <= self.max_value_bytes:
            return None
        return f"oversized: {size} bytes, above the {self.max_value_bytes}-byte limit"

    def decode(self, raw: bytes | str, type_: type[T]) -> T | Invalid:
        """`raw` decoded into `type_`, or why not (an oversized value is never decoded);
        never raises for a bad value (see `_codec.attempt`)."""
        why = self.oversized(raw)
        return attempt(raw, type_) if why is None else Invalid(why)


DEFAULT_LIMITS = ReadLimits()
