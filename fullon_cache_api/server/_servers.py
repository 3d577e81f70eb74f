"""The ASGI servers ``serve`` runs the gateway under, and the event loop it runs them in."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.applications import Starlette

from ._granian_server import GRANIAN_MISSING, granian_available, serve_granian
from ._uvicorn_server import serve_uvicorn

__all__ = ["DEFAULT_SERVER", "SERVERS", "loop_factory", "unavailable"]

Serve = Callable[[Starlette, socket.socket, str, int], Coroutine[Any, Any, None]]
SERVERS: dict[str, Serve] = {"uvicorn": serve_uvicorn, "granian": serve_granian}
DEFAULT_SERVER = "granian"


def unavailable(server: str) -> str | None:
    """Why `server` cannot run here (a package missing), or None."""
    if server == "granian" and not granian_available():
        return GRANIAN_MISSING
    return None


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed (uvicorn[standard] brings it on Linux and macOS),
    else None: asyncio's default."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
