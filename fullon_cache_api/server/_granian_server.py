"""``serve --server granian``: the gateway under granian (a Rust HTTP server: hyper + tokio).

One worker runs granian's embedded server in our own event loop (uvloop), on the socket
``serve`` bound: one process, as under uvicorn, so the start-up checks, the banner, logging
and the shutdown watch behave the same. granian parses HTTP and writes answers in a Rust
thread beside the Python one, which is where its throughput comes from.

Shutdown: SIGTERM / SIGINT reach the app's shutdown watch first (it chains in front of our
handler on the first request, `_runtime._signals`), which ends every stream; `serve` then waits
(bounded) until each stream has sent its ``close`` before granian stops accepting and waits for
the requests in flight (it only returns once they are answered). If they are not done within
the grace period (or on a second signal), they are cancelled: each then answers 503
(`GatewayMiddleware`). The app's lifespan runs around the whole (granian's own lifespan handling
would close the Redis pool while requests are still in flight). ``serve --workers N`` runs the
same in each worker (`_workers`).

Logging: granian's loggers (``_granian``, the Rust side included, and ``granian.access``) get
no handler of their own and propagate to the root logger, i.e. to the handlers ``serve``
configured, with `RedactSecrets` on each. granian's access log stays off: the gateway logs
every request itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from typing import Any

from starlette.applications import Starlette

from ._uvicorn_server import end_streams

__all__ = [
    "GRANIAN_LOGGING",
    "GRANIAN_MISSING",
    "embedded_server",
    "granian_available",
    "quiet_experimental",
    "serve_granian",
]

GRANIAN_MISSING = (
    "--server granian needs granian, a dependency of fullon_cache_api that is not importable "
    "here: pip install 'granian>=2.8,<2.9' (or use --server uvicorn)"
)
_BACKLOG = 2048
# granian's own loggers: no handler, level from --log-level, records to the root logger.
GRANIAN_LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {},
    "handlers": {},
    "loggers": {
        "_granian": {"handlers": [], "propagate": True},
        "granian.access": {"handlers": [], "propagate": True},
    },
}


def granian_available() -> bool:
    """Whether granian can be imported."""
    try:
        import granian.server.embed  # noqa: F401
    except ImportError:
        return False
    return True


class _Experimental(logging.Filter):
    """Drops the embedded server's "experimental" warning, logged at every start: the mode
    is the one ``serve`` chose and tests, not news for an operator."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "experimental" not in str(record.msg)


def embedded_server(
    app: Any, sock: socket.socket, log_level: str, *, lifespan: bool = False
) -> Any:
    """granian's embedded server for `app` on `sock` (listening); it runs the app's lifespan
    only when asked (`serve_granian` runs it around the server instead)."""
    from granian._granian import SocketHolder
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server

    holder: Any = SocketHolder  # its stub leaves out the constructor's arguments

    class Embedded(Server):
        def _init_shared_socket(self) -> None:
            # The socket `serve` bound (busy port, --port 0), not a new one. granian closes
            # the descriptor it is given when it stops: it gets a duplicate, ours stays ours.
            self._ssp = None
            self._shd = holder(os.dup(sock.fileno()), False, _BACKLOG)

    host, port = sock.getsockname()[:2]
    server = Embedded(
        app,
        address=host,
        port=port,
        interface=Interfaces.ASGI if lifespan else Interfaces.ASGINL,
        http=HTTPModes.http1,
        websockets=True,
        backlog=_BACKLOG,
        log_level=LogLevels(log_level),
        log_dictconfig=GRANIAN_LOGGING,
    )
    quiet_experimental()
    return server


def quiet_experimental() -> None:
    """Put `_Experimental` on granian's logger (once)."""
    logger = logging.getLogger("_granian")
    if not any(isinstance(f, _Experimental) for f in logger.filters):
        logger.addFilter(_Experimental())


async def serve_granian(app: Starlette, sock: socket.socket, log_level: str, grace: int) -> None:
    """Serve `app` on `sock` until SIGTERM / SIGINT, then shut down (see the module)."""
    server = embedded_server(app, sock, log_level)
    loop = asyncio.get_running_loop()
    signals = asyncio.Queue[int]()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, signals.put_nowait, signum)
    try:
        async with app.router.lifespan_context(app):
            serving = asyncio.ensure_future(server.serve())
            if await _first(serving, signals):  # granian stopped by itself (a failed start)
                await serving
                return
            await end_streams(app)  # before granian stops: no stream is cut off
            server.stop()
            if not await _first(serving, signals, within=grace):  # grace over, or a 2nd signal
                _cancel_requests(server, serving)
                await asyncio.wait({serving}, timeout=grace)  # bounded, whatever a request does
            if serving.done():
                serving.result()  # granian's own failure, if any, is ours
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


async def _first(
    serving: asyncio.Future[Any], signals: asyncio.Queue[int], within: float | None = None
) -> bool:
    """Wait for `serving` to end, a signal, or `within` seconds; True when `serving` ended."""
    signalled = asyncio.ensure_future(signals.get())
    try:
        await asyncio.wait({serving, signalled}, timeout=within, return_when="FIRST_COMPLETED")
    finally:
        signalled.cancel()
    return serving.done()


def _cancel_requests(server: Any, serving: asyncio.Future[Any]) -> None:
    """Cancel the requests granian waits for (every task but ours and granian's own): each
    answers 503, and granian can finish its shutdown."""
    ours = {asyncio.current_task(), serving}
    for worker in getattr(server, "wrks", ()):
        ours.update({getattr(worker, "_task", None), getattr(worker, "_wtask", None)})
    for task in asyncio.all_tasks():
        if task not in ours:
            task.cancel()
