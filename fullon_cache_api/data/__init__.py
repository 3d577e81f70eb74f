"""The read-only data layer: one reader per fullon_cache domain, over one shared client."""

from __future__ import annotations

from .._redis import CacheClient
from .accounts import AccountReader
from .bots import BotReader
from .health import HealthReader
from .ohlcv import OhlcvReader
from .orders import OrderReader
from .processes import ProcessReader
from .queues import QueueReader
from .tickers import TickerReader
from .trades import TradeReader
from .users import UserReader
from .views import ViewReader

__all__ = ["CacheReader"]


class CacheReader:
    """Every read the gateway makes, grouped by domain (``reader.tickers.one(...)``)."""

    def __init__(self, redis: CacheClient) -> None:
        self.redis = redis
        self.health = HealthReader(redis)
        self.tickers = TickerReader(redis)
        self.accounts = AccountReader(redis)
        self.orders = OrderReader(redis)
        self.bots = BotReader(redis)
        self.trades = TradeReader(redis)
        self.ohlcv = OhlcvReader(redis)
        self.processes = ProcessReader(redis)
        self.views = ViewReader(redis)
        self.queues = QueueReader(redis)
        self.users = UserReader(redis)
