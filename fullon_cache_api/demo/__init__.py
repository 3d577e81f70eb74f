"""The embedded default: a private redis-server, and sample data in fullon_cache's layout.

Nothing here is used by the gateway itself; the ``demo`` command (`run_demo`) and the tests
use it.
"""

from __future__ import annotations

from ._cli import run_demo
from .server import RedisServer, find_redis_server
from .writer import CacheWriter

__all__ = ["CacheWriter", "RedisServer", "find_redis_server", "run_demo"]
