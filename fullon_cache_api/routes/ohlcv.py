"""OHLCV: ``ohlcv:{symbol}:{timeframe}`` lists of bars (symbol spelled as the writer chose)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._params import SYMBOL, TIMEFRAME, Bound, path_param, query_int
from .._responses import MsgspecResponse
from ..structs.ohlcv import OhlcvBars, OhlcvSeriesList
from ._common import ApiRoute, reader_from

# How many of the newest bars one request returns (fullon_cache keeps at most 10000).
BAR_LIMIT = Bound(default=100, minimum=1, maximum=10000)


async def list_series(request: Request) -> Response:
    """Every cached bar series with its bar count and first/last bar time."""
    return MsgspecResponse(await reader_from(request).ohlcv.series())


async def latest_bars(request: Request) -> Response:
    """The newest bars of one symbol and timeframe, oldest first."""
    symbol = path_param(request, "symbol", SYMBOL)
    timeframe = path_param(request, "timeframe", TIMEFRAME)
    limit = query_int(request, "limit", BAR_LIMIT)
    return MsgspecResponse(await reader_from(request).ohlcv.bars(symbol, timeframe, limit))


routes = [
    ApiRoute("/ohlcv", list_series, response=OhlcvSeriesList),
    ApiRoute(
        "/ohlcv/{symbol:path}/{timeframe}",
        latest_bars,
        response=OhlcvBars,
        query={"limit": BAR_LIMIT},
    ),
]
