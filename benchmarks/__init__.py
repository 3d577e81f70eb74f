"""Benchmarks of fullon_cache_api against baselines measured in the same run.

Run them with ``python -m benchmarks`` (see ``benchmarks/README.md``).
"""
