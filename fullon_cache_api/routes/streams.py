"""Server-Sent Events: live tickers and process broadcasts (pub/sub), and change streams of
balances, positions, orders, bots and OHLCV (shared pollers). See `fullon_cache_api.streams`.

Every stream starts with a ``snapshot`` event (JSON ``null`` when the key is absent), then
``update`` events; ``status`` events tell of a Redis outage and recovery, ``problem`` events of
a corrupt entry, and a final ``close`` event of a cut-off. Each event has an ``id:`` (its rank
in the stream; a reconnecting client gets a fresh snapshot rather than a replay).

These routes come before the domain tables: ``/tickers/{exchange}/{symbol:path}`` would take
``.../stream`` as part of the symbol, and ``/orders/{account}/{order_id}`` and
``/bots/{bot_id}`` would take ``stream`` as an id. Symbols ending in ``/stream`` and orders or
bots whose id is ``stream`` are therefore only reachable through the listing routes; no
exchange names a market that way.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .._errors import NotFound
from ..http import Bound, query_int
from ..security import FROM_QUERY, ex_id_of, sees
from ..streams import (
    Balances,
    Bots,
    EventStream,
    Ohlcv,
    Orders,
    Positions,
    ProcessBroadcast,
    ProcessBroadcasts,
    TickerExchange,
    TickerSymbol,
    hub_from,
)
from ..structs.accounts import Account, AccountPositions
from ..structs.bots import BotList
from ..structs.ohlcv import OhlcvBars
from ..structs.orders import OrderList
from ..structs.processes import ProcessList
from ..structs.tickers import Ticker, TickerList
from ._common import Access, ApiRoute, ownership_of
from .orders import ORDER_LIMIT

# Bars a stream carries; every change re-reads this window, so it is capped lower than HTTP.
STREAM_BAR_LIMIT = Bound(default=100, minimum=1, maximum=1000)


class StreamRoute(ApiRoute):
    """A Server-Sent Events route: `response` is the snapshot type, `update` the update type.

    It accepts ``?token=`` (browsers' EventSource cannot set headers); JSON routes do not.
    """

    media_type = "text/event-stream"
    credentials = frozenset({FROM_QUERY})

    def __init__(
        self,
        path: str,
        endpoint: Any,
        *,
        snapshot: Any,
        update: Any,
        query: dict[str, Bound] | None = None,
        access: Access = "market",
    ) -> None:
        super().__init__(path, endpoint, response=snapshot, query=query, access=access)
        self.update = update


async def exchange_tickers(request: Request) -> Response:
    """Every ticker of an exchange: a TickerList, then each published ticker (conflated)."""
    exchange = request.path_params["exchange"]
    return EventStream(hub_from(request), [TickerExchange(exchange)])


async def one_ticker(request: Request) -> Response:
    """One ticker: its cached value, then each published update (conflated)."""
    exchange = request.path_params["exchange"]
    symbol = request.path_params["symbol"]
    return EventStream(hub_from(request), [TickerSymbol(exchange, symbol)])


async def process_broadcasts(request: Request) -> Response:
    """Active processes, then every ``process:broadcast:*`` message."""
    return EventStream(hub_from(request), [ProcessBroadcasts()])


async def account_balances(request: Request) -> Response:
    """One account's balances, then each change (polled)."""
    ex_id = await _owned_ex_id(request)
    return EventStream(hub_from(request), [Balances(ex_id)])


async def account_positions(request: Request) -> Response:
    """One account's positions, then each change (polled)."""
    ex_id = await _owned_ex_id(request)
    return EventStream(hub_from(request), [Positions(ex_id)])


async def account_orders(request: Request) -> Response:
    """Orders under one key (exchange name or ex_id) the caller may see, then each change."""
    account = request.path_params["account"]
    limit = query_int(request, "limit", ORDER_LIMIT)
    only = await ownership_of(request)
    ex_id = ex_id_of(account)
    if ex_id is not None and not sees(only, ex_id=ex_id):
        raise NotFound(f"no orders cached under {account!r}")
    return EventStream(hub_from(request), [Orders(account, limit, only)])


async def bot_statuses(request: Request) -> Response:
    """The bot status documents the caller may see, then each change (polled)."""
    only = await ownership_of(request)
    return EventStream(hub_from(request), [Bots(only)])


async def ohlcv_bars(request: Request) -> Response:
    """The newest bars of one series, then the new window after each change (polled)."""
    symbol = request.path_params["symbol"]
    timeframe = request.path_params["timeframe"]
    limit = query_int(request, "limit", STREAM_BAR_LIMIT)
    return EventStream(hub_from(request), [Ohlcv(symbol, timeframe, limit)])


async def _owned_ex_id(request: Request) -> str:
    """The ``ex_id`` path parameter; 404 (as for an absent one) when the caller does not own it."""
    ex_id: str = request.path_params["ex_id"]  # validated by the route (`ApiRoute.handle`)
    if not sees(await ownership_of(request), ex_id=ex_id):
        raise NotFound(f"no account {ex_id!r} cached")
    return ex_id


routes = [
    StreamRoute("/tickers/{exchange}/stream", exchange_tickers, snapshot=TickerList, update=Ticker),
    StreamRoute(
        "/tickers/{exchange}/{symbol:path}/stream", one_ticker, snapshot=Ticker, update=Ticker
    ),
    StreamRoute(
        "/processes/stream", process_broadcasts, snapshot=ProcessList, update=ProcessBroadcast
    ),
    StreamRoute(
        "/accounts/{ex_id}/stream",
        account_balances,
        snapshot=Account,
        update=Account,
        access="private",
    ),
    StreamRoute(
        "/accounts/{ex_id}/positions/stream",
        account_positions,
        snapshot=AccountPositions,
        update=AccountPositions,
        access="private",
    ),
    StreamRoute(
        "/orders/{account}/stream",
        account_orders,
        snapshot=OrderList,
        update=OrderList,
        query={"limit": ORDER_LIMIT},
        access="private",
    ),
    StreamRoute("/bots/stream", bot_statuses, snapshot=BotList, update=BotList, access="private"),
    StreamRoute(
        "/ohlcv/{symbol:path}/{timeframe}/stream",
        ohlcv_bars,
        snapshot=OhlcvBars,
        update=OhlcvBars,
        query={"limit": STREAM_BAR_LIMIT},
    ),
]
