"""Follow a Server-Sent Events stream of the gateway with plain httpx (no SSE library needed).

    python examples/sse_consumer.py http://127.0.0.1:8000 binance --limit 10
    python examples/sse_consumer.py http://127.0.0.1:8100/api/v1/cache binance --token "$JWT"

Streams start with a ``snapshot`` event, then send ``update`` events as fullon_cache publishes
them; ``status`` events say when the gateway lost or regained Redis, and ``close`` is the last
event. Lines starting with ``:`` are heartbeats. Browsers' EventSource cannot send headers: it
passes credentials as ``?token=`` instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class ServerSentEvent:
    """One event: its type (``message`` when unnamed), its data, and its id if any."""

    event: str
    data: str
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


async def events(http: httpx.AsyncClient, path: str) -> AsyncIterator[ServerSentEvent]:
    """The events of the stream at `path`, as they arrive, until the server ends it."""
    headers = {"Accept": "text/event-stream"}
    async with http.stream("GET", path, headers=headers) as response:
        response.raise_for_status()
        event, event_id = "message", None
        data: list[str] = []
        async for line in response.aiter_lines():
            if not line:  # a blank line ends an event
                if data:
                    yield ServerSentEvent(event, "\n".join(data), event_id)
                event, data = "message", []
                continue
            if line.startswith(":"):  # comment: the heartbeat that keeps proxies open
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                event_id = value


async def follow(
    base_url: str, exchange: str, *, limit: int, token: str | None = None
) -> list[ServerSentEvent]:
    """The first `limit` events of the ticker stream of `exchange`."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = httpx.Timeout(10.0, read=60.0)  # longer than the heartbeat interval
    received: list[ServerSentEvent] = []
    async with httpx.AsyncClient(
        base_url=base_url.rstrip("/"), headers=headers, timeout=timeout
    ) as http:
        async for event in events(http, f"/tickers/{exchange}/stream"):
            received.append(event)
            if len(received) >= limit or event.event == "close":
                break
    return received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument("exchange", nargs="?", default="binance")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--token", help="a JWT (Authorization: Bearer)")
    args = parser.parse_args()
    for event in asyncio.run(
        follow(args.base_url, args.exchange, limit=args.limit, token=args.token)
    ):
        print(event.event, event.data[:160])


if __name__ == "__main__":
    main()
