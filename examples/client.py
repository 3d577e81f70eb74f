"""Read the gateway with its Python client: exchanges, one ticker, and OHLCV bars revalidated
by ETag.

    python examples/client.py http://127.0.0.1:8000                 # the demo: no credentials
    python examples/client.py http://127.0.0.1:8100/api/v1/cache --token "$JWT"
    python examples/client.py https://gateway.example --api-key "$KEY" --follow

Every method answers the gateway's own msgspec Structs (``Ticker``, ``BarPage``...); a problem
raises a ``CacheApiError`` (``NotFound``, ``Unauthorized``...). Polling is fine for occasional
reads: ``poll`` sends the ETag back, so an unchanged answer is a bodiless 304 and yields
nothing. For live prices prefer the streams (``sse_consumer.py``).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from fullon_cache_api.client import AsyncCacheClient, Retry

BARS = ("BTC/USDT", "1m")


def connect(
    base_url: str, *, token: str | None = None, api_key: str | None = None
) -> AsyncCacheClient:
    """A client for the gateway at `base_url` (its root, or a host's mount), authenticated by
    a JWT or an API key, retrying 429 and 503 answers twice."""
    return AsyncCacheClient(base_url, token=token, api_key=api_key, retry=Retry(attempts=3))


async def tour(cache: AsyncCacheClient) -> dict[str, Any]:
    """Read a few things the way a dashboard would; returns what it saw."""
    exchanges = [item.exchange async for item in cache.exchanges.items()]  # every page
    listed = await cache.tickers(exchanges[0])
    first = listed.tickers[0]  # a Ticker Struct; symbols keep their slash: BTC/USDT
    ticker = await cache.ticker(first.exchange, first.symbol)
    request = cache.ohlcv.request(*BARS, limit=5)
    response, body = await cache.fetch(request)
    bars = request.decode(body)
    # Revalidate: 304 (no body) unless a new bar landed meanwhile.
    again, _ = await cache.fetch(request, {"If-None-Match": response.headers["etag"]})
    return {
        "exchanges": exchanges,
        "ticker": ticker,
        "bars": bars.bars,
        "revalidated": again.status_code,
    }


async def follow(cache: AsyncCacheClient, changes: int) -> None:
    """Print the newest bar each time the series changes (asked every second)."""
    request = cache.ohlcv.request(*BARS, limit=1)
    seen = 0
    async for bars in cache.poll(request, interval=1.0):
        print("bar:", bars.bars[-1])
        seen += 1
        if seen >= changes:
            return


async def run(args: argparse.Namespace) -> None:
    async with connect(args.base_url, token=args.token, api_key=args.api_key) as cache:
        seen = await tour(cache)
        ticker = seen["ticker"]
        print("exchanges:", ", ".join(seen["exchanges"]))
        print(f"{ticker.exchange} {ticker.symbol}: {ticker.price} ({ticker.age_seconds} s old)")
        print(f"last bar: {seen['bars'][-1]}  (revalidation answered {seen['revalidated']})")
        if args.follow:
            await follow(cache, changes=3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument("--token", help="a JWT (Authorization: Bearer)")
    parser.add_argument("--api-key", help="an API key (X-API-Key)")
    parser.add_argument("--follow", action="store_true", help="then poll the bars for changes")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
