"""``serve --server uvicorn``: the gateway under uvicorn (httptools parser), in our own loop."""

from __future__ import annotations

import socket

import uvicorn
from starlette.applications import Starlette

__all__ = ["serve_uvicorn"]


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
        hub = getattr(getattr(self.config.app, "state", None), "hub", None)
        if hub is not None:
            await hub.aclose()
        await super().shutdown(sockets)
