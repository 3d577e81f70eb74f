"""Tickers: ``tickers:{exchange}`` hashes, one JSON ticker per symbol."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._params import EXCHANGE, SYMBOL, path_param
from .._responses import MsgspecResponse
from ..structs.tickers import Ticker, TickerExchanges, TickerList
from ._common import ApiRoute, reader_from


async def list_exchanges(request: Request) -> Response:
    """Exchanges that have tickers, with the ticker count of each."""
    return MsgspecResponse(await reader_from(request).tickers.exchanges())


async def exchange_tickers(request: Request) -> Response:
    """Every ticker of one exchange."""
    exchange = path_param(request, "exchange", EXCHANGE)
    return MsgspecResponse(await reader_from(request).tickers.all(exchange))


async def one_ticker(request: Request) -> Response:
    """One ticker, with its age in seconds."""
    exchange = path_param(request, "exchange", EXCHANGE)
    symbol = path_param(request, "symbol", SYMBOL)
    return MsgspecResponse(await reader_from(request).tickers.one(exchange, symbol))


routes = [
    ApiRoute("/tickers", list_exchanges, response=TickerExchanges),
    ApiRoute("/tickers/{exchange}", exchange_tickers, response=TickerList, ages=True),
    ApiRoute("/tickers/{exchange}/{symbol:path}", one_ticker, response=Ticker, ages=True),
]
