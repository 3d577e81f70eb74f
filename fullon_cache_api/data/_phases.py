"""A page of keys of several kinds: one SCAN per kind, run one after the other by one cursor.

Listings such as ``/trades/stats`` show keys of several patterns (``trades:*`` then
``user_trades:*`` then ``TRADE:STATUS:*``). A page holds about `limit` keys in all, taken from
the phases in order; its ``next_cursor`` (kind ``s2``: phase, SCAN cursor) continues within a
phase, or at the start of the next one. The pages together list every key once, by Redis's
SCAN guarantees within each phase.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .._errors import InvalidInput
from ._base import BaseReader, Deadline, Scanned
from ._cursor import decode_cursor, encode_cursor

__all__ = ["PhasedPage", "scan_phases"]

_KIND = "s2"


@dataclass
class PhasedPage:
    """The keys of one page, per phase (phases the page did not reach found nothing)."""

    scans: list[Scanned] = field(default_factory=list)
    next_cursor: str | None = None

    def keys(self, phase: int) -> list[str]:
        """The keys of the wanted type that phase `phase` found."""
        return self.scans[phase].keys

    def wrong_type(self, phase: int) -> list[str]:
        """The keys of another type that phase `phase` found."""
        return self.scans[phase].wrong_type


async def scan_phases(
    reader: BaseReader,
    phases: Sequence[tuple[str, str]],
    cursor: str | None,
    limit: int,
    deadline: Deadline,
) -> PhasedPage:
    """About `limit` keys of `phases` ((pattern, Redis type) each, in order) from `cursor`,
    until the last phase ends or `deadline` is spent (already spent: none, and the cursor of
    this same page)."""
    phase, start = (0, 0) if cursor is None else decode_cursor(cursor, _KIND, tuple[int, int])
    if not 0 <= phase < len(phases):
        raise InvalidInput("cursor is not a next_cursor of this listing (pass it back as given)")
    page = PhasedPage(scans=[Scanned() for _ in phases])
    if deadline.spent():  # nothing scanned: the same page again
        page.next_cursor = encode_cursor(_KIND, phase, start)
        return page
    while True:
        room = limit - sum(len(found.keys) + len(found.wrong_type) for found in page.scans)
        pattern, kind = phases[phase]
        found = await reader.scan_typed(pattern, kind, deadline, start=start, limit=max(room, 1))
        page.scans[phase] = found
        last = phase == len(phases) - 1
        if found.next is not None:
            page.next_cursor = encode_cursor(_KIND, phase, found.next)
            return page
        if last:
            return page
        phase, start = phase + 1, 0
        if deadline.spent() or room - len(found.keys) - len(found.wrong_type) <= 0:
            page.next_cursor = encode_cursor(_KIND, phase, 0)
            return page
