"""Change detection of big keys in bounded reads: what a shared poller reads each interval.

A poller probes its key every interval; reading a whole hash of 200,000 orders each time would
cost every other client a stall and Redis a 140 MB reply a second. Redis keeps no version of a
hash (and fullon_cache no change log), so its values must be read to see a value change in
place; these probes read them in HSCAN replies of at most `chunk` fields and at most `entries`
fields per poll, digesting each reply and keeping only the digests:

- `HashProbe`: HLEN every poll (a field added or removed shows at once). A hash of up to
  `entries` fields is read whole every poll, as before. A bigger one is walked a few replies
  per poll, from where the last poll stopped; each reply's digest is compared with the one of
  the reply read from the same HSCAN cursor in the last pass (Redis's HSCAN visits the same
  buckets from a cursor while the hash does not change), so a value changed in place shows
  once the walk reaches it: within ``length / entries`` polls. The first pass, which every
  later one is compared with, is read in one probe (in replies of a chunk, like the load that
  follows it): a change made while it was under way would otherwise never be seen.
- `FieldsProbe`: the named fields only (HMGET, `chunk` per round trip): what a non-admin's
  stream answers is its own fields.
- `HashesProbe`: every hash matching a pattern (``process:active:*``): the keys found by a SCAN
  continued a few steps per poll, each hash probed by its own `HashProbe`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, cast

from ..backend import CacheClient, translate_errors
from ..data import ReadLimits, checkpoint, text

__all__ = ["FieldsProbe", "HashProbe", "HashesProbe", "digest_hash"]


def digest_hash(entries: dict[Any, Any]) -> bytes:
    """An order-independent digest of a hash's fields and values (or of one reply of them)."""
    digest = hashlib.blake2b(digest_size=20)
    for field in sorted(entries):
        for part in (_bytes(field), _bytes(entries[field])):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.digest()


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


class HashProbe:
    """The state of hash `key` as bytes that change when it does, at most `entries` fields
    read per `probe` (see the module's docstring)."""

    def __init__(self, key: str, limits: ReadLimits, entries: int) -> None:
        self.key = key
        self.limits = limits
        self.entries = max(entries, limits.chunk)
        self.length: int | None = None
        self.version = 0  # counts the changes seen on a hash walked over several polls
        self._cursor = 0  # where the walk continues
        self._digests: dict[int, bytes] = {}  # HSCAN cursor -> digest of the reply from it
        self._started: dict[int, bytes] = {}  # the same, for the pass under way
        self._passes = 0

    async def probe(self, redis: CacheClient) -> bytes:
        """HLEN, then the whole hash (small) or the next replies of the walk (big)."""
        with translate_errors(self.key):
            length = int(await redis.hlen(self.key))
        if self.length is not None and length != self.length:
            self.version += 1
        self.length = length
        if length <= self.entries:
            self._restart()
            return b"whole:%d:" % length + await self._whole(redis)
        await self._walk(redis)
        return b"walked:%d:%d" % (length, self.version)

    async def _whole(self, redis: CacheClient) -> bytes:
        """Digests of every reply of one HSCAN pass (a listpack hash comes in one)."""
        digests: list[bytes] = []
        cursor = 0
        while True:
            if digests:
                await checkpoint()
            cursor, found = await self._hscan(redis, cursor)
            digests.append(digest_hash(found))
            if not cursor:
                return b"".join(digests)

    async def _walk(self, redis: CacheClient) -> None:
        """The next replies of the pass under way, `entries` fields at most (the whole first
        pass at once)."""
        read = replies = 0
        first = not self._passes
        while first or read < self.entries:
            if replies:
                await checkpoint()
            start = self._cursor
            cursor, found = await self._hscan(redis, start)
            replies += 1
            read += len(found)
            digest = digest_hash(found)
            if self._passes and self._digests.get(start) != digest:
                self.version += 1  # changed in place, or the replies now start elsewhere
            self._started[start] = digest
            self._cursor = cursor
            if not cursor:  # the pass is over: its digests are the next pass's reference
                self._digests, self._started = self._started, {}
                self._passes += 1
                return

    def _restart(self) -> None:
        """Back to whole reads: a later walk starts a fresh pass."""
        self._cursor, self._passes = 0, 0
        self._digests, self._started = {}, {}

    async def _hscan(self, redis: CacheClient, cursor: int) -> tuple[int, dict[Any, Any]]:
        with translate_errors(self.key):
            return cast(
                tuple[int, dict[Any, Any]],
                await redis.hscan(self.key, cursor, count=self.limits.chunk),
            )


