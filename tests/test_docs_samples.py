"""The documentation runs: every ``python`` and ``bash`` block of README.md and docs/*.md is
executed against a real gateway, or says why not; and the docs agree with the code.

Convention (docs/development.md): an HTML comment on the line before a fenced block says how it
runs. No comment: it runs to completion with exit status 0. ``<!-- sample: expect "text" -->``:
the same, and it prints ``text``. ``<!-- sample: until "text" -->``: a stream that never ends,
stopped once it printed ``text``. ``<!-- sample: skip (reason) -->``: not run, for the reason
given. The samples address the demo (``127.0.0.1:8000``); here a ``fullon-cache-api serve``
process on a free port serves the session's Redis seeded with the demo's sample data, with
authentication on: the placeholder ``...`` is one of its API keys, and the samples see its
``JWT_SECRET_KEY``. Every sample runs in a process of its own with a bound on its time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import os
import pkgutil
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.asyncio import Redis

import fullon_cache_api
from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.demo.seed import seed

from .support.acl import TRACKING_READER_ACL
from .support.processes import Running, running

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Fence languages that are samples, and the interpreter that runs each; and the languages of
# illustrations (answers, output, configuration files), which are not run. Any other language is
# an error, so a sample cannot escape the run by its spelling (``py``, ``console``...).
RUNNERS = {"python": "python", "py": "python", "bash": "bash", "sh": "bash", "shell": "bash"}
ILLUSTRATIONS = {"", "text", "json", "yaml"}
MARKER = re.compile(
    r'<!-- sample: (?:skip \((?P<skip>[^)]*)\)|expect "(?P<expect>[^"]+)"'
    r'|until "(?P<until>[^"]+)") -->'
)
FENCE = re.compile(r"^```(?P<language>[\w+-]*)")
DEMO_ADDRESSES = ("127.0.0.1:8000", "localhost:8000")
PLACEHOLDER_KEY = "..."  # `X-API-Key: ...`, `?token=...` in the samples
JWT_SECRET = "docs-samples-secret-of-at-least-32-bytes"
RUN_SECONDS = 60.0  # a sample that ends: python start-up and imports on a busy machine included
STREAM_SECONDS = 30.0  # a stream: until its expected line
README_MAX_LINES = 300


@dataclass(frozen=True)
class Sample:
    """One fenced block: where it is, its language, its code, and how it runs."""

    path: str
    line: int
    language: str
    code: str
    mode: str  # "run", "expect", "until" or "skip"
    text: str  # the expected output, or the reason it is skipped

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"


def collect(path: Path) -> Iterator[Sample]:
    """Every sample block of `path`; a marker that is malformed or not on a sample raises."""
    lines = path.read_text().splitlines()
    name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name
    index = 0
    while index < len(lines):
        line = lines[index]
        marker = MARKER.fullmatch(line) if line.startswith("<!-- sample") else None
        if line.startswith("<!-- sample") and marker is None:
            raise ValueError(f"{name}:{index + 1}: malformed sample marker: {line!r}")
        if marker is not None:
            index += 1
        fence = FENCE.match(lines[index]) if index < len(lines) else None
        if fence is None:
            if marker is not None:
                raise ValueError(f"{name}:{index}: a sample marker must precede a code fence")
            index += 1
            continue
        end = lines.index("```", index + 1)  # fences close at column 0 in these docs
        language = fence.group("language")
        if language in RUNNERS:
            mode, text = _mode(marker)
            code = "\n".join(lines[index + 1 : end]) + "\n"
            yield Sample(name, index + 1, language, code, mode, text)
        elif marker is not None:
            raise ValueError(f"{name}:{index + 1}: a marker on a ```{language} block")
        elif language not in ILLUSTRATIONS:
            raise ValueError(f"{name}:{index + 1}: ```{language} is neither a sample nor text")
        index = end + 1


def _mode(marker: re.Match[str] | None) -> tuple[str, str]:
    if marker is None:
        return "run", ""
    for mode in ("skip", "expect", "until"):
        if (value := marker.group(mode)) is not None:
            return mode, value.strip()
    raise AssertionError(marker)


SAMPLES = [sample for path in DOCS for sample in collect(path)]
RUNNABLE = [sample for sample in SAMPLES if sample.mode != "skip"]


def test_every_sample_runs_or_says_why_not() -> None:
    """Each python/bash block of the docs is run by this module or skipped with a reason, and
    both languages have samples that run (so the run below cannot be vacuous)."""
    assert [s.id for s in SAMPLES if s.mode == "skip" and len(s.text) < 10] == []
    languages = {RUNNERS[sample.language] for sample in RUNNABLE}
    assert languages == {"python", "bash"}
    assert len(RUNNABLE) >= 8


def test_a_marker_must_sit_on_a_sample(tmp_path: Path) -> None:
    """A marker that is malformed or precedes no sample block, and a block of an unknown
    language, are errors, not silent skips."""
    for text, error in (
        ('<!-- sample: expect "x" -->\nprose\n', "marker"),
        ("<!-- sample: skip -->\n```bash\ntrue\n```\n", "marker"),
        ('<!-- sample: until "x" -->\n```json\n{}\n```\n', "marker"),
        ("```console\n$ true\n```\n", "neither a sample nor text"),
    ):
        page = tmp_path / "page.md"
        page.write_text(text)
        with pytest.raises(ValueError, match=error):
            list(collect(page))


@pytest.fixture(scope="module")
def gateway(redis_server: RedisServer) -> Iterator[Running]:
    """`fullon-cache-api serve` on a free port over the session's Redis, seeded as the demo is."""
    if not redis_server.running:
        redis_server.start()
    with redis.Redis(port=redis_server.port) as admin:
        admin.flushall()
    asyncio.run(_seed(redis_server.port))
    digest = hashlib.sha256(PLACEHOLDER_KEY.encode()).hexdigest()
    env = {
        "REDIS_URL": redis_server.url,
        "FULLON_CACHE_API_KEYS": f"docs:{digest}",
        "JWT_SECRET_KEY": JWT_SECRET,
        "LOG_LEVEL": "warning",
    }
    with running([sys.executable, "-m", "fullon_cache_api", "serve", "--port", "0"], env) as up:
        yield up


