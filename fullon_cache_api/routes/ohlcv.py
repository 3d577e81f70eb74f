"""OHLCV: ``ohlcv:{symbol}:{timeframe}`` lists of bars (symbol spelled as the writer chose)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..data import BAR_PAGE, KEY_PAGE
from ..http import CURSOR, MsgspecResponse, query_int, query_text
from ..structs.ohlcv import OhlcvBars, OhlcvSeriesList
from ._common import ApiRoute, reader_from

# How many of the newest bars one request returns (fullon_cache keeps at most 10000).
BAR_LIMIT = BAR_PAGE


async def list_series(request: Request) -> Response:
    """Cached bar series with their bar count and first/last bar time, a page at a time."""
    cursor = query_text(request, "cursor", CURSOR)
    limit = query_int(request, "limit", KEY_PAGE)
    return MsgspecResponse(await reader_from(request).ohlcv.series(cursor=cursor, limit=limit))


async def latest_bars(request: Request) -> Response:
    """The newest bars of one symbol and timeframe, oldest first (`cursor`: older ones)."""
    symbol = request.path_params["symbol"]
    timeframe = request.path_params["timeframe"]
    limit = query_int(request, "limit", BAR_PAGE)
    cursor = query_text(request, "cursor", CURSOR)
    ohlcv = reader_from(request).ohlcv
    return MsgspecResponse(await ohlcv.bars(symbol, timeframe, limit, cursor=cursor))


routes = [
    ApiRoute(
        "/ohlcv",
        list_series,
        response=OhlcvSeriesList,
        query={"limit": KEY_PAGE, "cursor": CURSOR},
    ),
    ApiRoute(
        "/ohlcv/{symbol:path}/{timeframe}",
        latest_bars,
        response=OhlcvBars,
        query={"limit": BAR_PAGE, "cursor": CURSOR},
    ),
]
