"""`stop_if_cancelled`: a retry loop stops when a cancel reached it disguised as an error."""

from __future__ import annotations

import asyncio

import pytest

from fullon_cache_api.backend._aio import stop_if_cancelled

pytestmark = pytest.mark.anyio


async def _retry_loop(check: bool) -> str:
    """Reconnect-style loop whose first attempt gets cancelled and sees TimeoutError instead."""
    for attempt in range(50):
        try:
            if attempt == 0:
                task = asyncio.current_task()
                assert task is not None
                task.cancel()
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:  # what a racing timeout may turn a cancel into
                raise TimeoutError from None
        except TimeoutError:
            if check:
                stop_if_cancelled()
    return "ran on"


async def test_a_hidden_cancel_stops_the_loop() -> None:
    """With the check, the disguised cancel ends the task as cancelled."""
    task = asyncio.create_task(_retry_loop(check=True))
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_without_the_check_the_loop_runs_on() -> None:
    """Without it the loop never stops (what the check exists for)."""
    assert await _retry_loop(check=False) == "ran on"


async def test_no_cancel_no_stop() -> None:
    """An ordinary error in a task nobody cancelled is left to the loop: the check returns,
    and the loop retries to its end."""

    async def retries() -> int:
        attempts = 0
        for _ in range(3):
            try:
                raise TimeoutError
            except TimeoutError:
                stop_if_cancelled()  # returns: nobody cancelled this task
                attempts += 1
        return attempts

    assert await asyncio.wait_for(asyncio.create_task(retries()), 5) == 3
