"""What a WebSocket action gets and gives: validated `Params`, the `Call` context, the
`StreamStart` of a stream action, and the result Structs of the original gateway's own shapes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from ..data import CacheReader
from ..http import Bound, Pattern
from ..security import Ownership
from ._hub import Spec
from ._protocol import INVALID_PARAMS, ActionError

__all__ = [
    "COUNT",
    "CURRENCY",
    "SINCE_MINUTES",
    "STREAM_LIMIT",
    "TRADE_COUNT",
    "Balance",
    "BlockStatus",
    "Call",
    "Domain",
    "Handler",
    "Params",
    "Pong",
    "QueueLength",
    "StreamStart",
]

CURRENCY = Pattern("currency", r"[A-Za-z0-9][A-Za-z0-9_.\-]*", 32, "currency code")
COUNT = Bound(default=10, minimum=1, maximum=10000)
TRADE_COUNT = Bound(default=100, minimum=1, maximum=10000)
SINCE_MINUTES = Bound(default=5, minimum=1, maximum=10080)
STREAM_LIMIT = 1000  # orders and bars a stream re-reads on each change


class Pong(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to ``ping``."""

    status: str


class Balance(msgspec.Struct, frozen=True, kw_only=True):
    """One currency of an account's balances, as stored."""

    ex_id: str
    currency: str
    balance: Any
    updated_at: datetime | None


class QueueLength(msgspec.Struct, frozen=True, kw_only=True):
    """How many orders the caller may see under one key (exchange name or ex_id)."""

    exchange: str
    queue_length: int


class BlockStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Whether an exchange/symbol pair is blocked, and by which bot."""

    exchange: str
    symbol: str
    is_blocked: bool
    blocked_by: str | None


@dataclass(frozen=True)
class StreamStart:
    """A stream to open: the push action name, the sources, and the confirmation message."""

    update: str
    specs: list[Spec]
    message: str


class Params:
    """The ``params`` of a request, validated with the HTTP patterns."""

    def __init__(self, raw: dict[str, Any] | None) -> None:
        self.raw = raw or {}

    def text(self, name: str, pattern: Pattern, *aliases: str) -> str:
        """A required text parameter (ints are accepted as their text)."""
        value = self.optional(name, pattern, *aliases)
        if value is None:
            raise ActionError(INVALID_PARAMS, f"{name} parameter required")
        return value

    def optional(self, name: str, pattern: Pattern, *aliases: str) -> str | None:
        """An optional text parameter; None when absent or empty."""
        value = next((self.raw[key] for key in (name, *aliases) if key in self.raw), None)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ActionError(INVALID_PARAMS, f"{name} must be a string")
        return pattern.check(name, str(value))

    def integer(self, name: str, bound: Bound) -> int:
        """An integer parameter within `bound`, its default when absent."""
        value = self.raw.get(name)
        if value is None:
            return bound.default
        if isinstance(value, bool) or not isinstance(value, int):
            raise ActionError(INVALID_PARAMS, f"{name} must be an integer")
        if not bound.minimum <= value <= bound.maximum:
            raise ActionError(
                INVALID_PARAMS, f"{name} must be between {bound.minimum} and {bound.maximum}"
            )
        return value

    def texts(self, name: str, pattern: Pattern, limit: int) -> list[str]:
        """A list of text parameters (empty when absent), at most `limit` long."""
        values = self.raw.get(name) or []
        if not isinstance(values, list) or len(values) > limit:
            raise ActionError(INVALID_PARAMS, f"{name} must be a list of at most {limit} items")
        if not all(isinstance(value, str) for value in values):
            raise ActionError(INVALID_PARAMS, f"{name} must be a list of strings")
        return sorted({pattern.check(name, value) for value in values})


@dataclass
class Call:
    """One action call: its parameters, the data layer, and the caller's ownership."""

    params: Params
    reader: CacheReader
    ownership: Callable[[], Awaitable[Ownership | None]]
    max_symbols: int


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class Domain:
    """A WebSocket domain: its actions and the error code of a miss."""

    name: str
    not_found: str
    actions: dict[str, Handler]
