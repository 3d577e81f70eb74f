"""Two small ASGI helpers the gateway owns rather than import from Starlette's private modules
(``starlette._utils``), so a Starlette release cannot move them from under us."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from starlette.types import Scope

__all__ = ["get_route_path", "is_async_callable"]


def is_async_callable(obj: Any) -> bool:
    """Whether calling `obj` (a function, a partial of one, or an object with an async
    ``__call__``) returns a coroutine, the way Starlette decides it for exception handlers."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    return inspect.iscoroutinefunction(obj) or (
        callable(obj) and inspect.iscoroutinefunction(obj.__call__)
    )


def get_route_path(scope: Scope) -> str:
    """The request's path below the mount point (``root_path``), as Starlette's routing
    matches it."""
    path: str = scope["path"]
    root_path = scope.get("root_path", "")
    if not root_path or not path.startswith(root_path):
        return path
    if path == root_path:
        return ""
    if path[len(root_path)] == "/":
        return path[len(root_path) :]
    return path
