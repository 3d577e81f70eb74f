"""The suite itself: every test states an expectation that can fail, and slow tests say so."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# Calls that are expectations: pytest's (raises, warns, fail...) and the schema validators'
# (jsonschema and openapi-spec-validator raise on a mismatch).
EXPECTATION_CALLS = {"raises", "warns", "deprecated_call", "fail", "validate"}
# Test functions allowed without an expectation of their own: none today. An entry must say
# why the test can still fail.
ALLOWED: dict[str, str] = {}


def called_name(call: ast.Call) -> str | None:
    """The name a call spells: ``f`` of ``f(...)``, ``m`` of ``x.m(...)``."""
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else None


def states_an_expectation(function: ast.AST) -> bool:
    """An ``assert``, an expectation call, or a helper named ``assert_*`` (a helper that
    asserts says so in its name), anywhere in the function."""
    for node in ast.walk(function):
        if isinstance(node, ast.Assert):
            return True
        name = called_name(node) if isinstance(node, ast.Call) else None
        if name is not None and (name in EXPECTATION_CALLS or name.startswith("assert_")):
            return True
    return False


def collected_functions(source: str) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions pytest collects from a module's source: ``test*`` at the top level or in
    a ``Test*`` class."""
    tree = ast.parse(source)
    scopes = [tree, *(node for node in tree.body if isinstance(node, ast.ClassDef))]
    return [
        node
        for scope in scopes
        for node in scope.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    ]


def silent_tests(source: str) -> list[str]:
    """The names of the test functions of `source` that state no expectation."""
    return [f.name for f in collected_functions(source) if not states_an_expectation(f)]


def test_every_test_states_an_expectation() -> None:
    """No test function of the suite passes merely by running: each asserts, expects an
    exception, or calls an ``assert_*`` helper (the allowlist is empty)."""
    silent = {
        f"{path.name}::{name}"
        for path in sorted(TESTS.glob("test_*.py"))
        for name in silent_tests(path.read_text(encoding="utf-8"))
    }
    assert silent - ALLOWED.keys() == set()
    assert ALLOWED.keys() <= silent, "an allowed test now asserts: drop it from ALLOWED"


def test_the_scan_finds_a_silent_test() -> None:
    """The scan itself: a test that only calls code is reported; an assert, pytest.raises or
    an ``assert_*`` helper, even in a nested block, is an expectation."""
    source = """
def test_runs_only():
    compute()

class TestGroup:
    async def test_also_silent(self):
        await compute()

def test_asserts():
    if compute():
        assert True

def test_raises():
    with pytest.raises(ValueError):
        compute()

async def test_helper():
    await assert_clean(compute())

def helper_without_assert():
    compute()
"""
    assert silent_tests(source) == ["test_runs_only", "test_also_silent"]


def test_slow_marker_is_registered_and_documented() -> None:
    """``slow`` is a registered marker (strict markers make a typo an error), and its
    description tells how to skip the slow tests."""
    config = tomllib.loads((TESTS.parent / "pyproject.toml").read_text(encoding="utf-8"))
    pytest_config = config["tool"]["pytest"]["ini_options"]
    assert "--strict-markers" in pytest_config["addopts"]
    markers = {line.split(":", 1)[0]: line for line in pytest_config["markers"]}
    assert "slow" in markers
    assert '-m "not slow"' in (TESTS / "conftest.py").read_text(encoding="utf-8")
