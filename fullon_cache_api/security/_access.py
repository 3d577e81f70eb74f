"""Authorization of the private domains: which cached entries an `Ownership` lets a caller see.

``only=None`` stands for an admin and sees everything. Anyone else sees through two rules:

* **Keyed by owner.** When the Redis key or hash field names the owner, it is the gate:
  ``accounts`` / ``account_positions`` field ``{ex_id}``, ``order_status:{ex_id}``,
  ``bot_status`` field ``{bot_id}``, ``user_trades:{uid}:{exchange}``. An id the caller does
  not own reads as a miss (the same 404 as an absent key, so ids cannot be probed), and only
  owned fields are ever fetched (HMGET of them, a chunk at a time; no hash is read whole).
* **Shared containers.** ``order_status:{exchange}``, ``trades:{exchange}:{symbol}``,
  ``block_exchange`` and ``opening_position`` hold entries of many users: each entry is judged
  by the owner ids it carries (`sees`): every id present must be the caller's, and at least one
  must be present. Entries with no owner id, inconsistent ones, and corrupt ones (whose owner
  cannot be read) are hidden: we fail closed.

Containers with no owner at all (``new_orders:*`` queues, the trade queue overview) are
admin-only; anyone else gets an empty list.
"""

from __future__ import annotations

from typing import Literal

from ._auth import Ownership

__all__ = [
    "ex_id_of",
    "may_hold",
    "owned",
    "sees",
    "sees_bot_mark",
    "sees_corrupt",
    "sees_in",
]

# A stored id that is neither text nor an integer can never equal an owned id.
_FOREIGN = "\x00not-an-id"


def sees(
    only: Ownership | None,
    *,
    ex_id: object = None,
    uid: object = None,
    bot_id: object = None,
) -> bool:
    """Whether the caller may see an entry carrying these owner ids (None/"" = not carried)."""
    if only is None:
        return True
    carried = [
        (text, granted)
        for value, granted in ((ex_id, only.ex_ids), (uid, only.uids), (bot_id, only.bot_ids))
        if (text := _id_text(value)) is not None
    ]
    return bool(carried) and all(text in granted for text, granted in carried)


def ex_id_of(name: str) -> str | None:
    """`name` when it is an exchange-account id (digits), None when it names an exchange."""
    return name if name.isascii() and name.isdigit() else None


def may_hold(only: Ownership | None, container: str) -> bool:
    """Whether a container named by `container` (an ex_id or an exchange) may hold entries
    the caller sees: one keyed by a foreign ex_id holds none, so it is never read."""
    ex_id = ex_id_of(container)
    return ex_id is None or sees(only, ex_id=ex_id)


def sees_in(
    only: Ownership | None, container: str, *, ex_id: object, uid: object, bot_id: object
) -> bool:
    """An entry of a container named by an ex_id is that account's; in one named by an
    exchange (shared) the entry is judged by the owner ids it carries."""
    key_ex_id = ex_id_of(container)
    if key_ex_id is not None:
        return sees(only, ex_id=key_ex_id)
    return sees(only, ex_id=ex_id, uid=uid, bot_id=bot_id)


def sees_corrupt(only: Ownership | None, container: str) -> bool:
    """Whether a corrupt entry is shown (counted): only where its owner is known without
    decoding it, i.e. in a container keyed by the caller's ex_id (admins see them all)."""
    key_ex_id = ex_id_of(container)
    return only is None or (key_ex_id is not None and sees(only, ex_id=key_ex_id))


def sees_bot_mark(only: Ownership | None, ex_id_or_exchange: str, bot_id: str) -> bool:
    """A block or opening-position mark belongs to its bot, and to its ex_id when it is one."""
    return sees(only, ex_id=ex_id_of(ex_id_or_exchange), bot_id=bot_id)


def owned(only: Ownership | None, kind: Literal["ex_ids", "bot_ids", "uids"]) -> list[str] | None:
    """The ids of `kind` the caller owns, sorted; None when they may read every id (admin)."""
    return None if only is None else sorted(getattr(only, kind))


def _id_text(value: object) -> str | None:
    """A stored owner id as text; None when the entry does not carry one."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return _FOREIGN
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _FOREIGN
