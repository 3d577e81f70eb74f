"""Reader of the ``accounts`` (balances) and ``account_positions`` hashes, both keyed by ex_id.

``accounts`` field ``{ex_id}`` holds the caller's balances dict as JSON plus ``date`` (ISO for
a full upsert, else whatever string the caller passed). ``account_positions`` field ``{ex_id}``
holds one object per symbol plus a root ``"timestamp"`` (ISO) that is not a symbol; the
per-symbol ``timestamp`` is an epoch float.
"""

from __future__ import annotations

from typing import Any

from .._codec import Undecodable, decode_any, to_datetime, to_float
from .._errors import CorruptEntry, NotFound
from .._redis import translate_errors
from ..structs.accounts import Account, AccountList, AccountPositions, Position, PositionList
from ._base import BaseReader, text

__all__ = ["AccountReader"]

ACCOUNTS_KEY = "accounts"
POSITIONS_KEY = "account_positions"
# The root key of a positions document: the ISO time of the last write, never a symbol
# (fullon_cache writes it after the symbols, so it would overwrite a symbol of that name).
_ROOT_TIMESTAMP = "timestamp"
# The key fullon_cache adds to a balances document; everything else is the caller's.
_DATE = "date"


class AccountReader(BaseReader):
    """Balances and positions of exchange accounts (ex_id), read from two hashes."""

    async def all(self) -> AccountList:
        """Balances of every account (HGETALL ``accounts``), sorted by ex_id."""
        with translate_errors(ACCOUNTS_KEY):
            stored = await self.redis.hgetall(ACCOUNTS_KEY)
        accounts: list[Account] = []
        for field, raw in stored.items():
            ex_id = text(field)
            try:
                accounts.append(_account(ex_id, raw))
            except Undecodable as exc:
                self.skipped(ex_id, ACCOUNTS_KEY, exc)
        accounts.sort(key=lambda account: _ex_id_order(account.ex_id))
        return AccountList(
            count=len(accounts), skipped=len(stored) - len(accounts), accounts=accounts
        )

    async def one(self, ex_id: str) -> Account:
        """Balances of one account (HGET ``accounts`` ex_id)."""
        with translate_errors(ACCOUNTS_KEY):
            raw = await self.redis.hget(ACCOUNTS_KEY, ex_id)
        if raw is None:
            raise NotFound(f"no balances cached for account {ex_id!r}")
        try:
            return _account(ex_id, raw)
        except Undecodable as exc:
            raise CorruptEntry(
                f"account {ex_id!r} in {ACCOUNTS_KEY} is not a JSON object: {exc}"
            ) from None

    async def positions(self, ex_id: str) -> AccountPositions:
        """Positions of one account only (HGET ``account_positions`` ex_id), sorted by symbol."""
        with translate_errors(POSITIONS_KEY):
            raw = await self.redis.hget(POSITIONS_KEY, ex_id)
        if raw is None:
            raise NotFound(f"no positions cached for account {ex_id!r}")
        try:
            document = _object(raw)
        except Undecodable as exc:
            raise CorruptEntry(
                f"positions of {ex_id!r} in {POSITIONS_KEY} are not a JSON object: {exc}"
            ) from None
        positions, skipped = self._symbols(ex_id, document)
        return AccountPositions(
            ex_id=ex_id,
            updated_at=to_datetime(document.get(_ROOT_TIMESTAMP)),
            count=len(positions),
            skipped=skipped,
            positions=positions,
        )

    async def all_positions(self) -> PositionList:
        """Positions of every account (HGETALL ``account_positions``), by (ex_id, symbol).

        `skipped` counts whole accounts whose document is corrupt plus single symbols whose
        value is not an object.
        """
        with translate_errors(POSITIONS_KEY):
            stored = await self.redis.hgetall(POSITIONS_KEY)
        positions: list[Position] = []
        skipped = 0
        for field in sorted(stored, key=lambda field: _ex_id_order(text(field))):
            ex_id = text(field)
            try:
                document = _object(stored[field])
            except Undecodable as exc:
                self.skipped(ex_id, POSITIONS_KEY, exc)
                skipped += 1
                continue
            found, bad = self._symbols(ex_id, document)
            positions.extend(found)
            skipped += bad
        return PositionList(count=len(positions), skipped=skipped, positions=positions)

    def _symbols(self, ex_id: str, document: dict[str, Any]) -> tuple[list[Position], int]:
        """The symbol entries of one positions document, and how many were not objects."""
        positions: list[Position] = []
        skipped = 0
        for symbol in sorted(document):
            if symbol == _ROOT_TIMESTAMP:
                continue
            value = document[symbol]
            if isinstance(value, dict):
                positions.append(_position(ex_id, symbol, value))
            else:
                self.skipped(f"{ex_id}/{symbol}", POSITIONS_KEY, "position is not an object")
                skipped += 1
        return positions, skipped


def _object(raw: bytes | str) -> dict[str, Any]:
    """Stored JSON that must be an object (NaN tolerated); raise `Undecodable` otherwise."""
    value = decode_any(raw)
    if not isinstance(value, dict):
        raise Undecodable(f"expected a JSON object, got {type(value).__name__}")
    return value


def _account(ex_id: str, raw: bytes | str) -> Account:
    document = _object(raw)
    # `date` may be a free caller string ("2024-01-15 10:30:00"); unparseable gives null.
    balances = {currency: value for currency, value in document.items() if currency != _DATE}
    return Account(ex_id=ex_id, updated_at=to_datetime(document.get(_DATE)), balances=balances)


def _position(ex_id: str, symbol: str, stored: dict[str, Any]) -> Position:
    return Position(
        ex_id=ex_id,
        symbol=symbol,
        cost=to_float(stored.get("cost")),
        volume=to_float(stored.get("volume")),
        fee=to_float(stored.get("fee")),
        count=to_float(stored.get("count")),
        price=to_float(stored.get("price")),
        timestamp=to_datetime(stored.get("timestamp")),
    )


def _ex_id_order(ex_id: str) -> tuple[int, int, str]:
    """Numeric ex_ids in numeric order ("2" before "10"), any other field after them."""
    if ex_id.isascii() and ex_id.isdigit():
        return (0, int(ex_id), ex_id)
    return (1, 0, ex_id)
