"""Structs of the bots domain (``bot_status``, ``block_exchange``, ``opening_position`` hashes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

__all__ = [
    "Block",
    "BlockCheck",
    "BlockList",
    "Bot",
    "BotList",
    "Feed",
    "OpeningPosition",
    "OpeningPositionList",
]


class Feed(msgspec.Struct, frozen=True, kw_only=True):
    """One feed of a bot: when fullon_cache stamped it, and its other keys as stored."""

    timestamp: datetime | None
    data: dict[str, Any]


class Bot(msgspec.Struct, frozen=True, kw_only=True):
    """A bot status document: its feeds (object values), plain fields, and newest feed time."""

    bot_id: str
    updated: datetime | None
    feeds: dict[str, Feed]
    fields: dict[str, Any]


class BotList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of bot status documents, sorted by bot id; corrupt and oversized ones are counted
    in `skipped`; `next_cursor` fetches the next page (null: this was the last)."""

    count: int
    skipped: int
    next_cursor: str | None = None
    bots: list[Bot]


class Block(msgspec.Struct, frozen=True, kw_only=True):
    """An exchange/symbol pair blocked by a bot (`ex_id` may be an id or an exchange name)."""

    ex_id: str
    symbol: str
    bot_id: str


class BlockList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of blocks, sorted by ex_id then symbol; malformed fields are counted in
    `skipped`; `next_cursor` fetches the next page (null: this was the last)."""

    count: int
    skipped: int
    next_cursor: str | None = None
    blocks: list[Block]


class OpeningPosition(msgspec.Struct, frozen=True, kw_only=True):
    """A bot opening a position on an exchange/symbol pair, and since when."""

    ex_id: str
    symbol: str
    bot_id: str
    since: datetime


class OpeningPositionList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of opening-position marks, sorted by ex_id then symbol; malformed ones are
    counted in `skipped`; `next_cursor` fetches the next page (null: this was the last)."""

    count: int
    skipped: int
    next_cursor: str | None = None
    opening_positions: list[OpeningPosition]


class BlockCheck(msgspec.Struct, frozen=True, kw_only=True):
    """fullon_cache's ``is_blocked(ex_id, symbol)``: whether a bot holds the pair, and which."""

    ex_id: str
    symbol: str
    blocked: bool
    bot: str | None
