"""Running the app: uvicorn or granian, worker processes, and the checks made before serving."""

from __future__ import annotations

from ._listen import GRACE_SECONDS, CLIError, bind, grace_period, run, url_of
from ._servers import DEFAULT_SERVER, SERVERS, loop_factory, unavailable
from ._startup import check_start, check_workers, read_configuration
from ._uvicorn_server import serve_uvicorn
from ._workers import serve_workers

__all__ = [
    "DEFAULT_SERVER",
    "GRACE_SECONDS",
    "SERVERS",
    "CLIError",
    "bind",
    "check_start",
    "check_workers",
    "grace_period",
    "loop_factory",
    "read_configuration",
    "run",
    "serve_uvicorn",
    "serve_workers",
    "unavailable",
    "url_of",
]
