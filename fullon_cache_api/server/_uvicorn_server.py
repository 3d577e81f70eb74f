"""``serve --server uvicorn``: the gateway under uvicorn (httptools parser), in our own loop."""

from __future__ import annotations

import socket

import uvicorn
from starlette.applications import Starlette

__all__ = ["STREAMS_END_WITHIN", "end_streams", "serve_uvicorn"]

# How long a shutdown waits for the streams to send their `close` (they do at once, unless
# the machine is starved).
STREAMS_END_WITHIN = 2.0


async def serve_uvicorn(app: Starlette, sock: socket.socket, log_level: str, grace: int) -> None:
    """Serve `app` on `sock` until SIGTERM / SIGINT (uvicorn's handlers), then shut down."""
    # log_config=None: uvicorn's records go through the root logger `serve` configured.
    # Our middleware already logs one line per request, hence no access log.
    # The grace limit is a backstop: a request still running after it is cancelled.
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=grace,
    )
    await _Server(config).serve(sockets=[sock])


class _Server(uvicorn.Server):
    """uvicorn that ends the gateway's streams first when asked to stop.

    uvicorn waits for open connections before it runs the app's lifespan, and streams never
    end by themselves: closing the hub first sends each SSE/WebSocket client its ``close``
    event (reason ``shutdown``), so Ctrl-C does not wait for clients to leave. (A signal does
    that already, see `_runtime`; this covers a stop without one, ``should_exit``.)
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await end_streams(self.config.app)
        await super().shutdown(sockets)


async def end_streams(app: object) -> None:
    """End the app's streams and wait (bounded) until each sent its ``close``: the server
    closes what is left of its connections next (uvicorn with 1012, granian without a word)."""
    hub = getattr(getattr(app, "state", None), "hub", None)
    if hub is not None:
        hub.shutdown()
        await hub.streams_ended(STREAMS_END_WITHIN)
        await hub.aclose()
