"""The machinery behind ``refimpl bench``: registry, timing, exponent fits, tables, output.

A benchmark is a function ``func(quick: bool) -> Table`` registered with
:func:`benchmark`. It times one or more *series* (e.g. a fast path and its dense oracle)
over a range of sizes with :func:`best_times`, adding one row per size to a
:class:`Table`; the table prints a progress line as each row is added, and knows its
ratio columns and the fitted exponent of every series. Every family registers its
benchmarks in a module of :mod:`refimpl.bench` listed in ``BENCH_MODULES``;
:func:`run` runs them, prints the tables and optionally writes JSON and log-log plots.
"""

from __future__ import annotations

import contextvars
import importlib
import json
import math
import os
import platform
import sys
import textwrap
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

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

#: Modules whose import registers benchmarks, one per family.
BENCH_MODULES = ["refimpl.bench.masked", "refimpl.bench.graphs", "refimpl.bench.trees",
                 "refimpl.bench.graph_kernels", "refimpl.bench.estimators",
                 "refimpl.bench.eigen"]


# -- the registry ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Benchmark:
    """A registered benchmark.

    Attributes
    ----------
    name : str
        Unique name, ``family/what``.
    family : str
        The family (module of refimpl) the benchmark belongs to.
    description : str
        One line: what is timed against what.
    func : callable
        ``func(quick) -> Table``.
    """

    name: str
    family: str
    description: str
    func: Callable[[bool], Table] = field(repr=False)


_REGISTRY: dict[str, Benchmark] = {}


def benchmark(name: str, *, family: str, description: str):
    """Decorator registering ``func(quick) -> Table`` as a benchmark."""

    def register(func):
        if name in _REGISTRY:
            raise ValueError(f"a benchmark named {name!r} is already registered")
        _REGISTRY[name] = Benchmark(name, family, description, func)
        return func

    return register


def registry() -> list[Benchmark]:
    """All registered benchmarks, after importing every module in ``BENCH_MODULES``."""
    for module in BENCH_MODULES:
        importlib.import_module(module)
    return list(_REGISTRY.values())


def _select(only) -> list[Benchmark]:
    """The benchmarks named in ``only`` (names or family names), in registry order."""
    benchmarks = registry()
    if only is None:
        return benchmarks
    if isinstance(only, str):
        only = [only]
    known = {b.name for b in benchmarks} | {b.family for b in benchmarks}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise ValueError(
            f"unknown benchmark name(s) {', '.join(map(repr, unknown))}; known benchmarks: "
            f"{', '.join(b.name for b in benchmarks)} (or a family: "
            f"{', '.join(sorted({b.family for b in benchmarks}))})"
        )
    wanted = set(only)
    return [b for b in benchmarks if b.name in wanted or b.family in wanted]


# -- timing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Timing:
    """What :func:`best_times` measured.

    Attributes
    ----------
    seconds : dict of str to float
        The best time of each function.
    repeats : int
        How many timed rounds the best is taken over (the warm-up excluded).
    checked : object
        What the ``check`` callback returned (None without one).
    """

    seconds: dict[str, float]
    repeats: int
    checked: object = None


def _once(func) -> tuple[float, object]:
    start = time.perf_counter()
    out = func()
    return time.perf_counter() - start, out


