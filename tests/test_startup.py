"""What `serve` says at start (a warning when nobody could authenticate, one when Redis cannot
be reached), and ``fullon-cache-api token``, which makes a JWT the gateway accepts."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import jwt
import pytest

from fullon_cache_api import Settings, create_app
from fullon_cache_api._settings import AuthConfig
from fullon_cache_api.demo import RedisServer
from fullon_cache_api.demo.server import free_port
from fullon_cache_api.security._auth import hash_api_key

from .support.processes import CLI, ROOT, interrupted_at_exit

SECRET = "startup-test-secret-long-enough-for-hs384-0123456789abcdefghijk"


def clean_environment(**values: str) -> dict[str, str]:
    prefixes = ("REDIS_", "FULLON_CACHE_API_", "JWT_", "ADMIN_MAIL", "LOG_")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(prefixes)}, **values}


@contextmanager
def serving(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`serve --port 0` until its banner names the URL; stopped with SIGINT (then killed)."""
    err = tmp_path / "stderr.log"
    command = [*CLI, "serve", "--port", "0"]
    with (
        err.open("wb") as stderr,
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr) as proc,
        interrupted_at_exit(proc),
    ):
        assert proc.stdout is not None
        banner = proc.stdout.readline().decode()
        found = re.search(r"serving on (http://\S+)", banner)
        assert found, err.read_text()
        yield found.group(1), err


def warnings(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if " WARNING " in line]


@pytest.mark.slow
def test_no_way_to_authenticate_is_a_warning(flushed: RedisServer, tmp_path: Path) -> None:
    """Authentication on, neither JWT_SECRET_KEY nor FULLON_CACHE_API_KEYS: one warning at
    start saying how to fix it (and the 401s it predicts)."""
    with serving(clean_environment(REDIS_URL=flushed.url), tmp_path) as (url, log):
        assert httpx.get(f"{url}/tickers", timeout=5).status_code == 401
    found = [line for line in warnings(log) if "authentication is on" in line]
    assert len(found) == 1, log.read_text()
    for hint in ("JWT_SECRET_KEY", "FULLON_CACHE_API_KEYS", "FULLON_CACHE_API_AUTH=off", "token"):
        assert hint in found[0]


@pytest.mark.slow
@pytest.mark.parametrize(
    "variables",
    [
        {"JWT_SECRET_KEY": SECRET},
        {"FULLON_CACHE_API_KEYS": f"svc:{hash_api_key('k')}"},
        {"FULLON_CACHE_API_AUTH": "off"},
    ],
    ids=["jwt", "keys", "auth-off"],
)
def test_usable_configuration_starts_without_warning(
    flushed: RedisServer, tmp_path: Path, variables: dict[str, str]
) -> None:
    """A secret, a key or authentication off: no start-up warning (Redis is reachable)."""
    with serving(clean_environment(REDIS_URL=flushed.url, **variables), tmp_path) as (url, log):
        assert httpx.get(f"{url}/health", timeout=5).status_code == 200
    assert warnings(log) == [] or all("authentication is OFF" in w for w in warnings(log))


@pytest.mark.slow
def test_unreachable_redis_is_one_warning(tmp_path: Path) -> None:
    """A Redis that refuses connections at start: one warning naming it (no password), then
    the gateway serves, answering 503 with credentials."""
    url = f"redis://:pw-Ee81-never-shown@127.0.0.1:{free_port()}/0"
    env = clean_environment(REDIS_URL=url, FULLON_CACHE_API_KEYS=f"svc:{hash_api_key('k')}")
    with serving(env, tmp_path) as (base, log):
        assert (
            httpx.get(f"{base}/tickers", headers={"X-API-Key": "k"}, timeout=5).status_code == 503
        )
    found = [line for line in warnings(log) if "Redis at" in line]
    assert len(found) == 1 and "not reachable" in found[0], log.read_text()
    assert "127.0.0.1" in found[0] and "pw-Ee81" not in log.read_text()
    assert len(warnings(log)) == 1


def run_token(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "token", *args],
        cwd=ROOT,
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.anyio
async def test_token_command_makes_a_token_the_gateway_accepts(flushed: RedisServer) -> None:
    """`token --user-id 7 --mail M --ttl 120` prints one JWT (stdout only) with those claims,
    signed with JWT_SECRET_KEY and JWT_ALGORITHM; a gateway with that secret accepts it."""
    started = int(time.time())
    done = run_token(
        "--user-id", "7", "--mail", "zoë@fullon.test", "--ttl", "120",
        JWT_SECRET_KEY=SECRET, JWT_ALGORITHM="HS384",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and len(done.stdout.splitlines()) == 1
    token = done.stdout.strip()
    claims = jwt.decode(token, SECRET, algorithms=["HS384"])
    assert claims["user_id"] == 7 and claims["sub"] == "zoë@fullon.test"
    assert claims["exp"] - claims["iat"] == 120 and abs(claims["iat"] - started) <= 5
    auth = AuthConfig(jwt_secret_key=SECRET, jwt_algorithm="HS384")
    app = create_app(settings=Settings(redis_url=flushed.url, auth=auth))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://g") as http:
            ok = await http.get("/tickers", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
    finally:
        await app.state.reader.redis.aclose()


def test_token_command_refuses_without_secret() -> None:
    """Without JWT_SECRET_KEY: exit 2, one line saying the variable is needed, no token."""
    done = run_token("--user-id", "1", "--mail", "a@fullon.test")
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "JWT_SECRET_KEY" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--user-id", "x", "--mail", "a@b"],
        ["--user-id", "1", "--mail", ""],
        ["--user-id", "1", "--mail", "a@b", "--ttl", "0"],
        ["--mail", "a@b"],
    ],
)
def test_token_command_refuses_bad_arguments(args: list[str]) -> None:
    """A user id that is not an integer, an empty mail, a ttl of 0, a missing flag: exit 2."""
    done = run_token(*args, JWT_SECRET_KEY=SECRET)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
