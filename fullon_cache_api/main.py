"""Entry points for hosts: ``from fullon_cache_api.main import create_app`` and ``app``.

``uvicorn fullon_cache_api.main:app`` serves the gateway configured from the environment.
Building `app` here does no I/O and never raises for a Redis that is down.
"""

from __future__ import annotations

from ._app import create_app, lifespan

__all__ = ["app", "create_app", "lifespan"]

app = create_app()
