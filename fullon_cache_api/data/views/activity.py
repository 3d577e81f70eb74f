"""The bot activity view: feeds, blocks and opening-position marks gathered per bot, a page of
bots at a time.

A page lists the bots of a page of ``bot_status`` (as ``/bots``: HSCAN for an admin, HMGET of
the owned bot ids for anyone else) with the marks they hold, found by walking
``block_exchange`` and ``opening_position`` in HSCAN replies (only the page's bots' marks are
kept). Once ``bot_status`` is done, the next pages list the bots that hold marks but have no
status document (`known` false), by bot id: each such page walks the two mark hashes to pick
the next `limit` of them (a top-k: memory bounded by the page), then again for their marks.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from ...backend import translate_errors
from ...security import Ownership, ex_id_of, owned, sees
from ...structs.bots import Bot
from ...structs.views import BotActivity, BotActivityList, BotFeedActivity, BotHold
from .._base import BaseReader, Deadline, text
from .._chunks import FieldPage
from .._codec import Invalid, Undecodable
from .._cursor import cursor_kind, decode_cursor, encode_cursor
from .._pages import DOCUMENT_PAGE
from .._skips import Skips
from .._topk import TopK
from ..bots import _bot_of, _natural, _opening_position, _split_pair
from ._scan import age_of, hash_batches

__all__ = ["ActivityReader"]

# A block's bot id or an opening mark is short: a longer value is no mark at all.
_MAX_MARK = 1024
_UNKNOWN = "u"  # the cursor kind of the pages of bots without a status document
_Natural = tuple[int, int, str]
_FIRST: _Natural = (-1, 0, "")  # before every bot id (see `_natural`)


@dataclass
class _Seen:
    bot: Bot | None = None
    blocks: list[BotHold] = field(default_factory=list)
    opening: list[BotHold] = field(default_factory=list)


@dataclass
class _Page:
    seen: dict[str, _Seen] = field(default_factory=dict)
    skipped: int = 0
    next_cursor: str | None = None


class ActivityReader(BaseReader):
    """Per-bot activity over ``bot_status``, ``block_exchange`` and ``opening_position``."""

    async def bots(
        self,
        stale_after: int,
        *,
        only: Ownership | None,
        deadline: Deadline,
        cursor: str | None = None,
        limit: int = DOCUMENT_PAGE.default,
    ) -> BotActivityList:
        """A page of about `limit` bots, until done or `deadline` spent.

        Visibility follows the bots domain (`_access`): a non-admin sees the status documents
        of its bot ids, and the blocks and marks held by its bots (on its ex_ids when the
        field names an id rather than an exchange).
        """
        now = time.time()
        if cursor is not None and cursor_kind(cursor) == _UNKNOWN:
            after = decode_cursor(cursor, _UNKNOWN, tuple[int, int, str])
            page = await self._unknown(only, deadline, after, limit)
        else:
            page = await self._known(only, deadline, cursor, limit, now)
        bots = [_activity(bot_id, seen, stale_after, now) for bot_id, seen in page.seen.items()]
        bots.sort(key=lambda bot: _natural(bot.bot_id))
        return BotActivityList(
            stale_after=stale_after,
            count=len(bots),
            stale=sum(bot.stale for bot in bots),
            skipped=page.skipped,
            partial=deadline.cut,
            next_cursor=page.next_cursor,
            bots=bots,
        )

    async def _known(
        self,
        only: Ownership | None,
        deadline: Deadline,
        cursor: str | None,
        limit: int,
        now: float,
    ) -> _Page:
        """A page of ``bot_status`` and the marks of its bots; after the last one, the first
        bots without a document."""
        fields = FieldPage(
            self.redis,
            "bot_status",
            self.limits,
            owned=owned(only, "bot_ids"),
            cursor=cursor,
            limit=limit,
        )
        page, skips = _Page(), Skips("bot_status")
        if deadline.spent():  # nothing read: the same page again
            page.next_cursor = cursor or encode_cursor("h" if only is None else "i", 0)
            return page
        held: set[str] = set()  # the page's bots, a corrupt document's included
        async for stored in fields.chunks():
            for raw_id, raw in stored.items():
                bot_id = text(raw_id)
                held.add(bot_id)
                document = self.limits.decode(raw, dict[str, Any])
                if isinstance(document, Invalid):
                    skips.add(bot_id, document.reason)
                else:
                    page.seen[bot_id] = _Seen(bot=_bot_of(bot_id, document))
        self.report(skips)
        page.skipped = skips.count
        await self._marks(only, deadline, now, lambda bot_id: bot_id in held, page.seen)
        page.next_cursor = fields.next_cursor
        if fields.next_cursor is None:  # the documents are done: the bots with marks only
            room = limit - len(page.seen)
            if room <= 0 or deadline.spent():
                page.next_cursor = encode_cursor(_UNKNOWN, *_FIRST)
            else:
                rest = await self._unknown(only, deadline, None, room)
                page.seen.update(rest.seen)
                page.next_cursor = rest.next_cursor
        return page

    async def _unknown(
        self, only: Ownership | None, deadline: Deadline, after: _Natural | None, limit: int
    ) -> _Page:
        """The next `limit` bots (by bot id, after `after`) that hold a visible mark but have
        no status document, with their marks."""
        top: TopK[None] = TopK(limit + 1)  # one more tells whether a next page exists
        async for batch in self._mark_batches(only, deadline):
            candidates = {
                bot_id for _, _, bot_id, _ in batch if after is None or _natural(bot_id) > after
            }
            for bot_id in await self._without_document(sorted(candidates)):
                top.offer(bot_id, _natural(bot_id), None)
        chosen = [key[2] for key, _ in top.smallest()]
        page = _Page()
        if len(chosen) > limit:
            chosen = chosen[:limit]
            page.next_cursor = encode_cursor(_UNKNOWN, *_natural(chosen[-1]))
        wanted = set(chosen)
        page.seen = {bot_id: _Seen() for bot_id in chosen}
        await self._marks(only, deadline, time.time(), wanted.__contains__, page.seen)
        return page

    async def _without_document(self, bot_ids: list[str]) -> list[str]:
        """Those of `bot_ids` with no field in ``bot_status`` (HEXISTS, `chunk` per pipeline)."""
        found: list[str] = []
        chunk = self.limits.chunk
        for start in range(0, len(bot_ids), chunk):
            some = bot_ids[start : start + chunk]
            with translate_errors("bot_status"):
                async with self.redis.pipeline(transaction=False) as pipe:
                    for bot_id in some:
                        pipe.hexists("bot_status", bot_id)
                    exists = await pipe.execute()
            found.extend(bot_id for bot_id, there in zip(some, exists, strict=True) if not there)
        return found

    async def _marks(
        self,
        only: Ownership | None,
        deadline: Deadline,
        now: float,
        wanted: Callable[[str], bool],
        seen: dict[str, _Seen],
    ) -> None:
        """The blocks and opening marks of the `wanted` bots, added to `seen`."""
        async for batch in self._mark_batches(only, deadline):
            for kind, pair, bot_id, since in batch:
                if not wanted(bot_id):
                    continue
                hold = BotHold(
                    ex_id=pair[0], symbol=pair[1], since=since, age_seconds=age_of(since, now)
                )
                found = seen.setdefault(bot_id, _Seen())
                (found.blocks if kind == "block" else found.opening).append(hold)

    async def _mark_batches(
        self, only: Ownership | None, deadline: Deadline
    ) -> AsyncIterator[list[tuple[str, tuple[str, str], str, Any]]]:
        """Per HSCAN reply of ``block_exchange`` then ``opening_position``: the visible marks
        as (kind, (ex_id, symbol), bot id, since); malformed ones are left out (counted by
        ``/bots/blocks`` and ``/bots/opening-positions``)."""
        async for batch in self._batches("block_exchange", deadline):
            blocks = []
            for pair_field, value in batch:
                pair, bot_id = _split_pair(pair_field), text(value)
                if (
                    len(value) <= _MAX_MARK
                    and pair is not None
                    and _sees_mark(only, pair[0], bot_id)
                ):
                    blocks.append(("block", pair, bot_id, None))
            yield blocks
        async for batch in self._batches("opening_position", deadline):
            marks = []
            for pair_field, value in batch:
                try:
                    if len(value) > _MAX_MARK:
                        raise Undecodable("too long")
                    mark = _opening_position(pair_field, text(value))
                except Undecodable:
                    continue
                if _sees_mark(only, mark.ex_id, mark.bot_id):
                    marks.append(("opening", (mark.ex_id, mark.symbol), mark.bot_id, mark.since))
            yield marks

    async def _batches(
        self, key: str, deadline: Deadline
    ) -> AsyncIterator[list[tuple[str, bytes | str]]]:
        """`hash_batches` of `key`, none when the deadline is already spent."""
        if deadline.spent():
            return
        async for batch in hash_batches(self.redis, key, self.limits, deadline):
            yield batch


def _activity(bot_id: str, seen: _Seen, stale_after: int, now: float) -> BotActivity:
    feeds: list[BotFeedActivity] = []
    if seen.bot is not None:
        for name in sorted(seen.bot.feeds):
            when = seen.bot.feeds[name].timestamp
            age = age_of(when, now)
            feeds.append(
                BotFeedActivity(
                    name=name, updated=when, age_seconds=age, stale=age is None or age > stale_after
                )
            )
    updated = seen.bot.updated if seen.bot is not None else None
    age = age_of(updated, now)
    return BotActivity(
        bot_id=bot_id,
        known=seen.bot is not None,
        updated=updated,
        age_seconds=age,
        stale=age is None or age > stale_after,
        feeds=feeds,
        blocks=sorted(seen.blocks, key=_hold_order),
        opening_positions=sorted(seen.opening, key=_hold_order),
    )


def _sees_mark(only: Ownership | None, ex_id: str, bot_id: str) -> bool:
    """As ``/bots/blocks``: a mark belongs to its bot, and to its ex_id when that is an id."""
    return sees(only, ex_id=ex_id_of(ex_id), bot_id=bot_id)


def _hold_order(hold: BotHold) -> tuple[tuple[int, int, str], str]:
    return (_natural(hold.ex_id), hold.symbol)