def best_times(funcs: Mapping[str, Callable[[], object]], *, quick: bool = False,
               min_time: float | None = None, min_repeats: int | None = None,
               slow_repeats: int = 1, slow: float = 1.0, check=None) -> Timing:
    """Best-of-n wall time (:func:`time.perf_counter`) of each function, interleaved.

    Parameters
    ----------
    funcs : mapping of str to callable
        Functions of no arguments. Each round calls every function once, in order, so
        that all of them see the same machine state (load from other processes, CPU
        frequency); this matters when their *ratio* is the result.
    quick : bool
        Use the small defaults of ``refimpl bench --quick`` (a few ms per measurement).
    min_time : float, optional
        Aim for at least this many seconds of timed rounds (default 0.2, quick 0.02).
    min_repeats : int, optional
        At least this many rounds when a round is cheaper than ``slow`` (default 3,
        quick 2).
    slow_repeats : int, default 1
        The number of rounds when one round takes ``slow`` seconds or more: large sizes
        are slow enough that run-to-run noise is small next to the time itself.
    slow : float, default 1.0
        Seconds per round above which ``slow_repeats`` applies.
    check : callable, optional
        Called once with the dict of the warm-up outputs, before any timed round, so
        that a wrong answer is never timed; it should raise if they are wrong. Its
        return value is ``Timing.checked``.

    Returns
    -------
    Timing
    """
    min_time = (0.02 if quick else 0.2) if min_time is None else min_time
    min_repeats = (2 if quick else 3) if min_repeats is None else min_repeats
    # The warm-up pays one-off costs (FFT plans, page faults of first-touched buffers).
    warm, outputs = {}, {}
    for name, func in funcs.items():
        warm[name], outputs[name] = _once(func)
    checked = None if check is None else check(outputs)
    del outputs  # free the (possibly large) outputs before timing
    per_round = max(sum(warm.values()), 1e-9)
    if per_round >= slow:
        repeats = max(slow_repeats, 1)
    else:
        repeats = max(min_repeats, math.ceil(min_time / per_round))
    best = dict.fromkeys(funcs, math.inf)
    for _ in range(repeats):
        for name, func in funcs.items():
            best[name] = min(best[name], _once(func)[0])
    return Timing(best, repeats, checked)


