"""Reader of the BotCache hashes: ``bot_status``, ``block_exchange`` and ``opening_position``.

``bot_status`` maps a bot id to the caller's JSON document, in which fullon_cache stamped every
object value (a "feed") with an ISO ``timestamp``. The other two hashes have ``{ex_id}:{symbol}``
fields, split at the *first* ``:`` because symbols may hold one (``BTC/USDT:USDT``) and
``ex_id`` may be an id or an exchange name. ``opening_position`` values are ``{bot_id}:{ISO}``,
split at the first ``:`` too since the ISO time has several.
"""

from __future__ import annotations

from typing import Any

from .._access import owned, read_fields, sees, sees_bot_mark
from .._auth import Ownership
from .._codec import Undecodable, decode, to_datetime
from .._errors import CorruptEntry, NotFound
from .._redis import translate_errors
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


class BotReader(BaseReader):
    """Bot status documents, exchange blocks and opening-position marks.

    `only` restricts reads to what an `Ownership` grants (None: everything): status documents
    by bot id; blocks and opening marks by the bot holding them (and their ex_id when it is
    one). Malformed blocks and marks, whose owner cannot be read, are counted for admins only.
    """

    async def all(self, *, only: Ownership | None = None) -> BotList:
        """Every visible bot status document (HGETALL, or HMGET of the owned bot ids)."""
        stored = await read_fields(self.redis, _BOT_STATUS, owned(only, "bot_ids"))
        bots: list[Bot] = []
        for field in sorted(stored, key=lambda raw: _natural(text(raw))):
            bot_id = text(field)
            try:
                bots.append(_bot(bot_id, stored[field]))
            except Undecodable as exc:
                self.skipped(bot_id, _BOT_STATUS, exc)
        return BotList(count=len(bots), skipped=len(stored) - len(bots), bots=bots)

    async def one(self, bot_id: str, *, only: Ownership | None = None) -> Bot:
        """The status document of `bot_id` (HGET ``bot_status``); a foreign bot is a miss."""
        raw = None
        if sees(only, bot_id=bot_id):
            with translate_errors(_BOT_STATUS):
                raw = await self.redis.hget(_BOT_STATUS, bot_id)
        if raw is None:
            raise NotFound(f"no status cached for bot {bot_id!r}")
        try:
            return _remembered_bot(bot_id, raw)
        except Undecodable as exc:
            raise CorruptEntry(f"bot {bot_id!r} in {_BOT_STATUS} is not valid: {exc}") from None

    async def blocks(self, *, only: Ownership | None = None) -> BlockList:
        """Every exchange/symbol block (HGETALL ``block_exchange``); malformed fields skipped."""
        stored = await read_fields(self.redis, _BLOCK_EXCHANGE, None)
        blocks: list[Block] = []
        skipped = 0
        for field, value in stored.items():
            pair = _split_pair(text(field))
            if pair is None:
                self.skipped(text(field), _BLOCK_EXCHANGE, "field is not {ex_id}:{symbol}")
                skipped += only is None
                continue
            block = Block(ex_id=pair[0], symbol=pair[1], bot_id=text(value))
            if sees_bot_mark(only, block.ex_id, block.bot_id):
                blocks.append(block)
        blocks.sort(key=lambda block: (_natural(block.ex_id), block.symbol))
        return BlockList(count=len(blocks), skipped=skipped, blocks=blocks)

    async def opening_positions(self, *, only: Ownership | None = None) -> OpeningPositionList:
        """Every opening-position mark (HGETALL ``opening_position``); malformed ones skipped."""
        stored = await read_fields(self.redis, _OPENING_POSITION, None)
        marks: list[OpeningPosition] = []
        skipped = 0
        for field, value in stored.items():
            try:
                mark = _opening_position(text(field), text(value))
            except Undecodable as exc:
                self.skipped(text(field), _OPENING_POSITION, exc)
                skipped += only is None
                continue
            if sees_bot_mark(only, mark.ex_id, mark.bot_id):
                marks.append(mark)
        marks.sort(key=lambda mark: (_natural(mark.ex_id), mark.symbol))
        return OpeningPositionList(count=len(marks), skipped=skipped, opening_positions=marks)

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
    whose hash Python keeps, so a repeated read costs one dict lookup)."""
    global _decoded
    if len(raw) > _MAX_DECODED_VALUE:
        return _bot(bot_id, raw)
    memo = (bot_id, raw)
    bot = _decoded.get(memo)
    if bot is None:
        bot = _bot(bot_id, raw)
        if len(_decoded) >= _MAX_DECODED:
            _decoded = {}
        _decoded[memo] = bot
    return bot


def _bot(bot_id: str, raw: bytes | str) -> Bot:
    # Object values are feeds (fullon_cache stamped each one); everything else is a plain field.
    document = decode(raw, dict[str, Any])
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
