"""``certify``: check a backend's functions against refimpl on generated inputs.

For every public name the backend provides, every case is judged and counted, aspect by
aspect (PyTorch's OpInfo separates sample inputs, error inputs and supported features the
same way):

* **value**: the backend's output against refimpl's float64 output on the same inputs
  (rounded to the target dtype first), within :func:`refimpl.tolerances.harness_tolerance`;
  also its shape and dtype, and that it left its inputs unchanged. A backend that *raises*
  on a valid input has not computed a wrong value: the input's features (batch
  broadcasting, a bias, ``L != S``, ...) are recorded as **unsupported** and the other
  cases are still certified.
* **invariant**: properties of the backend's own outputs that need no oracle
  (permutation equivariance, row-scale and shift invariance, constant values,
  batch-equals-loop, linearity of mask products, memory layout, ...).
* **non-finite**: NaN or infinite inputs may be refused (any exception) or propagated:
  NaN must reach every output that depends on it, and finite outputs from an infinite
  input must be its limit. Finite outputs computed from a NaN input hide corruption and
  fail.
* **error-contract**: refimpl's own contract (``ValueError``/``TypeError`` for wrong
  shapes, NaN, fully masked rows, ...). Counted always, required only with ``strict``.
  Undefined results (a fully masked row) may raise, be NaN or follow a convention: the
  report states the backend's convention.

A name passes when no aspect failed and at least ``required_cases`` value cases were
certified; ``strict`` also fails on any unsupported feature or deviation from the error
contract. Each failing aspect reports its worst case with the call as code, the worst
element and a replay ``.npz``.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import importlib.util
import itertools
import math
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping

import numpy as np

from .. import tolerances
from ._compare import measure
from ._draw_attention import few_shapes
from ._ops import (
    NON_FINITE,
    NOT_CERTIFIED,
    UNDEFINED,
    BackendRaised,
    Ctx,
    Op,
    Problem,
    Unreadable,
    all_ops,
    call_quietly,
    error_kind,
    float_arrays,
)
from ._report import ASPECTS, Discrepancy, FunctionResult, Report, write_replay

__all__ = ["certify", "check_op", "required_cases", "resolve_backend"]

DTYPES = ("float64", "float32", "float16")
#: The documented error classes (CONTRACT.md: ValueError, or TypeError for a wrong type).
DOCUMENTED_ERRORS = (ValueError, TypeError)
#: At most this many certified value cases are required of every provided name.
MIN_VALUE_CASES = 10


def required_cases(max_examples: int) -> int:
    """Certified value cases a provided name needs: ``min(10, ceil(max_examples / 2))``.

    Examples
    --------
    >>> required_cases(100), required_cases(5), required_cases(1)
    (10, 3, 1)
    """
    return max(1, min(MIN_VALUE_CASES, math.ceil(max_examples / 2)))


class _Failure(Exception):
    """A failed case, carrying what the report and the replay file need."""

    def __init__(self, discrepancy, case, expected=None, obtained=None, tolerance=None,
                 outputs=("out",), ratio=math.inf):
        super().__init__(discrepancy.message)
        self.discrepancy, self.case = discrepancy, case
        self.expected, self.obtained, self.tolerance = expected, obtained, tolerance
        self.outputs, self.ratio = outputs, ratio


def _describe_result(result) -> str:
    try:
        a = np.asarray(result)
    except Exception:
        return type(result).__name__
    flags = []
    if a.dtype.kind in "fc":
        if np.any(np.isnan(a)):
            flags.append("NaN")
        if np.any(np.isinf(a)):
            flags.append("infinity")
    held = f" holding {' and '.join(flags)}" if flags else ""
    return f"{type(result).__name__} of shape {a.shape} and dtype {a.dtype}{held}"


def _rule(op: Op, dtype) -> str:
    if op.bound is None:
        return "exact (POLICY['exact'])"
    if np.dtype(dtype) == np.float64:
        return (f"{tolerances.HARNESS_FLOAT64_FACTOR:g} x the float64 eps x condition bound "
                f"(POLICY['harness_float64'], bound: {op.policy})")
    base = "c = 2 x naive same-precision error + 4 ulp, " if op.naive else ""
    return (f"{base}at least the bound at {np.dtype(dtype).name} eps (POLICY["
            f"'harness_baseline'], bound: {op.policy})")


def _fail(op, check, label, case, dtype, message, **fields) -> Discrepancy:
    return Discrepancy(function=op.name, check=check, label=label, call=case.describe(),
                       dtype=np.dtype(dtype).name, message=message, **fields)


def _fields(found) -> dict:
    return {k: getattr(found, k) for k in ("index", "got", "want", "abs_error", "rel_error",
                                            "ulp_error", "tolerance", "n_failed", "n_total")}


def _exc_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:160] if text else ''}".rstrip(": ")


# -- the tally of one aspect ---------------------------------------------------------------------

@dataclasses.dataclass
class Tally:
    """Counts and worst case of one aspect of one name.

    ``passed``/``failed``: judged cases; ``refused``: valid inputs the backend raised on
    (unsupported features); ``deviated``: invalid inputs handled otherwise than refimpl's
    contract says (a failure only under ``strict``); ``outcomes``: how the backend
    answered (``"ValueError"``, ``"propagated NaN"``, ...), with counts.
    """

    aspect: str
    passed: int = 0
    failed: int = 0
    refused: int = 0
    deviated: int = 0
    outcomes: dict = dataclasses.field(default_factory=dict)
    worst_ratio: float = -1.0
    worst: Discrepancy | None = None
    failure: _Failure | None = None

    def note(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def add_pass(self, ratio=None, record=None) -> None:
        self.passed += 1
        if ratio is not None and self.failed == 0 and ratio > self.worst_ratio:
            self.worst_ratio, self.worst = ratio, record

    def add_failure(self, failure: _Failure) -> None:
        self.failed += 1
        if self.failure is None or failure.ratio > self.failure.ratio:
            self.failure, self.worst = failure, failure.discrepancy
            self.worst_ratio = failure.ratio

    @property
    def judged(self) -> int:
        return self.passed + self.failed

    def status(self, strict: bool) -> str:
        if self.failed or (strict and self.deviated):
            return "FAIL"
        if self.deviated:
            return "not required"
        return "pass" if self.judged or self.refused else "-"

    def to_dict(self) -> dict:
        worst = None if self.worst is None else {
            "ratio": None if self.worst_ratio < 0 else self.worst_ratio, **self.worst.to_dict()}
        return {"passed": self.passed, "failed": self.failed, "refused": self.refused,
                "deviated": self.deviated, "outcomes": dict(self.outcomes), "worst": worst}


class _Run:
    """Everything recorded while one name of one backend is certified."""

    def __init__(self, op: Op, fn, dt, strict: bool, progress=None, few=False):
        self.op, self.fn, self.dt, self.strict, self.few = op, fn, np.dtype(dt), strict, few
        self.tallies = {a: Tally(a) for a in ASPECTS}
        self.accepted: set = set()        # feature sets of the valid inputs it accepted
        self.refusals: list = []          # (features, case, exception text)
        self.conventions: dict = {}       # label of an undefined input -> outcome -> count
        self.progress = progress
        self.start = time.perf_counter()
        self.cases = 0

    def tick(self, aspect: str) -> None:
        self.cases += 1
        if self.progress is not None:
            self.progress(self.op.name, aspect, self.cases, time.perf_counter() - self.start)

    def accept(self, case) -> None:
        self.accepted.add(self.op.case_features(case))

    def refuse(self, aspect: str, case, exc: BaseException) -> None:
        self.tallies[aspect].refused += 1
        self.refusals.append((self.op.case_features(case), case, _exc_text(exc)))

    def unsupported(self) -> list:
        """The smallest feature combinations of the refused inputs that no accepted input
        had (the reason a backend refused them), with counts and an example each."""
        groups: dict = {}
        for features, case, text in self.refusals:
            for key in _blame(features, self.accepted):
                entry = groups.setdefault(key, {"feature": key, "cases": 0,
                                                "call": case.describe(), "error": text})
                entry["cases"] += 1
        return sorted(groups.values(), key=lambda e: (-e["cases"], e["feature"]))


def _blame(features: frozenset, accepted: set, largest: int = 3) -> list:
    """The smallest subsets of ``features`` contained in no accepted feature set.

    A backend that runs causal cases and masked cases but refuses a causal masked one is
    blamed for "causal + mask"; a refused case whose features all occur together in an
    accepted one is reported as refused despite supported features (an input-dependent
    failure, e.g. a size the backend mishandles).
    """
    if not features:
        return ["the plain domain (no optional feature)"]
    if any(features <= seen for seen in accepted):
        return ["inputs whose features are otherwise supported: " + " + ".join(sorted(features))]
    for size in range(1, min(largest, len(features)) + 1):
        found = [" + ".join(group) for group in itertools.combinations(sorted(features), size)
                 if not any(set(group) <= seen for seen in accepted)]
        if found:
            return found
    return [" + ".join(sorted(features))]


# -- the value aspect ----------------------------------------------------------------------------

def _expected_or_reject(op: Op, case, dt):
    """refimpl's outputs on ``case``; below float64, cases that rounding made invalid
    (a weight underflowed to 0) or whose exact result the dtype cannot represent are
    rejected (Hypothesis draws another)."""
    try:
        expected = op.expected(case)
    except DOCUMENTED_ERRORS:
        if dt == np.float64:
            raise
        expected = None
    top = np.finfo(dt).max
    if expected is None or any(np.abs(e).max(initial=0.0) > top for e in expected):
        from hypothesis import reject
        reject()
    return expected


def _value_case(run: _Run, case64):
    """Judge one valid case: pass, fail, or refused (unsupported); return the failure."""
    failure = _value_outcome(run, case64)
    if failure is not None:
        run.tallies["value"].add_failure(failure)
    return failure


def _value_outcome(run: _Run, case64):
    op, fn, dt = run.op, run.fn, run.dt
    case = case64.cast(dt)
    expected = _expected_or_reject(op, case, dt)
    run.tick("value")
    before = {k: np.array(v, copy=True) for k, v in case.arrays().items()}
    try:
        result = call_quietly(fn, case)
    except Exception as exc:
        run.refuse("value", case, exc)
        return None
    changed = [k for k, v in case.arrays().items()
               if k in before and not np.array_equal(before[k], v, equal_nan=True)]
    if changed:
        d = _fail(op, "value", "inputs unchanged", case, dt,
                  f"modified its input(s) {', '.join(changed)} in place")
        return _Failure(d, case, expected, outputs=op.outputs)
    try:
        got = op.to_outputs(result)
    except Exception as exc:
        d = _fail(op, "value", "", case, dt, f"returned {_describe_result(result)}, which "
                  f"cannot be read as {op.outputs}: {exc}")
        return _Failure(d, case, expected, outputs=op.outputs)
    run.accept(case)
    return _compare_outputs(run, case, expected, got)


def _compare_outputs(run: _Run, case, expected, got):
    op, dt = run.op, run.dt
    bounds = op.bounds(case, expected)
    baseline = None
    if op.naive is not None and dt != np.float64:
        with np.errstate(all="ignore"):
            baseline = op.naive(case, dt)
    tols, worst = [], None
    for i, (name, want, g, bound) in enumerate(zip(op.outputs, expected, got, bounds)):
        a = np.asarray(g)
        problem = None
        if a.shape != want.shape:
            problem = f"{name} has shape {a.shape}, but should be {want.shape}"
        elif a.dtype.kind not in "biuf":
            problem = f"{name} has dtype {a.dtype}, but should be real"
        elif a.dtype.kind == "f" and np.finfo(a.dtype).eps > np.finfo(dt).eps:
            problem = f"{name} has dtype {a.dtype}, narrower than the {dt.name} certified"
        if problem:
            d = _fail(op, "value", "", case, dt, problem, output=name)
            return _Failure(d, case, expected, got, outputs=op.outputs)
        tol = (np.zeros(want.shape) if op.bound is None else tolerances.harness_tolerance(
            want, dtype=dt, bound=bound, baseline=None if baseline is None else baseline[i]))
        tols.append(tol)
        found = measure(a, want, tol, dtype=dt)
        _steer(found.ratio, name)
        if worst is None or found.ratio > worst[1].ratio:
            worst = (name, found, i)
    name, found, i = worst
    record = _fail(op, "value", "", case, dt, found.describe(name), output=name,
                   rule=_rule(op, dt), **_fields(found))
    if not found.n_failed:
        run.tallies["value"].add_pass(found.ratio, record)
        return None
    if baseline is not None:
        err = float(np.abs(np.asarray(baseline[i], np.float64) - expected[i]).max(initial=0))
        record.message += f"; the naive {dt.name} computation errs by {err:.3e}"
    return _Failure(record, case, expected, got, tols, op.outputs, found.ratio)


def _steer(ratio: float, name: str) -> None:
    """Tell Hypothesis how close this case came to failing (targeted search, Phase.target)."""
    from hypothesis import target

    target(ratio if math.isfinite(ratio) else 1e300, label=f"|error| / tolerance of {name}")


# -- the invariant aspect ------------------------------------------------------------------------

def _invariant_case(run: _Run, case64):
    op, dt = run.op, run.dt
    case = case64.cast(dt)
    _expected_or_reject(op, case, dt)
    ctx = Ctx(op, run.fn, dt, on_accept=run.accept)
    run.tick("invariant")
    tally = run.tallies["invariant"]
    try:
        ctx.run(case)
    except BackendRaised as raised:
        run.refuse("invariant", raised.case, raised.exc)
        return None
    except Unreadable:
        return None  # the value aspect reports it
    worst = None
    for invariant in op.invariants:
        try:
            problem = invariant.check(ctx, case)
        except BackendRaised as raised:
            run.refuse("invariant", raised.case, raised.exc)
            continue
        except Unreadable as bad:
            problem = Problem(invariant.label, bad.case, f"returned a result that cannot be "
                              f"read as {op.outputs}: {bad}")
        if problem is None:
            tally.add_pass()
            continue
        failure = _problem_failure(op, "invariant", problem, dt)
        tally.add_failure(failure)
        if worst is None or failure.ratio > worst.ratio:
            worst = failure
    return worst


def _problem_failure(op, check, problem: Problem, dt) -> _Failure:
    fields, message, ratio = {}, problem.message, math.inf
    if problem.got is not None:
        found = measure(problem.got, problem.want, problem.tol, dtype=dt)
        if found.n_failed:
            fields, ratio = _fields(found), found.ratio
            message = (message + " " if message else "") + found.describe(problem.output)
    d = _fail(op, check, problem.label, problem.case, dt, message or "failed",
              output=problem.output, **fields)
    if problem.got is None:
        return _Failure(d, problem.case, outputs=op.outputs, ratio=ratio)
    outputs = (problem.output or "out",)
    return _Failure(d, problem.case, (problem.want,), (problem.got,), (problem.tol,), outputs,
                    ratio)


# -- invalid inputs: non-finite, undefined, the error contract ----------------------------------

def _invalid_case(run: _Run, case64):
    """Judge every invalid variant of one case; return the worst failure, if any."""
    op, fn, dt = run.op, run.fn, run.dt
    checker = op.checker or op.reference
    case = case64.cast(dt)
    run.tick("invalid inputs")
    worst = None
    for row in op.errors(case):
        label, bad, kind = row[0], row[1].cast(dt), error_kind(row)
        try:
            call_quietly(checker, bad.float64())
        except DOCUMENTED_ERRORS:
            pass
        else:
            continue  # refimpl accepts this variant (e.g. after rounding): not an error case
        raised = result = None
        try:
            result = call_quietly(fn, bad)
        except Exception as exc:
            raised = exc
        for failure in _judge_invalid(run, label, bad, kind, raised, result):
            if worst is None or failure.ratio > worst.ratio:
                worst = failure
    return worst


def _judge_invalid(run: _Run, label, bad, kind, raised, result) -> list:
    op, dt = run.op, run.dt
    documented = isinstance(raised, DOCUMENTED_ERRORS)
    answer = (type(raised).__name__ if raised is not None else
              "returned " + _describe_result(result).split(" of shape")[0])
    failures = []
    if kind == NON_FINITE:
        tally = run.tallies["non-finite"]
        problem = None if raised is not None else _propagation_problem(op, bad, result, dt)
        if problem is None:
            tally.passed += 1
            tally.note("refused" if raised is not None else "propagated")
        else:
            failures.append(_Failure(_fail(op, "non-finite", label, bad, dt, problem), bad,
                                     outputs=op.outputs))
            tally.add_failure(failures[-1])
    elif kind == UNDEFINED:
        outcome = _convention(raised, result, op)
        conventions = run.conventions.setdefault(label, {})
        conventions[outcome] = conventions.get(outcome, 0) + 1
    contract = run.tallies["error-contract"]
    contract.note(answer)
    if documented:
        contract.passed += 1
        return failures
    contract.deviated += 1
    if run.strict:
        if raised is not None:
            message = (f"raised {_exc_text(raised)}; refimpl's contract is ValueError or "
                       f"TypeError (strict)")
        else:
            message = (f"returned {_describe_result(result)} instead of raising ValueError "
                       f"(strict)")
        failures.append(_Failure(_fail(op, "error-contract", label, bad, dt, message), bad,
                                 outputs=op.outputs))
        contract.add_failure(failures[-1])
    return failures


def _convention(raised, result, op) -> str:
    if raised is not None:
        return f"raises {type(raised).__name__}"
    try:
        outs = [np.asarray(o, dtype=np.float64) for o in op.to_outputs(result)]
    except Exception:
        return f"returns {_describe_result(result)}"
    if any(np.isnan(o).any() for o in outs):
        return "returns NaN"
    if any(np.isinf(o).any() for o in outs):
        return "returns infinity"
    return "returns finite values (e.g. 0)"


def _finite_variants(bad):
    """Two copies of ``bad`` with every non-finite input entry set to 0.5 and to 1.25."""
    out = []
    for value in (0.5, 1.25):
        changes = {name: np.where(np.isfinite(a), a, value).astype(a.dtype)
                   for name, a in float_arrays(bad).items() if not np.all(np.isfinite(a))}
        out.append(bad.replace(**changes))
    return out


def _affected(op: Op, bad):
    """Per output, the entries that depend on the non-finite inputs of ``bad`` (those that
    change by more than rounding when the NaN/inf entries take two finite values), or
    None when refimpl refuses both finite variants."""
    try:
        (a, b) = _finite_variants(bad)
        ea, eb = op.expected(a), op.expected(b)
        ba, bb = op.bounds(a, ea), op.bounds(b, eb)
    except Exception:
        return None
    return [np.abs(x - y) > (s + t) for x, y, s, t in zip(ea, eb, ba, bb)]


def _propagation_problem(op: Op, bad, result, dt) -> str | None:
    """Why the backend's answer to a NaN/inf input hides it, or None if it is honest."""
    try:
        outs = [np.asarray(o, dtype=np.float64) for o in op.to_outputs(result)]
    except Exception as exc:
        return f"returned {_describe_result(result)}, which cannot be read: {exc}"
    affected = _affected(op, bad)
    if affected is not None and not any(need.any() for need in affected):
        return None  # no output depends on the non-finite entries (a masked key, ...)
    if not any(np.isnan(a).any() for a in float_arrays(bad).values()):
        return _limit_problem(op, bad, outs)
    if all(np.isfinite(o).all() for o in outs):
        return (f"returned {_describe_result(result)}: only finite numbers, computed from "
                f"a NaN input (refuse it, or let it propagate)")
    if affected is None:
        return None
    for name, out, need in zip(op.outputs, outs, affected):
        if out.shape != need.shape:
            return f"{name} has shape {out.shape}, but should be {need.shape}"
        hidden = need & np.isfinite(out)
        if hidden.any():
            index = tuple(int(i) for i in np.argwhere(hidden)[0])
            return (f"{name}[{', '.join(map(str, index))}] = {out[index]!r} is finite, but it "
                    f"depends on the NaN input; {int(hidden.sum())} of {int(need.sum())} "
                    f"dependent elements are finite")
    return None


