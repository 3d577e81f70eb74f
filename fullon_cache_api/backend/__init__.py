"""The Redis client seam: the read-only RESP client, the near cache, and building either from
settings."""

from __future__ import annotations

from ._aio import stop_if_cancelled
from ._loops import LoopBinding
from ._near import with_near_cache
from ._redis import CacheClient, build_client, translate_errors

__all__ = [
    "CacheClient",
    "LoopBinding",
    "build_client",
    "stop_if_cancelled",
    "translate_errors",
    "with_near_cache",
]
