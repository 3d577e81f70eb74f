"""Pairs of cases measured in turns (`_cases.ALTERNATED`), each reported as its median run.

The request log costs a few % of a request; two runs of one case on a shared 2-core host
differ by up to 10 %. Measured once each, minutes apart, the pair's ratio says more about the
host than about the log. Measured in turns (A B, then B A, A B, ...) with both servers up, each
side sees the same drift, and the median of each side's runs drops the odd disturbed one.
"""

from __future__ import annotations

import contextlib
import statistics
from typing import TYPE_CHECKING

from ._cases import ALTERNATED, App, Case
from ._harness import BenchError
from ._report import Result

if TYPE_CHECKING:
    from ._suite import _Run

__all__ = ["alternate_pairs", "median_result"]


def alternate_pairs(
    run: _Run, apps: dict[str, App], cases: list[Case], results: list[Result]
) -> list[Result]:
    """`results` with each alternated pair that was measured replaced by its median runs."""
    by_id = {case.id: case for case in cases}
    measured = {result.id: result for result in results}
    turns = max(0, run.args.alternations)
    for first, second in ALTERNATED:
        if turns == 0 or first not in measured or second not in measured:
            continue
        pair = (by_id[first], by_id[second])
        runs = {case.id: [measured[case.id]] for case in pair}
        print(f"  alternating {first} and {second}: {turns} more turns", flush=True)
        run.pending += 2 * turns
        try:
            with contextlib.ExitStack() as stack:
                servers = [stack.enter_context(run.started(apps[case.app])) for case in pair]
                for turn in range(turns):
                    order = [1, 0] if turn % 2 == 0 else [0, 1]  # A B | B A | A B ...
                    for side in order:
                        runs[pair[side].id].append(run.measure(servers[side], pair[side]))
        except BenchError as exc:  # the single runs stand; say why there are no turns
            print(f"  alternating {first} and {second} stopped: {exc}", flush=True)
            continue
        for case_id, found in runs.items():
            measured[case_id] = median_result(found)
    return list(measured.values())


def median_result(runs: list[Result]) -> Result:
    """One case's runs as one result: each figure the median of the runs, errors summed."""

    def median(field: str) -> float:
        return float(statistics.median(getattr(result, field) for result in runs))

    first = runs[0]
    return Result(
        id=first.id,
        path=first.path,
        connections=first.connections,
        rps=median("rps"),
        p50_ms=median("p50_ms"),
        p99_ms=median("p99_ms"),
        requests=int(median("requests")),
        errors=sum(result.errors for result in runs),
        body_bytes=first.body_bytes,
        cpu_us=round(median("cpu_us"), 1),
        server_cores=round(median("server_cores"), 2),
        client_cores=round(median("client_cores"), 2),
        noise_pct=median("noise_pct"),
        runs=len(runs),
    )
