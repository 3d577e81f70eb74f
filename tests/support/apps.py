"""Building apps under test and calling them in-process (httpx's ASGI transport, no socket)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.types import ASGIApp

from fullon_cache_api import create_app

__all__ = ["AppBuilder", "caller", "get", "in_process"]


class AppBuilder:
    """``create_app`` with defaults (a call's arguments override them); every app it built, or a
    builder derived with `using` built, is closed by `aclose` (the `make_app` fixture's
    teardown), since apps called without their lifespan never close their Redis pool."""

    def __init__(self, built: list[Starlette] | None = None, **defaults: Any) -> None:
        self._built = [] if built is None else built
        self._defaults = defaults

    def __call__(self, **kwargs: Any) -> Starlette:
        self._built.append(create_app(**{**self._defaults, **kwargs}))
        return self._built[-1]

    def using(self, **defaults: Any) -> AppBuilder:
        """A builder with other defaults whose apps this one closes too."""
        return AppBuilder(self._built, **{**self._defaults, **defaults})

    async def aclose(self) -> None:
        for app in self._built:
            await app.state.reader.redis.aclose()


async def get(app: ASGIApp, path: str, **headers: str) -> httpx.Response:
    """One GET of `path` on `app`, in-process and outside its lifespan."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        return await http.get(path, headers=headers)


@asynccontextmanager
async def in_process(
    app: Starlette, headers: Mapping[str, str] | None = None, request_timeout: float = 5.0
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling `app` in-process inside its lifespan (which closes the pool)."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://gateway",
            headers=headers,
            timeout=request_timeout,
        ) as http,
    ):
        yield http


async def caller(app: ASGIApp, prefix: str = "", **headers: str) -> tuple[str | None, bool]:
    """Who `app` took the caller of `headers` for: its user id (``/me/summary``'s) and whether
    it is an admin (only an admin reads another user's summary: 200, else 404)."""
    mine = await get(app, f"{prefix}/me/summary", **headers)
    assert mine.status_code == 200, mine.text
    theirs = await get(app, f"{prefix}/users/{_NOBODY}/summary", **headers)
    assert theirs.status_code in (200, 404), theirs.text
    uid: str | None = mine.json()["uid"]
    return uid, theirs.status_code == 200


_NOBODY = 987654321  # a user id no test identity has