def fit_exponent(sizes, times) -> float:
    """Least-squares slope of ``log(time)`` against ``log(size)``.

    Points whose time is not finite and positive are ignored; with fewer than two
    points left (or a single size) the result is NaN.

    Examples
    --------
    >>> import numpy as np
    >>> n = np.array([64, 128, 256, 512])
    >>> round(fit_exponent(n, 3e-9 * n**1.5), 12)
    1.5
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    keep = np.isfinite(times) & (times > 0) & np.isfinite(sizes) & (sizes > 0)
    x, y = np.log(sizes[keep]), np.log(times[keep])
    if x.size < 2 or np.ptp(x) == 0:
        return math.nan
    dx = x - x.mean()  # centred: the normal equations of a line, well conditioned
    return float(dx @ (y - y.mean()) / (dx @ dx))


# -- the result table ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Progress:
    stream: object
    name: str


_PROGRESS: contextvars.ContextVar[_Progress | None] = contextvars.ContextVar(
    "refimpl_bench_progress", default=None
)


def _fmt_time(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _fmt_value(value, spec: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return format(value, spec)


class Table:
    """The result of one benchmark: times of each series at each size.

    Parameters
    ----------
    size_name : str
        What the size is (e.g. ``"L"``).
    series : list of str
        The timed series, e.g. ``["fast", "dense"]``.
    ratios : dict of str to (str, str), optional
        Ratio columns: ``label -> (numerator series, denominator series)``.
    extras : dict of str to str, optional
        Extra per-size columns (not times): ``label -> format spec``.
    """

    def __init__(self, size_name: str, series, *, ratios=None, extras=None):
        self.size_name = size_name
        self.series = list(series)
        self.ratio_defs = dict(ratios or {})
        for label, pair in self.ratio_defs.items():
            if any(s not in self.series for s in pair):
                raise ValueError(f"ratio {label!r} names a series not in {self.series}")
        self.extra_specs = dict(extras or {})
        self.sizes: list[int] = []
        self.times: dict[str, list[float]] = {s: [] for s in self.series}
        self.extras: dict[str, list] = {e: [] for e in self.extra_specs}
        self.notes: list[str] = []

    def add(self, size: int, times: Mapping[str, float], extras=None) -> None:
        """Add the row of one size (series not timed at it are NaN) and print progress."""
        unknown = (set(times) - set(self.series)) | (set(extras or {}) - set(self.extra_specs))
        if unknown:
            raise ValueError(f"unknown column(s) {sorted(unknown)}")
        self.sizes.append(int(size))
        for s in self.series:
            self.times[s].append(float(times.get(s, math.nan)))
        for e in self.extra_specs:
            self.extras[e].append((extras or {}).get(e))
        progress = _PROGRESS.get()
        if progress is not None:
            print(f"  {progress.name}: {self._progress_line(-1)}",
                  file=progress.stream, flush=True)

    def note(self, text: str) -> None:
        """Add a line printed under the table (a goal and whether it is met, a caveat)."""
        self.notes.append(text)

    def ratio(self, label: str) -> list[float]:
        """The ratio column ``label`` (NaN where either series is missing)."""
        num, den = (np.asarray(self.times[s]) for s in self.ratio_defs[label])
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where((den > 0) & np.isfinite(num), num / den, math.nan)
        return [float(v) for v in values]

    def exponents(self, *, upper_half: bool = False) -> dict[str, float]:
        """The fitted exponent of each series, over all its sizes or the upper half.

        The upper half is the sizes at or above the median of those the series was
        timed at; small sizes are dominated by fixed overheads that flatten the fit.
        """
        result = {}
        for s in self.series:
            sizes, times = np.asarray(self.sizes, float), np.asarray(self.times[s])
            timed = np.isfinite(times) & (times > 0)
            if upper_half and timed.any():
                timed &= sizes >= np.median(sizes[timed])
            result[s] = fit_exponent(sizes[timed], times[timed])
        return result

    def _progress_line(self, i: int) -> str:
        parts = [f"{self.size_name}={self.sizes[i]}"]
        parts += [f"{s} {_fmt_time(self.times[s][i])}" for s in self.series]
        parts += [f"{r} {_fmt_value(self.ratio(r)[i], '.3g')}" for r in self.ratio_defs]
        return "  ".join(parts)

    def format(self) -> str:
        """The table as aligned text, with the fitted exponents and the notes below."""
        header = [self.size_name, *self.series, *self.ratio_defs, *self.extra_specs]
        rows = []
        for i, size in enumerate(self.sizes):
            rows.append([str(size), *(_fmt_time(self.times[s][i]) for s in self.series),
                         *(_fmt_value(self.ratio(r)[i], ".3g") for r in self.ratio_defs),
                         *(_fmt_value(self.extras[e][i], spec)
                           for e, spec in self.extra_specs.items())])
        for label, upper in (("exponent", False), ("exp. upper", True)):
            fits = self.exponents(upper_half=upper)
            rows.append([label, *(_fmt_value(fits[s], ".2f") for s in self.series)])
        widths = [max(len(r[c]) for r in [header, *rows] if c < len(r))
                  for c in range(len(header))]
        lines = ["  ".join(cell.rjust(w) for cell, w in zip(r, widths)) for r in [header, *rows]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.insert(len(self.sizes) + 2, lines[1])
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """A JSON-ready dict (NaN and infinities become None)."""
        exps = {s: {"all": a, "upper_half": self.exponents(upper_half=True)[s]}
                for s, a in self.exponents().items()}
        return _jsonable({
            "size_name": self.size_name, "sizes": self.sizes, "times_s": self.times,
            "ratios": {r: self.ratio(r) for r in self.ratio_defs}, "extras": self.extras,
            "exponents": exps, "notes": self.notes,
        })


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


# -- running ------------------------------------------------------------------------------------

@dataclass
class BenchResult:
    """One benchmark's outcome: its table, or the error that stopped it."""

    name: str
    family: str
    description: str
    table: Table | None
    seconds: float
    error: str | None = None


def machine_info() -> dict:
    """The machine and library versions the timings were taken on."""
    import scipy

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass  # not Linux: keep platform's answer
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__}


def _run_one(bench: Benchmark, quick: bool, stream) -> BenchResult:
    print(f"\n== {bench.name}: {bench.description}", file=stream, flush=True)
    token = _PROGRESS.set(_Progress(stream, bench.name))
    start = time.perf_counter()
    try:
        table, error = bench.func(quick), None
    except Exception as exc:  # reported, and the other benchmarks still run
        table, error = None, f"{type(exc).__name__}: {exc}"
    finally:
        _PROGRESS.reset(token)
    seconds = time.perf_counter() - start
    print(f"\n{table.format()}" if error is None else f"ERROR {error}", file=stream)
    print(f"({seconds:.1f} s)", file=stream, flush=True)
    return BenchResult(bench.name, bench.family, bench.description, table, seconds, error)


