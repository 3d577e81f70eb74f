"""The read commands: argument spelling and reply parsing shared by the client and pipelines.

Replies are parsed as redis-py parses them over RESP2 with ``decode_responses=False``, so both
clients return the same values: bytes, ints, dicts of bytes, ``(cursor, items)`` tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._replies import parse_info

__all__ = [
    "Arg",
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
