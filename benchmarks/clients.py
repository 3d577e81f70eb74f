"""Redis client candidates on the one-ticker endpoint (``python -m benchmarks.clients``).

Each candidate serves the same one-HGET Starlette endpoint (`benchmarks._client_apps`), measured
next to the raw-ASGI and Starlette constant-JSON ceilings in the same run:

- redis-py as installed in this environment, configured like the gateway, and with defaults;
- redis-py 5.2.1 and coredis, installed with pip into a private directory (``--candidates-dir``)
  that goes first on the server's PYTHONPATH, so the project's environment is never changed;
- the gateway's own read-only client (`fullon_cache_api.backend._resp`: asyncio + hiredis),
  pooled, and pooled with single-flight coalescing of identical concurrent reads.

A multiplexed variant (every caller's command pipelined on one connection) was measured with
the earlier prototype and lost on CPU per request (75 us vs 71 pooled, 2026-11), so the
client pools.

A candidate that cannot be installed (offline, no wheel) is reported as skipped, with why.

``python -m benchmarks.clients --per-command`` measures the clients alone, in this process:
CPU microseconds per pooled HGET for redis-py (configured like the gateway used to configure
it) and for our own client (`fullon_cache_api.backend._resp`), interleaved rounds in one run.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ._cases import App

__all__ = ["DEFAULT_DIR", "candidates", "main", "prepare"]

DEFAULT_DIR = Path(tempfile.gettempdir()) / "fullon-cache-api-bench"

# name -> (pip requirement, install its dependencies too, what GET /version starts with)
_EXTERNAL = {
    "redis-py-5.2.1": ("redis==5.2.1", False, "redis-py 5.2.1"),
    "coredis": ("coredis", True, "coredis "),
}
_MODULE = "benchmarks._client_apps"


def candidates(directory: Path) -> list[App]:
    """Every candidate app; those from pip live under `directory` (see `prepare`)."""
    import redis

    external = [
        App(
            key=name,
            factory=f"{_MODULE}:coredis_client" if name == "coredis" else f"{_MODULE}:redis_py",
            python_path=(str(directory / name),),
            version=version,
        )
        for name, (_, _, version) in _EXTERNAL.items()
    ]
    return [
        App(key="redis-py", factory=f"{_MODULE}:redis_py", version=f"redis-py {redis.__version__}"),
        App(key="redis-py-defaults", factory=f"{_MODULE}:redis_py_default"),
        *external,
        App(key="resp-pooled", factory=f"{_MODULE}:resp_pooled"),
        App(key="resp-coalesced", factory=f"{_MODULE}:resp_coalesced"),
        App(key="memory", factory=f"{_MODULE}:memory"),
    ]


def prepare(app: App, install: bool) -> str | None:
    """Make a pip-installed candidate ready; None when it is, else why it is skipped."""
    if app.key not in _EXTERNAL:
        return None
    requirement, with_deps, _ = _EXTERNAL[app.key]
    target = Path(app.python_path[0])
    if (target / ".complete").exists():
        return None
    if not install:
        return f"not installed in {target} (run without --no-install)"
    return _ensure(requirement, target, with_deps)


def _ensure(requirement: str, target: Path, with_deps: bool) -> str | None:
    """pip install `requirement` into `target` once; None when ready, else why not."""
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--upgrade", "--target", str(target), requirement,
    ]  # fmt: skip
    if not with_deps:
        command.append("--no-deps")
    print(f"installing {requirement} into {target} (benchmark candidate) ...", flush=True)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        return f"pip install {requirement} failed: {done.stderr.strip()[-300:]}"
    (target / ".complete").touch()
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the ceilings and the client candidates only (or ``--per-command``)."""
    from ._suite import main as suite_main

    args = sys.argv[1:] if argv is None else argv
    if "--per-command" in args:
        return per_command()

    return suite_main(
        argv, default_cases="baseline.*,client.*", prog="python -m benchmarks.clients"
    )


# -- CPU per command, in process ----------------------------------------------------------
_COMMANDS = 20_000
_ROUNDS = 5


def per_command(commands: int = _COMMANDS, rounds: int = _ROUNDS) -> int:
    """Print µs of CPU per pooled HGET, redis-py vs ours, sequential and 32 concurrent."""
    from fullon_cache_api.demo import RedisServer

    with RedisServer() as server:
        try:
            import uvloop

            runner: Callable[[Any], Any] = uvloop.run  # what uvicorn runs the gateway on
        except ImportError:
            runner = asyncio.run
        results = runner(_per_command(server.url, commands, rounds))
    print(f"CPU per pooled HGET ({commands} commands per round, best of {rounds} rounds)")
    print(f"{'client':<26}{'sequential us':>15}{'32 concurrent us':>18}")
    for name, (sequential, concurrent) in results.items():
        print(f"{name:<26}{sequential:>15.1f}{concurrent:>18.1f}")
    base = results["redis-py"]
    ours = results["resp (ours)"]
    print(
        f"redis-py / ours: {base[0] / ours[0]:.2f}x sequential, {base[1] / ours[1]:.2f}x concurrent"
    )
    return 0


async def _per_command(url: str, commands: int, rounds: int) -> dict[str, tuple[float, float]]:
    import redis
    from redis.asyncio import BlockingConnectionPool, Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    from fullon_cache_api._settings import Settings
    from fullon_cache_api.backend._redis import build_client

    seeder = Redis.from_url(url)
    await seeder.hset("tickers:binance", "BTC/USDT", b'{"price": 1.0}' * 20)
    await seeder.aclose()
    pool = BlockingConnectionPool.from_url(
        url, max_connections=50, timeout=5.0, socket_timeout=5.0, socket_connect_timeout=5.0,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
        client_name="fullon_cache_api",
    )  # fmt: skip
    clients: dict[str, Any] = {
        "redis-py": Redis.from_pool(pool),
        "resp (ours)": build_client(Settings(redis_url=url)),
    }
    samples: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in clients}
    try:
        for _ in range(rounds):  # interleaved: a noisy moment hurts both alike
            for name, client in clients.items():
                hget = client.hget
                samples[name][0].append(await _cpu_us(hget, commands // 4, 1))
                samples[name][1].append(await _cpu_us(hget, commands, 32))
    finally:
        for client in clients.values():
            await client.aclose()
    return {name: (min(seq), min(conc)) for name, (seq, conc) in samples.items()}


async def _cpu_us(hget: Callable[[str, str], Awaitable[Any]], commands: int, tasks: int) -> float:
    """CPU µs per command for `commands` HGETs spread over `tasks` concurrent loops."""

    async def loop(count: int) -> None:
        for _ in range(count):
            await hget("tickers:binance", "BTC/USDT")

    await asyncio.gather(*(loop(50) for _ in range(tasks)))  # warm: connections open
    started = time.process_time()
    await asyncio.gather(*(loop(commands // tasks) for _ in range(tasks)))
    return (time.process_time() - started) / (commands // tasks * tasks) * 1e6


if __name__ == "__main__":
    sys.exit(main())
