"""Endpoints of the private domains (a non-admin reads what its ownership grants): accounts,
orders, bots, trades, the per-user summary and the private views. Named after fullon_cache's
readers where one exists."""

from __future__ import annotations

from ..structs.accounts import Account, AccountList, AccountPositions, Position, PositionList
from ..structs.bots import (
    Block,
    BlockCheck,
    BlockList,
    Bot,
    BotList,
    OpeningPosition,
    OpeningPositionList,
)
from ..structs.orders import (
    Order,
    OrderHash,
    OrderHashes,
    OrderList,
    OrderMatches,
    OrderQueue,
    OrderQueues,
    OrderStatus,
    OrderStatusList,
)
from ..structs.trades import Trade, TradeList, TradeOverview, TradeQueueStatus, UserTradeList
from ..structs.users import UserSummary
from ..structs.views import BotActivity, BotActivityList, OrderStats, TradeStats
from ..structs.views_portfolio import AccountSummary, PortfolioSummary
from ._endpoints import get, listed, paged
from ._request import Params

__all__ = ["PrivateEndpoints"]

Cursor = str | None
Limit = int | None


class PrivateEndpoints:
    """Accounts, orders, bots, trades, per-user summaries and the private views."""

    @listed("/accounts", AccountList, "accounts", Account)
    def accounts(limit: Limit = None, cursor: Cursor = None) -> Params:
        """Balances of the accounts you may read, by ex_id."""
        return {"limit": limit, "cursor": cursor}

    @get("/accounts/{ex_id}", Account)
    def account(ex_id: str | int) -> Params:
        """Balances of one account (fullon_cache's ``get_full_account``)."""
        return {"ex_id": ex_id}

    @get("/accounts/{ex_id}/positions", AccountPositions)
    def account_positions(ex_id: str | int) -> Params:
        """Positions of one account (fullon_cache's ``get_positions``, that account only)."""
        return {"ex_id": ex_id}

    @listed("/positions", PositionList, "positions", Position)
    def positions(limit: Limit = None, cursor: Cursor = None) -> Params:
        """Positions of every account you may read (`limit` counts accounts)."""
        return {"limit": limit, "cursor": cursor}

    @listed("/accounts/summary", PortfolioSummary, "accounts", AccountSummary)
    def portfolio(
        quote: str | None = None,
        exchange: str | None = None,
        limit: Limit = None,
        cursor: Cursor = None,
    ) -> Params:
        """Every account you may read, valued in `quote` (default USDT; a view)."""
        return {"quote": quote, "exchange": exchange, "limit": limit, "cursor": cursor}

    @get("/accounts/{ex_id}/summary", AccountSummary)
    def account_summary(
        ex_id: str | int, quote: str | None = None, exchange: str | None = None
    ) -> Params:
        """One account valued in `quote` (default USDT; a view)."""
        return {"ex_id": ex_id, "quote": quote, "exchange": exchange}

    @listed("/orders", OrderHashes, "hashes", OrderHash)
    def order_hashes(limit: Limit = None, cursor: Cursor = None) -> Params:
        """The order hashes with their order count and TTL."""
        return {"limit": limit, "cursor": cursor}

    @listed("/orders", OrderMatches, "orders", Order)
    def find_order(order_id: str, limit: Limit = None, cursor: Cursor = None) -> Params:
        """An order wherever it is cached (``/orders?order_id=``; 404 when in no hash)."""
        return {"order_id": order_id, "limit": limit, "cursor": cursor}

    @listed("/orders/queues", OrderQueues, "queues", OrderQueue)
    def order_queues(limit: Limit = None, cursor: Cursor = None) -> Params:
        """The open-order queues with their lengths; nothing is popped (admins)."""
        return {"limit": limit, "cursor": cursor}

    @listed("/orders/queue/size", OrderQueues, "queues", OrderQueue)
    def queue_size(
        local_oid: str | None = None, limit: Limit = None, cursor: Cursor = None
    ) -> Params:
        """Open-order queue sizes (fullon_cache's ``get_queue_size``), one with `local_oid`."""
        return {"local_oid": local_oid, "limit": limit, "cursor": cursor}

    @listed("/orders/{order_id}/status", OrderStatusList, "orders", OrderStatus)
    def order_status(order_id: str, limit: Limit = None, cursor: Cursor = None) -> Params:
        """The status of one order in every hash holding it (fullon_cache's
        ``get_order_status``); 404 when none."""
        return {"order_id": order_id, "limit": limit, "cursor": cursor}

    @listed("/orders/{account}", OrderList, "orders", Order)
    def orders(
        account: str | int,
        status: str | None = None,
        symbol: str | None = None,
        limit: Limit = None,
        cursor: Cursor = None,
    ) -> Params:
        """Orders under one key (exchange or ex_id), newest first (fullon_cache's
        ``get_orders``)."""
        return {
            "account": account,
            "status": status,
            "symbol": symbol,
            "limit": limit,
            "cursor": cursor,
        }

    @get("/orders/{account}/{order_id:path}", Order)
    def order(account: str | int, order_id: str) -> Params:
        """One order by its hash field (fullon_cache's ``get_order``)."""
        return {"account": account, "order_id": order_id}

    @paged("/orders/stats", OrderStats)
    def order_stats(limit: Limit = None, cursor: Cursor = None) -> Params:
        """Per order hash: counts by status and side, open volume per symbol (a view)."""
        return {"limit": limit, "cursor": cursor}

    @listed("/bots", BotList, "bots", Bot)
    def bots(limit: Limit = None, cursor: Cursor = None) -> Params:
        """Status documents of the bots you may read (fullon_cache's ``get_bots``)."""
        return {"limit": limit, "cursor": cursor}

    @get("/bots/{bot_id}", Bot)
    def bot(bot_id: str | int) -> Params:
        """One bot's status document (fullon_cache's ``get_bot``)."""
        return {"bot_id": bot_id}

    @get("/bots/{bot_id}/status", Bot)
    def bot_status(bot_id: str | int) -> Params:
        """One bot's status document, at the specification's path."""
        return {"bot_id": bot_id}

    @listed("/bots/blocks", BlockList, "blocks", Block)
    def blocks(limit: Limit = None, cursor: Cursor = None) -> Params:
        """The exchange/symbol blocks and the bot holding each (fullon_cache's
        ``get_blocks``)."""
        return {"limit": limit, "cursor": cursor}

    @get("/bots/blocks/{ex_id}/{symbol:path}", BlockCheck)
    def is_blocked(ex_id: str | int, symbol: str) -> Params:
        """Whether a pair is blocked, and by which bot (fullon_cache's ``is_blocked``)."""
        return {"ex_id": ex_id, "symbol": symbol}

    @listed("/bots/opening-positions", OpeningPositionList, "opening_positions", OpeningPosition)
    def opening_positions(limit: Limit = None, cursor: Cursor = None) -> Params:
        """The opening-position marks, with bot and time."""
        return {"limit": limit, "cursor": cursor}

    @listed("/bots/activity", BotActivityList, "bots", BotActivity)
    def bot_activity(
        stale_after: int | None = None, limit: Limit = None, cursor: Cursor = None
    ) -> Params:
        """Per bot: feed ages, blocks held, opening positions (a view)."""
        return {"stale_after": stale_after, "limit": limit, "cursor": cursor}

    @paged("/trades", TradeOverview)
    def trade_queues(limit: Limit = None, cursor: Cursor = None) -> Params:
        """The trade queues with their lengths, then the last-update marks."""
        return {"limit": limit, "cursor": cursor}

    @paged("/trades/queue/status", TradeQueueStatus)
    def trade_queue_status(limit: Limit = None, cursor: Cursor = None) -> Params:
        """The trade queues with their exchange's status age, then the status marks."""
        return {"limit": limit, "cursor": cursor}

    @listed("/trades/{exchange}/{symbol:path}", TradeList, "trades", Trade)
    def trades(exchange: str, symbol: str, limit: Limit = None, cursor: Cursor = None) -> Params:
        """The newest trades of a queue, not consumed (fullon_cache's ``get_trades``);
        further pages are older trades."""
        return {"exchange": exchange, "symbol": symbol, "limit": limit, "cursor": cursor}

    @listed("/trades/users/{uid}/{exchange}", UserTradeList, "trades", Trade)
    def user_trades(
        uid: str | int, exchange: str, limit: Limit = None, cursor: Cursor = None
    ) -> Params:
        """A user's trade queue, not consumed."""
        return {"uid": uid, "exchange": exchange, "limit": limit, "cursor": cursor}

    @paged("/trades/stats", TradeStats)
    def trade_stats(limit: Limit = None, cursor: Cursor = None) -> Params:
        """Per trade queue: length, time span, volume per side (a view)."""
        return {"limit": limit, "cursor": cursor}

    @get("/users/{uid}/summary", UserSummary)
    def user_summary(uid: str | int) -> Params:
        """A user's orders, bots, balances and positions at a glance."""
        return {"uid": uid}

    @get("/me/summary", UserSummary)
    def my_summary() -> Params:
        """The caller's own summary."""
        return {}
