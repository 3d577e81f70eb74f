"""A real browser renders the docs: headless Chromium loads Swagger UI and ReDoc from a host
that mounts the gateway at /api/v1/cache, served by uvicorn on a loopback port.

Under CI (``CI=true``) the test runs or fails, never skips: `.ci/run` installs Debian's
``chromium``. Elsewhere it is skipped when no ``chromium`` is installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import msgspec
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from fullon_cache_api import Settings, create_app, lifespan

from .support.credentials import ADMIN_KEY
from .support.surface import SAMPLES

MOUNT = "/api/v1/cache"
CHROMIUM = shutil.which("chromium")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="chromium is not installed (apt-get install chromium); CI never skips this",
)


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    """The base URL of a host mounting the gateway (authentication on), run by uvicorn."""
    with serving(create_app(settings=settings)) as url:
        yield url


@contextmanager
def serving(cache_app: Starlette) -> Iterator[str]:
    """A host mounting `cache_app` at /api/v1/cache, run by uvicorn in a thread."""

    @asynccontextmanager
    async def host_lifespan(host: Starlette) -> AsyncIterator[None]:
        async with lifespan(cache_app):  # the host enters ours: the gateway's pool is closed
            yield

    host = Starlette(routes=[Mount(MOUNT, app=cache_app)], lifespan=host_lifespan)
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(host, log_config=None, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    assert not thread.is_alive()


def rendered_dom(url: str, profile: Path) -> str:
    """The DOM of `url` after its scripts ran, as headless Chromium dumps it (bounded in time)."""
    assert CHROMIUM is not None, "CI=true but chromium is missing: .ci/run installs it"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        url,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # so a hung browser is ended with all its helper processes
    )
    try:
        dom, _ = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    assert process.returncode == 0, f"chromium exited with {process.returncode}"
    return dom


@pytest.mark.slow
def test_swagger_ui_renders_the_operations_under_a_mount(served: str, tmp_path: Path) -> None:
    """Swagger UI at /api/v1/cache/docs lists the operations, with the mount as its server."""
    dom = rendered_dom(f"{served}{MOUNT}/docs", tmp_path / "profile")
    assert 'class="opblock-summary-path" data-path="/tickers/{exchange}"' in dom
    assert 'data-path="/orders/{account}/{order_id}"' in dom
    assert dom.count('class="opblock opblock-get') >= len(SAMPLES)
    assert f'<option value="{MOUNT}">{MOUNT}</option>' in dom


@pytest.mark.slow
def test_redoc_renders_the_reference_under_a_mount(served: str, tmp_path: Path) -> None:
    """ReDoc at /api/v1/cache/redoc renders the operations from the same document."""
    dom = rendered_dom(f"{served}{MOUNT}/redoc", tmp_path / "profile")
    assert "The tickers of one exchange, a page at a time" in dom
    assert "/tickers/{exchange}" in dom
    assert "Something went wrong" not in dom


# Swagger UI's Authorize button and the lock of an operation that needs credentials.
AUTHORIZE = 'class="btn authorize'
LOCK = 'class="authorization__btn'


@pytest.mark.slow
@pytest.mark.parametrize("auth", [False, True], ids=["auth-off", "auth-on"])
def test_swagger_ui_shows_locks_only_when_authentication_is_on(
    settings: Settings, tmp_path: Path, auth: bool
) -> None:
    """Authentication off: Swagger UI renders no Authorize button and no lock; on: both."""
    with serving(create_app(settings=settings, auth=auth)) as url:
        dom = rendered_dom(f"{url}{MOUNT}/docs", tmp_path / "profile")
    assert 'data-path="/tickers/{exchange}"' in dom  # the page rendered the operations
    assert (AUTHORIZE in dom) is auth and (LOCK in dom) is auth


@pytest.mark.slow
def test_private_docs_open_in_a_browser_with_a_token(settings: Settings, tmp_path: Path) -> None:
    """FULLON_CACHE_API_PUBLIC_DOCS=false: opening /docs?token=<key> renders Swagger UI (the
    browser follows the redirect and loads the document with the docs cookie)."""
    auth = msgspec.structs.replace(settings.auth, public_docs=False)
    app = create_app(settings=msgspec.structs.replace(settings, auth=auth))
    with serving(app) as url:
        refused = rendered_dom(f"{url}{MOUNT}/docs", tmp_path / "refused")
        dom = rendered_dom(f"{url}{MOUNT}/docs?token={ADMIN_KEY}", tmp_path / "profile")
    assert "Not authenticated" in refused
    assert 'data-path="/tickers/{exchange}"' in dom
    assert dom.count('class="opblock opblock-get') >= len(SAMPLES)
