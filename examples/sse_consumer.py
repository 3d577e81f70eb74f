"""Follow a live stream of the gateway with its Python client: typed events, reconnection.

    python examples/sse_consumer.py http://127.0.0.1:8000 binance --limit 10
    python examples/sse_consumer.py http://127.0.0.1:8100/api/v1/cache binance --token "$JWT"

A stream starts with a ``Snapshot``, then yields an ``Update`` per change; ``Status`` says
when the gateway lost or regained Redis (``source="gateway"``) or when this client lost the
gateway and is reconnecting with backoff (``source="client"``; a fresh snapshot follows);
``Close`` is the last event, with the gateway's reason (``shutdown``, ``slow_consumer``,
``token_expired``). Heartbeats are read and skipped.
"""

from __future__ import annotations

import argparse
import asyncio

from fullon_cache_api.client import (
    AsyncCacheClient,
    Close,
    Event,
    Snapshot,
    Status,
    TickerPage,
    Update,
)
from fullon_cache_api.structs.tickers import Ticker

TickerEvent = Event[TickerPage, Ticker]


async def follow(
    base_url: str, exchange: str, *, limit: int, token: str | None = None
) -> list[TickerEvent]:
    """The first `limit` events of the ticker stream of `exchange` (fewer if it closes)."""
    received: list[TickerEvent] = []
    async with (
        AsyncCacheClient(base_url, token=token) as cache,
        cache.stream_tickers(exchange) as stream,  # closes the connection when left early
    ):
        async for event in stream:
            received.append(event)
            if len(received) >= limit:
                break
    return received


def describe(event: TickerEvent) -> str:
    """One line per event."""
    match event:
        case Snapshot(data=TickerPage() as page):
            return f"snapshot: {page.count} tickers of {page.exchange}"
        case Snapshot():
            return "snapshot: nothing cached yet"
        case Update(data=ticker):
            return f"update: {ticker.symbol} {ticker.price}"
        case Status(state=state, detail=detail, source=source):
            return f"status ({source}): {state}, {detail}"
        case Close(reason=reason, detail=detail):
            return f"close: {reason} ({detail})"
    return f"problem: {event}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument("exchange", nargs="?", default="binance")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--token", help="a JWT (Authorization: Bearer)")
    args = parser.parse_args()
    events = asyncio.run(follow(args.base_url, args.exchange, limit=args.limit, token=args.token))
    for event in events:
        print(describe(event)[:160])


if __name__ == "__main__":
    main()
