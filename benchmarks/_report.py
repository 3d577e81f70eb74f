"""Results, the target ratios between them, and how both are printed."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from fullon_cache_api.server._servers import DEFAULT_SERVER

from ._cases import BULK, SERVE_SERVERS, SINGLE_KEY

__all__ = ["RSS_TARGET_MB", "Ratio", "Result", "format_ratios", "format_table", "ratios"]

# The targets of issue 7: a share of the framework ceiling, and multiples of FastAPI.
CEILING_SHARE = 0.60
FASTAPI_SINGLE = 3.5
FASTAPI_BULK = 8.0
RSS_TARGET_MB = 120.0
# Issue 17: the documented `serve` against plain uvicorn and FastAPI, a share of the Starlette
# ceiling on the same server, two workers against one, and webdis (the C anchor, no target).
SERVE_UVICORN = 1.3
SERVE_FASTAPI = 5.0
SERVE_CEILING_SHARE = 0.8
WORKERS_SCALING = 1.6
WEBDIS_AIM = 0.5
LOG_SHARE = 0.10  # the request log's share of a cached single-key request, at most


class Result(msgspec.Struct, frozen=True, kw_only=True):
    """One measured case."""

    id: str
    path: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    body_bytes: int
    cpu_us: float  # server CPU per request, in microseconds: robust to a busy host
    server_cores: float = 0.0  # server CPU seconds per second (all its processes and threads)
    client_cores: float = 0.0  # wrk's CPU seconds per second: the load generator's share
    noise_pct: float = 0.0  # CPU others used meanwhile, % of one core (see CpuMeter)
    runs: int = 1  # > 1: each figure is the median of this many runs (`_alternate`)


class Ratio(msgspec.Struct, frozen=True, kw_only=True):
    """`numerator` req/s over `denominator` req/s; `target` None means informational."""

    name: str
    numerator: str
    denominator: str
    value: float
    cpu_value: float | None  # the same ratio from server CPU per request (busy-host proof)
    target: float | None
    met: bool | None


def ratios(results: dict[str, Result]) -> list[Ratio]:
    """The issues' target ratios, then informational ones, for the cases that were run."""
    found: list[Ratio] = []

    def add(
        name: str, top: str, bottom: str, target: float | None = None, by_cpu: bool = False
    ) -> None:
        if top in results and bottom in results and results[bottom].rps > 0:
            value = results[top].rps / results[bottom].rps
            cpu = results[top].cpu_us
            cpu_value = round(results[bottom].cpu_us / cpu, 3) if cpu > 0 else None
            judged = cpu_value if by_cpu else value
            met = None if target is None or judged is None else judged >= target
            found.append(
                Ratio(
                    name=name,
                    numerator=top,
                    denominator=bottom,
                    value=round(value, 3),
                    cpu_value=cpu_value,
                    target=target,
                    met=met,
                )
            )

    serve = f"serve.{DEFAULT_SERVER}"  # the documented command: its default server
    add("serve ticker / plain uvicorn", f"{serve}.ticker", "gateway.ticker", SERVE_UVICORN)
    add("serve ticker / fastapi", f"{serve}.ticker", "fastapi.ticker", SERVE_FASTAPI)
    for name in BULK:
        add(f"serve {name} / fastapi", f"{serve}.{name}", f"fastapi.{name}", FASTAPI_BULK)
    for server in SERVE_SERVERS:
        ceiling = "baseline.starlette-json" if server == "uvicorn" else f"{server}.starlette-json"
        add(
            f"serve {server} ticker / its starlette",
            f"serve.{server}.ticker",
            ceiling,
            SERVE_CEILING_SHARE if server == DEFAULT_SERVER else None,  # the documented one
        )
    add("granian gateway / its starlette", "granian.gateway.ticker", "granian.starlette-json")
    add(
        "serve --workers 2 / 1 worker", "serve.workers-2.ticker", f"{serve}.ticker", WORKERS_SCALING
    )
    add(
        "serve uvicorn --workers 2 / 1 worker",
        "serve.uvicorn-workers-2.ticker",
        "serve.uvicorn.ticker",
    )
    add(f"serve ticker / webdis (aim {WEBDIS_AIM:g})", f"{serve}.ticker", "webdis.ticker")
    # Logged / not logged: by CPU, 1 / (1 + the log's share of a request).
    log_target = round(1 / (1 + LOG_SHARE), 2)  # judged by CPU: one process, its own work
    add("serve logged / warnings only", f"{serve}.ticker", "serve.quiet.ticker", log_target, True)
    add("serve granian / serve uvicorn", "serve.granian.ticker", "serve.uvicorn.ticker")
    for name in SINGLE_KEY:
        add(
            f"{name} / starlette ceiling",
            f"gateway.{name}",
            "baseline.starlette-json",
            CEILING_SHARE,
        )
    for name in SINGLE_KEY:
        add(f"{name} / fastapi", f"gateway.{name}", f"fastapi.{name}", FASTAPI_SINGLE)
    for name in BULK:
        add(f"{name} / fastapi", f"gateway.{name}", f"fastapi.{name}", FASTAPI_BULK)
    add("starlette ceiling / raw ASGI", "baseline.starlette-json", "baseline.raw-asgi")
    for name in ("tickers-500", "ohlcv-1000"):
        for way in ("validated-raw", "raw"):
            add(f"{name}: {way} / decoded", f"payload.{name}.{way}", f"payload.{name}.decoded")
    add("ticker: gateway / no middleware", "gateway.ticker", "payload.ticker.no-middleware")
    for case in sorted(results):
        if case.startswith("stack.ticker."):
            add(f"{case[6:]} / full stack", case, "gateway.ticker")
        if case.startswith("stack.tickers-500."):
            add(f"{case[6:]} / full stack", case, "gateway.tickers-500")
        if case.startswith("client."):
            add(f"{case[7:]} / starlette ceiling", case, "baseline.starlette-json")
            if case != "client.redis-py":
                add(f"{case[7:]} / redis-py", case, "client.redis-py")
    return found


