"""The near cache's store on its own: bounds, expiry, and the pending-read rule."""

from __future__ import annotations

import time

from fullon_cache_api.backend._near import Store
from fullon_cache_api.backend._near._store import MISS


def store(**bounds: int) -> Store:
    made = Store(ttl=60.0, max_entries=bounds.get("entries", 100), max_bytes=bounds.get("b", 10**6))
    made.active = True
    return made


def fill(made: Store, key: str, reply: object, slot: object = ("GET",)) -> None:
    made.end(key, slot, made.begin(key), reply)


def test_entry_bound_evicts_oldest_keys() -> None:
    """Past max_entries the oldest key goes first; the newest stay."""
    made = store(entries=3)
    for n in range(5):
        fill(made, f"k{n}", b"v")
    assert made.entries == 3
    assert [made.get(f"k{n}", ("GET",)) for n in range(5)] == [MISS, MISS, b"v", b"v", b"v"]


def test_byte_bound_holds_and_huge_replies_are_not_kept() -> None:
    """Counted bytes stay under max_bytes; a reply larger than the bound is never kept."""
    made = store(b=2_000)
    for n in range(10):
        fill(made, f"k{n}", b"x" * 500)
        assert made.bytes <= 2_000
    fill(made, "huge", b"x" * 5_000)
    assert made.get("huge", ("GET",)) is MISS
    assert 0 < made.entries < 10


def test_invalidation_drops_every_slot_of_a_key() -> None:
    """One write to a hash drops its HGETALL and each HGET at once."""
    made = store()
    fill(made, "h", {b"a": b"1"}, ("HGETALL",))
    fill(made, "h", b"1", ("HGET", "a"))
    fill(made, "other", b"2")
    made.invalidate(["h"])
    assert made.get("h", ("HGETALL",)) is MISS and made.get("h", ("HGET", "a")) is MISS
    assert made.get("other", ("GET",)) == b"2"
    assert made.entries == 1


def test_invalidation_while_pending_spoils_the_reply() -> None:
    """A reply whose key was invalidated while in flight is not kept; the next read's is."""
    made = store()
    ticket = made.begin("k")
    made.invalidate(["k"])
    made.end("k", ("GET",), ticket, b"old")
    assert made.get("k", ("GET",)) is MISS
    fill(made, "k", b"new")
    assert made.get("k", ("GET",)) == b"new"


def test_flush_spoils_every_read_in_flight() -> None:
    """A flush (link lost, FLUSHDB) between send and reply keeps the reply out."""
    made = store()
    ticket = made.begin("k")
    made.flush()
    made.end("k", ("GET",), ticket, b"old")
    assert made.get("k", ("GET",)) is MISS


def test_nothing_is_kept_or_served_while_inactive() -> None:
    """With the link down the store neither keeps nor serves."""
    made = store()
    fill(made, "k", b"v")
    made.active = False
    assert made.get("k", ("GET",)) is MISS
    fill(made, "j", b"v")
    made.active = True
    assert made.get("j", ("GET",)) is MISS


def test_entries_expire_after_ttl_from_the_send() -> None:
    """The age limit counts from when the read was sent, not when its reply came."""
    made = Store(ttl=0.05, max_entries=10, max_bytes=10**6)
    made.active = True
    ticket = made.begin("k")
    time.sleep(0.03)
    made.end("k", ("GET",), ticket, b"v")
    assert made.get("k", ("GET",)) == b"v"
    time.sleep(0.03)
    assert made.get("k", ("GET",)) is MISS
    assert made.entries == 0 and made.bytes == 0


def test_failed_read_is_not_kept() -> None:
    """A read that raised (reply MISS) leaves nothing behind, pending marks included."""
    made = store()
    made.end("k", ("GET",), made.begin("k"), MISS)
    assert made.get("k", ("GET",)) is MISS
    assert not made._pending and not made._spoiled
