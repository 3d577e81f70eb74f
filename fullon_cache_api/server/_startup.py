"""What ``serve`` checks before it serves: the whole configuration, and two warnings.

Every setting is read (and every Redis URL option checked) before anything listens, so a bad
value is one line naming the variable and exit status 2, never a traceback from a worker. Then
two mistakes that would otherwise only show as answers are logged once each:

- authentication on, with neither ``JWT_SECRET_KEY`` nor ``FULLON_CACHE_API_KEYS``: standalone
  there is no host to authenticate users, so every data request would answer 401;
- a Redis that does not answer a PING (bounded by `PROBE_SECONDS`): the gateway serves anyway
  (503 until Redis answers, then normal answers with no restart).

And one choice that works but serves less than it could: more granian workers than the host's
CPUs can run (`crowded_workers`).
"""

from __future__ import annotations

import asyncio
import logging
import os

from .._settings import Settings
from ..backend import build_client
from ..gauges import GaugeSettings
from ..streams import StreamSettings

__all__ = [
    "GRANIAN_WORKER_CPUS",
    "PROBE_SECONDS",
    "available_cpus",
    "check_start",
    "check_workers",
    "crowded_workers",
    "read_configuration",
]

# The longest the start waits for Redis's PING before warning and serving anyway.
PROBE_SECONDS = 2.0
_log = logging.getLogger("fullon.api.cache.cli")
# The CPUs one granian worker takes at full load: its Python thread and its Rust I/O thread
# (1.28-1.36 measured, docs/performance.md#workers-on-two-cores), with some room.
GRANIAN_WORKER_CPUS = 1.5

NO_CREDENTIALS = (
    "authentication is on, but neither JWT_SECRET_KEY nor FULLON_CACHE_API_KEYS is set: "
    "every request but /health and the docs will answer 401. Set JWT_SECRET_KEY (then "
    "`fullon-cache-api token --user-id N --mail M` makes a token), or "
    "FULLON_CACHE_API_KEYS=name:<sha256 of the key>, or FULLON_CACHE_API_AUTH=off on a "
    "trusted network"
)


def read_configuration() -> tuple[Settings, StreamSettings]:
    """Every setting ``serve`` uses, from the environment; a bad value raises SettingsError."""
    GaugeSettings.from_env()  # checked now; `create_app` reads them again
    return Settings.from_env(), StreamSettings.from_env()


def check_start(settings: Settings) -> None:
    """Log a warning for authentication nobody can pass, and one for an unreachable Redis."""
    auth = settings.auth
    if auth.enabled and not auth.jwt_secret_key and not auth.api_keys:
        _log.warning(NO_CREDENTIALS)
    problem = asyncio.run(_probe(settings))
    if problem is not None:
        _log.warning(
            "Redis at %s is not reachable (%s); serving anyway: data requests answer 503 "
            "until it answers",
            settings.redacted_target(),
            problem,
        )


async def _probe(settings: Settings) -> str | None:
    """Why Redis did not answer one PING within `PROBE_SECONDS`; None when it did."""
    client = build_client(settings)
    try:
        async with asyncio.timeout(min(PROBE_SECONDS, settings.redis_socket_timeout)):
            await client.ping()
    except TimeoutError:
        return f"no answer within {min(PROBE_SECONDS, settings.redis_socket_timeout):g} s"
    except Exception as exc:  # any failure is worth the one warning, never a crash
        return " ".join(str(exc).split()) or type(exc).__name__
    finally:
        await client.aclose()
    return None


def check_workers(server: str, workers: int) -> None:
    """Log a warning when `workers` granian workers crowd this host's CPUs."""
    advice = crowded_workers(server, workers, available_cpus())
    if advice is not None:
        _log.warning(advice)


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity, e.g. a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def crowded_workers(server: str, workers: int, cpus: int) -> str | None:
    """Why `workers` workers of `server` on `cpus` CPUs serve less than fewer would; None
    when they fit. Two granian workers on two CPUs served 0.8x what one did: each is two busy
    threads, and four threads (with the clients) share two CPUs."""
    if server != "granian" or workers < 2 or workers * GRANIAN_WORKER_CPUS <= cpus:
        return None
    fitting = max(1, int(cpus // GRANIAN_WORKER_CPUS))
    return (
        f"{workers} granian workers on {cpus} CPU{'s' if cpus > 1 else ''}: each worker takes "
        f"up to {GRANIAN_WORKER_CPUS:g} CPUs at full load (its Python thread and its Rust I/O "
        f"thread), so they crowd each other and serve less than --workers {fitting} would "
        "here (see Performance, workers on two cores, in the docs)"
    )
