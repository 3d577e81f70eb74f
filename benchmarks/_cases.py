"""What is measured: the apps under test and the cases (app, path, connections) run on them."""

from __future__ import annotations

import fnmatch

import msgspec

from fullon_cache_api.server._servers import DEFAULT_SERVER

from ._seed import DATA

__all__ = [
    "ALTERNATED",
    "APPS",
    "BULK",
    "SINGLE_KEY",
    "App",
    "Case",
    "all_cases",
    "select",
]


class App(msgspec.Struct, frozen=True, kw_only=True):
    """What to serve, and how: an ASGI app factory under `server` ("uvicorn" or "granian"),
    the documented ``fullon-cache-api serve`` command with `args` ("serve"), or webdis
    ("webdis"). `python_path` goes first on its PYTHONPATH."""

    key: str
    factory: str = ""
    server: str = "uvicorn"
    args: tuple[str, ...] = ()
    python_path: tuple[str, ...] = ()
    env: dict[str, str] = {}
    version: str | None = None  # what GET /version must start with (client candidates)


class Case(msgspec.Struct, frozen=True, kw_only=True):
    """One wrk run: `path` on `app` with `connections` open connections."""

    id: str
    app: str
    path: str
    connections: int
    headers: tuple[str, ...] = ()  # "Name: value" request headers


_EX, _SYM = DATA.exchange, DATA.symbol
SERVE_SERVERS = ("uvicorn", "granian")
# Pairs of cases measured again in turns (A B A B ...) once both ran: the difference they
# show (the request log's cost, a few %) is smaller than the spread between two runs of one
# case on a shared host, so one run of each cannot show it. Each keeps its median run.
ALTERNATED = ((f"serve.{DEFAULT_SERVER}.ticker", "serve.quiet.ticker"),)
_NO_AUTH = {"FULLON_CACHE_API_AUTH": "off"}  # as `benchmarks.apps:gateway` (auth=False)
_LONG, _SHORT = DATA.long_series, DATA.short_series

# The gateway's routes per case name (the FastAPI baseline serves the same paths).
SINGLE_KEY = {
    "health": "/health",
    "ticker": f"/tickers/{_EX}/{_SYM}",
    "order": f"/orders/{_EX}/{DATA.order_id}",
    "bot": f"/bots/{DATA.bot_id}",
}
BULK = {
    "tickers-500": f"/tickers/{_EX}",
    "ohlcv-1000": f"/ohlcv/{_SHORT[0]}/{_SHORT[1]}?limit=1000",
}
_GATEWAY_ONLY = {"ohlcv-10000": f"/ohlcv/{_LONG[0]}/{_LONG[1]}?limit=10000"}

_PAYLOADS = {
    "tickers-500.decoded": f"/decoded/tickers/{_EX}",
    "tickers-500.validated-raw": f"/validated/tickers/{_EX}",
    "tickers-500.raw": f"/raw/tickers/{_EX}",
    "tickers-500.cold": f"/cold/tickers/{_EX}",
    "ohlcv-1000.decoded": f"/decoded/ohlcv/{_SHORT[0]}/{_SHORT[1]}?limit=1000",
    "ohlcv-1000.validated-raw": f"/current/ohlcv/{_SHORT[0]}/{_SHORT[1]}?limit=1000",
    "ohlcv-1000.raw": f"/raw/ohlcv/{_SHORT[0]}/{_SHORT[1]}?limit=1000",
    "ticker.no-middleware": f"/plain/ticker/{_EX}/{_SYM}",
}

APPS = {
    app.key: app
    for app in (
        App(key="raw-asgi", factory="benchmarks.apps:raw_asgi"),
        App(key="starlette-json", factory="benchmarks.apps:starlette_json"),
        App(key="gateway", factory="benchmarks.apps:gateway"),
        App(key="fastapi", factory="benchmarks.fastapi_app:create"),
        App(key="payloads", factory="benchmarks.payloads:create"),
        # The same ceilings and gateway under granian (its CLI: one worker process).
        App(key="granian.raw-asgi", factory="benchmarks.apps:raw_asgi", server="granian"),
        App(
            key="granian.starlette-json", factory="benchmarks.apps:starlette_json", server="granian"
        ),
        App(key="granian.gateway", factory="benchmarks.apps:gateway", server="granian"),
        # The documented command, as the README tells users to run it (default log level),
        # under each server, and with two workers; authentication off like the other cases.
        *(
            App(key=f"serve.{name}", server="serve", args=("--server", name), env=_NO_AUTH)
            for name in SERVE_SERVERS
        ),
        App(key="serve.workers-2", server="serve", args=("--workers", "2"), env=_NO_AUTH),
        App(
            key="serve.uvicorn-workers-2",
            server="serve",
            args=("--server", "uvicorn", "--workers", "2"),
            env=_NO_AUTH,
        ),
        # What the request log costs: the default server with warnings only (no request lines).
        App(key="serve.quiet", server="serve", args=("--log-level", "warning"), env=_NO_AUTH),
        # The C anchor: webdis (one thread) answering HGET straight from Redis.
        App(key="webdis", server="webdis"),
    )
}

