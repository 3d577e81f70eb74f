"""The data layer is handed what it needs (settings, a read client): it never reads a client's
internals back."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from fullon_cache_api import Settings, create_app
from fullon_cache_api.data.views import status_budget

pytestmark = pytest.mark.anyio


async def test_view_budgets_follow_the_settings_not_the_client() -> None:
    """The derived views budget from REDIS_SOCKET_TIMEOUT, even over an injected client whose
    own socket timeout differs."""
    injected = Redis(port=1, socket_timeout=1.0)  # never contacted
    try:
        app = create_app(redis=injected, settings=Settings(redis_socket_timeout=3.0))
        limits = app.state.reader.views.limits
        assert limits.socket_timeout == 3.0
        assert status_budget(limits) == 1.5  # half of 3 s; the client's 1 s would give 0.5
    finally:
        await injected.aclose()
