"""MONITOR in a thread: which commands reached a redis-server while a test ran."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis

__all__ = ["monitored"]

_END = "end-of-monitoring"


@contextmanager
def monitored(port: int) -> Iterator[list[tuple[str, str]]]:
    """Yield a list that MONITOR fills with (client address, command name) for every command
    the server at `port` runs until the block ends (an ECHO marker, sent at exit, stops it)."""
    seen: list[tuple[str, str]] = []
    ready = threading.Event()

    def watch() -> None:
        with redis.Redis(port=port) as admin, admin.monitor() as monitor:
            ready.set()
            for event in monitor.listen():
                address = f"{event['client_address']}:{event['client_port']}"
                if event["command"] == f"ECHO {_END}":
                    # The marker's own connection set-up is not the code under test.
                    seen[:] = [entry for entry in seen if entry[0] != address]
                    return
                seen.append((address, event["command"].split(" ", 1)[0].upper()))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert ready.wait(5), "MONITOR did not start"
    try:
        yield seen
    finally:
        with redis.Redis(port=port) as admin:
            admin.echo(_END)
        watcher.join(5)
