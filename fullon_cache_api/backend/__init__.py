"""The Redis client seam: the read-only RESP client, the near cache, and building either from
settings."""

from __future__ import annotations

from ._aio import stop_if_cancelled
from ._client import CacheClient, ConnectionMaker, ReadPipeline
from ._loops import LoopBinding
from ._near import with_near_cache
from ._redis import build_client, check_injected, translate_errors

__all__ = [
    "CacheClient",
    "ConnectionMaker",
    "LoopBinding",
    "ReadPipeline",
    "build_client",
    "check_injected",
    "stop_if_cancelled",
    "translate_errors",
    "with_near_cache",
]
