"""Page sizes of every list the data layer answers: a default and a maximum each.

A page is one answer; the rest is fetched with the page's ``next_cursor``. The sizes bound an
answer's bytes (a ticker is ~190 bytes encoded, an order ~700, a trade ~350, a bar ~60, a bot
or balances document up to a few KB), so no answer is megabytes unless a client asks for a page
that large. The routes document them as the ``limit`` parameter of each list.
"""

from __future__ import annotations

from ..http import Bound

__all__ = [
    "BAR_PAGE",
    "DOCUMENT_PAGE",
    "ENTRY_PAGE",
    "KEY_PAGE",
    "ORDER_PAGE",
    "PROCESS_PAGE",
    "TRADE_PAGE",
]

# Keys found by a SCAN listing (`/tickers`, `/orders`, `/ohlcv`, `/trades`, ...).
KEY_PAGE = Bound(default=1000, minimum=1, maximum=10000)
# Small hash entries: tickers, blocks, opening-position marks.
ENTRY_PAGE = Bound(default=1000, minimum=1, maximum=10000)
# Documents that may be large: balances, positions (counted per account), bot status.
DOCUMENT_PAGE = Bound(default=100, minimum=1, maximum=1000)
# Orders of one key, newest first (the heap of a top-k read holds at most the maximum).
ORDER_PAGE = Bound(default=1000, minimum=1, maximum=10000)
# The newest trades of a queue, and the newest bars of a series (fullon_cache keeps 10000).
TRADE_PAGE = Bound(default=100, minimum=1, maximum=10000)
BAR_PAGE = Bound(default=100, minimum=1, maximum=10000)
# Processes, newest update first.
PROCESS_PAGE = Bound(default=1000, minimum=1, maximum=10000)