class FieldsProbe:
    """The values of `fields` of hash `key` (HMGET, `chunk` fields per round trip)."""

    def __init__(self, key: str, fields: Sequence[str], limits: ReadLimits) -> None:
        self.key = key
        self.fields = list(fields)
        self.limits = limits

    async def probe(self, redis: CacheClient) -> bytes:
        """A digest of the fields' values (absent ones included)."""
        digest = hashlib.blake2b(digest_size=20)
        chunk = self.limits.chunk
        for start in range(0, len(self.fields), chunk):
            if start:
                await checkpoint()
            names = self.fields[start : start + chunk]
            with translate_errors(self.key):
                values = await redis.hmget(self.key, names)
            for value in values:
                part = b"" if value is None else b"=" + _bytes(value)
                digest.update(len(part).to_bytes(8, "big"))
                digest.update(part)
        return digest.digest()


class HashesProbe:
    """Every hash matching `pattern` (and the `known` keys, always), each by a `HashProbe`.

    The keys come from a SCAN continued a few steps per poll (``COUNT chunk``, at most
    `entries` keys looked at), so a key created since shows once the SCAN reaches it; the
    `known` keys (fullon_cache's eight process types) show at once.
    """

    def __init__(
        self, pattern: str, known: Sequence[str], limits: ReadLimits, entries: int
    ) -> None:
        self.pattern = pattern
        self.known = list(known)
        self.limits = limits
        self.entries = entries
        self._found: set[str] = set()  # keys the SCAN found (kept while they are hashes)
        self._scanning: set[str] = set()  # found in the SCAN pass under way
        self._cursor = 0
        self._probes: dict[str, HashProbe] = {}

    async def probe(self, redis: CacheClient) -> bytes:
        """The keys' names and the probe of each."""
        await self._scan(redis)
        keys = sorted({*self.known, *self._found})
        with translate_errors(self.pattern):
            async with redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.type(key)
                kinds = [text(kind) for kind in await pipe.execute()]
        hashes = [key for key, kind in zip(keys, kinds, strict=True) if kind == "hash"]
        self._found &= set(hashes)
        share = max(self.limits.chunk, self.entries // max(1, len(hashes)))
        parts: list[bytes] = []
        for key in hashes:
            probe = self._probes.get(key)
            if probe is None:
                probe = self._probes[key] = HashProbe(key, self.limits, share)
            probe.entries = max(share, self.limits.chunk)
            parts.append(key.encode() + b"\x00" + await probe.probe(redis))
        for gone in set(self._probes) - set(hashes):
            del self._probes[gone]
        return b"\x01".join(parts)

    async def _scan(self, redis: CacheClient) -> None:
        """The next SCAN steps (at most `entries` keys looked at)."""
        looked = 0
        while looked < self.entries:
            with translate_errors(self.pattern):
                cursor, keys = await redis.scan(
                    self._cursor, match=self.pattern, count=self.limits.chunk
                )
            looked += self.limits.chunk
            self._scanning.update(text(key) for key in keys)
            self._found.update(text(key) for key in keys)
            self._cursor = cursor
            if not cursor:
                self._found = set(self._scanning)
                self._scanning = set()
                return
            await checkpoint()