def _limit_problem(op: Op, bad, outs) -> str | None:
    """An infinite input may have finite limits (``exp(-inf) = 0``): finite outputs must
    then be the limit, i.e. refimpl's result with each infinity replaced by a large finite
    number of its sign (``LIMIT`` times the largest finite input). Outputs that refimpl
    cannot evaluate there (it refuses the overflow) are not judged."""
    if not all(np.isfinite(o).all() for o in outs):
        return None
    arrays = float_arrays(bad)
    top = max([1.0] + [float(np.abs(a[np.isfinite(a)]).max(initial=0.0))
                       for a in arrays.values()])
    near = bad.float64().replace(**{
        name: np.where(np.isinf(a), np.sign(a) * LIMIT * top, a)
        for name, a in arrays.items() if np.isinf(a).any()})
    try:
        expected = op.expected(near)
        bounds = op.bounds(near, expected)
    except Exception:
        return None
    for name, out, want, bound in zip(op.outputs, outs, expected, bounds):
        if out.shape != want.shape:
            return f"{name} has shape {out.shape}, but should be {want.shape}"
        tol = tolerances.HARNESS_FLOAT64_FACTOR * bound + tolerances.dtype_spacing(
            np.abs(want).max(initial=0.0), np.float64) * tolerances.HARNESS_ULPS
        found = measure(out, want, tol)
        if found.n_failed:
            return (f"returned only finite numbers for an infinite input, and they are not "
                    f"its limit: {found.describe(name)} (the limit: refimpl with each "
                    f"infinity replaced by +-{LIMIT:g} x the largest finite input)")
    return None