# What one part of the gateway costs: the gateway without it. variant -> (app, env).
_STACK = {
    "ticker.no-metrics": ("gateway", {"BENCH_METRICS": "off"}),
    "ticker.no-near-cache": ("gateway", {"FULLON_CACHE_API_NEAR_CACHE_TTL": "0"}),
    "tickers-500.no-near-cache": ("gateway", {"FULLON_CACHE_API_NEAR_CACHE_TTL": "0"}),
}
for _variant, (_factory, _env) in _STACK.items():
    APPS[f"stack.{_variant}"] = App(
        key=f"stack.{_variant}", factory=f"benchmarks.apps:{_factory}", env=_env
    )


def all_cases(connections: int, p99_connections: int, candidates: list[App]) -> list[Case]:
    """Every case of a full run, in run order (servers are started once per app)."""
    cases = [
        Case(id="baseline.raw-asgi", app="raw-asgi", path="/", connections=connections),
        Case(id="baseline.starlette-json", app="starlette-json", path="/", connections=connections),
    ]
    for name, path in {**SINGLE_KEY, **BULK, **_GATEWAY_ONLY}.items():
        cases.append(Case(id=f"gateway.{name}", app="gateway", path=path, connections=connections))
    gzip = ("Accept-Encoding: gzip",)
    for name, path in BULK.items():
        case_id = f"gateway.{name}.gzip"
        cases.append(
            Case(id=case_id, app="gateway", path=path, connections=connections, headers=gzip)
        )
    if p99_connections != connections:
        for name, path in SINGLE_KEY.items():
            case_id = f"gateway.{name}@c{p99_connections}"
            cases.append(Case(id=case_id, app="gateway", path=path, connections=p99_connections))
    # The servers' cases next to the gateway's and FastAPI's: the ratios compare cases run
    # within minutes of each other.
    cases += _server_cases(connections)
    for name, path in {**SINGLE_KEY, **BULK}.items():
        cases.append(Case(id=f"fastapi.{name}", app="fastapi", path=path, connections=connections))
    for name, path in _PAYLOADS.items():
        cases.append(Case(id=f"payload.{name}", app="payloads", path=path, connections=connections))
    for variant in _STACK:
        name = variant.split(".")[0]
        path = {**SINGLE_KEY, **BULK}[name]
        case_id = f"stack.{variant}"
        cases.append(Case(id=case_id, app=case_id, path=path, connections=connections))
    for app in candidates:
        path = f"/tickers/{_EX}/{_SYM}"
        cases.append(Case(id=f"client.{app.key}", app=app.key, path=path, connections=connections))
    return cases


def _server_cases(connections: int) -> list[Case]:
    """granian beside uvicorn, the documented `serve` under both, two workers, and webdis."""
    ticker, bulk = SINGLE_KEY["ticker"], BULK
    cases = [
        Case(id="granian.raw-asgi", app="granian.raw-asgi", path="/", connections=connections),
        Case(
            id="granian.starlette-json",
            app="granian.starlette-json",
            path="/",
            connections=connections,
        ),
        Case(
            id="granian.gateway.ticker", app="granian.gateway", path=ticker, connections=connections
        ),
    ]
    for server in SERVE_SERVERS:
        for name, path in {"ticker": ticker, **bulk}.items():
            case_id = f"serve.{server}.{name}"
            cases.append(
                Case(id=case_id, app=f"serve.{server}", path=path, connections=connections)
            )
            if case_id == f"serve.{DEFAULT_SERVER}.ticker":  # the log's cost: side by side
                quiet = Case(
                    id="serve.quiet.ticker", app="serve.quiet", path=ticker, connections=connections
                )
                cases.append(quiet)
    for app in ("serve.workers-2", "serve.uvicorn-workers-2"):
        cases.append(Case(id=f"{app}.ticker", app=app, path=ticker, connections=connections))
    webdis = f"/HGET/tickers:{_EX}/{_SYM.replace('/', '%2F')}"
    cases.append(Case(id="webdis.ticker", app="webdis", path=webdis, connections=connections))
    return cases


def select(cases: list[Case], patterns: str | None) -> list[Case]:
    """Cases matching one of the comma-separated patterns (all cases when there are none).

    A pattern matches an id exactly or as a glob, and also every id it prefixes up to a ``.``
    or ``@``: ``client`` selects every candidate, ``gateway.ticker`` also ``gateway.ticker@c8``.
    """
    if not patterns:
        return cases
    wanted = [p.strip() for p in patterns.split(",") if p.strip()]
    return [case for case in cases if any(_matches(case.id, p) for p in wanted)]


def _matches(case_id: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(case_id, pattern) or case_id.startswith(
        (f"{pattern}.", f"{pattern}@")
    )
