"""The Python client's endpoints, by method name, and a request of each for the data of
tests/support/surface.py."""

from __future__ import annotations

from typing import Any

from fullon_cache_api.client import AsyncCacheClient
from fullon_cache_api.client._endpoints import Endpoint, StreamEndpoint

from .surface import SAMPLES

__all__ = ["SAMPLE_ARGUMENTS", "Declared", "client_endpoints", "sample_request"]

Declared = Endpoint[Any, Any] | StreamEndpoint[Any, Any, Any]


def client_endpoints() -> dict[str, Declared]:
    """Every endpoint the client declares, by method name."""
    found: dict[str, Declared] = {}
    for klass in AsyncCacheClient.__mro__:
        for name, value in vars(klass).items():
            if isinstance(value, Endpoint | StreamEndpoint):
                found.setdefault(name, value)
    return found


# Arguments per method that address the data of tests/support/surface.py.
SAMPLE_ARGUMENTS: dict[str, tuple[Any, ...]] = {
    "tickers": ("binance",),
    "ticker": ("binance", "BTC/USDT"),
    "account": (1,),
    "account_positions": (1,),
    "account_summary": (1,),
    "orders": ("binance",),
    "order": ("binance", "EX_1"),
    "order_status": ("EX_1",),
    "find_order": ("EX_1",),
    "bot": (42,),
    "bot_status": (42,),
    "is_blocked": (1, "BTC/USDT"),
    "trades": ("binance", "BTC/USDT"),
    "user_trades": (7, "binance"),
    "ohlcv": ("BTC/USDT", "1m"),
    "process": (None,),  # filled by the test: the sample's process id
    "user_summary": (7,),
    "stream_tickers": ("binance",),
    "stream_ticker": ("binance", "BTC/USDT"),
    "stream_account": (1,),
    "stream_positions": (1,),
    "stream_orders": ("binance",),
    "stream_ohlcv": ("BTC/USDT", "1m"),
}


def sample_request(name: str, endpoint: Declared) -> Any:
    """The request of `name` for the surface data."""
    arguments = SAMPLE_ARGUMENTS.get(name, ())
    if name == "process":
        arguments = (SAMPLES["/processes/{process_id:path}"].removeprefix("/processes/"),)
    return endpoint.request(*arguments)
