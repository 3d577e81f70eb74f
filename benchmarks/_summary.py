"""The one table the README's Performance section quotes: both servers side by side.

Each cell of a case row is ``req/s (server CPU µs per request)``; the ratio rows give the
target ratios of the same run, with the documented ``serve``'s default server marked.
"""

from __future__ import annotations

from fullon_cache_api.server._servers import DEFAULT_SERVER

from ._cases import SERVE_SERVERS
from ._report import Ratio, Result

__all__ = ["summary_table"]

# (label, case under uvicorn, case under granian); "" where a case has no such column.
_ROWS = (
    ("raw ASGI, constant body (server ceiling)", "baseline.raw-asgi", "granian.raw-asgi"),
    (
        "Starlette, constant JSON (framework ceiling)",
        "baseline.starlette-json",
        "granian.starlette-json",
    ),
    (
        "gateway, one ticker, plain server, warnings only",
        "gateway.ticker",
        "granian.gateway.ticker",
    ),
    (
        "`fullon-cache-api serve`, one ticker (every request logged)",
        "serve.uvicorn.ticker",
        "serve.granian.ticker",
    ),
    ("`serve`, 500 tickers (94 KB)", "serve.uvicorn.tickers-500", "serve.granian.tickers-500"),
    ("`serve`, 1000 bars (65 KB)", "serve.uvicorn.ohlcv-1000", "serve.granian.ohlcv-1000"),
    ("FastAPI + pydantic, one ticker", "fastapi.ticker", ""),
    ("FastAPI + pydantic, 500 tickers", "fastapi.tickers-500", ""),
    ("FastAPI + pydantic, 1000 bars", "fastapi.ohlcv-1000", ""),
)


def summary_table(results: list[Result], ratios: list[Ratio]) -> str:
    """A Markdown table: the cases under each server, then the run's target ratios."""
    found = {result.id: result for result in results}
    marks = {name: " (default)" if name == DEFAULT_SERVER else "" for name in SERVE_SERVERS}
    lines = [
        f"| case | uvicorn{marks['uvicorn']} | granian{marks['granian']} |",
        "|---|---|---|",
    ]
    for label, uvicorn, granian in _ROWS:
        if uvicorn in found or granian in found:
            lines.append(f"| {label} | {_cell(found.get(uvicorn))} | {_cell(found.get(granian))} |")
    workers = {DEFAULT_SERVER: found.get("serve.workers-2.ticker")}
    workers["uvicorn"] = workers.get("uvicorn") or found.get("serve.uvicorn-workers-2.ticker")
    if any(workers.values()):
        row = [_cell(workers.get(name), cores=True) for name in ("uvicorn", "granian")]
        lines.append(f"| `serve --workers 2`, one ticker | {row[0]} | {row[1]} |")
        singles = [
            _cell(found.get(f"serve.{name}.ticker"), cores=True) for name in ("uvicorn", "granian")
        ]
        lines.append(f"| the same, one worker | {singles[0]} | {singles[1]} |")
    webdis = found.get("webdis.ticker")
    if webdis is not None:
        lines.append(f"| webdis (C, 1 thread), HGET of the same ticker | {_cell(webdis)} | |")
    for ratio in ratios:
        if ratio.name.startswith(("serve", "granian gateway")):
            runs = min(found[ratio.numerator].runs, found[ratio.denominator].runs)
            alternated = f", medians of {runs} runs each, in turns" if runs > 1 else ""
            lines.append(f"| **{ratio.name}** | {_ratio(ratio)}{alternated} | |")
    return "\n".join(lines)


def _cell(result: Result | None, *, cores: bool = False) -> str:
    if result is None:
        return ""
    text = f"{result.rps:,.0f} ({result.cpu_us:.0f} µs)"
    if cores:
        text += f", server {result.server_cores:.2f} cores, wrk {result.client_cores:.2f}"
    return text


def _ratio(ratio: Ratio) -> str:
    text = (
        f"{ratio.value:.2f} (by CPU {ratio.cpu_value:.2f})"
        if ratio.cpu_value
        else f"{ratio.value:.2f}"
    )
    if ratio.target is not None:
        text += f", target ≥ {ratio.target:g}: {'met' if ratio.met else 'MISSED'}"
    return text
