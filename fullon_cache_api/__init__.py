"""fullon_cache_api: a read-only HTTP gateway over fullon_cache's Redis layout.

Public API::

    create_app(settings=..., redis=...)  -> Starlette app (mount it, or run it with uvicorn)
    lifespan(app)                         -> async context manager closing what the app owns
    Identity / Ownership / OwnershipHook  -> the `ownership=` hook's contract
    Settings / Settings.from_env()        -> Redis connection settings
    CacheAPIError and its subclasses      -> the errors answered as problem documents
    RedactSecrets                         -> logging filter hiding tokens, keys, passwords
"""

from __future__ import annotations

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
from ._version import __version__
from .security import Identity, Ownership, OwnershipHook, RedactSecrets

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