def run(*, quick: bool = False, only=None, json_path=None, plot=None,
        stream=None) -> list[BenchResult]:
    """Run the benchmarks, print their tables, and optionally write JSON and plots.

    Parameters
    ----------
    quick : bool
        Small sizes: the whole run in seconds (used by the test suite).
    only : list of str, optional
        Only these benchmarks (names, or family names for a whole family).
    json_path : str or path, optional
        Also write the results (times in seconds, ratios, exponents) as JSON.
    plot : str or path, optional
        A directory to write one log-log PNG per benchmark into (needs matplotlib).
    stream : file-like, optional
        Where to print (default ``sys.stdout``); progress lines as each size finishes.

    Returns
    -------
    list of BenchResult

    Raises
    ------
    ValueError
        If ``only`` names an unknown benchmark.
    ImportError
        If ``plot`` is given and matplotlib is not installed (raised before any timing).
    RuntimeError
        After the run (JSON and plots written), if a benchmark raised.
    """
    stream = sys.stdout if stream is None else stream
    selected = _select(only)
    if plot is not None:
        _require_matplotlib()
    info = machine_info()
    print(f"refimpl bench{' --quick' if quick else ''}: {info['cpus']} CPUs ({info['cpu']}), "
          f"numpy {info['numpy']}, scipy {info['scipy']}", file=stream, flush=True)
    results = [_run_one(b, quick, stream) for b in selected]
    if json_path is not None:
        _write_json(json_path, results, quick, info)
    if plot is not None:
        for path in _write_plots(plot, results):
            print(f"wrote {path}", file=stream, flush=True)
    failed = [r for r in results if r.error is not None]
    if failed:
        raise RuntimeError("benchmark(s) failed: "
                           + "; ".join(f"{r.name}: {r.error}" for r in failed))
    return results


def _write_json(path, results, quick, info) -> None:
    data = {"quick": quick, "machine": info, "benchmarks": [
        {"name": r.name, "family": r.family, "description": r.description,
         "seconds": r.seconds, "error": r.error,
         **(r.table.to_dict() if r.table is not None else {})}
        for r in results]}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(_jsonable(data), fh, indent=2)


# -- plots --------------------------------------------------------------------------------------

def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "refimpl bench --plot needs matplotlib, an optional dependency of refimpl; "
            "install it (pip install matplotlib) or run without --plot"
        ) from exc


def _write_plots(directory, results) -> list[str]:
    """One log-log PNG of time against size per benchmark; returns the paths."""
    # The object-oriented API with the Agg canvas: no pyplot state, no GUI backend.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    os.makedirs(directory, exist_ok=True)
    paths = []
    for r in results:
        if r.table is None or not r.table.sizes:
            continue
        fig = Figure(figsize=(6.4, 4.8), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        _draw(ax, r.table)
        ax.set_title(r.name + "\n" + textwrap.fill(r.description, 100), fontsize=7)
        path = os.path.join(directory, r.name.replace("/", "_") + ".png")
        fig.savefig(path, dpi=110)
        paths.append(path)
    return paths


def _draw(ax, table: Table) -> None:
    fits = table.exponents()
    sizes = np.asarray(table.sizes, dtype=np.float64)
    for s in table.series:
        times = np.asarray(table.times[s])
        if np.isfinite(times).any():
            ax.loglog(sizes, times, "o-", label=f"{s} (exponent {fits[s]:.2f})")
    # Slope-1 and slope-2 guides through the first point of the first series.
    first = np.asarray(table.times[table.series[0]])
    if np.isfinite(first[0]):
        for power, style in ((1, ":"), (2, "--")):
            ax.loglog(sizes, first[0] * (sizes / sizes[0]) ** power, style, color="grey",
                      linewidth=0.8, label=f"∝ {table.size_name}^{power}")
    ax.set_xlabel(table.size_name)
    ax.set_ylabel("time [s] (best of n)")
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=7)
