"""The read-only data layer: one reader per fullon_cache domain, over one shared client."""

from __future__ import annotations

from ..backend import CacheClient
from ._base import BaseReader, Deadline, text
from ._chunks import checkpoint, pipelined
from ._codec import Invalid, Undecodable, decode, to_datetime
from ._cursor import fingerprint
from ._instrument import instrument_reads
from ._limits import DEFAULT_LIMITS, ReadLimits
from ._lists import ListWalk
from ._pages import (
    BAR_PAGE,
    DOCUMENT_PAGE,
    ENTRY_PAGE,
    KEY_PAGE,
    ORDER_PAGE,
    PROCESS_PAGE,
    TRADE_PAGE,
)
from .accounts import AccountReader
from .bots import BotReader
from .health import HealthReader
from .ohlcv import OhlcvReader
from .orders import OrderReader
from .processes import ProcessReader
from .queues import QueueReader
from .tickers import TickerReader
from .tickers import _ticker as decode_ticker
from .trades import OWNED_WINDOW, TradeReader
from .trades import _from_stored as trade_from_stored
from .trades import _StoredTrade as StoredTrade
from .users import UserReader
from .views import ViewReader

__all__ = [
    "BAR_PAGE",
    "DOCUMENT_PAGE",
    "ENTRY_PAGE",
    "KEY_PAGE",
    "ORDER_PAGE",
    "OWNED_WINDOW",
    "PROCESS_PAGE",
    "TRADE_PAGE",
    "BaseReader",
    "CacheReader",
    "Deadline",
    "Invalid",
    "ListWalk",
    "ProcessReader",
    "QueueReader",
    "ReadLimits",
    "StoredTrade",
    "TradeReader",
    "Undecodable",
    "checkpoint",
    "decode",
    "decode_ticker",
    "fingerprint",
    "instrument_reads",
    "pipelined",
    "text",
    "to_datetime",
    "trade_from_stored",
]


class CacheReader:
    """Every read the gateway makes, grouped by domain (``reader.tickers.one(...)``), each
    bounded by `limits` whatever the size of a key."""

    def __init__(self, redis: CacheClient, limits: ReadLimits = DEFAULT_LIMITS) -> None:
        self.redis = redis
        self.limits = limits
        self.health = HealthReader(redis, limits)
        self.tickers = TickerReader(redis, limits)
        self.accounts = AccountReader(redis, limits)
        self.orders = OrderReader(redis, limits)
        self.bots = BotReader(redis, limits)
        self.trades = TradeReader(redis, limits)
        self.ohlcv = OhlcvReader(redis, limits)
        self.processes = ProcessReader(redis, limits)
        self.views = ViewReader(redis, limits)
        self.queues = QueueReader(redis, limits)
        self.users = UserReader(redis, limits)
