"""Reader of the BotCache hashes: ``bot_status``, ``block_exchange`` and ``opening_position``.

``bot_status`` maps a bot id to the caller's JSON document, in which fullon_cache stamped every
object value (a "feed") with an ISO ``timestamp``. The other two hashes have ``{ex_id}:{symbol}``
fields, split at the *first* ``:`` because symbols may hold one (``BTC/USDT:USDT``) and
``ex_id`` may be an id or an exchange name. ``opening_position`` values are ``{bot_id}:{ISO}``,
split at the first ``:`` too since the ISO time has several.

Each list is a page of the hash (HSCAN replies of `chunk` fields; HMGET of the owned bot ids
for a non-admin's status documents), sorted within the page.
"""

from __future__ import annotations

from typing import Any

from .._errors import CorruptEntry, NotFound
from ..backend import translate_errors
from ..security import Ownership, owned, sees, sees_bot_mark
from ..structs.bots import (
    Block,
    BlockCheck,
    BlockList,
    Bot,
    BotList,
    Feed,
    OpeningPosition,
    OpeningPositionList,
)
from ._base import BaseReader, text
from ._chunks import FieldPage
from ._codec import Invalid, Undecodable, attempt, decode, to_datetime
from ._instrument import timed_read
from ._pages import DOCUMENT_PAGE, ENTRY_PAGE
from ._skips import Skips

__all__ = ["BotReader"]

_BOT_STATUS = "bot_status"
_BLOCK_EXCHANGE = "block_exchange"
_OPENING_POSITION = "opening_position"
# One bot's answer is a function of (bot id, stored document): a polled bot is decoded once
# per stored value. The Bot is shared between callers (frozen; its dicts are never changed
# by the gateway). Bounded: dropped whole when full; documents over the size are not kept.
_MAX_DECODED = 1024
_MAX_DECODED_VALUE = 16384
_decoded: dict[tuple[str, bytes | str], Bot] = {}
# A block's bot id or an opening mark (``{bot_id}:{ISO}``) is short; a longer value is corrupt.
_MAX_MARK = 1024


class BotReader(BaseReader):
    """Bot status documents, exchange blocks and opening-position marks.

    `only` restricts reads to what an `Ownership` grants (None: everything): status documents
    by bot id; blocks and opening marks by the bot holding them (and their ex_id when it is
    one). Malformed blocks and marks, whose owner cannot be read, are counted for admins only.
    """

    @timed_read
    async def all(
        self,
        *,
        only: Ownership | None = None,
        cursor: str | None = None,
        limit: int = DOCUMENT_PAGE.default,
    ) -> BotList:
        """A page of the visible bot status documents (HSCAN, or HMGET of the owned bot
        ids), by bot id."""
        page = FieldPage(
            self.redis,
            _BOT_STATUS,
            self.limits,
            owned=owned(only, "bot_ids"),
            cursor=cursor,
            limit=limit,
        )
        skips = Skips(_BOT_STATUS)
        bots: list[Bot] = []
        async for stored in page.chunks():
            for field, raw in stored.items():
                bot = self._bot(text(field), raw)
                if isinstance(bot, Invalid):
                    skips.add(text(field), bot.reason)
                else:
                    bots.append(bot)
        self.report(skips)
        bots.sort(key=lambda bot: _natural(bot.bot_id))
        return BotList(
            count=len(bots), skipped=skips.count, next_cursor=page.next_cursor, bots=bots
        )

    def _bot(self, bot_id: str, raw: bytes | str) -> Bot | Invalid:
        why = self.limits.oversized(raw)
        return _remembered(bot_id, raw) if why is None else Invalid(why)

    @timed_read
    async def one(self, bot_id: str, *, only: Ownership | None = None) -> Bot:
        """The status document of `bot_id` (HGET ``bot_status``); a foreign bot is a miss."""
        raw = None
        if sees(only, bot_id=bot_id):
            with translate_errors(_BOT_STATUS):
                raw = await self.redis.hget(_BOT_STATUS, bot_id)
        if raw is None:
            raise NotFound(f"no status cached for bot {bot_id!r}")
        bot = self._bot(bot_id, raw)
        if isinstance(bot, Invalid):
            raise CorruptEntry(f"bot {bot_id!r} in {_BOT_STATUS} is not valid: {bot.reason}")
        return bot

    @timed_read
    async def blocks(
        self,
        *,
        only: Ownership | None = None,
        cursor: str | None = None,
        limit: int = ENTRY_PAGE.default,
    ) -> BlockList:
        """A page of the exchange/symbol blocks (HSCAN ``block_exchange``; a non-admin sees
        those of its bots among them); malformed fields skipped."""
        page = self._page(_BLOCK_EXCHANGE, cursor, limit)
        skips = Skips(_BLOCK_EXCHANGE)
        blocks: list[Block] = []
        async for stored in page.chunks():
            for field, value in stored.items():
                pair = _split_pair(text(field))
                if pair is None or len(value) > _MAX_MARK:
                    skips.add(text(field)[:100], "field is not {ex_id}:{symbol}")
                    continue
                block = Block(ex_id=pair[0], symbol=pair[1], bot_id=text(value))
                if sees_bot_mark(only, block.ex_id, block.bot_id):
                    blocks.append(block)
        self.report(skips)
        blocks.sort(key=lambda block: (_natural(block.ex_id), block.symbol))
        return BlockList(
            count=len(blocks),
            skipped=skips.count if only is None else 0,
            next_cursor=page.next_cursor,
            blocks=blocks,
        )

    @timed_read
    async def opening_positions(
        self,
        *,
        only: Ownership | None = None,
        cursor: str | None = None,
        limit: int = ENTRY_PAGE.default,
    ) -> OpeningPositionList:
        """A page of the opening-position marks (HSCAN ``opening_position``; a non-admin sees
        those of its bots among them); malformed ones skipped."""
        page = self._page(_OPENING_POSITION, cursor, limit)
        skips = Skips(_OPENING_POSITION)
        marks: list[OpeningPosition] = []
        async for stored in page.chunks():
            for field, value in stored.items():
                if len(value) > _MAX_MARK:
                    skips.add(text(field)[:100], f"value of {len(value)} bytes is no mark")
                    continue
                try:
                    mark = _opening_position(text(field), text(value))
                except Undecodable as exc:
                    skips.add(text(field)[:100], exc)
                    continue
                if sees_bot_mark(only, mark.ex_id, mark.bot_id):
                    marks.append(mark)
        self.report(skips)
        marks.sort(key=lambda mark: (_natural(mark.ex_id), mark.symbol))
        return OpeningPositionList(
            count=len(marks),
            skipped=skips.count if only is None else 0,
            next_cursor=page.next_cursor,
            opening_positions=marks,
        )

    def _page(self, key: str, cursor: str | None, limit: int) -> FieldPage:
        return FieldPage(self.redis, key, self.limits, owned=None, cursor=cursor, limit=limit)

    @timed_read
    async def block(self, ex_id: str, symbol: str, *, only: Ownership | None = None) -> BlockCheck:
        """fullon_cache's ``is_blocked``: HGET ``block_exchange`` ``{ex_id}:{symbol}``.

        An empty holder is no block (fullon_cache's callers test the id's truth). A block held
        by a bot the caller may not see reads as no block, as ``blocks`` leaves it out: a
        foreign block cannot be told from none.
        """
        with translate_errors(_BLOCK_EXCHANGE):
            raw = await self.redis.hget(_BLOCK_EXCHANGE, f"{ex_id}:{symbol}")
        holder = text(raw) if raw is not None else ""
        if holder and not sees_bot_mark(only, ex_id, holder):
            holder = ""
        return BlockCheck(ex_id=ex_id, symbol=symbol, blocked=bool(holder), bot=holder or None)


