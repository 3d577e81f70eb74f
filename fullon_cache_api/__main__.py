"""The command line: ``fullon-cache-api serve``, ``demo``, ``openapi`` and ``token``.

``serve`` runs the gateway against the Redis configured in the environment; ``demo`` starts a
private redis-server, seeds it with sample data in fullon_cache's layout and serves on top of
it. Logging is configured here, and only here: the library itself never adds handlers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import ipaddress
import logging
import math
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from types import FrameType
from typing import Any

import msgspec
from redis.asyncio import Redis

from ._app import create_app
from ._logconfig import LogConfig, configure_logging
from ._openapi import OpenAPICache
from ._servers import DEFAULT_SERVER, SERVERS, loop_factory, unavailable
from ._settings import Settings, SettingsError
from ._startup import check_start, read_configuration
from ._token import MAX_TTL, make_token
from ._uvicorn_server import serve_uvicorn
from ._version import __version__
from ._workers import serve_workers
from .demo.seed import seed
from .demo.server import RedisServer, RedisServerError
from .demo.simulator import Simulator
from .demo.writer import CacheWriter

__all__ = ["main"]

_PROG = "fullon-cache-api"
_LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
_EXAMPLES = ("/tickers", "/tickers/binance/BTC/USDT", "/ohlcv/BTC/USDT/1m?limit=5")
# What answers on an empty Redis (--no-seed): the sample's keys would all be 404.
_EMPTY_EXAMPLES = ("/health", "/tickers", "/status")
_GRACE_SECONDS = 3  # how long Ctrl-C waits for open requests and streams
_log = logging.getLogger("fullon.api.cache.cli")


class CLIError(Exception):
    """A failure worth one line on stderr, not a traceback."""


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
    demo.set_defaults(command=_demo)
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
    print(msgspec.json.format(body, indent=2).decode())
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
    sock = _bind(args.host, args.port)
    check_start(settings)  # warnings: nobody could authenticate, Redis unreachable
    target = settings.redacted_target()
    if args.workers > 1:
        print(
            f"fullon_cache_api serve: serving on {_url(sock)} with {args.workers} workers"
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
    print(f"fullon_cache_api serve: serving on {_url(sock)}  (Redis: {target})", flush=True)
    return _run(SERVERS[args.server](app, sock, args.log_level, grace_period(settings)))


def _demo(args: argparse.Namespace) -> int:
    _check_loopback(args.host)  # it serves without authentication: this machine only
    sock = _bind(args.host, args.port)  # fail on a busy port before starting anything
    try:
        server = RedisServer()
    except RedisServerError as exc:
        sock.close()
        raise CLIError(str(exc)) from None
    try:
        server.start()
        # Sample data on a throwaway Redis: nothing to protect, so no credentials needed.
        app = create_app(settings=Settings(redis_url=server.url), auth=False)

        async def seed_then_serve() -> None:
            if not args.no_seed:
                await _seed(server.url)
            live = not (args.no_seed or args.no_live)  # an empty Redis stays empty
            state = "empty" if args.no_seed else "sample data seeded"
            state += ", live feed on" if live else ""
            url = _url(sock)
            print(
                f"fullon_cache_api demo: serving on {url}  "
                f"(Redis: {server.url}, {state}, authentication off)"
            )
            print(f"Docs: {url}/docs")
            examples = _EMPTY_EXAMPLES if args.no_seed else _EXAMPLES
            print("Try: " + "  ".join(url + path for path in examples), flush=True)
            async with _live_feed(server.url, live):
                await serve_uvicorn(app, sock, args.log_level, _GRACE_SECONDS)

        return _run(seed_then_serve())
    except RedisServerError as exc:
        raise CLIError(str(exc)) from None
    finally:
        sock.close()
        server.close()  # the redis-server never outlives us, whichever way we leave


def _check_loopback(host: str) -> None:
    """Refuse a `demo` --host other than loopback: anyone reaching it would read everything."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:  # a hostname: it could resolve to any interface
        loopback = False
    if not loopback:
        raise CLIError(
            f"demo serves without authentication, so it listens on loopback only "
            f"(127.0.0.1, ::1, localhost), not {host!r}; use `serve` with authentication "
            f"to listen elsewhere"
        )


async def _seed(url: str) -> None:
    client = Redis.from_url(url)
    try:
        summary = await seed(CacheWriter(client))
    finally:
        await client.aclose()
    _log.info("seeded %s", summary)


@contextlib.asynccontextmanager
async def _live_feed(url: str, enabled: bool) -> AsyncIterator[None]:
    """Run the demo simulator beside the server, in its event loop; cancel it on the way out."""
    if not enabled:
        yield
        return
    client = Redis.from_url(url)
    feed = asyncio.create_task(Simulator(client).run(), name="demo-feed")
    try:
        yield
    finally:
        if not await _stop(feed, within=_GRACE_SECONDS):
            _log.warning("the demo feed did not stop within %s s; leaving it", _GRACE_SECONDS)
        elif not feed.cancelled() and feed.exception() is not None:
            _log.error("the demo feed failed", exc_info=feed.exception())
        await client.aclose()


async def _stop(task: asyncio.Task[None], within: float) -> bool:
    """Cancel `task` and wait up to `within` seconds for it to end; True when it did.

    Bounded, so Ctrl-C ends the demo even if a client loses a cancel again. The wait outlasts
    a cancel of the task running it: after Ctrl-C uvicorn re-raises SIGINT, and asyncio.run
    answers by cancelling the main task, the one shutting down here.
    """
    task.cancel()
    deadline = time.monotonic() + within
    while not task.done() and (left := deadline - time.monotonic()) > 0:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait({task}, timeout=left)
    return task.done()


def _bind(host: str, port: int) -> socket.socket:
    """Listen on host:port ourselves, so a busy port is a clear error and port 0 works."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        listener = socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CLIError(
                f"port {port} on {host} is already in use; pick another with --port "
                "(--port 0 picks a free one)"
            ) from None
        raise CLIError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    # create_server leaves proto 0, and asyncio sets TCP_NODELAY only on sockets whose proto
    # is IPPROTO_TCP: without it, Nagle + delayed ACK add ~40 ms to every keep-alive answer.
    return socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, listener.detach())


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def grace_period(settings: Settings) -> int:
    """How long a shutdown waits for requests in flight: longer than REDIS_SOCKET_TIMEOUT, so
    a request waiting on a frozen Redis ends with its own 504 before the grace runs out (one
    still running then is cancelled, and answers 503). Streams end at once (`_runtime`)."""
    return max(_GRACE_SECONDS, math.ceil(settings.redis_socket_timeout) + 1)


def _run(serving: Coroutine[Any, Any, None]) -> int:
    """Run until Ctrl-C or SIGTERM; both are a clean shutdown (exit status 0).

    The loop is uvloop's where it is installed (as ``uvicorn --loop auto`` would choose).
    uvicorn shuts down gracefully on either signal, then re-raises it once its own handlers
    are gone: SIGINT ends as KeyboardInterrupt, and so does SIGTERM through `_interrupt`
    (installed by `main`), so the callers' ``finally`` blocks run instead of the process
    dying on the default SIGTERM handler.
    """
    with (
        contextlib.suppress(KeyboardInterrupt),
        asyncio.Runner(loop_factory=loop_factory()) as runner,
    ):
        runner.run(serving)
    _log.info("stopped")
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
