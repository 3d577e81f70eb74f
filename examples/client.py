"""Poll the gateway with httpx: exchanges, one ticker, and OHLCV bars revalidated by ETag.

    python examples/client.py http://127.0.0.1:8000                 # the demo: no credentials
    python examples/client.py http://127.0.0.1:8100/api/v1/cache --token "$JWT"
    python examples/client.py https://gateway.example --api-key "$KEY"

Polling is fine for occasional reads; for live prices prefer the streams (``sse_consumer.py``,
``ws_consumer.py``). When polling, send back the ETag: an unchanged answer is a bodiless 304.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import httpx


def connect(
    base_url: str, *, token: str | None = None, api_key: str | None = None
) -> httpx.AsyncClient:
    """A client for the gateway at `base_url`, authenticated by a JWT or an API key."""
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if api_key:
        headers["X-API-Key"] = api_key
    return httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers, timeout=10.0)


async def tour(http: httpx.AsyncClient) -> dict[str, Any]:
    """Read a few things the way a dashboard would; returns what it saw."""
    exchanges = (await http.get("/tickers")).raise_for_status().json()["exchanges"]
    exchange = exchanges[0]["exchange"]
    listed = (await http.get(f"/tickers/{exchange}")).raise_for_status().json()
    symbol = listed["tickers"][0]["symbol"]  # symbols keep their slash in the path: BTC/USDT
    ticker = (await http.get(f"/tickers/{exchange}/{symbol}")).raise_for_status().json()
    bars_path = "/ohlcv/BTC/USDT/1m"
    bars = (await http.get(bars_path, params={"limit": 5})).raise_for_status()
    # Revalidate: 304 (no body) unless a new bar landed meanwhile.
    again = await http.get(
        bars_path, params={"limit": 5}, headers={"If-None-Match": bars.headers["etag"]}
    )
    return {
        "exchanges": [item["exchange"] for item in exchanges],
        "ticker": ticker,
        "bars": bars.json()["bars"],
        "revalidated": again.status_code,
    }


async def run(base_url: str, token: str | None, api_key: str | None) -> None:
    async with connect(base_url, token=token, api_key=api_key) as http:
        seen = await tour(http)
    ticker = seen["ticker"]
    print("exchanges:", ", ".join(seen["exchanges"]))
    where, age = f"{ticker['exchange']} {ticker['symbol']}", ticker["age_seconds"]
    print(f"{where}: {ticker['price']} ({age} s old)")
    print(f"last bar: {seen['bars'][-1]}  (revalidation answered {seen['revalidated']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument("--token", help="a JWT (Authorization: Bearer)")
    parser.add_argument("--api-key", help="an API key (X-API-Key)")
    args = parser.parse_args()
    asyncio.run(run(args.base_url, args.token, args.api_key))


if __name__ == "__main__":
    main()
