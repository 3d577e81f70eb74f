"""fullon_cache_api: a read-only HTTP gateway over fullon_cache's Redis layout.

Public API::

    create_app(settings=..., redis=...)  -> Starlette app (mount it, or run it with uvicorn)
    lifespan(app)                         -> async context manager closing what the app owns
    Identity / Ownership / OwnershipHook  -> the `ownership=` hook's contract
    Settings / Settings.from_env()        -> Redis connection settings
    CacheAPIError and its subclasses      -> the errors answered as problem documents
    RedactSecrets                         -> logging filter hiding tokens, keys, passwords

The names are imported on first use (PEP 562), so ``fullon_cache_api.client`` and
``fullon_cache_api.structs`` load without the server's dependencies (Starlette, redis).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._app import create_app, lifespan
    from ._errors import (
        CacheAPIError,
        CacheTimeout,
        CacheUnavailable,
        CorruptEntry,
        InvalidInput,
        NotFound,
        Problem,
        TooManyStreams,
        Unauthenticated,
    )
    from ._settings import Settings, SettingsError
    from .security import Identity, Ownership, OwnershipHook, RedactSecrets

# Public name -> the module defining it, imported when the name is first read.
_LAZY = {
    "create_app": "._app",
    "lifespan": "._app",
    "Identity": ".security",
    "Ownership": ".security",
    "OwnershipHook": ".security",
    **dict.fromkeys(
        (
            "CacheAPIError",
            "CacheTimeout",
            "CacheUnavailable",
            "CorruptEntry",
            "InvalidInput",
            "NotFound",
            "Problem",
            "TooManyStreams",
            "Unauthenticated",
        ),
        "._errors",
    ),
    "RedactSecrets": ".security",
    "Settings": "._settings",
    "SettingsError": "._settings",
}


if not TYPE_CHECKING:  # type checkers see the imports above, and no catch-all attribute

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value  # later reads skip this hook
        return value


__all__ = [
    "CacheAPIError",
    "CacheTimeout",
    "CacheUnavailable",
    "CorruptEntry",
    "Identity",
    "InvalidInput",
    "NotFound",
    "Ownership",
    "OwnershipHook",
    "Problem",
    "RedactSecrets",
    "Settings",
    "SettingsError",
    "TooManyStreams",
    "Unauthenticated",
    "__version__",
    "create_app",
    "lifespan",
]