#: Infinities become this many times the largest finite input when their limit is taken.
LIMIT = 1e6


# -- running an aspect with Hypothesis -----------------------------------------------------------

def _settings(max_examples: int, shrink: bool):
    from hypothesis import HealthCheck, Phase, settings

    phases = [Phase.explicit, Phase.generate, Phase.target] + ([Phase.shrink] if shrink else [])
    return settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                    print_blob=True, phases=phases, report_multiple_bugs=False,
                    suppress_health_check=list(HealthCheck))


class _Shrunk(Exception):
    """Raised by a body in shrink mode so that Hypothesis shrinks the failing case."""


def _drive(run: _Run, judge, n: int, shrink: bool) -> None:
    """Judge ``n`` generated cases (after the curated ones), recording into ``run``.

    Without ``shrink`` no case raises, so every case is counted. With ``shrink`` the first
    failure stops the search and Hypothesis shrinks it; the minimal case is reported.
    """
    from hypothesis import example, given
    from hypothesis.errors import Unsatisfiable

    state = {"shrinking": False}

    def body(case):
        if not state["shrinking"]:
            if judge(run, case) is not None and shrink:
                state["shrinking"] = True
                raise _Shrunk()
            return
        failure = _quiet_judge(run, judge, case)
        if failure is not None:
            tally = run.tallies[failure.discrepancy.check]
            tally.failure, tally.worst = failure, failure.discrepancy
            raise _Shrunk()

    for case in reversed(list(run.op.examples())):
        body = example(case)(body)
    search = _settings(n, shrink)(given(run.op.all_cases())(body))
    try:
        with few_shapes(run.few):
            search()
    except _Shrunk:
        pass
    except Unsatisfiable:
        raise RuntimeError("no valid case could be generated (every case was refused by "
                           "refimpl after rounding to this dtype)") from None


