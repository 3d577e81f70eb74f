"""How much CPU a process used, and how much the rest of the host used meanwhile (Linux)."""

from __future__ import annotations

import contextlib
import os
import resource
import time
from pathlib import Path

__all__ = ["CpuMeter", "cpu_seconds"]


class CpuMeter:
    """CPU that processes other than ours used on this host while a measurement ran.

    The benchmarks are only as good as the machine is quiet: on a shared host a test run
    next door halves the numbers. The meter sees it, as a percentage of one core: the host's
    busy time (``/proc/stat``, steal included) minus what the server, Redis and our wrk
    children used.
    """

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self._start = self._sample()

    def foreign_percent(self) -> float:
        """Percent of one core used by others since the meter was created (0 when unknown)."""
        start, end = self._start, self._sample()
        wall = end[0] - start[0]
        if wall <= 0 or end[1] < 0:
            return 0.0
        foreign = (end[1] - start[1]) - (end[2] - start[2])
        return round(max(0.0, foreign / wall * 100), 1)

    def _sample(self) -> tuple[float, float, float]:
        """(monotonic seconds, host busy seconds, our busy seconds); busy -1 off Linux."""
        now = time.monotonic()
        try:
            host = _busy_seconds(Path("/proc/stat").read_text().split()[1:9])
            ours = sum(_pid_seconds(pid) for pid in self.pids)
        except (OSError, ValueError, IndexError):
            return now, -1.0, 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            ours += usage.ru_utime + usage.ru_stime
        return now, host, ours


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _busy_seconds(fields: list[str]) -> float:
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields)
    return (user + nice + system + irq + softirq + steal) / _TICK


def cpu_seconds(*pids: int) -> float:
    """CPU time (user + system) processes `pids` have used so far; 0 for one unknown."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += _pid_seconds(pid)
    return total


def _pid_seconds(pid: int) -> float:
    # Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    after = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(after[11]) + int(after[12])) / _TICK
