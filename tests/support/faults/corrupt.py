"""Ways to damage a key that fullon_cache wrote, each keeping the key's name.

The tests write with a plain client on purpose: the gateway itself never writes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

__all__ = ["CORRUPTIONS", "HUGE", "deep_junk", "pad_valid", "truncate", "wrong_type"]

HUGE = 10 * 2**20  # 10 MiB

Corruption = Callable[[Redis, str], Awaitable[None]]


async def wrong_type(redis: Redis, key: str) -> None:
    """Replace the key by one of another type (a string where a hash or list was, and back)."""
    kind = (await redis.type(key)).decode()
    await redis.delete(key)
    if kind == "string":
        await redis.hset(key, "field", "value")
    else:
        await redis.set(key, f"not a {kind}")


async def _rewrite(redis: Redis, key: str, change: Callable[[bytes], bytes]) -> None:
    """Apply `change` to every value of the key: hash fields, list items or the string."""
    kind = (await redis.type(key)).decode()
    if kind == "hash":
        for field, value in (await redis.hgetall(key)).items():
            await redis.hset(key, field, change(value))
    elif kind == "list":
        values = await redis.lrange(key, 0, -1)
        await redis.delete(key)
        await redis.rpush(key, *[change(value) for value in values])
    elif kind == "string":
        await redis.set(key, change(await redis.get(key) or b""), keepttl=True)


async def truncate(redis: Redis, key: str) -> None:
    """Cut every value in half (a writer that died mid-write, a torn copy)."""
    await _rewrite(redis, key, lambda value: value[: len(value) // 2])


async def deep_junk(redis: Redis, key: str) -> None:
    """Every value becomes 10 MiB of ``[``: huge, and nested past any parser's depth limit."""
    await _rewrite(redis, key, lambda value: b"[" * HUGE)


async def pad_valid(redis: Redis, key: str, size: int = HUGE) -> None:
    """Every JSON object value gains a `size`-byte string field (10 MiB by default); every bar
    list `size` bytes of zeros. The values stay valid JSON of their kind."""

    def pad(value: bytes) -> bytes:
        if value.startswith(b"{"):
            return b'{"pad": "' + b"x" * size + b'", ' + value[1:]
        if value.startswith(b"["):
            return value[:-1] + b", 0" * (size // 3) + b"]"
        return value

    await _rewrite(redis, key, pad)


CORRUPTIONS: dict[str, Corruption] = {
    "truncated": truncate,
    "huge-junk": deep_junk,
}
