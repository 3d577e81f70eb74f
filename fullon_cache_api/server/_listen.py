"""Listening and running: the socket the commands serve on, and the loop they run until Ctrl-C
or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import math
import socket
from collections.abc import Coroutine
from typing import Any

from .._settings import Settings
from ._servers import loop_factory

__all__ = ["GRACE_SECONDS", "CLIError", "bind", "grace_period", "listen_beside", "run", "url_of"]

_log = logging.getLogger("fullon.api.cache.cli")
GRACE_SECONDS = 3  # how long Ctrl-C waits for open requests and streams
_BACKLOG = 2048


class CLIError(Exception):
    """A failure worth one line on stderr, not a traceback."""


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """Listen on host:port ourselves, so a busy port is a clear error and port 0 works.

    `reuse_port`: other sockets may then listen on the same port (`listen_beside`), and the
    kernel spreads new connections over all of them. A port some other socket listens on is
    refused all the same, ``SO_REUSEPORT`` or not (a second ``serve --workers`` on it would
    silently share its connections).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        if reuse_port:
            port = _free(host, port, family)
        listener = socket.create_server(
            (host, port), family=family, backlog=_BACKLOG, reuse_port=reuse_port
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CLIError(
                f"port {port} on {host} is already in use; pick another with --port "
                "(--port 0 picks a free one)"
            ) from None
        raise CLIError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    # create_server leaves proto 0, and asyncio sets TCP_NODELAY only on sockets whose proto
    # is IPPROTO_TCP: without it, Nagle + delayed ACK add ~40 ms to every keep-alive answer.
    return socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, listener.detach())


def _free(host: str, port: int, family: socket.AddressFamily) -> int:
    """`port` (or a free one for 0), checked free by binding it without ``SO_REUSEPORT``:
    that fails while any socket listens there, one with ``SO_REUSEPORT`` included."""
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as create_server does
        probe.bind((host, port))
        chosen: int = probe.getsockname()[1]
        return chosen


def listen_beside(sock: socket.socket) -> socket.socket:
    """A new socket listening on the address of `sock` (bound with ``reuse_port``).

    Why: processes accepting from one shared socket do not share its connections. granian's
    I/O thread accepts everything queued at once, so a burst of new connections (a proxy's
    pool, a load generator) all lands on whichever worker woke first, and the others stay
    idle. Each socket of a ``SO_REUSEPORT`` group gets its own share, by a hash of the
    connection's addresses.
    """
    listener = socket.socket(sock.family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(sock.getsockname())
        listener.listen(_BACKLOG)
    except OSError:
        listener.close()
        raise
    return listener


def url_of(sock: socket.socket) -> str:
    """The ``http://host:port`` a listening socket answers on."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def grace_period(settings: Settings) -> int:
    """How long a shutdown waits for requests in flight: longer than REDIS_SOCKET_TIMEOUT, so
    a request waiting on a frozen Redis ends with its own 504 before the grace runs out (one
    still running then is cancelled, and answers 503). Streams end at once (`_runtime`)."""
    return max(GRACE_SECONDS, math.ceil(settings.redis_socket_timeout) + 1)


def run(serving: Coroutine[Any, Any, None]) -> int:
    """Run until Ctrl-C or SIGTERM; both are a clean shutdown (exit status 0).

    The loop is uvloop's where it is installed (as ``uvicorn --loop auto`` would choose).
    uvicorn shuts down gracefully on either signal, then re-raises it once its own handlers
    are gone: SIGINT ends as KeyboardInterrupt, and so does SIGTERM through the handler the
    command line installs (`fullon_cache_api.__main__`), so the callers' ``finally`` blocks
    run instead of the process dying on the default SIGTERM handler.
    """
    with (
        contextlib.suppress(KeyboardInterrupt),
        asyncio.Runner(loop_factory=loop_factory()) as runner,
    ):
        runner.run(serving)
    _log.info("stopped")
    return 0
