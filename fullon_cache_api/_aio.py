"""One asyncio rule shared by the gateway's reconnecting background tasks."""

from __future__ import annotations

import asyncio

__all__ = ["stop_if_cancelled"]


def stop_if_cancelled() -> None:
    """Re-raise a pending cancellation that a caught error hid.

    A link task that catches connection errors and reconnects must still stop when its owner
    cancels it: on Python 3.11 a cancel that lands while `asyncio.timeout` expires, or while a
    socket fails, can surface as TimeoutError/OSError instead of CancelledError, and a retry
    loop would then run forever (a shutdown waiting on it would hang).
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