def _quiet_judge(run: _Run, judge, case):
    """Judge a case while Hypothesis shrinks it, leaving the counts as they were."""
    saved = copy.deepcopy((run.tallies, run.refusals, run.accepted, run.conventions, run.cases))
    progress, run.progress = run.progress, None
    try:
        return judge(run, case)
    finally:
        run.tallies, run.refusals, run.accepted, run.conventions, run.cases = saved
        run.progress = progress


def _statistical(run: _Run) -> None:
    from ._ops_stochastic import on_calls

    op, dt = run.op, run.dt
    run.tick("value")
    try:
        with on_calls(lambda: run.tick("value (statistical)")):
            problem = op.statistical(run.fn, dt)
    except Exception as exc:
        run.tallies["value"].refused += 1
        run.refusals.append((frozenset(), _NoCase(op.name), _exc_text(exc)))
        return
    if problem is None:
        run.tallies["value"].add_pass()
    else:
        run.tallies["value"].add_failure(_problem_failure(op, "value", problem, dt))


class _NoCase:
    """Stands for the many calls of a statistical check in the list of refusals."""

    def __init__(self, name):
        self.name = name

    def describe(self):
        return f"{self.name}(...) (the statistical check's draws)"


def _run_aspects(run: _Run, max_examples: int, shrink: bool, aspects=ASPECTS,
                 skip_statistical=False) -> None:
    op = run.op
    if "value" in aspects:
        if op.statistical is not None:
            if not skip_statistical:
                _statistical(run)
        elif op.value:
            _drive(run, _value_case, max_examples, shrink)
    if "invariant" in aspects and op.invariants:
        _drive(run, _invariant_case, max_examples, shrink)
    if {"non-finite", "error-contract"} & set(aspects):
        _drive(run, _invalid_case, max(5, max_examples // 4), shrink)


def check_op(op: Op, fn, check: str, *, dtype="float64", max_examples=100, shrink=False,
             replay_dir=None, strict=False):
    """Run one aspect of one op; return ``(status, worst failure or None, cases judged)``.

    ``check`` is an aspect (``"value"``, ``"invariant"``, ``"non-finite"``,
    ``"error-contract"``). ``status`` is ``"pass"``, ``"FAIL"``, ``"not required"`` (the
    error contract differs, without ``strict``) or ``"-"`` (nothing to check). A replay
    file is written into ``replay_dir`` on failure.
    """
    if check not in ASPECTS:
        raise ValueError(f"check must be one of {', '.join(ASPECTS)}; got {check!r}")
    run = _Run(op, fn, dtype, strict)
    _run_aspects(run, max_examples, shrink, aspects=(check,))
    tally = run.tallies[check]
    status = tally.status(strict)
    if check == "value" and status == "pass" and tally.passed == 0:
        status = "-"
    found = None
    if tally.failure is not None:
        found = _finish(tally.failure, replay_dir)
    return status, found, tally.judged


def _finish(failure: _Failure, replay_dir) -> Discrepancy:
    d = failure.discrepancy
    d.reproduce = ("derandomised: the same certify call replays this case; the replay file "
                   "holds its inputs")
    if replay_dir is not None and failure.case is not None and hasattr(failure.case, "arrays"):
        d.replay = write_replay(replay_dir, d, failure.case, failure.expected,
                                failure.obtained, failure.tolerance, failure.outputs)
    return d


# -- certify ---------------------------------------------------------------------------------------

def resolve_backend(spec):
    """A backend object and its name from a module, an object or ``"MODULE[:ATTR]"``.

    ``MODULE`` may be a dotted module name (imported with the current directory on
    ``sys.path``, as ``python -m`` does) or the path of a ``.py`` file. A shipped
    adapter whose framework is missing raises ImportError naming the package to install.
    """
    if not isinstance(spec, str):
        return spec, getattr(spec, "__name__", type(spec).__name__)
    module_name, _, attribute = spec.partition(":")
    if module_name.endswith(".py") or os.sep in module_name:
        path = os.path.abspath(module_name)
        name = os.path.splitext(os.path.basename(path))[0]
        loader = importlib.util.spec_from_file_location(name, path)
        if loader is None:
            raise ImportError(f"cannot import {spec!r}: no such Python file")
        module = importlib.util.module_from_spec(loader)
        sys.modules.setdefault(name, module)
        loader.loader.exec_module(module)
    else:
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())
        module = importlib.import_module(module_name)
    obj = module
    for part in filter(None, attribute.split(".")):
        obj = getattr(obj, part)
    return obj, spec


def _lookup(backend, name):
    fn = backend.get(name) if isinstance(backend, Mapping) else getattr(backend, name, None)
    return fn if callable(fn) else None


def _check_options(dtype, max_examples, strict):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dtype is None or dt is None or dt.name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    if isinstance(max_examples, bool) or not isinstance(max_examples, (int, np.integer)) \
            or max_examples < 1:
        raise ValueError(f"max_examples must be a positive int; got {max_examples!r}")
    if not isinstance(strict, bool):
        raise TypeError(f"strict must be True or False; got {strict!r}")
    return dt


def certify(backend, *, functions=None, max_examples=100, dtype="float64", replay_dir=None,
            shrink=False, strict=False, progress=None, shapes="auto",
            skip_statistical=False, statistical_budget=None) -> Report:
    r"""Certify a backend against refimpl: one verdict per public name it provides.

    Parameters
    ----------
    backend : module, object, mapping or str
        Anything exposing some of refimpl's public names with the same arguments (NumPy
        arrays in, array-likes out): a module, an object, a dict, or ``"MODULE[:ATTR]"``.
        Mask classes (``ToeplitzMask``, ...) are constructed with refimpl's arguments
        and checked through ``mask @ X``.
    functions : iterable of str, optional
        Only these names (default: every name of the op table).
    max_examples : int
        Generated cases per aspect (value, invariant; a quarter of them, at least 5, for
        invalid inputs), after the curated cases.
    dtype : {"float64", "float32", "float16"}
        Inputs are rounded to this dtype and passed as arrays of it. float64: the
        eps x condition bounds; lower precision: the baseline rule (``docs/tolerances.md``).
    replay_dir : str or path, optional
        Where to write a replay ``.npz`` per failing aspect (default: a new temporary
        directory, created on the first failure).
    shrink : bool
        Stop each aspect at its first failure and let Hypothesis shrink it to a minimal
        case (slower; the counts then stop at that case).
    strict : bool
        Also require refimpl's own error contract (``ValueError``/``TypeError`` on every
        invalid input, NaN included) and fail on any unsupported input feature.
    progress : callable or bool, optional
        ``progress(name, aspect, cases, seconds)`` after each case; ``True`` prints a live
        line on standard error.
    shapes : {"auto", "few", "many"}
        ``"few"``: sizes from 1, 2, 3, 5 and three batch shapes only, so that a backend
        that compiles per shape (JAX, Flax, XLA) compiles a few dozen times; ``"many"``:
        every size; ``"auto"``: what the backend asks for in its attribute
        ``REFIMPL_SHAPES`` (the shipped JAX and Flax adapters ask for ``"few"``), else
        ``"many"``.
    skip_statistical : bool
        Skip the statistical checks of the stochastic names (their law): those names are
        then "not certified" (their invariants still run), and the run takes seconds.
    statistical_budget : int, optional
        Backend calls per fixed case of each statistical check (default
        ``DEFAULT_CALLS`` = 1000; at least 30). More calls detect smaller biases: the
        smallest detected bias shrinks as ``1 / sqrt(calls)`` (``docs/certify.md``).

    Returns
    -------
    Report
        ``.passed``, ``.reason``, ``[name]`` (a FunctionResult with per-aspect counts, the
        unsupported features and the conventions), ``.format()``, ``.write_json(path)``.

    Notes
    -----
    A name passes when no aspect failed and at least ``required_cases`` value cases
    were certified ("insufficient" otherwise). ``report.passed`` is True only when no
    provided name failed or was insufficient **and** at least one name was certified:
    a backend that provides nothing certifiable does not pass. Names the backend lacks
    are "not provided"; names refimpl cannot certify are "not certified", with the reason.
    Stochastic estimators are certified by their law: the backend's own draws (it gets
    the seeds ``rng = 0, 1, ...``) against exact expectations, or against refimpl's draws
    for the biased ones, at a false-failure rate of at most 1e-6 per run. The
    cases are generated by :mod:`refimpl.testing.strategies`, derandomised: the same call
    gives the same cases, so a failure reproduces by running it again.

    Examples
    --------
    >>> import refimpl.attention
    >>> from refimpl.testing import certify
    >>> report = certify(refimpl.attention, functions=["softmax_attention",
    ...                  "kernel_attention"], max_examples=5)
    >>> [(r.name, r.verdict) for r in report.results]
    [('softmax_attention', 'pass'), ('kernel_attention', 'pass')]
    """
    dt = _check_options(dtype, max_examples, strict)
    if not isinstance(skip_statistical, (bool, np.bool_)):
        raise TypeError(f"skip_statistical must be True or False, got {skip_statistical!r}")
    from ._ops_stochastic import DEFAULT_CALLS
    from ._ops_stochastic import statistical_budget as _budget

    budget = _budget(DEFAULT_CALLS if statistical_budget is None else statistical_budget)
    if shapes not in ("auto", "few", "many"):
        raise ValueError(f"shapes must be 'auto', 'few' or 'many'; got {shapes!r}")
    obj, name = resolve_backend(backend)
    if shapes == "auto":
        declared = obj.get("REFIMPL_SHAPES") if isinstance(obj, Mapping) else getattr(
            obj, "REFIMPL_SHAPES", None)
        shapes = declared if declared in ("few", "many") else "many"
    ops = all_ops()
    known = list(ops) + list(NOT_CERTIFIED)
    if isinstance(functions, str):
        functions = [functions]
    names = known if functions is None else list(functions)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"functions must be names refimpl certifies; unknown: {unknown}; "
                         f"known: {', '.join(known)}")
    replay = {"dir": None if replay_dir is None else os.fspath(replay_dir)}
    printer = _Progress() if progress is True else (progress or None)
    results = []
    with budget:
        for n in names:
            results.append(_certify_one(ops.get(n), n, _lookup(obj, n), dt,
                                        int(max_examples), shrink, strict, replay, printer,
                                        shapes == "few", bool(skip_statistical)))
            if isinstance(printer, _Progress):
                printer.done(results[-1])
    return Report(name, dt.name, int(max_examples), results, replay["dir"], strict=strict,
                  required=required_cases(int(max_examples)))


