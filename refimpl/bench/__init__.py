"""``refimpl bench``: scaling of each fast path against its dense oracle.

Benchmarks are registered per family (see ``refimpl.bench._timing``); :func:`run` runs
them, printing a progress line per size and a table per benchmark (times, ratios and the
fitted exponent of time in size), and optionally writes JSON and log-log plots. These are
measurements, not tests: nothing here asserts a speed.

Examples
--------
>>> from refimpl import bench
>>> "masked/toeplitz_matmul" in [b.name for b in bench.registry()]
True
"""

from ._timing import (
    Benchmark,
    BenchResult,
    Table,
    Timing,
    benchmark,
    best_times,
    fit_exponent,
    machine_info,
    registry,
    run,
)

__all__ = [
    "BenchResult",
    "Benchmark",
    "Table",
    "Timing",
    "benchmark",
    "best_times",
    "fit_exponent",
    "machine_info",
    "registry",
    "run",
]
