"""WebSocket clients of ``python -m benchmarks.streams --protocol ws``: each subscribes to the
ticker on ``/ws/v2/tickers/c{n}`` (the gateway's protocol) and times every pushed update."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from array import array
from datetime import datetime
from multiprocessing.connection import Connection

__all__ = ["ws_worker"]

_SUBSCRIBE = json.dumps(
    {
        "action": "stream_tickers",
        "request_id": "1",
        "params": {"exchange": "binance", "symbols": ["BTC/USDT"]},
    }
)


def ws_worker(port: int, clients: int, key: str, pipe: Connection) -> None:
    """A process holding `clients` WebSocket streams; reports latencies when told to stop."""
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(_worker(port, clients, key, pipe))


async def _worker(port: int, clients: int, key: str, pipe: Connection) -> None:
    from websockets.asyncio.client import connect

    latencies = array("d")  # (send stamp, latency ms) pairs, as the SSE clients keep them
    sockets, readers = [], []
    for n in range(clients):
        ws = await connect(
            f"ws://127.0.0.1:{port}/ws/v2/tickers/c{n}",
            additional_headers={"X-API-Key": key},
            open_timeout=60,
            compression=None,
        )
        await ws.send(_SUBSCRIBE)
        await asyncio.wait_for(ws.recv(), 60)  # the confirmation
        await asyncio.wait_for(ws.recv(), 60)  # the snapshot
        sockets.append(ws)
        readers.append(asyncio.create_task(_read(ws, latencies)))
        if n % 50 == 49:
            await asyncio.sleep(0.05)  # connect in waves
    pipe.send(("ready", clients))
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # "stop"
    failed = sum(1 for reader in readers if reader.done())  # a stream that ended early
    for reader in readers:
        reader.cancel()
    for ws in sockets:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 5)
    pipe.send(("done", latencies.tobytes(), failed))


async def _read(ws: object, latencies: array[float]) -> None:
    async for frame in ws:  # type: ignore[attr-defined]
        now = time.time()
        text = frame if isinstance(frame, str) else frame.decode()
        start = text.find('"time":"')
        if start < 0 or '"snapshot":false' not in text:
            continue
        start += 8
        stamp = datetime.fromisoformat(text[start : text.index('"', start)]).timestamp()
        latencies.extend((stamp, (now - stamp) * 1000.0))
