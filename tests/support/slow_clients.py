"""Slow clients: sockets with tiny buffers that stop reading, to see the gateway cut them off
while everyone else keeps up."""

from __future__ import annotations

import asyncio
import json
import socket

from websockets.asyncio.client import ClientConnection

from .credentials import ADMIN_KEY

__all__ = [
    "TINY_BUFFER",
    "drain_until_closed",
    "read_until_closed",
    "small_server_socket",
    "stalled_client",
    "tick_json",
]

TINY_BUFFER = 4096


def small_server_socket() -> socket.socket:
    """A listening socket whose accepted connections have a tiny send buffer."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, TINY_BUFFER)
    sock.bind(("127.0.0.1", 0))
    return sock


async def stalled_client(port: int, path: str) -> socket.socket:
    """A client with a tiny receive buffer that stops reading after the first bytes (its
    blocking calls run in a thread: the server shares this event loop)."""
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, TINY_BUFFER)
    client.settimeout(5)
    client.connect(("127.0.0.1", port))
    request = f"GET {path} HTTP/1.1\r\nHost: gateway\r\nX-API-Key: {ADMIN_KEY}\r\n\r\n"
    client.sendall(request.encode())
    head = await asyncio.to_thread(client.recv, TINY_BUFFER)
    assert head.startswith(b"HTTP/1.1 200")
    return client


async def drain_until_closed(client: socket.socket) -> bytes:
    """Everything left on the socket, up to the server closing it (in a thread)."""

    def read() -> bytes:
        chunks = []
        while chunk := client.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)

    return await asyncio.wait_for(asyncio.to_thread(read), 10)


async def read_until_closed(ws: ClientConnection) -> None:
    """Read frames until the connection closes (ConnectionClosed), each within 5 s."""
    while True:
        await asyncio.wait_for(ws.recv(), 5)


def tick_json(price: int) -> str:
    """A ticker update of BTC/USDT at `price`, padded to fill buffers sooner."""
    body = {"symbol": "BTC/USDT", "exchange": "binance", "price": float(price), "time": 1.0}
    return json.dumps({**body, "padding": "x" * 150})
