"""``python -m benchmarks``: the whole suite (see ``benchmarks/README.md``)."""

import sys

from ._suite import main

sys.exit(main())
