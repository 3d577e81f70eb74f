"""Entry points for hosts: ``from fullon_cache_api.main import create_app`` and ``app``.

``uvicorn fullon_cache_api.main:app`` serves the gateway configured from the environment.
Building `app` here does no I/O and never raises for a Redis that is down.

Importing this module also puts `RedactSecrets` on uvicorn's own loggers: uvicorn writes
WebSocket paths with their ``?token=`` at INFO, request lines with it in its access log, and
the handshake's headers at DEBUG. The filter only rewrites credentials in those records; it
adds no handler and changes no level. (`create_app` itself never touches logging.)
"""

from __future__ import annotations

from ._app import create_app, lifespan
from .security import protect_uvicorn_loggers

__all__ = ["app", "create_app", "lifespan"]

protect_uvicorn_loggers()
app = create_app()
