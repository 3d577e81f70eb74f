"""``serve --workers N``: N gateway processes sharing one port (uvicorn or granian workers).

Each worker is a fresh interpreter (spawn) that imports `create_worker_app` by name, configures
logging from the environment as the parent did, and builds its own app from the environment:
its own Redis pool and, once streams are used, its own pub/sub connection. Workers share
nothing, so a load balancer (or the kernel, here) may send any request to any of them.
"""

from __future__ import annotations

import atexit
import inspect
import multiprocessing
import socket
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from ._app import create_app
from ._logconfig import LogConfig, configure_logging

__all__ = ["WORKER_APP", "create_worker_app", "serve_workers"]

WORKER_APP = "fullon_cache_api._workers:create_worker_app"


def create_worker_app() -> Starlette:
    """The app of one worker: logging from LOG_* (flushed at exit), settings from REDIS_*."""
    atexit.register(configure_logging(LogConfig.from_env()))
    return create_app()


def serve_workers(
    sock: socket.socket, workers: int, log_level: str, grace: int, server: str = "uvicorn"
) -> None:
    """Serve on `sock` with `workers` processes until SIGINT / SIGTERM, then stop them all.

    uvicorn's supervisor replaces a worker that dies or hangs and stops them gracefully on a
    signal (SIGTERM to each worker, whose app ends its streams at once, see `_runtime`; its
    requests in flight get `grace` seconds); we pass our own socket so a busy port and
    ``--port 0`` behave as with one worker. granian: see `_granian_workers`.
    """
    if server == "granian":
        _granian_workers(sock, workers, log_level, grace)
        return
    config = uvicorn.Config(
        WORKER_APP,
        factory=True,
        workers=workers,
        log_config=None,  # each worker configures logging itself (create_worker_app)
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=grace,
    )
    _supervisor(config, sock).run()


def _supervisor(config: uvicorn.Config, sock: socket.socket) -> Multiprocess:
    # Older uvicorn releases take the worker's entry point; newer ones build it themselves.
    if "target" in inspect.signature(Multiprocess).parameters:
        legacy: Any = Multiprocess
        supervisor: Multiprocess = legacy(config, target=uvicorn.Server(config).run, sockets=[sock])
        return supervisor
    return Multiprocess(config, sockets=[sock])


def _granian_workers(sock: socket.socket, workers: int, log_level: str, grace: int) -> None:
    """granian's supervisor: each worker listens on `sock`'s port itself (SO_REUSEPORT; `sock`
    only reserves the port, see `__main__._reserve`), runs the app's lifespan after its
    connections drained, and is killed if it is not done `grace` seconds after SIGTERM."""
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels
    from granian.server.mp import MPServer

    from ._granian_server import GRANIAN_LOGGING, quiet_experimental

    host, port = sock.getsockname()[:2]
    quiet_experimental()
    # Fresh interpreters, as uvicorn's workers: a fork would copy this process's logging
    # (its writer thread does not survive a fork) and event-loop state into every worker.
    multiprocessing.set_start_method("spawn", force=True)
    MPServer(
        WORKER_APP,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        http=HTTPModes.http1,
        websockets=True,
        backlog=2048,
        log_level=LogLevels(log_level),
        log_dictconfig=GRANIAN_LOGGING,
        workers_kill_timeout=grace,
        respawn_failed_workers=True,
    ).serve()
