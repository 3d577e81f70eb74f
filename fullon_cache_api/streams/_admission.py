"""Stream admission: how many streams one identity, and the whole process, may hold open.

A stream is an SSE response or one WebSocket subscription (a ``stream_*`` action, whatever
the number of symbols it names). `Admission.admit` hands out a `Ticket` per stream and refuses
past the limits with `TooManyStreams` (SSE: 429 with ``Retry-After``; WebSocket: an error
frame). Whoever holds a ticket closes it on every way out (``finally``); closing twice is
harmless. With authentication off every caller is the same anonymous identity, so only the
process-wide limit applies then.
"""

from __future__ import annotations

from .._errors import TooManyStreams
from ..security import Identity

__all__ = ["Admission", "Ticket"]


class Ticket:
    """One admitted stream; `close` gives its place back (idempotent)."""

    __slots__ = ("_admission", "key")

    def __init__(self, admission: Admission, key: Identity | None) -> None:
        self._admission: Admission | None = admission
        self.key = key

    def close(self) -> None:
        admission, self._admission = self._admission, None
        if admission is not None:
            admission._release(self.key)


class Admission:
    """Counts of open streams, per identity and in all; refuses past `per_identity` / `total`."""

    def __init__(self, *, per_identity: int, total: int) -> None:
        self.per_identity = per_identity
        self.total = total
        self.open = 0
        self.refused = 0  # streams (and sockets) refused so far, for any limit: /metrics
        self._by_identity: dict[Identity, int] = {}

    def refusal(self, identity: Identity | None) -> str | None:
        """Why a new stream of `identity` would be refused; None when it would be admitted."""
        if self.open >= self.total:
            return f"the gateway holds its maximum of {self.total} streams; retry later"
        key = _key(identity)
        if key is not None and self._by_identity.get(key, 0) >= self.per_identity:
            return f"at most {self.per_identity} open streams per identity; close one first"
        return None

    def admit(self, identity: Identity | None) -> Ticket:
        """A ticket for one more stream of `identity`; raises `TooManyStreams` past a limit."""
        refused = self.refusal(identity)
        if refused is not None:
            self.refused += 1
            raise TooManyStreams(refused)
        key = _key(identity)
        self.open += 1
        if key is not None:
            self._by_identity[key] = self._by_identity.get(key, 0) + 1
        return Ticket(self, key)

    def identities(self) -> int:
        """How many identities hold at least one stream."""
        return len(self._by_identity)

    def _release(self, key: Identity | None) -> None:
        self.open -= 1
        if key is not None:
            left = self._by_identity[key] - 1
            if left:
                self._by_identity[key] = left
            else:
                del self._by_identity[key]


def _key(identity: Identity | None) -> Identity | None:
    """The identity streams are counted under; None (not counted) for the anonymous caller
    of a gateway without authentication."""
    if identity is None or identity.source == "anonymous":
        return None
    return identity
