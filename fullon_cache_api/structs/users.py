"""Structs of the per-user summary (orders, bots, balances and positions a user owns)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

__all__ = ["UserBot", "UserSummary"]


class UserBot(msgspec.Struct, frozen=True, kw_only=True):
    """One bot of the user and its status.

    `status` is the document's own ``status`` field when it has one, else the status its
    feeds agree on (null when they disagree or have none); `feeds` maps each feed to its
    ``status``.
    """

    bot_id: str
    name: str | None
    status: str | None
    feeds: dict[str, str | None]
    updated: datetime | None


class UserSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What one user owns in the cache: orders by status, bots with their status, balances
    and positions.

    `ownership` says which entries count: ``hook`` (what the host's ownership hook grants
    the user), ``uid_field`` (no hook: the entries whose own ``uid`` field is the user's),
    ``admin`` (an admin identity without a user id: every entry) or ``none`` (a non-admin
    identity with neither a user id nor a hook: nothing). Balances and positions carry no
    ``uid`` in fullon_cache's layout, so with ``uid_field`` `accounts`, `balances` and
    `positions` are null (unknown). `skipped` counts corrupt entries known to be the
    user's; `partial` says the time budget ran out before every entry was read (the counts
    then cover what was read).
    """

    uid: str | None
    ownership: Literal["hook", "uid_field", "admin", "none"]
    orders: int
    orders_by_status: dict[str, int]
    open_orders: int
    bot_count: int
    bots: list[UserBot]
    accounts: int | None
    balances: int | None
    positions: int | None
    skipped: int
    partial: bool
