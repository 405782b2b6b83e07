"""The registry of checks behind ``refimpl verify``.

A check is a function ``check(quick: bool) -> Outcome`` registered with :func:`check`.
It computes one comparison (a fast path against its oracle, an oracle against a closed
form, or an estimator against its exact expectation) and returns the error it measured
together with the tolerance it is held to. Every family registers its checks in a module
of :mod:`refimpl.verify` listed in ``CHECK_MODULES``.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import tolerances

__all__ = ["Check", "Outcome", "Result", "check", "compare", "registry", "run", "worst"]

#: Modules whose import registers checks, one per family.
CHECK_MODULES = ["refimpl.verify.masked", "refimpl.verify.walks", "refimpl.verify.graphs",
                 "refimpl.verify.graph_kernels", "refimpl.verify.trees",
                 "refimpl.verify.estimators", "refimpl.verify.eigen"]


@dataclass(frozen=True)
class Outcome:
    """What a check measured: the error and the tolerance at the worst point."""

    error: float
    tolerance: float
    detail: str = ""

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.error) and self.error <= self.tolerance)


@dataclass(frozen=True)
class Check:
    """A registered check.

    Attributes
    ----------
    name : str
        Unique name, ``family/what``.
    family : str
        The family (module of refimpl) the check belongs to.
    paper : str
        The paper and equation (or closed form) the check verifies.
    policy : str
        The key of :data:`refimpl.tolerances.POLICY` whose bound the tolerance uses.
    func : callable
        ``func(quick) -> Outcome``.
    """

    name: str
    family: str
    paper: str
    policy: str
    func: Callable[[bool], Outcome] = field(repr=False)


@dataclass(frozen=True)
class Result:
    """One row of the ``refimpl verify`` table."""

    name: str
    family: str
    paper: str
    error: float
    tolerance: float
    reason: str
    seconds: float
    verdict: str
    detail: str = ""


_REGISTRY: dict[str, Check] = {}


def check(name: str, *, family: str, paper: str, policy: str):
    """Decorator registering ``func(quick) -> Outcome`` as a check."""
    if policy not in tolerances.POLICY:
        raise ValueError(f"policy must be a key of refimpl.tolerances.POLICY; got {policy!r}")

    def register(func):
        if name in _REGISTRY:
            raise ValueError(f"a check named {name!r} is already registered")
        _REGISTRY[name] = Check(name, family, paper, policy, func)
        return func

    return register


def registry() -> list[Check]:
    """All registered checks, after importing every module in ``CHECK_MODULES``."""
    for module in CHECK_MODULES:
        importlib.import_module(module)
    return list(_REGISTRY.values())


def compare(actual, desired, bound, *, detail: str = "") -> Outcome:
    """Compare arrays elementwise against an elementwise error bound.

    Returns the error and the bound at the element where ``|actual - desired| / bound``
    is largest. A shape mismatch or a non-finite value is an infinite error.
    """
    actual = np.asarray(actual, dtype=np.float64)
    desired = np.asarray(desired, dtype=np.float64)
    bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), desired.shape)
    if actual.shape != desired.shape:
        return Outcome(np.inf, float(bound.max(initial=0.0)),
                       f"shape {actual.shape} != expected {desired.shape}")
    if not np.all(np.isfinite(actual)):
        return Outcome(np.inf, float(bound.max(initial=0.0)), "non-finite output")
    diff = np.abs(actual - desired)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bound > 0, diff / bound, np.where(diff > 0, np.inf, 0.0))
    worst = np.unravel_index(np.argmax(ratio), ratio.shape) if ratio.size else ()
    return Outcome(float(diff[worst]), float(bound[worst]), detail)


def worst(outcomes) -> Outcome:
    """The outcome furthest outside (or least inside) its tolerance: largest error/tolerance.

    A non-finite error is the worst possible; a zero tolerance demands an exact zero error.

    Examples
    --------
    >>> from refimpl.verify import Outcome, worst
    >>> worst([Outcome(0.0, 0.0), Outcome(2e-3, 1e-3), Outcome(1e-9, 1e-6)]).error
    0.002
    """
    def ratio(o: Outcome) -> float:
        if not np.isfinite(o.error):
            return np.inf
        if o.tolerance > 0:
            return o.error / o.tolerance
        return np.inf if o.error > 0 else 0.0

    return max(outcomes, key=ratio)


def _format_row(r: Result, index: int, total: int) -> str:
    return (
        f"[{index:>3}/{total}] {r.name:<46} {r.paper:<34} {r.error:>10.2e} "
        f"{r.tolerance:>10.2e} {r.seconds:>7.2f}s  {r.verdict}"
    )


def run(*, quick: bool = False, families=None, stream=None, json_path=None) -> list[Result]:
    """Run every registered check and print the table to ``stream``.

    Parameters
    ----------
    quick : bool
        Small sizes (the whole run in well under a minute).
    families : iterable of str, optional
        Only checks of these families.
    stream : file-like, optional
        Where to print (default ``sys.stdout``); rows are printed as they finish.
    json_path : str or path, optional
        Also write the results as JSON.

    Returns
    -------
    list of Result

    Raises
    ------
    ValueError
        If ``families`` is empty or names a family without checks (a run that checks
        nothing must not look like a pass).
    """
    stream = sys.stdout if stream is None else stream
    known = sorted({c.family for c in registry()})
    if families is not None:
        if isinstance(families, str) or not all(isinstance(f, str) for f in families):
            raise TypeError(f"families must be a list of family names, got {families!r}")
        unknown = [f for f in families if f not in known]
        if unknown or not list(families):
            raise ValueError(f"families must name some of the families {', '.join(known)}; "
                             f"got {list(families)!r}"
                             + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    checks = [c for c in registry() if families is None or c.family in set(families)]
    header = (f"{'':9} {'check':<46} {'paper':<34} {'max error':>10} {'tolerance':>10} "
              f"{'time':>8}  verdict")
    print(header, file=stream)
    print("-" * len(header), file=stream, flush=True)
    results = []
    for index, c in enumerate(checks, start=1):
        start = time.perf_counter()
        try:
            outcome = c.func(quick)
            verdict = "pass" if outcome.passed else "FAIL"
        except Exception as exc:  # a crashing check is reported, not fatal to the run
            outcome = Outcome(np.inf, np.nan, f"{type(exc).__name__}: {exc}")
            verdict = "ERROR"
        seconds = time.perf_counter() - start
        result = Result(c.name, c.family, c.paper, outcome.error, outcome.tolerance,
                        tolerances.POLICY[c.policy].bound, seconds, verdict, outcome.detail)
        results.append(result)
        print(_format_row(result, index, len(checks)), file=stream, flush=True)
        if verdict != "pass" and outcome.detail:
            print(f"          {outcome.detail}", file=stream, flush=True)
    failed = sum(r.verdict != "pass" for r in results)
    print("-" * len(header), file=stream)
    print(f"{len(results) - failed} passed, {failed} failed", file=stream, flush=True)
    if json_path is not None:
        with open(json_path, "w", encoding="utf-8") as fh:
            json.dump([_jsonable(asdict(r)) for r in results], fh, indent=2)
    return results


def _jsonable(row: dict) -> dict:
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
