"""How an app learns that its process is shutting down, whoever runs it.

uvicorn stops on SIGTERM / SIGINT in this order: stop accepting, ask each connection to finish,
wait for the connections (forever, unless ``timeout_graceful_shutdown``), and only then run the
lifespan's shutdown. An open SSE response never hears of the shutdown through ASGI, so waiting
for the lifespan means waiting forever; and a host that mounts us never runs our lifespan at
all. The one thing every mode shares (``serve``, ``serve --workers``, plain ``uvicorn``, a host
under uvicorn, gunicorn or hypercorn) is the signal itself.

So `ShutdownWatch.arm` (called in the app's loop on its first request) puts a handler in front
of whatever handles SIGTERM and SIGINT at that moment, in the main thread only. On a signal it
marks every armed watch as stopping, schedules their callbacks in their own loops (never from
inside the handler: it may interrupt the hub mid-update), then calls the previous handler
exactly as the signal would have. When nothing but the default handles a signal, nothing is
chained: the process dies at once either way. A server that restores its own handlers when it
stops (uvicorn does) takes ours away with them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import threading
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["SIGNALS", "ShutdownWatch"]

SIGNALS = (signal.SIGTERM, signal.SIGINT)

_log = logging.getLogger("fullon.api.cache.shutdown")

# Signal handlers are per process, so the watches they notify are too: one entry per armed
# watch, weakly held (an app that is gone is not kept alive by a handler). A dict copied with
# `list(...)` is safe to read from a handler that interrupts an update of it.
_ARMED: dict[int, weakref.ref[ShutdownWatch]] = {}


class ShutdownWatch:
    """One app's view of a process shutdown: `stopping` once SIGTERM or SIGINT arrived, and
    callbacks run in the app's loop when it does."""

    def __init__(self) -> None:
        self.stopping = False
        self._callbacks: list[Callable[[], object]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def on_stop(self, callback: Callable[[], object]) -> None:
        """Run `callback` (synchronous, in the app's loop) when a shutdown signal arrives."""
        self._callbacks.append(callback)

    def arm(self) -> None:
        """Listen for shutdown signals from the running loop (no-op outside the main thread,
        where signal handlers cannot be installed: the lifespan is then the only notice)."""
        self._loop = asyncio.get_running_loop()
        key = id(self)
        if key not in _ARMED:
            _ARMED[key] = weakref.ref(self, functools.partial(_forget, key))
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                _chain(signum)

    def stop(self) -> None:
        """The shutdown begins: run the callbacks once (in the app's loop)."""
        self.stopping = True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # one failing callback must not keep the others from running
                _log.exception("a shutdown callback failed")

    def _signalled(self) -> None:
        """From the signal handler: mark, and schedule `stop` in the app's loop."""
        self.stopping = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self.stop)


class _Chained:
    """The handler put in front of `previous`: notify the armed watches, then defer to it."""

    __slots__ = ("previous",)

    def __init__(self, previous: Any) -> None:
        self.previous = previous

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        for ref in list(_ARMED.values()):
            watch = ref()
            if watch is not None:
                watch._signalled()
        previous = self.previous
        if callable(previous):
            previous(signum, frame)


def _forget(key: int, ref: weakref.ref[ShutdownWatch]) -> None:
    _ARMED.pop(key, None)


def _chain(signum: signal.Signals) -> None:
    """Put `_Chained` in front of the current handler of `signum`, unless it is there already
    or nothing but the default (or nothing at all) handles the signal."""
    current = signal.getsignal(signum)
    if isinstance(current, _Chained) or not callable(current):
        return  # ours already; or SIG_DFL / SIG_IGN / a handler set outside Python
    if current is signal.default_int_handler:
        return  # nobody shuts down gracefully on Ctrl-C: KeyboardInterrupt will
    signal.signal(signum, _Chained(current))
