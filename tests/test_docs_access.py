"""Docs in a browser: private docs (FULLON_CACHE_API_PUBLIC_DOCS=false) open from
``/docs?token=`` through a cookie only the docs routes read; with authentication off the
document lists no security (Swagger UI shows no lock and no Authorize button)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from fullon_cache_api import Settings, create_app
from fullon_cache_api.security._auth import DOCS_COOKIE

from .support.credentials import ADMIN_KEY

pytestmark = pytest.mark.anyio

MOUNT = "/api/v1/cache"


@pytest.fixture
async def private_docs(settings: Settings) -> AsyncIterator[Starlette]:
    auth = msgspec.structs.replace(settings.auth, public_docs=False)
    app = create_app(settings=msgspec.structs.replace(settings, auth=auth))
    yield app
    await app.state.reader.redis.aclose()


def browser(app: Starlette, base: str = "http://g") -> httpx.AsyncClient:
    """A client that keeps cookies and sends no credential header, as a browser would."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)


@pytest.mark.parametrize("page", ["docs", "redoc"])
async def test_a_token_in_the_url_opens_private_docs(private_docs: Starlette, page: str) -> None:
    """`/docs?token=<key>`: 303 to the page without the token, with an HttpOnly, SameSite=Strict
    cookie; then the page, its assets and the document load with the cookie alone."""
    async with browser(private_docs) as http:
        assert (await http.get(f"/{page}")).status_code == 401
        opened = await http.get(f"/{page}?token={ADMIN_KEY}")
        assert opened.status_code == 303 and opened.headers["location"] == page
        cookie = opened.headers["set-cookie"]
        assert cookie.startswith(f"{DOCS_COOKIE}=")
        for attribute in ("HttpOnly", "SameSite=strict", "Path=/", "Max-Age=3600"):
            assert attribute.lower() in cookie.lower(), cookie
        assert ADMIN_KEY not in opened.headers["location"]
        assert (await http.get(f"/{page}")).status_code == 200
        assert (await http.get("/openapi.json")).status_code == 200
        assert (await http.get("/docs/assets/swagger-ui-bundle.js")).status_code == 200


async def test_the_docs_cookie_reads_no_data(private_docs: Starlette) -> None:
    """The docs cookie is not a credential anywhere else: data routes and streams answer 401."""
    async with browser(private_docs) as http:
        await http.get(f"/docs?token={ADMIN_KEY}")
        assert http.cookies.get(DOCS_COOKIE)
        for path in ("/tickers", "/status", "/metrics", "/tickers/binance/stream"):
            assert (await http.get(path)).status_code == 401, path


async def test_a_bad_token_in_the_url_sets_no_cookie(private_docs: Starlette) -> None:
    """A token that does not verify is a 401, and no cookie is set."""
    async with browser(private_docs) as http:
        refused = await http.get("/docs?token=not-a-key")
        assert refused.status_code == 401 and "set-cookie" not in refused.headers
        http.cookies.set(DOCS_COOKIE, "not-a-key")
        assert (await http.get("/openapi.json")).status_code == 401


async def test_the_cookie_is_scoped_to_the_mount(private_docs: Starlette) -> None:
    """Mounted at /api/v1/cache, the cookie's Path is the mount and the redirect stays in it."""
    host = Starlette(routes=[Mount(MOUNT, app=private_docs)])
    async with browser(host, "http://h") as http:
        opened = await http.get(f"{MOUNT}/docs?token={ADMIN_KEY}")
        assert opened.status_code == 303
        assert f"Path={MOUNT}/" in opened.headers["set-cookie"]
        assert (await http.get(f"{MOUNT}/docs")).status_code == 200
        assert (await http.get(f"{MOUNT}/openapi.json")).status_code == 200


async def test_public_docs_set_no_cookie(settings: Settings) -> None:
    """With public docs (the default) a ?token= on /docs changes nothing: the page, no cookie."""
    app = create_app(settings=settings)
    try:
        async with browser(app) as http:
            page = await http.get(f"/docs?token={ADMIN_KEY}")
            assert page.status_code == 200 and "set-cookie" not in page.headers
    finally:
        await app.state.reader.redis.aclose()


async def test_auth_off_documents_no_security(settings: Settings) -> None:
    """Authentication off: no security scheme, no operation with security or a 401, and the
    description says so; on, the schemes and locks are there."""
    for auth, expected in ((False, False), (True, True)):
        app = create_app(settings=settings, auth=auth)
        try:
            async with browser(app) as http:
                document = (
                    await http.get("/openapi.json", headers={"X-API-Key": ADMIN_KEY})
                ).json()
        finally:
            await app.state.reader.redis.aclose()
        operations = [op for item in document["paths"].values() for op in item.values()]
        assert ("securitySchemes" in document["components"]) is expected
        assert any(op["security"] for op in operations) is expected
        assert any("401" in op["responses"] for op in operations) is expected
        assert ("Authentication is off" in document["info"]["description"]) is not expected
