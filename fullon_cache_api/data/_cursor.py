"""Page cursors: what a list answer's ``next_cursor`` holds, opaque to clients.

A cursor is URL-safe base64 (no padding) of a small JSON array: a kind tag, then the position.
Clients pass it back verbatim as ``?cursor=``; a cursor of another kind (one endpoint's cursor
given to another) or one that does not decode is a 422, before any Redis call.

Kinds and positions:

- ``h`` / ``s``: a Redis HSCAN / SCAN cursor (hashes and key listings, in Redis's order);
- ``s2``: a key listing that runs two SCANs one after the other (phase, SCAN cursor);
- ``k``: a position in a listing sorted by a key (e.g. orders, newest first): the sort key of
  the last entry answered;
- ``l``: a position in a list (trade queues, bars): the head index of the oldest element
  answered and a fingerprint of its bytes, so a list that lost elements at its head since
  (fullon_cache trims bars, consumers pop trades) is followed exactly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any, TypeVar

import msgspec

from .._errors import InvalidInput

__all__ = ["cursor_kind", "decode_cursor", "encode_cursor", "fingerprint"]

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(list[Any]).decode
P = TypeVar("P")


def encode_cursor(kind: str, *position: Any) -> str:
    """The opaque cursor of `position` in a listing of `kind`."""
    return base64.urlsafe_b64encode(_encode([kind, *position])).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, kind: str, position: type[P]) -> P:
    """The `position` (a tuple type) `encode_cursor(kind, ...)` encoded; `InvalidInput` (422)
    for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        found = _decode(base64.urlsafe_b64decode(padded.encode("ascii")))
        if found and found[0] == kind:
            return msgspec.convert(found[1:], position)
    except (binascii.Error, ValueError, msgspec.MsgspecError):
        pass
    raise InvalidInput("cursor is not a next_cursor of this listing (pass it back as it was given)")


def cursor_kind(cursor: str) -> str | None:
    """The kind tag of `cursor` (None when it does not decode): which listing phase it
    continues, for a listing whose pages have several kinds."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        found = _decode(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, ValueError, msgspec.MsgspecError):
        return None
    return found[0] if found and isinstance(found[0], str) else None


def fingerprint(raw: bytes | str) -> str:
    """A short digest of a stored element (how a list cursor recognises its element)."""
    data = raw.encode() if isinstance(raw, str) else raw
    return hashlib.blake2b(data, digest_size=8).hexdigest()