def format_table(results: list[Result]) -> str:
    """A plain-text table of every measured case."""
    rows = [
        (
            "case",
            "conns",
            "req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "bytes",
            "cpu us/req",
            "server cores",
            "wrk cores",
            "noise %",
        )
    ]
    for r in results:
        rows.append(
            (
                r.id,
                str(r.connections),
                f"{r.rps:,.0f}",
                f"{r.p50_ms:.2f}",
                f"{r.p99_ms:.2f}",
                str(r.errors),
                str(r.body_bytes),
                f"{r.cpu_us:.0f}",
                f"{r.server_cores:.2f}",
                f"{r.client_cores:.2f}",
                f"{r.noise_pct:.0f}",
            )
        )
    return _columns(rows, lambda i: i > 0)


def format_ratios(found: list[Ratio], rss_mb: float | None) -> str:
    """A plain-text table of the ratios, targets first, and the memory check."""
    rows = [("ratio", "req/s", "by cpu", "target", "")]
    for ratio in found:
        target = "" if ratio.target is None else f">= {ratio.target:g}"
        verdict = {True: "ok", False: "MISSED", None: ""}[ratio.met]
        by_cpu = "" if ratio.cpu_value is None else f"{ratio.cpu_value:.2f}"
        rows.append((ratio.name, f"{ratio.value:.2f}", by_cpu, target, verdict))
    if rss_mb is not None:
        verdict = "ok" if rss_mb < RSS_TARGET_MB else "MISSED"
        rows.append(
            (
                "gateway RSS after the run (MiB)",
                f"{rss_mb:.1f}",
                "",
                f"< {RSS_TARGET_MB:g}",
                verdict,
            )
        )
    return _columns(rows, lambda i: i in (1, 2, 3))


def _columns(rows: Sequence[tuple[str, ...]], right: Callable[[int], bool]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            c.rjust(w) if right(i) else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
