"""Reader of the ``accounts`` (balances) and ``account_positions`` hashes, both keyed by ex_id.

``accounts`` field ``{ex_id}`` holds the caller's balances dict as JSON plus ``date`` (ISO for
a full upsert, else whatever string the caller passed). ``account_positions`` field ``{ex_id}``
holds one object per symbol plus a root ``"timestamp"`` (ISO) that is not a symbol; the
per-symbol ``timestamp`` is an epoch float.

Both lists are pages of accounts (HSCAN replies of `chunk` fields for an admin, HMGET of the
owned ex_ids for anyone else), sorted by ex_id within the page.
"""

from __future__ import annotations

from typing import Any

from .._errors import CorruptEntry, NotFound
from ..backend import translate_errors
from ..security import Ownership, owned, sees
from ..structs.accounts import Account, AccountList, AccountPositions, Position, PositionList
from ._base import BaseReader, text
from ._chunks import FieldPage
from ._codec import Invalid, Undecodable, decode_any, to_datetime, to_float
from ._instrument import timed_read
from ._pages import DOCUMENT_PAGE
from ._skips import Skips

__all__ = ["DOCUMENT_PAGE", "AccountReader"]

ACCOUNTS_KEY = "accounts"
POSITIONS_KEY = "account_positions"
# The root key of a positions document: the ISO time of the last write, never a symbol
# (fullon_cache writes it after the symbols, so it would overwrite a symbol of that name).
_ROOT_TIMESTAMP = "timestamp"
# The key fullon_cache adds to a balances document; everything else is the caller's.
_DATE = "date"


class AccountReader(BaseReader):
    """Balances and positions of exchange accounts (ex_id), read from two hashes.

    `only` restricts every read to the ex_ids an `Ownership` grants (None: every account);
    an account not granted reads as absent (see `_access`).
    """

    @timed_read
    async def all(
        self,
        *,
        only: Ownership | None = None,
        cursor: str | None = None,
        limit: int = DOCUMENT_PAGE.default,
    ) -> AccountList:
        """A page of the balances of the visible accounts (HSCAN, or HMGET of the owned
        ex_ids), sorted by ex_id."""
        page = self._page(ACCOUNTS_KEY, only, cursor, limit)
        skips = Skips(ACCOUNTS_KEY)
        accounts: list[Account] = []
        async for stored in page.chunks():
            for field, raw in stored.items():
                ex_id = text(field)
                document = self._document(raw)
                if isinstance(document, Invalid):
                    skips.add(ex_id, document.reason)
                else:
                    accounts.append(_account_of(ex_id, document))
        self.report(skips)
        accounts.sort(key=lambda account: _ex_id_order(account.ex_id))
        return AccountList(
            count=len(accounts),
            skipped=skips.count,
            next_cursor=page.next_cursor,
            accounts=accounts,
        )

    def _page(self, key: str, only: Ownership | None, cursor: str | None, limit: int) -> FieldPage:
        return FieldPage(
            self.redis, key, self.limits, owned=owned(only, "ex_ids"), cursor=cursor, limit=limit
        )

    def _document(self, raw: bytes | str) -> dict[str, Any] | Invalid:
        """A stored JSON object (NaN tolerated), or why not (oversized: not decoded)."""
        return self.limits.decode(raw, dict[str, Any])

    @timed_read
    async def one(self, ex_id: str, *, only: Ownership | None = None) -> Account:
        """Balances of one account (HGET ``accounts`` ex_id)."""
        raw = await self._field(ACCOUNTS_KEY, ex_id, only)
        if raw is None:
            raise NotFound(f"no balances cached for account {ex_id!r}")
        document = self._document(raw)
        if isinstance(document, Invalid):
            raise CorruptEntry(
                f"account {ex_id!r} in {ACCOUNTS_KEY} is not a JSON object: {document.reason}"
            )
        return _account_of(ex_id, document)

    @timed_read
    async def positions(self, ex_id: str, *, only: Ownership | None = None) -> AccountPositions:
        """Positions of one account only (HGET ``account_positions`` ex_id), sorted by symbol."""
        raw = await self._field(POSITIONS_KEY, ex_id, only)
        if raw is None:
            raise NotFound(f"no positions cached for account {ex_id!r}")
        document = self._document(raw)
        if isinstance(document, Invalid):
            raise CorruptEntry(
                f"positions of {ex_id!r} in {POSITIONS_KEY} are not a JSON object: "
                f"{document.reason}"
            )
        positions, skipped = self._symbols(ex_id, document)
        return AccountPositions(
            ex_id=ex_id,
            updated_at=to_datetime(document.get(_ROOT_TIMESTAMP)),
            count=len(positions),
            skipped=skipped,
            positions=positions,
        )

    @timed_read
    async def all_positions(
        self,
        *,
        only: Ownership | None = None,
        cursor: str | None = None,
        limit: int = DOCUMENT_PAGE.default,
    ) -> PositionList:
        """The positions of a page of `limit` visible accounts (HSCAN or HMGET), by (ex_id,
        symbol).

        `skipped` counts whole accounts whose document is corrupt plus single symbols whose
        value is not an object.
        """
        page = self._page(POSITIONS_KEY, only, cursor, limit)
        skips = Skips(POSITIONS_KEY)
        documents: list[tuple[str, dict[str, Any]]] = []
        async for stored in page.chunks():
            for field, raw in stored.items():
                document = self._document(raw)
                if isinstance(document, Invalid):
                    skips.add(text(field), document.reason)
                else:
                    documents.append((text(field), document))
        self.report(skips)
        positions: list[Position] = []
        skipped = skips.count
        for ex_id, document in sorted(documents, key=lambda item: _ex_id_order(item[0])):
            found, bad = self._symbols(ex_id, document)
            positions.extend(found)
            skipped += bad
        return PositionList(
            count=len(positions),
            skipped=skipped,
            next_cursor=page.next_cursor,
            positions=positions,
        )

    async def _field(self, key: str, ex_id: str, only: Ownership | None) -> bytes | str | None:
        """HGET `key` `ex_id`; an account the caller does not own is never read (a miss)."""
        if not sees(only, ex_id=ex_id):
            return None
        with translate_errors(key):
            raw: bytes | str | None = await self.redis.hget(key, ex_id)
        return raw

    def _symbols(self, ex_id: str, document: dict[str, Any]) -> tuple[list[Position], int]:
        """The symbol entries of one positions document, and how many were not objects."""
        positions: list[Position] = []
        skips = Skips(POSITIONS_KEY)
        for symbol in sorted(document):
            if symbol == _ROOT_TIMESTAMP:
                continue
            value = document[symbol]
            if isinstance(value, dict):
                positions.append(_position(ex_id, symbol, value))
            else:
                skips.add(f"{ex_id}/{symbol}", "position is not an object")
        self.report(skips)
        return positions, skips.count


def _object(raw: bytes | str) -> dict[str, Any]:
    """Stored JSON that must be an object (NaN tolerated); raise `Undecodable` otherwise."""
    value = decode_any(raw)
    if not isinstance(value, dict):
        raise Undecodable(f"expected a JSON object, got {type(value).__name__}")
    return value


def _account(ex_id: str, raw: bytes | str) -> Account:
    """The balances stored as `raw`; raises `Undecodable`."""
    return _account_of(ex_id, _object(raw))


def _account_of(ex_id: str, document: dict[str, Any]) -> Account:
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
