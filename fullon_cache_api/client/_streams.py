"""The Server-Sent Events endpoints: ``stream_*`` on both clients."""

from __future__ import annotations

from ..structs.accounts import Account, AccountPositions
from ..structs.bots import BotList
from ..structs.orders import OrderList
from ..structs.processes import ProcessList
from ..structs.tickers import Ticker
from ._endpoints import stream
from ._request import Params
from ._types import BarPage, TickerPage
from .events import ProcessBroadcast

__all__ = ["StreamEndpoints"]


class StreamEndpoints:
    """Live streams: a snapshot, then updates, reconnecting after a dropped connection."""

    @stream("/tickers/{exchange}/stream", TickerPage, Ticker)
    def stream_tickers(exchange: str) -> Params:
        """Every ticker of an exchange, then each published ticker (conflated)."""
        return {"exchange": exchange}

    @stream("/tickers/{exchange}/{symbol:path}/stream", Ticker, Ticker)
    def stream_ticker(exchange: str, symbol: str) -> Params:
        """One ticker, then each published update (conflated)."""
        return {"exchange": exchange, "symbol": symbol}

    @stream("/processes/stream", ProcessList, ProcessBroadcast)
    def stream_processes() -> Params:
        """Active processes, then every ``process:broadcast:*`` message."""
        return {}

    @stream("/accounts/{ex_id}/stream", Account, Account)
    def stream_account(ex_id: str | int) -> Params:
        """One account's balances, then the whole account again after each change."""
        return {"ex_id": ex_id}

    @stream("/accounts/{ex_id}/positions/stream", AccountPositions, AccountPositions)
    def stream_positions(ex_id: str | int) -> Params:
        """One account's positions, then all of them again after each change."""
        return {"ex_id": ex_id}

    @stream("/orders/{account}/stream", OrderList, OrderList)
    def stream_orders(account: str | int, limit: int | None = None) -> Params:
        """The newest `limit` orders under a key, again after each change."""
        return {"account": account, "limit": limit}

    @stream("/bots/stream", BotList, BotList)
    def stream_bots() -> Params:
        """The bot status documents you may read, again after each change."""
        return {}

    @stream("/ohlcv/{symbol:path}/{timeframe}/stream", BarPage, BarPage)
    def stream_ohlcv(symbol: str, timeframe: str, limit: int | None = None) -> Params:
        """The newest `limit` bars of a series, the new window after each change."""
        return {"symbol": symbol, "timeframe": timeframe, "limit": limit}