async def _seed(port: int) -> None:
    client = Redis(port=port)
    try:
        await seed(CacheWriter(client))
    finally:
        await client.aclose()


@pytest.mark.parametrize("sample", RUNNABLE, ids=[sample.id for sample in RUNNABLE])
def test_sample_runs(
    sample: Sample, gateway: Running, redis_server: RedisServer, tmp_path: Path
) -> None:
    """The sample does what the docs say against a live gateway: it exits 0 (and prints what
    its marker expects), or, for a stream, prints the expected event within the bound."""
    address = gateway.url.removeprefix("http://")
    code = sample.code
    for demo in DEMO_ADDRESSES:
        code = code.replace(demo, address)
    python = RUNNERS[sample.language] == "python"
    script = tmp_path / ("sample.py" if python else "sample.sh")
    script.write_text(code)
    command = (
        [sys.executable, "-W", "error", str(script)]
        if python
        else ["bash", "-euo", "pipefail", str(script)]
    )
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",  # a stream's lines reach us as they are printed
        "JWT_SECRET_KEY": JWT_SECRET,
        "REDIS_URL": redis_server.url,
    }
    until = sample.text if sample.mode == "until" else None
    status, output = run_sample(command, env, tmp_path, until)
    assert sample.text in output, output
    if until is None:
        assert status == 0, output


def run_sample(
    command: list[str], env: Mapping[str, str], cwd: Path, until: str | None
) -> tuple[int | None, str]:
    """Run `command` (stderr into stdout) and return its exit status and output. With `until`,
    stop it once a line holds that text. Whatever happens, its whole process group is killed
    within the bound (a curl or a client it started included); the status is then None."""
    process = subprocess.Popen(
        command,
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
    reader.start()
    seen: list[str] = []
    status: int | None = None
    deadline = time.monotonic() + (RUN_SECONDS if until is None else STREAM_SECONDS)
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                seen.append(f"[stopped: still running after the bound of {command[-1]}]\n")
                break
            if line is None:  # its output closed: it is ending on its own
                status = process.wait(timeout=10)
                break
            seen.append(line)
            if until is not None and until in line:
                break
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        reader.join(timeout=5)
        process.stdout.close()
    return status, "".join(seen)


def _pump(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def test_readme_test_command_is_the_one_ci_runs() -> None:
    """The README's test command is, verbatim, a line of a README sample and `.ci/run`'s."""
    found = re.search(r"^readonly TEST_COMMAND='(.+)'$", (ROOT / ".ci/run").read_text(), re.M)
    assert found is not None
    readme_lines = {line for s in SAMPLES if s.path == "README.md" for line in s.code.split("\n")}
    assert found.group(1) in readme_lines


def test_readme_is_one_page_linking_into_the_docs() -> None:
    """The README stays one page (at most 300 lines), and every docs page it links exists."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= README_MAX_LINES
    links = re.findall(r"\]\((docs/[^)#]+)", text)
    assert len(links) >= 10
    assert [link for link in links if not (ROOT / link).is_file()] == []


def test_documented_acl_is_the_one_the_tests_run_under() -> None:
    """The read-only ACL line docs/security.md gives operators is the one tests/test_read_only.py
    proves (the near cache's user, named `reader` in the docs)."""
    documented = (ROOT / "docs" / "security.md").read_text()
    expected = TRACKING_READER_ACL.replace("tracker", "reader")
    assert f"\n{expected}\n" in documented


class _RecordingEnv(dict[str, str]):
    """An empty environment that records every variable a settings reader asks for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.asked.add(key)
        return default

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return False


def settings_variables() -> set[str]:
    """Every variable read by a ``from_env`` of the package, wherever the reader lives, and
    every ``os.environ`` read of the package's source."""
    env = _RecordingEnv()
    for module in pkgutil.walk_packages(fullon_cache_api.__path__, "fullon_cache_api."):
        loaded = importlib.import_module(module.name)
        for value in vars(loaded).values():
            own = isinstance(value, type) and value.__module__ == loaded.__name__
            if own and "from_env" in vars(value):
                value.from_env(env)
    direct = re.compile(r"""(?:environ\.get\(|environ\[|getenv\()\s*["']([A-Z][A-Z0-9_]+)["']""")
    for source in Path(fullon_cache_api.__file__).parent.rglob("*.py"):
        env.asked.update(direct.findall(source.read_text()))
    return env.asked


def test_every_setting_is_documented_on_the_configuration_page() -> None:
    """The configuration page's table lists exactly the variables the package reads."""
    text = (ROOT / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", text, re.M))
    read = settings_variables()
    assert len(read) >= 30  # the walk found the readers: Redis, auth, streams, logging
    assert sorted(read - documented) == []
    assert sorted(documented - read) == []
