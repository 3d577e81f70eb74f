"""The bot activity view: feeds, blocks and opening-position marks gathered per bot."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ..._access import ex_id_of, sees
from ..._auth import Ownership
from ..._codec import Invalid, Undecodable
from ...structs.bots import Bot
from ...structs.views import BotActivity, BotActivityList, BotFeedActivity, BotHold
from .._base import BaseReader, Deadline, text
from .._skips import Skips
from ..bots import _bot_of, _natural, _opening_position, _split_pair
from ._scan import age_of, hash_batches

# A block's bot id or an opening mark is short: a longer value is no mark at all.
_MAX_MARK = 1024

__all__ = ["ActivityReader"]


@dataclass
class _Seen:
    bot: Bot | None = None
    blocks: list[BotHold] = field(default_factory=list)
    opening: list[BotHold] = field(default_factory=list)


class ActivityReader(BaseReader):
    """Per-bot activity over ``bot_status``, ``block_exchange`` and ``opening_position``."""

    async def bots(
        self, stale_after: int, *, only: Ownership | None, deadline: Deadline
    ) -> BotActivityList:
        """The three hashes, each whole or in HSCAN pages, until done or `deadline` spent.

        Visibility follows the bots domain (`_access`): a non-admin sees the status documents
        of its bot ids, and the blocks and marks held by its bots (on its ex_ids when the
        field names an id rather than an exchange).
        """
        now = time.time()
        seen: dict[str, _Seen] = {}
        skips = Skips("bot_status")
        async for batch in self._batches("bot_status", deadline):
            for bot_id, raw in batch:
                if not sees(only, bot_id=bot_id):
                    continue
                document = self.limits.decode(raw, dict[str, Any])
                if isinstance(document, Invalid):
                    skips.add(bot_id, document.reason)
                else:
                    seen.setdefault(bot_id, _Seen()).bot = _bot_of(bot_id, document)
        self.report(skips)
        skipped = skips.count
        async for batch in self._batches("block_exchange", deadline):
            for pair_field, value in batch:
                if len(value) > _MAX_MARK:
                    continue  # counted by /bots/blocks
                pair, bot_id = _split_pair(pair_field), text(value)
                if pair is not None and _sees_mark(only, pair[0], bot_id):
                    hold = BotHold(ex_id=pair[0], symbol=pair[1], since=None, age_seconds=None)
                    seen.setdefault(bot_id, _Seen()).blocks.append(hold)
        async for batch in self._batches("opening_position", deadline):
            for pair_field, value in batch:
                try:
                    if len(value) > _MAX_MARK:
                        raise Undecodable("too long")
                    mark = _opening_position(pair_field, text(value))
                except Undecodable:
                    continue  # counted by /bots/opening-positions
                if _sees_mark(only, mark.ex_id, mark.bot_id):
                    hold = BotHold(
                        ex_id=mark.ex_id,
                        symbol=mark.symbol,
                        since=mark.since,
                        age_seconds=age_of(mark.since, now),
                    )
                    seen.setdefault(mark.bot_id, _Seen()).opening.append(hold)
        bots = [_activity(bot_id, seen[bot_id], stale_after, now) for bot_id in seen]
        bots.sort(key=lambda bot: _natural(bot.bot_id))
        return BotActivityList(
            stale_after=stale_after,
            count=len(bots),
            stale=sum(bot.stale for bot in bots),
            skipped=skipped,
            partial=deadline.cut,
            bots=bots,
        )

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
