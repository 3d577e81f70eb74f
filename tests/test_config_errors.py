"""Every setting `serve` reads fails at start, before anything is bound or contacted, with one
line on stderr naming the variable and exit status 2: no traceback, no secret."""

from __future__ import annotations

import os
import subprocess

import pytest

from fullon_cache_api import __main__ as cli

from .support.processes import CLI, ROOT

PASSWORD = "url-password-Kk27-never-shown"

# (variable, value, a word the message must hold besides the variable's name)
INVALID = [
    ("REDIS_URL", "redis://h:6379/0?foo=bar", "foo"),
    ("REDIS_URL", "redis://h:6379/abc", "database"),
    ("REDIS_URL", "redis://h:6379/0?db=x", "db"),
    ("REDIS_URL", "redis://h:99999/0", "port"),
    ("REDIS_URL", "redis://h:port/0", "port"),
    ("REDIS_URL", "redis://h/0?socket_timeout=abc", "socket_timeout"),
    ("REDIS_URL", "redis://h/0?socket_connect_timeout=-1", "socket_connect_timeout"),
    ("REDIS_URL", "rediss://h:6380/0?ssl_cert_reqs=maybe", "ssl_cert_reqs"),
    ("REDIS_URL", "rediss://h:6380/0?ssl_check_hostname=perhaps", "ssl_check_hostname"),
    ("REDIS_URL", "rediss://h:6380/0?ssl_ca_certs=/nonexistent/ca.pem", "ssl_ca_certs"),
    ("REDIS_URL", "rediss://h:6380/0?ssl_certfile=/nonexistent/c.pem", "ssl_certfile"),
    ("REDIS_URL", "redis://h/0?ssl_cert_reqs=none", "rediss"),
    ("REDIS_URL", "http://h:6379/0", "redis://"),
    ("REDIS_URL", f"redis://reader:{PASSWORD}@h:6379/0?foo=bar", "foo"),
    ("REDIS_URL", f"redis://reader:{PASSWORD}@h:6379/x", "database"),
    ("REDIS_READ_URL", "redis://replica:6379/abc", "database"),
    ("REDIS_READ_URL", "redis://replica:6379/0?foo=1", "foo"),
    ("REDIS_HOST", "cache host", "host"),
    ("REDIS_PORT", "abc", "1 to 65535"),
    ("REDIS_PORT", "0", "1 to 65535"),
    ("REDIS_DB", "-1", ">= 0"),
    ("REDIS_SOCKET_TIMEOUT", "0", "> 0"),
    ("REDIS_MAX_CONNECTIONS", "0", ">= 1"),
    ("REDIS_SENTINELS", "h:abc", "port"),
    ("REDIS_SENTINEL_MASTER", "mymaster", "REDIS_SENTINELS"),
    ("REDIS_SENTINEL_READ", "both", "replica"),
    ("FULLON_CACHE_API_NEAR_CACHE_TTL", "-1", ">= 0"),
    ("FULLON_CACHE_API_AUTH", "maybe", "off"),
    ("JWT_ALGORITHM", "RS256", "HS256"),
    ("FULLON_CACHE_API_KEYS", "plain-text-key", "sha256"),
    ("FULLON_CACHE_API_PUBLIC_DOCS", "perhaps", "off"),
    ("FULLON_CACHE_API_STREAM_HEARTBEAT", "0", "> 0"),
    ("FULLON_CACHE_API_STREAM_POLL_INTERVAL", "abc", "number"),
    ("FULLON_CACHE_API_STREAM_QUEUE_SIZE", "0", ">= 1"),
    ("FULLON_CACHE_API_STREAM_SEND_TIMEOUT", "-3", "> 0"),
    ("FULLON_CACHE_API_STREAM_MAX_BACKOFF", "99999", "<= 3600"),
    ("LOG_LEVEL", "loud", "debug"),
    ("LOG_FORMAT", "xml", "json"),
    ("LOG_FILE_PATH", "/nonexistent-dir/gateway.log", "cannot"),
    ("LOG_FILE_MAX_BYTES", "big", "bytes"),
    ("LOG_FILE_BACKUPS", "-1", "integer"),
]

IDS = [f"{name}={value}" for name, value, _ in INVALID]

_OURS = (
    "REDIS_",
    "FULLON_CACHE_API_",
    "JWT_",
    "ADMIN_MAIL",
    "LOG_",
)


def clean_environment() -> dict[str, str]:
    """The test process's environment without any variable the gateway reads."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(_OURS):
            monkeypatch.delenv(name)

    def never_serve(host: str, port: int, **options: bool) -> None:
        raise AssertionError("the configuration was accepted: serve went on to listen")

    monkeypatch.setattr(cli, "_bind", never_serve)
    return monkeypatch


@pytest.mark.parametrize(
    ("name", "value", "word"), INVALID, ids=[f"{n}={v}" for n, v, _ in INVALID]
)
def test_invalid_setting_is_one_line_exit_2(
    environ: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    word: str,
) -> None:
    """`serve` refuses the value: exit 2, one stderr line naming the variable (and what is
    wrong), nothing on stdout, no password."""
    environ.setenv(name, value)
    status = cli.main(["serve", "--port", "0"])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("fullon-cache-api: configuration error: ") and name in err, err
    assert word in err, err
    assert PASSWORD not in err


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REDIS_URL", "redis://h:6379/0?foo=bar"),
        ("REDIS_URL", "redis://h:6379/abc"),
        ("REDIS_URL", "rediss://h:6380/0?ssl_cert_reqs=maybe"),
        ("FULLON_CACHE_API_STREAM_QUEUE_SIZE", "0"),
        ("LOG_FILE_PATH", "/nonexistent-dir/gateway.log"),
    ],
)
@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_process_refuses_bad_settings(name: str, value: str, workers: str) -> None:
    """The real `serve` process, with one worker or several, exits 2 with one line naming the
    variable before it listens (a process that served would be killed by the timeout)."""
    env = {**clean_environment(), name: value}
    done = subprocess.run(
        [*CLI, "serve", "--port", "0", "--workers", workers],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(done.stderr.splitlines()) == 1 and name in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and done.stdout == ""
