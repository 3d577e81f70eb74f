"""Runnable examples: a master host, an httpx client, an SSE consumer, a WebSocket consumer."""
