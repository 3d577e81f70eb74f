"""Helpers of the tests that run the gateway as real processes: start and always stop them,
wait until they answer, and read what /proc says about their sockets."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]  # the project (tests/support/ is two below)
CLI = [sys.executable, "-m", "fullon_cache_api"]
UVICORN = [sys.executable, "-m", "uvicorn"]


@dataclass
class Running:
    """A started gateway process, the base URL of the gateway in it, and what it printed."""

    process: subprocess.Popen[str]
    url: str
    banner: list[str]

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    @property
    def port(self) -> int:
        return int(self.url.split(":")[2].split("/")[0])


@contextmanager
def running(
    command: list[str], env: dict[str, str], *, url: str | None = None, banner_lines: int = 1
) -> Iterator[Running]:
    """Start `command`; its URL is `url`, else read from its first line (``serving on URL``).

    Waits (bounded) until ``{url}/health`` answers, and kills the process and its children
    (``--workers``) on the way out if the test did not stop them.
    """
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # a group of its own: `stop` kills the workers with it
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(banner_lines)]
        if url is None:
            found = re.search(r"serving on (http://\S+)", banner[0])
            assert found, banner
            url = found.group(1)
        wait_until_up(f"{url}/health", process, timeout=30)
        yield Running(process=process, url=url, banner=banner)
    finally:
        stop(process)


@contextmanager
def interrupted_at_exit(process: subprocess.Popen[Any]) -> Iterator[subprocess.Popen[Any]]:
    """`process`, sent SIGINT (Ctrl-C) when the block ends and waited for: a stop slower than
    15 s fails the test. Killed instead when the block raised or it is still running."""
    try:
        yield process
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


def wait_until_up(url: str, process: subprocess.Popen[Any], timeout: float) -> Any:
    """Poll `url` until it answers 200, failing fast if the process died; its JSON body."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the gateway exited early with {process.returncode}")
        try:
            response = httpx.get(url, timeout=1.0)
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code == 200:
            return response.json()
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer 200 within {timeout} s")


def stop(process: subprocess.Popen[str]) -> None:
    """Kill what is left of `process`'s group (bounded wait), and close its pipe."""
    with contextlib.suppress(ProcessLookupError):  # nothing left: all exited
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


def sockets(pid: int, *, local_port: int | None = None, remote_port: int | None = None) -> int:
    """ESTABLISHED TCP sockets held by process `pid` with that local or remote port."""
    try:
        inodes = {
            os.readlink(fd).removeprefix("socket:[").removesuffix("]")
            for fd in Path(f"/proc/{pid}/fd").iterdir()
        }
        table = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return 0
    count = 0
    for row in table:
        fields = row.split()
        local, remote = (int(field.split(":")[1], 16) for field in fields[1:3])
        if fields[3] != "01" or fields[9] not in inodes:  # 01: ESTABLISHED
            continue
        if local_port in (None, local) and remote_port in (None, remote):
            count += 1
    return count


def workers_of(pid: int) -> list[int]:
    """The workers of supervisor `pid` (uvicorn's or granian's): its spawned children (not the
    resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in command:
                found.append(int(entry.name))
    return found


def alive(pids: list[int]) -> list[int]:
    """Those of `pids` that still exist."""
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def exited_by_sigterm(code: int | None) -> bool:
    """uvicorn re-raises SIGTERM once shut down (older releases exit 0)."""
    return code in (0, -signal.SIGTERM)
