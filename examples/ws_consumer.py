"""Stream tickers over the gateway's WebSocket, in the original fullon_cache_api protocol.

    python examples/ws_consumer.py ws://127.0.0.1:8000 binance BTC/USDT ETH/USDT --limit 10
    python examples/ws_consumer.py ws://127.0.0.1:8100/api/v1/cache binance BTC/USDT --token "$JWT"

Frames are JSON: requests ``{"action", "request_id", "params"}``; replies ``{"request_id",
"action", "success": true, "result"}`` or ``{"request_id", "success": false, "error_code",
"error"}``. ``stream_tickers`` is confirmed first, then ``ticker_update`` frames follow. The
token is offered as the subprotocols ``bearer, <token>`` (the ``Sec-WebSocket-Protocol``
header), which the gateway authenticates itself (hosts such as fullon_master_api do not
authenticate ``/ws/`` paths); unlike ``?token=``, it never appears in a URL or an access log.
(For HTTP data and Server-Sent Events, use ``fullon_cache_api.client``.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from typing import Any

from websockets.asyncio.client import connect
from websockets.typing import Subprotocol


class ActionFailed(Exception):
    """The gateway answered ``success: false``."""


def socket_url(base_url: str, domain: str) -> str:
    """``{base}/ws/{domain}/{connection_id}``."""
    return f"{base_url.rstrip('/')}/ws/{domain}/{uuid.uuid4().hex}"


def bearer(token: str | None) -> list[Subprotocol] | None:
    """The subprotocols that carry `token`: ``Sec-WebSocket-Protocol: bearer, <token>``."""
    return None if token is None else [Subprotocol("bearer"), Subprotocol(token)]


async def stream_tickers(
    base_url: str, exchange: str, symbols: list[str], *, limit: int, token: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Ask for a ticker stream; returns the confirmation and the first `limit` updates."""
    async with connect(socket_url(base_url, "tickers"), subprotocols=bearer(token)) as socket:
        request = {
            "action": "stream_tickers",
            "request_id": "tickers-1",
            "params": {"exchange": exchange, "symbols": symbols},
        }
        await socket.send(json.dumps(request))
        confirmation = json.loads(await socket.recv())
        if not confirmation.get("success"):
            raise ActionFailed(f"{confirmation.get('error_code')}: {confirmation.get('error')}")
        updates: list[dict[str, Any]] = []
        while len(updates) < limit:
            frame = json.loads(await socket.recv())
            if frame.get("success") is False:
                raise ActionFailed(f"{frame.get('error_code')}: {frame.get('error')}")
            if frame.get("action") == "ticker_update":
                updates.append(frame)
        return confirmation, updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", nargs="?", default="ws://127.0.0.1:8000")
    parser.add_argument("exchange", nargs="?", default="binance")
    parser.add_argument("symbols", nargs="*", default=["BTC/USDT"])
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--token", help="a JWT or an API key, offered as a subprotocol")
    args = parser.parse_args()
    _, updates = asyncio.run(
        stream_tickers(
            args.base_url, args.exchange, args.symbols, limit=args.limit, token=args.token
        )
    )
    for frame in updates:
        print(json.dumps(frame["result"])[:160])


if __name__ == "__main__":
    main()
