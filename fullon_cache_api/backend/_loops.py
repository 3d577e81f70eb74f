"""Resources bound to one event loop, closed when that loop shuts down.

A pooled connection, a link task or a future belongs to the loop it was made on; used from
another loop it fails ("Event loop is closed") or waits forever. Starlette's ``TestClient``
used without ``with`` runs every request and WebSocket on a new loop and closes that loop
afterwards, so the gateway's loop-bound holders (the connection pool, the near cache's
invalidation link, the streams hub) remember their loop: seeing another one, they forget what
they held and make it anew (`LoopBinding.rebind`).

They also close what they hold while their loop can still run the closing: asyncio's
``Runner`` (behind ``asyncio.run``, ``anyio.run`` and the TestClient's portal) cancels the
remaining tasks and then finalizes the loop's async generators before it closes the loop.
`at_loop_exit` hooks one such generator per loop, so sockets are closed on their own loop
instead of being left to the garbage collector (``ResourceWarning: unclosed transport``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Callable

__all__ = ["LoopBinding", "at_loop_exit"]

_log = logging.getLogger("fullon.api.cache")
_Exit = tuple[list[Callable[[], None]], AsyncIterator[None]]
_exits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Exit] = weakref.WeakKeyDictionary()


def at_loop_exit(callback: Callable[[], None]) -> None:
    """Call `callback` (synchronous) while the running loop shuts down, after its tasks were
    cancelled. Loops closed without finalizing async generators never call it."""
    loop = asyncio.get_running_loop()
    entry = _exits.get(loop)
    if entry is None:
        callbacks: list[Callable[[], None]] = []
        finalizer = _finalizer(callbacks)
        _first_step(finalizer)  # the loop's asyncgen hook now knows it: shutdown closes it
        entry = _exits[loop] = (callbacks, finalizer)
    entry[0].append(callback)


async def _finalizer(callbacks: list[Callable[[], None]]) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for callback in callbacks:
            try:
                callback()
            except Exception:  # one failed clean-up must not skip the others
                _log.exception("clean-up at event-loop shutdown failed")
        callbacks.clear()


def _first_step(generator: AsyncIterator[None]) -> None:
    step = generator.__anext__()
    with contextlib.suppress(StopIteration):
        step.send(None)  # type: ignore[attr-defined]


class LoopBinding:
    """The loop a holder's resources belong to; `rebind` says when they must be made anew."""

    __slots__ = ("loop",)

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None

    def rebind(self, on_exit: Callable[[], None]) -> bool:
        """True when the running loop is not the bound one (the caller forgets what it held);
        the running loop is bound from now on, and `on_exit` runs when it shuts down if it is
        still the bound one then."""
        loop = asyncio.get_running_loop()
        if loop is self.loop:
            return False
        self.loop = loop
        bound = weakref.ref(loop)  # the registry is keyed by the loop: no strong reference

        def exiting() -> None:
            if self.loop is not None and self.loop is bound():
                self.loop = None
                on_exit()

        at_loop_exit(exiting)
        return True
