"""The gateway across event loops: Starlette's TestClient used without ``with`` (as the
original gateway's tests use it) runs each WebSocket on a new loop and closes it afterwards."""

from __future__ import annotations

import json
import threading
import time
import warnings
from typing import Any

import redis
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette 1.x prefers the `httpx2` package under its TestClient; with httpx it warns
    # once at import and works the same (the original gateway's users have httpx).
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from fullon_cache_api import Settings, create_app
from fullon_cache_api.demo import RedisServer

from .support.credentials import ADMIN_KEY

WITHIN = 20.0  # seconds the whole scenario may take (it hangs without the fix)
TICKER = {"symbol": "BTC/USDT", "exchange": "binance", "price": 1.0, "volume": 2.0}


def _gateway_clients(server: RedisServer) -> list[str]:
    with redis.Redis(port=server.port) as admin:
        clients: list[dict[str, Any]] = admin.client_list()
    return sorted(c["name"] for c in clients if c["name"].startswith("fullon_cache_api"))


def _scenario(settings: Settings, replies: list[Any]) -> None:
    client = TestClient(create_app(settings=settings))  # no `with`: a new loop per socket
    get = {"action": "get_ticker", "request_id": "g", "params": TICKER}
    stream = {"action": "stream_tickers", "request_id": "s"}
    stream["params"] = {"exchange": "binance", "symbols": ["BTC/USDT"]}
    for n in range(2):
        with client.websocket_connect(f"/ws/tickers/c{n}?token={ADMIN_KEY}") as ws:
            ws.send_text(json.dumps(get))
            replies.append(ws.receive_json())
            ws.send_text(json.dumps(stream))
            replies.extend([ws.receive_json(), ws.receive_json()])  # confirmation, push


def test_two_testclient_sockets_each_on_its_own_loop(
    settings: Settings, flushed: RedisServer
) -> None:
    """Two sockets, each on a new event loop: both read Redis and stream (pooled connections,
    the near cache's link and the hub's tasks are made again on each loop), and every
    connection the gateway opened is closed when its loop shuts down."""
    with redis.Redis(port=flushed.port) as admin:
        admin.hset("tickers:binance", "BTC/USDT", json.dumps(TICKER | {"time": time.time()}))
    replies: list[Any] = []
    worker = threading.Thread(target=_scenario, args=(settings, replies), daemon=True)
    worker.start()
    worker.join(WITHIN)
    assert not worker.is_alive(), f"the second socket got no answer: {replies}"
    assert [r.get("action") for r in replies] == [
        "get_ticker",
        "stream_tickers",
        "ticker_update",
    ] * 2
    assert all(r.get("success", True) for r in replies), replies
    assert [r["result"]["price"] for r in replies if r["action"] != "stream_tickers"] == [1.0] * 4
    deadline = time.monotonic() + 5
    while _gateway_clients(flushed) and time.monotonic() < deadline:
        time.sleep(0.05)  # a socket closed on its loop's way out leaves Redis a moment later
    assert _gateway_clients(flushed) == []