def _certify_one(op, name, fn, dt, max_examples, shrink, strict, replay, progress, few,
                 skip_statistical=False):
    if fn is None:
        return FunctionResult(name, "not provided")
    if op is None:
        return FunctionResult(name, "not certified", note=NOT_CERTIFIED[name])
    run = _Run(op, fn, dt, strict, progress, few)
    result = FunctionResult(name, "pass")
    try:
        _run_aspects(run, max_examples, shrink, skip_statistical=skip_statistical)
    except Exception as exc:
        result.verdict = "error"
        result.note += f"{type(exc).__name__}: {exc}\n" + "".join(
            traceback.format_exception(exc)[-3:])
    def make_dir():
        if replay["dir"] is None:
            replay["dir"] = tempfile.mkdtemp(prefix="refimpl-certify-")
        return replay["dir"]

    replay_dir = _LazyDir(make_dir)
    for aspect, tally in run.tallies.items():
        result.checks[aspect] = tally.status(strict)
        if tally.failure is not None:
            result.failures.append(_finish(tally.failure, replay_dir))
        result.aspects[aspect] = tally.to_dict()
    result.unsupported = run.unsupported()
    result.conventions = run.conventions
    result.checks["unsupported"] = ("FAIL" if strict and result.unsupported else
                                    "noted" if result.unsupported else "none")
    result.examples = run.cases
    result.certified = (run.tallies["value"].passed if op.value or op.statistical else
                        run.tallies["invariant"].passed)
    result.required = 1 if op.statistical is not None else required_cases(max_examples)
    if result.verdict != "error":
        if "FAIL" in result.checks.values():
            result.verdict = "FAIL"
        elif skip_statistical and op.statistical is not None:
            result.verdict = "not certified"
            result.note = ("its law was not tested (skip_statistical); only its invariants "
                           "ran")
        elif result.certified < result.required:
            result.verdict = "insufficient"
            result.note = (f"only {result.certified} value case(s) certified, "
                           f"{result.required} required: the backend refused the others")
    result.seconds = time.perf_counter() - run.start
    return result


class _LazyDir(os.PathLike):
    """A directory path created only when a replay file is written."""

    def __init__(self, make):
        self._make = make

    def __fspath__(self):
        return self._make()


class _Progress:
    """A live line on standard error: the name, the aspect, the cases done, the time."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.last = 0.0

    def __call__(self, name, aspect, cases, seconds):
        now = time.perf_counter()
        if now - self.last < 0.2:
            return
        self.last = now
        self.stream.write(f"\r\033[K  {name}: {aspect}, {cases} cases, {seconds:.1f} s")
        self.stream.flush()

    def done(self, result):
        if result.verdict in ("not provided",):
            return
        self.stream.write(f"\r\033[K  {result.name}: {result.verdict} ({result.examples} "
                          f"cases, {result.seconds:.1f} s)\n")
        self.stream.flush()
