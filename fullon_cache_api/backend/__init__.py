"""The Redis client seam: the read-only RESP client, the near cache, the redis-py adapter, and
building a client from settings."""

from __future__ import annotations

from ._aio import stop_if_cancelled
from ._client import CacheClient, ConnectionMaker, ReadPipeline
from ._loops import LoopBinding
from ._near import with_near_cache
from ._redis import build_client, translate_errors
from ._redis_py import adopt_injected

__all__ = [
    "CacheClient",
    "ConnectionMaker",
    "LoopBinding",
    "ReadPipeline",
    "adopt_injected",
    "build_client",
    "stop_if_cancelled",
    "translate_errors",
    "with_near_cache",
]
