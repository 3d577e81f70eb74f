"""Tickers: ``tickers:{exchange}`` hashes, one JSON ticker per symbol."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..data import ENTRY_PAGE, KEY_PAGE
from ..http import CURSOR, MsgspecResponse, query_int, query_text
from ..structs.tickers import Ticker, TickerExchanges, TickerList
from ._common import ApiRoute, reader_from


async def list_exchanges(request: Request) -> Response:
    """Exchanges that have tickers, with the ticker count of each (a page of keys)."""
    cursor = query_text(request, "cursor", CURSOR)
    limit = query_int(request, "limit", KEY_PAGE)
    found = await reader_from(request).tickers.exchanges(cursor=cursor, limit=limit)
    return MsgspecResponse(found)


async def exchange_tickers(request: Request) -> Response:
    """The tickers of one exchange, a page at a time (the whole hash when it fits one page)."""
    exchange = request.path_params["exchange"]
    cursor = query_text(request, "cursor", CURSOR)
    limit = query_int(request, "limit", ENTRY_PAGE)
    found = await reader_from(request).tickers.all(exchange, cursor=cursor, limit=limit)
    return MsgspecResponse(found)


async def one_ticker(request: Request) -> Response:
    """One ticker, with its age in seconds."""
    exchange = request.path_params["exchange"]
    symbol = request.path_params["symbol"]
    return MsgspecResponse(await reader_from(request).tickers.one(exchange, symbol))


routes = [
    ApiRoute(
        "/tickers",
        list_exchanges,
        response=TickerExchanges,
        query={"limit": KEY_PAGE, "cursor": CURSOR},
    ),
    ApiRoute(
        "/tickers/{exchange}",
        exchange_tickers,
        response=TickerList,
        query={"limit": ENTRY_PAGE, "cursor": CURSOR},
        ages=True,
    ),
    ApiRoute("/tickers/{exchange}/{symbol:path}", one_ticker, response=Ticker, ages=True),
]
