"""Docs: the OpenAPI document, Swagger UI and ReDoc, served offline from bundled assets.

Every URL in the pages is relative (``openapi.json``, ``docs/assets/...``), so the same pages
work standalone at ``/docs`` and mounted at ``/api/v1/cache/docs``. The assets come from the
``openapi-ui-bundles`` package: no CDN, and a Content-Security-Policy keeps the browser from
fetching anything that is not ours.

Private docs (``FULLON_CACHE_API_PUBLIC_DOCS=false``) in a browser, which cannot set headers:
open ``/docs?token=<JWT or API key>`` (or ``/redoc?token=``) once. The token is verified, put
in an HttpOnly, SameSite=Strict cookie scoped to the gateway's mount (`DOCS_COOKIE`, one hour
at most), and the browser is sent to the page without the token in its URL; the page, its
assets and ``openapi.json`` then authenticate with the cookie. Only the docs routes read that
cookie: the data routes never do (so it cannot be used to make a browser read data).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openapi_ui_bundles import redoc, swagger_ui
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from .._errors import Unauthenticated
from ..http import OpenAPICache
from ..security import DOCS_COOKIE, FROM_COOKIE, FROM_QUERY, Authenticator
from ._common import ROUTE_SCOPE_KEY, identity_of

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; font-src 'self' data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
_PAGE_HEADERS = {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff"}
# How long the docs cookie lasts (a JWT in it stops working when it expires anyway).
_COOKIE_SECONDS = 3600
# Credentials outside the headers each docs route takes: the pages read ``?token=`` (to set
# the cookie), every docs route reads the cookie.
_PAGE_CREDENTIALS = frozenset({FROM_QUERY, FROM_COOKIE})
_COOKIE_ONLY = frozenset({FROM_COOKIE})

# The assets the two pages load, by the name they are served under (an allowlist: a request
# can only ever name one of these files).
_ASSETS: dict[str, Path] = {
    "swagger-ui.css": swagger_ui.static_path / "swagger-ui.css",
    "swagger-ui-bundle.js": swagger_ui.static_path / "swagger-ui-bundle.js",
    "favicon-32x32.png": swagger_ui.static_path / "favicon-32x32.png",
    "redoc.standalone.js": redoc.static_path / "redoc.standalone.js",
}

# Swagger UI's options live in a script of ours rather than inline, so the CSP allows no
# inline script. `validatorUrl: null`: the default would send the document to a public service.
_SWAGGER_INIT = b"""\
window.addEventListener("load", function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""

_SWAGGER_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fullon_cache_api - Swagger UI</title>
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-spec-url="openapi.json"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/swagger-init.js"></script>
</body>
</html>
"""

_REDOC_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fullon_cache_api - ReDoc</title>
<link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<redoc spec-url="openapi.json"></redoc>
<script src="docs/assets/redoc.standalone.js"></script>
</body>
</html>
"""


class DocsRoute(Route):
    """A route of the docs (outside the data API): it names itself in the scope, like
    `ApiRoute`, so logs and metrics see its template; `media_type` documents its body;
    `credentials` are those it takes besides the headers (the docs cookie, ``?token=``)."""

    def __init__(
        self,
        path: str,
        endpoint: Any,
        *,
        media_type: str,
        schema: bool = True,
        credentials: frozenset[str] = _COOKIE_ONLY,
    ) -> None:
        super().__init__(path, endpoint, methods=["GET"], include_in_schema=schema)
        self.media_type = media_type
        self.credentials = credentials

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[ROUTE_SCOPE_KEY] = self
        await super().handle(scope, receive, send)


async def openapi_document(request: Request) -> Response:
    """The OpenAPI 3.1 document of this gateway; its servers entry follows the mount point."""
    body = _cache(request).body(request.scope.get("root_path", ""))
    return Response(body, media_type="application/json")


async def swagger_ui_page(request: Request) -> Response:
    """Swagger UI: browse and try every operation (served offline)."""
    return _page(request, _SWAGGER_PAGE, "docs")


async def redoc_page(request: Request) -> Response:
    """ReDoc: the reference documentation, on one page (served offline)."""
    return _page(request, _REDOC_PAGE, "redoc")


async def docs_asset(request: Request) -> Response:
    """A static file of the docs pages."""
    name = request.path_params["name"]
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    if name == "swagger-init.js":
        return Response(_SWAGGER_INIT, media_type="text/javascript", headers=headers)
    path = _ASSETS.get(name)
    if path is None:
        raise HTTPException(404, f"no docs asset named {name[:80]!r}")
    return FileResponse(path, headers=headers)


def _cache(request: Request) -> OpenAPICache:
    # Built on the first request, per app (a mounted app is `request.app` inside the mount).
    state = request.app.state
    cache: OpenAPICache | None = getattr(state, "openapi", None)
    if cache is None:
        authenticator = state.authenticator
        public = authenticator.public_paths  # FULLON_CACHE_API_PUBLIC_DOCS
        auth = authenticator.config.enabled  # off: no locks, no Authorize button
        cache = state.openapi = OpenAPICache(request.app.routes, public, auth=auth)
    return cache


def _page(request: Request, html: str, name: str) -> Response:
    # Relative URLs resolve against the page's directory: ``.../docs/`` would load
    # ``.../docs/docs/assets/...``, so send it back to ``.../docs`` first.
    if request.scope.get("raw_path", b"").endswith(b"/"):
        return RedirectResponse(f"../{name}", status_code=308)
    token = request.query_params.get("token")
    config = request.app.state.authenticator.config
    if token and config.enabled and not config.public_docs and identity_of(request) is not None:
        return _with_cookie(request, token, name)
    return HTMLResponse(html, headers=_PAGE_HEADERS)


def _with_cookie(request: Request, token: str, name: str) -> Response:
    """Send the browser to the page without ``?token=``, holding the token in the docs cookie
    (only a token that verifies: a header may have been what identified this request)."""
    authenticator: Authenticator = request.app.state.authenticator
    try:
        authenticator.verify_token(token)
    except Unauthenticated:
        return HTMLResponse(_REDIRECT_REFUSED, status_code=401, headers=_PAGE_HEADERS)
    response = RedirectResponse(name, status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        DOCS_COOKIE,
        token,
        max_age=_COOKIE_SECONDS,
        path=request.scope.get("root_path", "").rstrip("/") + "/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


_REDIRECT_REFUSED = "<!DOCTYPE html><title>401</title><p>The token in the URL does not verify."


routes: list[BaseRoute] = [
    DocsRoute("/openapi.json", openapi_document, media_type="application/json"),
    DocsRoute("/docs", swagger_ui_page, media_type="text/html", credentials=_PAGE_CREDENTIALS),
    DocsRoute("/redoc", redoc_page, media_type="text/html", credentials=_PAGE_CREDENTIALS),
    DocsRoute("/docs/assets/{name}", docs_asset, media_type="text/javascript", schema=False),
]
