"""``serve --workers N``: N gateway processes sharing one port (uvicorn or granian workers).

Each worker is a fresh interpreter (spawn) that imports `create_worker_app` by name, configures
logging from the environment as the parent did, and builds its own app from the environment:
its own Redis pool and, once streams are used, its own pub/sub connection. Workers share
nothing, so a load balancer (or the kernel, here) may send any request to any of them.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import inspect
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess, multiprocess

from .._app import create_app
from ..observability import LogConfig, configure_logging
from ._granian_server import serve_granian
from ._listen import listen_beside
from ._servers import loop_factory
from ._uvicorn_server import STREAMS_END_WITHIN, _Server

__all__ = ["WORKER_APP", "create_worker_app", "serve_workers"]

WORKER_APP = "fullon_cache_api.server._workers:create_worker_app"
_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_log = logging.getLogger("fullon.api.cache.cli")


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
        supervisor: Multiprocess = legacy(config, target=_Server(config).run, sockets=[sock])
        return supervisor
    return _Supervisor(config, sockets=[sock])


class _WorkerProcess(multiprocess.Process):
    """uvicorn's worker process, serving with `_Server` (streams end before connections),
    on the shared socket and on one of its own beside it (`listen_beside`)."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = _Server(config=self.config)
        return self._server

    def target(self, sockets: list[socket.socket] | None = None) -> None:
        # The shared socket's connections go to whichever worker accepts first (a burst can
        # all land on one); those of its own socket, a share fixed by the kernel, only to this
        # worker. The shared one stays served by every worker: uvicorn's supervisor has no
        # worker slots to give it to one, and a replacement takes over at once.
        shared = list(sockets or ())
        super().target([*shared, *(listen_beside(sock) for sock in shared)])


class _Supervisor(Multiprocess):
    """uvicorn's supervisor, starting `_WorkerProcess` workers (it builds its processes by the
    module's name ``Process``: swapped while it runs, in this supervising process only)."""

    def run(self) -> None:
        original = multiprocess.Process
        multiprocess.Process = _WorkerProcess  # type: ignore[misc]
        try:
            super().run()
        finally:
            multiprocess.Process = original  # type: ignore[misc]


def _granian_workers(sock: socket.socket, workers: int, log_level: str, grace: int) -> None:
    """A small supervisor of `workers` processes, each running `serve_granian` on `sock`, as
    ``serve --server granian`` does in one process (granian's own supervisor lets its Rust
    side drop WebSockets before the app has closed them). A worker that exits is replaced;
    SIGTERM / SIGINT are passed on to every worker, and one still running after its grace
    period (plus the streams' close) is killed."""
    context = multiprocessing.get_context("spawn")  # fresh interpreters, as uvicorn's
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in _SIGNALS}
    processes: list[SpawnProcess] = []
    try:
        processes = [_start(context, sock, log_level, grace, index) for index in range(workers)]
        while not stop.wait(0.5):
            for index, process in enumerate(processes):
                if not process.is_alive():
                    _log.warning(
                        "worker %s exited with %s; starting another", process.pid, process.exitcode
                    )
                    processes[index] = _start(context, sock, log_level, grace, index)
    finally:
        _stop(processes, grace + STREAMS_END_WITHIN + 2)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _start(
    context: SpawnContext, sock: socket.socket, log_level: str, grace: int, index: int
) -> SpawnProcess:
    """Worker `index`: the first serves `sock` itself (what connects while no worker is ready
    waits in its queue), every other one a socket of its own beside it (`listen_beside`)."""
    process = context.Process(target=_granian_worker, args=(sock, log_level, grace, index > 0))
    process.start()
    return process


def _stop(processes: list[SpawnProcess], within: float) -> None:
    """SIGTERM each worker, wait for all (bounded), kill what is left."""
    for process in processes:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + within
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            _log.warning("worker %s did not stop within %.0f s; killing it", process.pid, within)
            process.kill()
            process.join(5)


def _granian_worker(sock: socket.socket, log_level: str, grace: int, beside: bool) -> None:
    """One granian worker: logging from LOG_*, its own app, `serve_granian` on `sock` (or,
    `beside`, on a socket of its own on the same port)."""
    undo = configure_logging(LogConfig.from_env())
    try:
        with contextlib.ExitStack() as stack:
            if beside:
                shared = sock
                sock = stack.enter_context(listen_beside(shared))
                shared.close()  # our copy only: the parent and the first worker keep theirs
            with (
                contextlib.suppress(KeyboardInterrupt),
                asyncio.Runner(loop_factory=loop_factory()) as runner,
            ):
                runner.run(serve_granian(create_app(), sock, log_level, grace))
    finally:
        undo()
