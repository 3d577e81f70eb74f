"""The read commands: argument spelling and reply parsing shared by the client and pipelines.

Replies are parsed as redis-py parses them over RESP2 with ``decode_responses=False``, so both
clients return the same values: bytes, ints, dicts of bytes, ``(cursor, items)`` tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from ._replies import parse_info

__all__ = [
    "Arg",
    "Commands",
    "Parse",
    "info_args",
    "keys_and_args",
    "pairs",
    "parse_hscan",
    "parse_info",
    "parse_ping",
    "parse_scan",
    "scan_args",
]

Arg = str | bytes | int | float
Parse = Callable[[Any], Any]


def pairs(reply: list[bytes]) -> dict[bytes, bytes]:
    """A flat field/value array (HGETALL) as a dict."""
    flat = iter(reply)
    return dict(zip(flat, flat, strict=True))


def parse_scan(reply: list[Any]) -> tuple[int, list[bytes]]:
    """SCAN: the next cursor as an int, and the keys."""
    return int(reply[0]), reply[1]


def parse_hscan(reply: list[Any]) -> tuple[int, dict[bytes, bytes]]:
    """HSCAN: the next cursor as an int, and the fields as a dict."""
    return int(reply[0]), pairs(reply[1])


def parse_ping(reply: Any) -> bool:
    """PING: True for PONG (redis-py's answer)."""
    return reply in (b"PONG", "PONG")


def keys_and_args(keys: Arg | Iterable[Arg], args: tuple[Arg, ...]) -> list[Arg]:
    """MGET/HMGET spelling: a list of keys, or one key, followed by more."""
    if isinstance(keys, str | bytes | int | float):
        return [keys, *args]
    return [*keys, *args]


def scan_args(
    cursor: int, match: Arg | None, count: int | None, _type: str | None = None
) -> list[Arg]:
    """SCAN/HSCAN options in redis-py's order."""
    args: list[Arg] = [cursor]
    if match is not None:
        args += [b"MATCH", match]
    if count is not None:
        args += [b"COUNT", count]
    if _type is not None:
        args += [b"TYPE", _type]
    return args


def info_args(section: str | None, args: tuple[str, ...]) -> list[Arg]:
    """INFO with no section, or with one or more."""
    return [] if section is None else [section, *args]


R = TypeVar("R")


class Commands(Generic[R]):
    """Every read command the gateway sends, spelled once: its words and its reply parser.

    The client sends a command at once (`R` is the awaitable reply); a pipeline queues it (`R`
    is the pipeline, for chaining). Names and arguments are redis-py's, for the subset the
    gateway uses; no write command exists here, on purpose.
    """

    def _command(self, parse: Parse | None, *args: Arg) -> R:
        raise NotImplementedError

    # -- strings and keys -------------------------------------------------------------------
    def get(self, name: Arg) -> R:
        return self._command(None, b"GET", name)

    def mget(self, keys: Arg | Iterable[Arg], *args: Arg) -> R:
        return self._command(None, b"MGET", *keys_and_args(keys, args))

    def exists(self, *names: Arg) -> R:
        return self._command(None, b"EXISTS", *names)

    def type(self, name: Arg) -> R:
        return self._command(None, b"TYPE", name)

    def ttl(self, name: Arg) -> R:
        return self._command(None, b"TTL", name)

    def scan(
        self,
        cursor: int = 0,
        match: Arg | None = None,
        count: int | None = None,
        _type: str | None = None,
    ) -> R:
        return self._command(parse_scan, b"SCAN", *scan_args(cursor, match, count, _type))

    # -- hashes -----------------------------------------------------------------------------
    def hget(self, name: Arg, key: Arg) -> R:
        return self._command(None, b"HGET", name, key)

    def hmget(self, name: Arg, keys: Arg | Iterable[Arg], *args: Arg) -> R:
        return self._command(None, b"HMGET", name, *keys_and_args(keys, args))

    def hgetall(self, name: Arg) -> R:
        return self._command(pairs, b"HGETALL", name)

    def hlen(self, name: Arg) -> R:
        return self._command(None, b"HLEN", name)

    def hexists(self, name: Arg, key: Arg) -> R:
        return self._command(bool, b"HEXISTS", name, key)

    def hscan(
        self, name: Arg, cursor: int = 0, match: Arg | None = None, count: int | None = None
    ) -> R:
        return self._command(parse_hscan, b"HSCAN", name, *scan_args(cursor, match, count))

    # -- lists ------------------------------------------------------------------------------
    def lrange(self, name: Arg, start: int, end: int) -> R:
        return self._command(None, b"LRANGE", name, start, end)

    def llen(self, name: Arg) -> R:
        return self._command(None, b"LLEN", name)

    def lindex(self, name: Arg, index: int) -> R:
        return self._command(None, b"LINDEX", name, index)

    # -- server -----------------------------------------------------------------------------
    def ping(self) -> R:
        return self._command(parse_ping, b"PING")

    def info(self, section: str | None = None, *args: str) -> R:
        return self._command(parse_info, b"INFO", *info_args(section, args))
