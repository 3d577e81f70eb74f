"""Reader of the BotCache hashes: ``bot_status``, ``block_exchange`` and ``opening_position``.

``bot_status`` maps a bot id to the caller's JSON document, in which fullon_cache stamped every
object value (a "feed") with an ISO ``timestamp``. The other two hashes have ``{ex_id}:{symbol}``
fields, split at the *first* ``:`` because symbols may hold one (``BTC/USDT:USDT``) and
``ex_id`` may be an id or an exchange name. ``opening_position`` values are ``{bot_id}:{ISO}``,
split at the first ``:`` too since the ISO time has several.
"""

from __future__ import annotations

from typing import Any

from .._codec import Undecodable, decode, to_datetime
from .._errors import CorruptEntry, NotFound
from .._redis import translate_errors
from ..structs.bots import (
    Block,
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


class BotReader(BaseReader):
    """Bot status documents, exchange blocks and opening-position marks."""

    async def all(self) -> BotList:
        """Every bot status document (HGETALL ``bot_status``); bad JSON is skipped."""
        stored = await self._hgetall(_BOT_STATUS)
        bots: list[Bot] = []
        for field in sorted(stored, key=lambda raw: _natural(text(raw))):
            bot_id = text(field)
            try:
                bots.append(_bot(bot_id, stored[field]))
            except Undecodable as exc:
                self.skipped(bot_id, _BOT_STATUS, exc)
        return BotList(count=len(bots), skipped=len(stored) - len(bots), bots=bots)

    async def one(self, bot_id: str) -> Bot:
        """The status document of `bot_id` (HGET ``bot_status``)."""
        with translate_errors(_BOT_STATUS):
            raw = await self.redis.hget(_BOT_STATUS, bot_id)
        if raw is None:
            raise NotFound(f"no status cached for bot {bot_id!r}")
        try:
            return _bot(bot_id, raw)
        except Undecodable as exc:
            raise CorruptEntry(f"bot {bot_id!r} in {_BOT_STATUS} is not valid: {exc}") from None

    async def blocks(self) -> BlockList:
        """Every exchange/symbol block (HGETALL ``block_exchange``); malformed fields skipped."""
        stored = await self._hgetall(_BLOCK_EXCHANGE)
        blocks: list[Block] = []
        for field, value in stored.items():
            pair = _split_pair(text(field))
            if pair is None:
                self.skipped(text(field), _BLOCK_EXCHANGE, "field is not {ex_id}:{symbol}")
                continue
            blocks.append(Block(ex_id=pair[0], symbol=pair[1], bot_id=text(value)))
        blocks.sort(key=lambda block: (_natural(block.ex_id), block.symbol))
        return BlockList(count=len(blocks), skipped=len(stored) - len(blocks), blocks=blocks)

    async def opening_positions(self) -> OpeningPositionList:
        """Every opening-position mark (HGETALL ``opening_position``); malformed ones skipped."""
        stored = await self._hgetall(_OPENING_POSITION)
        marks: list[OpeningPosition] = []
        for field, value in stored.items():
            try:
                marks.append(_opening_position(text(field), text(value)))
            except Undecodable as exc:
                self.skipped(text(field), _OPENING_POSITION, exc)
        marks.sort(key=lambda mark: (_natural(mark.ex_id), mark.symbol))
        return OpeningPositionList(
            count=len(marks), skipped=len(stored) - len(marks), opening_positions=marks
        )

    async def _hgetall(self, key: str) -> dict[bytes | str, bytes | str]:
        with translate_errors(key):
            return await self.redis.hgetall(key)


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
