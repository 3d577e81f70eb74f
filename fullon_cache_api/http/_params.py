"""Validation of path and query parameters: every value is checked before it reaches Redis.

Each `Pattern` is documented (it becomes the OpenAPI schema of the parameter). None admits
the glob characters ``* ? [ ] \\``, so no request value could ever widen a SCAN pattern.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request

from .._errors import InvalidInput

__all__ = [
    "ACCOUNT",
    "BOT_ID",
    "COMPONENT",
    "CURSOR",
    "EXCHANGE",
    "EX_ID",
    "ORDER_ID",
    "PATH_PATTERNS",
    "PROCESS_ID",
    "PROCESS_TYPE",
    "STATUS",
    "SYMBOL",
    "TIMEFRAME",
    "UID",
    "Bound",
    "Pattern",
    "query_int",
    "query_text",
]


@dataclass(frozen=True, slots=True)
class Pattern:
    """A named text parameter shape: a regular expression with its length bound."""

    name: str
    regex: str
    max_length: int
    description: str
    # Compiled once: `re.fullmatch(text, ...)` looks the pattern up in re's cache per call.
    _fullmatch: Callable[[str], object] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_fullmatch", re.compile(self.regex).fullmatch)

    def check(self, param: str, value: str) -> str:
        """Return `value` when it matches, else raise `InvalidInput` naming `param`."""
        if len(value) > self.max_length or self._fullmatch(value) is None:
            shown = value if len(value) <= 80 else value[:80] + "..."
            raise InvalidInput(f"{param} {shown!r} is not a valid {self.description}")
        return value


@dataclass(frozen=True, slots=True)
class Bound:
    """An integer query parameter: its default and inclusive bounds."""

    default: int
    minimum: int
    maximum: int


EXCHANGE = Pattern("exchange", r"[A-Za-z0-9][A-Za-z0-9_.\-]*", 64, "exchange name")
SYMBOL = Pattern("symbol", r"[A-Za-z0-9][A-Za-z0-9_.\-/:]*", 64, "symbol (e.g. BTC/USDT)")
EX_ID = Pattern("ex_id", r"[0-9]+", 20, "exchange account id (digits)")
ACCOUNT = Pattern("account", r"[A-Za-z0-9][A-Za-z0-9_.\-]*", 64, "exchange name or ex_id")
ORDER_ID = Pattern("order_id", r"[A-Za-z0-9_.\-:/]+", 128, "order id")
BOT_ID = Pattern("bot_id", r"[A-Za-z0-9][A-Za-z0-9_.\-]*", 64, "bot id")
UID = Pattern("uid", r"[0-9]+", 20, "user id (digits)")
TIMEFRAME = Pattern("timeframe", r"[0-9]{1,4}[smhdwMy]", 8, "timeframe (e.g. 1m, 4h, 1d)")
STATUS = Pattern("status", r"[A-Za-z_\-]+", 32, "status")
PROCESS_TYPE = Pattern("type", r"[a-z_]+", 32, "process type")
COMPONENT = Pattern("component", r"[A-Za-z0-9_.\-/:]+", 128, "component")
# A list's next_cursor (URL-safe base64 without padding), passed back to fetch the next page.
CURSOR = Pattern(
    "cursor", r"[A-Za-z0-9_\-]+", 512, "page cursor (the next_cursor of the previous page)"
)
PROCESS_ID = Pattern(
    "process_id", r"[a-z_]+:[A-Za-z0-9_.\-/:]+:[0-9]+(\.[0-9]+)?", 192, "process id"
)


_INTEGER = re.compile(r"-?[0-9]{1,12}").fullmatch

# Every path parameter name used in a route template, with the pattern it must match.
PATH_PATTERNS = {
    "exchange": EXCHANGE,
    "symbol": SYMBOL,
    "ex_id": EX_ID,
    "account": ACCOUNT,
    "order_id": ORDER_ID,
    "bot_id": BOT_ID,
    "uid": UID,
    "timeframe": TIMEFRAME,
    "process_id": PROCESS_ID,
}


def query_text(request: Request, name: str, pattern: Pattern) -> str | None:
    """The query parameter `name` if present (empty counts as absent), validated."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    return pattern.check(name, value)


def query_int(request: Request, name: str, bound: Bound) -> int:
    """The integer query parameter `name` within `bound`, or its default when absent."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return bound.default
    if _INTEGER(value) is None:
        raise InvalidInput(f"{name} must be an integer (got {value[:40]!r})")
    number = int(value)
    if not bound.minimum <= number <= bound.maximum:
        raise InvalidInput(f"{name} must be between {bound.minimum} and {bound.maximum}")
    return number
