"""Redis client candidates on the one-ticker endpoint (``python -m benchmarks.clients``).

Each candidate serves the same one-HGET Starlette endpoint (`benchmarks._client_apps`), measured
next to the raw-ASGI and Starlette constant-JSON ceilings in the same run:

- redis-py as installed in this environment, configured like the gateway, and with defaults;
- redis-py 5.2.1 and coredis, installed with pip into a private directory (``--candidates-dir``)
  that goes first on the server's PYTHONPATH, so the project's environment is never changed;
- the asyncio + hiredis prototype of `benchmarks._hiredis`, pooled and multiplexed.

A candidate that cannot be installed (offline, no wheel) is reported as skipped, with why.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from ._cases import App

__all__ = ["DEFAULT_DIR", "candidates", "main", "prepare"]

DEFAULT_DIR = Path(tempfile.gettempdir()) / "fullon-cache-api-bench"

# name -> (pip requirement, install its dependencies too, what GET /version starts with)
_EXTERNAL = {
    "redis-py-5.2.1": ("redis==5.2.1", False, "redis-py 5.2.1"),
    "coredis": ("coredis", True, "coredis "),
}
_MODULE = "benchmarks._client_apps"


def candidates(directory: Path) -> list[App]:
    """Every candidate app; those from pip live under `directory` (see `prepare`)."""
    import redis

    external = [
        App(
            key=name,
            factory=f"{_MODULE}:coredis_client" if name == "coredis" else f"{_MODULE}:redis_py",
            python_path=(str(directory / name),),
            version=version,
        )
        for name, (_, _, version) in _EXTERNAL.items()
    ]
    return [
        App(key="redis-py", factory=f"{_MODULE}:redis_py", version=f"redis-py {redis.__version__}"),
        App(key="redis-py-defaults", factory=f"{_MODULE}:redis_py_default"),
        *external,
        App(key="hiredis-pooled", factory=f"{_MODULE}:hiredis_pooled"),
        App(key="hiredis-multiplexed", factory=f"{_MODULE}:hiredis_multiplexed"),
        App(key="hiredis-coalesced", factory=f"{_MODULE}:hiredis_coalesced"),
        App(key="memory", factory=f"{_MODULE}:memory"),
    ]


def prepare(app: App, install: bool) -> str | None:
    """Make a pip-installed candidate ready; None when it is, else why it is skipped."""
    if app.key not in _EXTERNAL:
        return None
    requirement, with_deps, _ = _EXTERNAL[app.key]
    target = Path(app.python_path[0])
    if (target / ".complete").exists():
        return None
    if not install:
        return f"not installed in {target} (run without --no-install)"
    return _ensure(requirement, target, with_deps)


def _ensure(requirement: str, target: Path, with_deps: bool) -> str | None:
    """pip install `requirement` into `target` once; None when ready, else why not."""
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--upgrade", "--target", str(target), requirement,
    ]  # fmt: skip
    if not with_deps:
        command.append("--no-deps")
    print(f"installing {requirement} into {target} (benchmark candidate) ...", flush=True)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        return f"pip install {requirement} failed: {done.stderr.strip()[-300:]}"
    (target / ".complete").touch()
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the ceilings and the client candidates only."""
    from ._suite import main as suite_main

    return suite_main(
        argv, default_cases="baseline.*,client.*", prog="python -m benchmarks.clients"
    )


if __name__ == "__main__":
    sys.exit(main())
