"""``python -m fullon_cache_api.standalone_server``: the original specification's testing entry.

It is ``fullon-cache-api serve`` under another name: the same parser, flags (``--host``,
``--port``, ``--workers``, ``--log-level``, ``--help``), environment, logging and shutdown,
because it is that command.
"""

from __future__ import annotations

import sys

from .__main__ import main as _cli

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run ``fullon-cache-api serve`` with `argv` (default: the command line's arguments)."""
    return _cli(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
