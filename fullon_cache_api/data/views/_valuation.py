"""Valuing balances and positions at ticker prices, exactly (see ``_scan`` for the policy).

A ticker's price is its ``last``; else the mid of ``bid`` and ``ask``; else its ``price``
field (the one fullon's Tick always carries). Only finite, positive numbers count. A currency
``C`` converts to the quote ``Q`` at 1 when ``C == Q``, else at the price of the ``C/Q``
ticker, else at ``1 / price`` of the ``Q/C`` ticker, all on the account's ticker exchange.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from ...backend import CacheClient, translate_errors
from ...structs.accounts import Position
from ...structs.tickers import Ticker
from ...structs.views_portfolio import BalanceValue, PositionValue
from .._codec import Undecodable
from ..tickers import _ticker
from ._scan import as_float, exact_div, exact_mul, exact_sum, money

__all__ = ["Prices", "Valued", "balance_value", "position_value", "quote_of"]

PriceSource = Literal["last", "mid", "price"]
_TWO = Decimal(2)


@dataclass(frozen=True)
class Valued:
    """An answered entry and its exact contributions to the sums (None: not summed)."""

    entry: Any
    value: Decimal | None = None
    pnl: Decimal | None = None


def quote_of(symbol: str) -> str | None:
    """The quote currency of ``BASE/QUOTE`` (ccxt's ``BASE/QUOTE:SETTLE`` too), else None."""
    _, slash, rest = symbol.partition("/")
    quote = rest.partition(":")[0]
    return quote if slash and quote else None


def ticker_price(ticker: Ticker) -> tuple[Decimal, PriceSource] | None:
    """The valuation price of a ticker and which field gave it, or None."""
    last = _positive(ticker.last)
    if last is not None:
        return last, "last"
    bid, ask = _positive(ticker.bid), _positive(ticker.ask)
    if bid is not None and ask is not None:
        return exact_div(exact_sum([bid, ask]), _TWO), "mid"
    price = _positive(ticker.price)
    return (price, "price") if price is not None else None


def _positive(value: float | None) -> Decimal | None:
    amount = money(value)
    return amount if amount is not None and amount > 0 else None


@dataclass
class Prices:
    """The tickers one account needs, read from ``tickers:{exchange}`` in one HMGET."""

    quote: str
    exchange: str | None
    missing_reason: str | None
    tickers: dict[str, Ticker] = field(default_factory=dict)

    async def load(self, redis: CacheClient, currencies: list[str], symbols: list[str]) -> None:
        """HMGET the position symbols and both conversion pairs of every other currency."""
        if self.exchange is None:
            return
        wanted = set(symbols)
        for currency in {*currencies, *filter(None, map(quote_of, symbols))} - {self.quote}:
            wanted.update((f"{currency}/{self.quote}", f"{self.quote}/{currency}"))
        if not wanted:
            return
        names = sorted(wanted)
        key = f"tickers:{self.exchange}"
        with translate_errors(key):
            raws = await redis.hmget(key, names)
        now = time.time()
        for name, raw in zip(names, raws, strict=True):
            if raw:
                try:
                    self.tickers[name] = _ticker(self.exchange, name, raw, now)
                except Undecodable:
                    continue  # a corrupt ticker values like a missing one

    def price(self, symbol: str) -> tuple[Decimal, PriceSource, Ticker] | str:
        """The price of `symbol`, or why there is none."""
        if self.exchange is None:
            return self.missing_reason or "no ticker exchange"
        ticker = self.tickers.get(symbol)
        if ticker is None:
            return f"no ticker {symbol} on {self.exchange}"
        found = ticker_price(ticker)
        if found is None:
            return f"ticker {symbol} on {self.exchange} has no usable price"
        return found[0], found[1], ticker

    def rate(self, currency: str) -> tuple[Decimal | None, str | None]:
        """The price of one `currency` unit in the quote, or why it is unknown."""
        if currency == self.quote:
            return Decimal(1), None
        if self.exchange is None:
            return None, self.missing_reason
        direct = self.tickers.get(f"{currency}/{self.quote}")
        found = ticker_price(direct) if direct is not None else None
        if found is not None:
            return found[0], None
        inverse = self.tickers.get(f"{self.quote}/{currency}")
        found = ticker_price(inverse) if inverse is not None else None
        if found is not None:
            return exact_div(Decimal(1), found[0]), None
        pairs = f"{currency}/{self.quote} or {self.quote}/{currency}"
        return None, f"no usable {pairs} ticker on {self.exchange}"


def balance_value(currency: str, stored: Any, prices: Prices) -> Valued:
    """One balance: `total` (or ``free + used`` when the total is absent) times its rate."""
    free = used = total = None
    reason: str | None = None
    if isinstance(stored, dict):
        free, used, total = (money(stored.get(name)) for name in ("free", "used", "total"))
        if "total" not in stored and free is not None and used is not None:
            total = exact_sum([free, used])
        if total is None:
            reason = "balance has no numeric total (nor free and used)"
    else:
        reason = "balance is not an object of free/used/total"
    rate, rate_reason = prices.rate(currency)
    value = exact_mul(total, rate) if total is not None and rate is not None else None
    entry = BalanceValue(
        currency=currency,
        free=as_float(free),
        used=as_float(used),
        total=as_float(total),
        rate=as_float(rate),
        value=as_float(value),
        reason="; ".join(filter(None, (reason, rate_reason))) or None,
    )
    return Valued(entry, value if entry.reason is None else None)


def _signed(cost: Decimal, volume: Decimal | None) -> Decimal:
    """The cost with the sign of the volume: a short (negative volume) may store its cost as a
    positive notional, and value - cost must then still be its gain (entry - price) x size."""
    return -cost if volume is not None and volume < 0 < cost else cost


def position_value(position: Position, prices: Prices) -> Valued:
    """One position: ``value = volume * price``, ``pnl = value - cost``, both times the rate
    (a short's cost counts with the sign of its volume)."""
    currency = quote_of(position.symbol)
    volume, cost = money(position.volume), money(position.cost)
    reasons: list[str] = []
    priced = prices.price(position.symbol)
    price, source, ticker = (None, None, None) if isinstance(priced, str) else priced
    if isinstance(priced, str):
        reasons.append(priced)
    if volume is None:
        reasons.append("position volume is not a number")
    if cost is None:
        reasons.append("position cost is not a number")
    value = exact_mul(volume, price) if volume is not None and price is not None else None
    pnl = (
        exact_sum([value, -_signed(cost, volume)])
        if value is not None and cost is not None
        else None
    )
    rate: Decimal | None = None
    if currency is None:
        reasons.append(f"{position.symbol} has no '/': its quote currency is unknown")
    else:
        rate, rate_reason = prices.rate(currency)
        if rate_reason is not None and rate_reason not in reasons:
            reasons.append(rate_reason)
    entry = PositionValue(
        symbol=position.symbol,
        currency=currency,
        volume=as_float(volume),
        cost=as_float(cost),
        price=as_float(price),
        price_source=source,
        ticker_age_seconds=ticker.age_seconds if ticker is not None else None,
        value=as_float(value),
        unrealized_pnl=as_float(pnl),
        rate=as_float(rate),
        reason="; ".join(reasons) or None,
    )
    if reasons or value is None or pnl is None or rate is None:
        return Valued(entry)
    return Valued(entry, exact_mul(value, rate), exact_mul(pnl, rate))
