"""Replication topologies on loopback: a primary with replicas, and a Sentinel watching them."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from fullon_cache_api.demo import RedisServer, find_redis_server
from fullon_cache_api.demo.server import free_port

__all__ = ["SentinelServer", "SentinelWatch", "Topology", "topology", "wait_until"]

MASTER_NAME = "mymaster"


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `check` every 50 ms until it holds; fail the test naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class SentinelServer:
    """One redis-sentinel (redis-server --sentinel) monitoring `MASTER_NAME` with quorum 1.

    Short down-after and failover timeouts make a failover take a second or two.
    """

    def __init__(self, primary_port: int) -> None:
        self.port = free_port()
        self.primary_port = primary_port
        self._dir = tempfile.TemporaryDirectory(prefix="fullon-cache-api-sentinel-")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Write the config (Sentinel rewrites it, so it lives in our directory) and start."""
        config = Path(self._dir.name) / "sentinel.conf"
        config.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {self.port}",
                    f"dir {self._dir.name}",
                    f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.primary_port} 1",
                    f"sentinel down-after-milliseconds {MASTER_NAME} 400",
                    f"sentinel failover-timeout {MASTER_NAME} 3000",
                    f"sentinel parallel-syncs {MASTER_NAME} 1",
                ]
            )
            + "\n"
        )
        self._process = subprocess.Popen(
            [find_redis_server(), str(config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self._answers, 10.0, "the sentinel to start")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def master_port(self) -> int | None:
        """The port of the primary as clients discover it (SENTINEL MASTERS, as redis-py reads
        it): None while that primary is flagged down, mid-failover.

        GET-MASTER-ADDR-BY-NAME names the promoted replica earlier, before the failover ends.
        """
        with redis.Redis(port=self.port) as client:
            state = client.sentinel_masters().get(MASTER_NAME)
        if not state or not state["is_master"] or state["is_sdown"] or state["is_odown"]:
            return None
        return int(state["port"])

    def close(self) -> None:
        """Stop the sentinel and remove its directory."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
        self._dir.cleanup()


class SentinelWatch:
    """What a sentinel reports as the primary (`SentinelServer.master_port`), every 10 ms in a
    thread, so a test can tell a gateway error while Sentinel itself names no usable primary
    (it can flag the promoted replica down for a moment after a failover) from one that is
    the gateway's own.
    """

    def __init__(self, sentinel: SentinelServer) -> None:
        self.sentinel = sentinel
        self.views: list[tuple[float, int | None]] = []  # (monotonic time, reported port)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="sentinel-watch", daemon=True)

    def _poll(self) -> None:
        while not self._stop.wait(0.01):
            try:
                port = self.sentinel.master_port()
            except redis.RedisError:  # a sentinel that does not answer names no primary
                port = None
            self.views.append((time.monotonic(), port))

    def reported_other_than(self, port: int, start: float, end: float) -> bool:
        """Did the sentinel report anything but `port` as the primary between start and end?"""
        return any(seen != port for at, seen in self.views if start <= at <= end)

    def __enter__(self) -> SentinelWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5.0)


@dataclass
class Topology:
    """A primary, its replica and (optionally) a sentinel, all on loopback."""

    primary: RedisServer
    replica: RedisServer
    sentinel: SentinelServer | None


def _linked(replica: RedisServer) -> bool:
    with redis.Redis(port=replica.port) as client:
        info = client.info("replication")
    return info.get("master_link_status") == "up"


@contextmanager
def topology(*, with_sentinel: bool) -> Iterator[Topology]:
    """Start a primary and a replica (linked), then a sentinel; tear all down on exit."""
    with ExitStack() as stack:
        primary = stack.enter_context(RedisServer())
        replica = stack.enter_context(
            RedisServer(extra_config=[f"replicaof 127.0.0.1 {primary.port}"])
        )
        wait_until(lambda: _linked(replica), 10.0, "the replica to sync")
        sentinel = None
        if with_sentinel:
            sentinel = SentinelServer(primary.port)
            stack.callback(sentinel.close)
            sentinel.start()
        yield Topology(primary=primary, replica=replica, sentinel=sentinel)
