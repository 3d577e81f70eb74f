"""New users' papercuts: what `demo` prints works, and the examples' packages have an extra."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from fullon_cache_api.demo.server import free_port

from .support.processes import CLI, ROOT, interrupted_at_exit


def banner_of(args: list[str], tmp_path: Path) -> tuple[str, dict[str, int]]:
    """Run `demo` with `args`, GET every URL its banner prints, then stop it (SIGINT)."""
    port = free_port()
    log = tmp_path / "stderr.log"
    command = [*CLI, "demo", "--port", str(port), *args]
    with (
        log.open("wb") as stderr,
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr) as proc,
        interrupted_at_exit(proc),
    ):
        assert proc.stdout is not None
        lines = [proc.stdout.readline().decode() for _ in range(3)]
        banner = "".join(lines)
        assert banner.startswith("fullon_cache_api demo"), log.read_text()
        urls = re.findall(r"http://\S+", "".join(lines[1:]))
        answers = {url: _get(url) for url in urls}
    return banner, answers


def _get(url: str) -> int:
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.get(url, timeout=5).status_code
        except httpx.TransportError:
            assert time.monotonic() < deadline, f"{url} did not answer"
            time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("args", [["--no-seed"], ["--no-live"]], ids=["no-seed", "seeded"])
def test_demo_prints_only_urls_that_answer(tmp_path: Path, args: list[str]) -> None:
    """Every URL the demo's banner offers (Docs:, Try:) answers 200, an empty Redis too."""
    banner, answers = banner_of(args, tmp_path)
    assert "Try: " in banner and len(answers) >= 3, banner
    assert set(answers.values()) == {200}, answers


# Modules the examples import that the package itself does not depend on (stdlib excluded).
def third_party_imports() -> set[str]:
    found = set()
    for path in (ROOT / "examples").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            found |= {name.split(".")[0] for name in names}
    return {name for name in found if name not in sys.stdlib_module_names} - {"fullon_cache_api"}


# Import names that differ from the distribution's name.
DISTRIBUTION = {"jwt": "pyjwt"}


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~; ]", item, maxsplit=1)[0].lower() for item in requirements}


def test_examples_extra_installs_what_the_examples_import() -> None:
    """`pip install -e '.[examples]'` brings every package the examples import (besides the
    package's own dependencies), and the README says to install it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    available = requirement_names(project["dependencies"])
    available |= requirement_names(project["optional-dependencies"]["examples"])
    missing = {
        name for name in third_party_imports() if DISTRIBUTION.get(name, name) not in available
    }
    assert missing == set()
    assert ".[examples]" in (ROOT / "README.md").read_text()
