"""The command line: ``fullon-cache-api serve``, ``demo``, ``openapi`` and ``token``.

``serve`` runs the gateway against the Redis configured in the environment; ``demo`` starts a
private redis-server, seeds it with sample data in fullon_cache's layout and serves on top of
it. Logging is configured here, and only here: the library itself never adds handlers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import msgspec

from ._app import create_app
from ._settings import Settings, SettingsError
from ._version import __version__
from .demo import run_demo
from .http import OpenAPICache
from .observability import LogConfig, configure_logging
from .security import MAX_TTL, make_token
from .server import (
    DEFAULT_SERVER,
    SERVERS,
    CLIError,
    check_start,
    check_workers,
    grace_period,
    read_configuration,
    run,
    serve_workers,
    unavailable,
    url_of,
)
from .server import bind as _bind  # a module global, so tests can replace it

__all__ = ["main"]

_PROG = "fullon-cache-api"
_LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
_log = logging.getLogger("fullon.api.cache.cli")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    args = _parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.command
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with _logging(args):
            return command(args)
    except KeyboardInterrupt:  # before serving began: nothing to shut down gracefully
        return 130
    except SettingsError as exc:
        print(f"{_PROG}: configuration error: {exc}", file=sys.stderr)
        return 2
    except CLIError as exc:
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG, description="Read-only HTTP gateway over fullon_cache's Redis layout."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="serve the Redis configured by REDIS_URL / REDIS_HOST / ... (env)"
    )
    demo = commands.add_parser(
        "demo", help="start a private redis-server with sample data and serve it"
    )
    for sub in (serve, demo):
        sub.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
        sub.add_argument(
            "--port", type=_port, default=8000, help="TCP port, 0 picks a free one (default: 8000)"
        )
        sub.add_argument("--log-level", choices=_LOG_LEVELS, help="default: LOG_LEVEL, else info")
    demo.add_argument("--no-seed", action="store_true", help="start with an empty Redis")
    demo.add_argument(
        "--no-live", action="store_true", help="serve the sample data without the live feed"
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="gateway processes sharing the port (default: 1); each has its own Redis pool",
    )
    serve.add_argument(
        "--server",
        choices=sorted(SERVERS),
        default=DEFAULT_SERVER,
        help=f"the ASGI server (default: {DEFAULT_SERVER})",
    )
    serve.set_defaults(command=_serve)
    demo.set_defaults(command=run_demo)
    openapi = commands.add_parser("openapi", help="print the OpenAPI document (no Redis needed)")
    openapi.add_argument(
        "--root-path",
        type=_root_path,
        default="",
        help="mount point for servers, e.g. /api/v1/cache",
    )
    openapi.set_defaults(command=_openapi, log_level="warning")
    _token_parser(commands)
    return parser


def _token_parser(commands: Any) -> None:
    token = commands.add_parser(
        "token", help="print a JWT signed with JWT_SECRET_KEY (for standalone use and curl)"
    )
    token.add_argument("--user-id", type=_user_id, required=True, help="the user_id claim")
    token.add_argument("--mail", type=_mail, required=True, help="the sub claim (a mail)")
    token.add_argument(
        "--ttl", type=_ttl, default=3600, help="seconds the token is valid (default: 3600)"
    )
    token.set_defaults(command=_token)


def _token(args: argparse.Namespace) -> int:
    print(make_token(args.user_id, args.mail, args.ttl))
    return 0


def _user_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()):
        raise argparse.ArgumentTypeError(f"{raw!r} is not a user id (an integer >= 0)")
    return int(raw)


def _mail(raw: str) -> str:
    if not raw.strip():
        raise argparse.ArgumentTypeError("the mail must not be empty")
    return raw


def _ttl(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_TTL:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of seconds (1-{MAX_TTL})")
    return int(raw)


@contextlib.contextmanager
def _logging(args: argparse.Namespace) -> Iterator[None]:
    """Logging from LOG_LEVEL / LOG_FORMAT / LOG_FILE_PATH for commands that serve."""
    if not hasattr(args, "log_level"):  # commands that only print
        yield
        return
    config = LogConfig.from_env(level=args.log_level)
    args.log_level = config.level  # uvicorn's own loggers follow the same level
    undo = configure_logging(config)
    try:
        yield
    finally:
        undo()


def _port(raw: str) -> int:
    port = int(raw)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{raw} is not a port number (0-65535)")
    return port


def _root_path(raw: str) -> str:
    if raw and not raw.startswith("/"):
        raise argparse.ArgumentTypeError(f"{raw!r} must start with '/' (e.g. /api/v1/cache)")
    return raw.rstrip("/")


def _openapi(args: argparse.Namespace) -> int:
    app = create_app(settings=Settings())  # default settings: nothing is read nor contacted
    try:
        body = OpenAPICache(app.routes).body(args.root_path)
    finally:
        asyncio.run(app.state.reader.redis.aclose())
    return _emit(msgspec.json.format(body, indent=2).decode())


def _emit(text: str) -> int:
    """Print `text`; a reader that stops early (``| head``) ends the command quietly, with
    status 1, instead of a BrokenPipeError traceback (the recipe of Python's signal docs)."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # The interpreter flushes stdout again at exit: point it at /dev/null so that it
        # cannot fail a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return 0


def _workers(raw: str) -> int:
    workers = int(raw)
    if not 1 <= workers <= 256:
        raise argparse.ArgumentTypeError(f"{raw} is not a number of workers (1-256)")
    return workers


def _serve(args: argparse.Namespace) -> int:
    # Every setting first: a configuration error stops us before we listen or fork workers.
    settings, streams = read_configuration()
    if (missing := unavailable(args.server)) is not None:
        raise CLIError(missing)
    check_workers(args.server, args.workers)
    # Workers also listen on sockets of their own on this port (`_workers`).
    sock = _bind(args.host, args.port, reuse_port=args.workers > 1)
    check_start(settings)  # warnings: nobody could authenticate, Redis unreachable
    target = settings.redacted_target()
    if args.workers > 1:
        print(
            f"fullon_cache_api serve: serving on {url_of(sock)} with {args.workers} workers"
            f"  (Redis: {target})",
            flush=True,
        )
        os.environ["LOG_LEVEL"] = args.log_level  # the workers configure logging from it
        try:
            serve_workers(sock, args.workers, args.log_level, grace_period(settings), args.server)
        finally:
            sock.close()
        _log.info("stopped")
        return 0
    app = create_app(settings=settings, streams=streams)
    print(f"fullon_cache_api serve: serving on {url_of(sock)}  (Redis: {target})", flush=True)
    return run(SERVERS[args.server](app, sock, args.log_level, grace_period(settings)))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