def _remembered_bot(bot_id: str, raw: bytes | str) -> Bot:
    """`_bot`, memoised by its arguments (the near cache hands back the same bytes object,
    whose hash Python keeps, so a repeated read costs one dict lookup); raises `Undecodable`."""
    found = _remembered(bot_id, raw)
    if isinstance(found, Invalid):
        raise Undecodable(found.reason)
    return found


def _remembered(bot_id: str, raw: bytes | str) -> Bot | Invalid:
    """The bot stored as `raw` or why not, memoised (see `_remembered_bot`)."""
    global _decoded
    memo = (bot_id, raw)
    bot = _decoded.get(memo) if len(raw) <= _MAX_DECODED_VALUE else None
    if bot is not None:
        return bot
    document = attempt(raw, dict[str, Any])
    if isinstance(document, Invalid):
        return document
    bot = _bot_of(bot_id, document)
    if len(raw) <= _MAX_DECODED_VALUE:
        if len(_decoded) >= _MAX_DECODED:
            _decoded = {}
        _decoded[memo] = bot
    return bot


def _bot(bot_id: str, raw: bytes | str) -> Bot:
    """The bot stored as `raw`; raises `Undecodable`."""
    return _bot_of(bot_id, decode(raw, dict[str, Any]))


def _bot_of(bot_id: str, document: dict[str, Any]) -> Bot:
    # Object values are feeds (fullon_cache stamped each one); everything else is a plain field.
    feeds: dict[str, Feed] = {}
    fields: dict[str, Any] = {}
    for name, value in document.items():
        if isinstance(value, dict):
            data = dict(value)
            feeds[name] = Feed(timestamp=to_datetime(data.pop("timestamp", None)), data=data)
        else:
            fields[name] = value
    stamps = [feed.timestamp for feed in feeds.values() if feed.timestamp is not None]
    return Bot(bot_id=bot_id, updated=max(stamps, default=None), feeds=feeds, fields=fields)


def _opening_position(field: str, value: str) -> OpeningPosition:
    pair = _split_pair(field)
    if pair is None:
        raise Undecodable("field is not {ex_id}:{symbol}")
    bot_id, sep, stamp = value.partition(":")
    since = to_datetime(stamp) if sep and bot_id else None
    if since is None:
        raise Undecodable(f"value {value[:80]!r} is not {{bot_id}}:{{ISO time}}")
    return OpeningPosition(ex_id=pair[0], symbol=pair[1], bot_id=bot_id, since=since)


def _split_pair(field: str) -> tuple[str, str] | None:
    """``{ex_id}:{symbol}`` split at the first ``:``; None when either part is missing."""
    ex_id, sep, symbol = field.partition(":")
    return (ex_id, symbol) if sep and ex_id and symbol else None


def _natural(value: str) -> tuple[int, int, str]:
    """Sort key: numeric ids first, by value (``9`` before ``10``), then names as text."""
    if value.isascii() and value.isdigit():
        return (0, int(value), value)
    return (1, 0, value)
