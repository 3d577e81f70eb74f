"""The scale benchmark's probe: one client asking for one cached ticker every few milliseconds.

Run as its own process (``python -m benchmarks._probe URL KEY INTERVAL OUT``) so that nothing
the benchmark driver does (reading a 30 MB answer, decoding it) can delay the probe itself:
what it measures is the gateway's stall alone. Each sample is (monotonic send time, latency
in seconds, status); CLOCK_MONOTONIC is shared by every process on Linux, so the driver can cut
the samples into its own time windows. SIGTERM ends the probe, which then writes the samples
to OUT as JSON.
"""

from __future__ import annotations

import http.client
import signal
import sys
import time
from types import FrameType
from urllib.parse import urlsplit

import msgspec


def main(argv: list[str]) -> int:
    """Probe `url` every `interval` seconds until SIGTERM; write the samples to `out`."""
    url, key, interval, out = argv[0], argv[1], float(argv[2]), argv[3]
    parts = urlsplit(url)
    stop = False

    def on_term(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    samples: list[tuple[float, float, int]] = []
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"X-API-Key": key}
    due = time.monotonic()
    while not stop:
        sent = time.monotonic()
        try:
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            status = 0
        samples.append((sent, time.monotonic() - sent, status))
        due = max(due + interval, time.monotonic())  # late: the next one goes at once
        time.sleep(max(0.0, due - time.monotonic()))
    connection.close()
    with open(out, "wb") as file:
        file.write(msgspec.json.encode(samples))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
