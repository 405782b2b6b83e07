"""``certify``: check a backend's functions against refimpl on generated inputs.

For every public name the backend provides, three checks run on Hypothesis-generated
cases (derandomised, so a run is reproducible):

* **value**: the backend's output against refimpl's float64 output on the same inputs
  (rounded to the target dtype first), within the tolerance of
  :func:`refimpl.tolerances.harness_tolerance`; also its shape and dtype, and that it
  left its inputs unchanged;
* **invalid-input**: NaN or infinite entries, wrong shapes, fully masked rows and the
  other documented errors must raise ``ValueError`` or ``TypeError`` (an adapter for a
  framework translates its own errors);
* **invariant**: properties of the backend's own outputs that need no oracle
  (permutation equivariance, row-scale and shift invariance, constant values,
  batch-equals-loop, linearity of mask products, ...).

Each failure is reported with the call as code, the worst element, and a replay ``.npz``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping

import numpy as np

from .. import tolerances
from ._compare import mismatch
from ._ops import NOT_CERTIFIED, BackendRaised, Ctx, Op, Problem, all_ops, call_quietly
from ._report import Discrepancy, FunctionResult, Report, write_replay

__all__ = ["certify", "check_op", "resolve_backend"]

DTYPES = ("float64", "float32", "float16")
#: The documented error classes (CONTRACT.md: ValueError, or TypeError for a wrong type).
DOCUMENTED_ERRORS = (ValueError, TypeError)


class _Failure(Exception):
    """A failed check, carrying what the report and the replay file need."""

    def __init__(self, discrepancy, case, expected=None, obtained=None, tolerance=None,
                 outputs=("out",)):
        super().__init__(discrepancy.message)
        self.discrepancy, self.case = discrepancy, case
        self.expected, self.obtained, self.tolerance = expected, obtained, tolerance
        self.outputs = outputs


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


# -- the three checks, one case at a time ----------------------------------------------------------

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


def _value_body(op: Op, fn, dt):
    def body(case64):
        case = case64.cast(dt)
        expected = _expected_or_reject(op, case, dt)
        before = {k: np.array(v, copy=True) for k, v in case.arrays().items()}
        try:
            result = call_quietly(fn, case)
        except Exception as exc:
            d = _fail(op, "value", "", case, dt, f"raised {type(exc).__name__}: {exc} on a "
                      f"valid input")
            raise _Failure(d, case, expected, outputs=op.outputs) from None
        changed = [k for k, v in case.arrays().items()
                   if k in before and not np.array_equal(before[k], v, equal_nan=True)]
        if changed:
            d = _fail(op, "value", "inputs unchanged", case, dt,
                      f"modified its input(s) {', '.join(changed)} in place")
            raise _Failure(d, case, expected, outputs=op.outputs)
        try:
            got = op.to_outputs(result)
        except Exception as exc:
            d = _fail(op, "value", "", case, dt, f"returned {_describe_result(result)}, which "
                      f"cannot be read as {op.outputs}: {exc}")
            raise _Failure(d, case, expected, outputs=op.outputs) from None
        _compare_outputs(op, case, dt, expected, got)
        return None
    return body


def _compare_outputs(op: Op, case, dt, expected, got):
    bounds = op.bounds(case, expected)
    baseline = None
    if op.naive is not None and dt != np.float64:
        with np.errstate(all="ignore"):
            baseline = op.naive(case, dt)
    tols = []
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
            raise _Failure(d, case, expected, got, outputs=op.outputs)
        tol = (np.zeros(want.shape) if op.bound is None else tolerances.harness_tolerance(
            want, dtype=dt, bound=bound, baseline=None if baseline is None else baseline[i]))
        tols.append(tol)
        _steer(a, want, tol, name)
        found = mismatch(a, want, tol, dtype=dt)
        if found is not None:
            extra = ""
            if baseline is not None:
                err = float(np.abs(np.asarray(baseline[i], np.float64) - want).max(initial=0))
                extra = f"; the naive {dt.name} computation errs by {err:.3e}"
            d = _fail(op, "value", "", case, dt, found.describe(name) + extra, output=name,
                      rule=_rule(op, dt), **_fields(found))
            raise _Failure(d, case, expected, got, tols, op.outputs)


def _steer(actual, want, tol, name) -> None:
    """Tell Hypothesis how close this case came to failing (targeted search, Phase.target)."""
    from hypothesis import target

    with np.errstate(all="ignore"):
        ratio = np.where(tol > 0, np.abs(np.asarray(actual, np.float64) - want) / tol, 0.0)
    worst = float(np.nan_to_num(ratio, nan=0.0, posinf=0.0).max(initial=0.0))
    target(worst, label=f"|error| / tolerance of {name}")


def _fields(found) -> dict:
    return {k: getattr(found, k) for k in ("index", "got", "want", "abs_error", "rel_error",
                                            "ulp_error", "tolerance", "n_failed", "n_total")}


def _error_body(op: Op, fn, dt):
    checker = op.checker or op.reference

    def body(case64):
        case = case64.cast(dt)
        for label, bad in op.errors(case):
            bad = bad.cast(dt)
            try:
                call_quietly(checker, bad.float64())
            except DOCUMENTED_ERRORS:
                pass
            else:
                continue  # refimpl accepts this variant (e.g. after rounding): not an error case
            try:
                result = call_quietly(fn, bad)
            except DOCUMENTED_ERRORS:
                continue
            except Exception as exc:
                message = (f"raised {type(exc).__name__}: {exc}; the documented error is "
                           f"ValueError or TypeError (an adapter should translate)")
            else:
                message = f"returned {_describe_result(result)} instead of raising ValueError"
            raise _Failure(_fail(op, "invalid-input", label, bad, dt, message), bad,
                           outputs=op.outputs)
        return None
    return body


def _invariant_body(op: Op, fn, dt):
    ctx = Ctx(op, fn, dt)

    def body(case64):
        case = case64.cast(dt)
        _expected_or_reject(op, case, dt)
        ctx.reset()
        for invariant in op.invariants:
            try:
                problem = invariant.check(ctx, case)
            except BackendRaised as raised:
                problem = Problem(invariant.label, raised.case,
                                  f"raised {raised} on a valid input")
            if problem is not None:
                raise _problem_failure(op, "invariant", problem, dt)
        return None
    return body


def _problem_failure(op, check, problem: Problem, dt) -> _Failure:
    fields, message = {}, problem.message
    if problem.got is not None:
        found = mismatch(problem.got, problem.want, problem.tol, dtype=dt)
        if found is not None:
            fields = _fields(found)
            message = (message + " " if message else "") + found.describe(problem.output)
    d = _fail(op, check, problem.label, problem.case, dt, message or "failed",
              output=problem.output, **fields)
    if problem.got is None:
        return _Failure(d, problem.case, outputs=op.outputs)
    outputs = (problem.output or "out",)
    return _Failure(d, problem.case, (problem.want,), (problem.got,), (problem.tol,), outputs)


# -- running a check with Hypothesis ---------------------------------------------------------------

def _settings(max_examples: int, shrink: bool):
    from hypothesis import HealthCheck, Phase, settings

    phases = [Phase.explicit, Phase.generate, Phase.target] + ([Phase.shrink] if shrink else [])
    return settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                    print_blob=True, phases=phases, report_multiple_bugs=False,
                    suppress_health_check=list(HealthCheck))


def _search(strategy, body, max_examples: int, shrink: bool, examples=()):
    """Run ``body`` on the curated ``examples``, then on generated cases; return
    (failure or None, cases run, note)."""
    from hypothesis import example, given
    from hypothesis.errors import Flaky, Unsatisfiable

    count, seen = [0], []

    def search(case):
        count[0] += 1
        try:
            body(case)
        except _Failure as failure:
            seen.append(failure)
            raise

    for case in reversed(list(examples)):
        search = example(case)(search)
    search = _settings(max_examples, shrink)(given(strategy)(search))

    try:
        search()
    except _Failure as failure:
        return failure, count[0], _blob(failure)
    except Flaky as exc:
        note = ("flaky: the failing case passed when Hypothesis replayed it, so the backend's "
                "result depends on earlier calls (a cache or global state?)")
        return (seen[0] if seen else None), count[0], note + "\n" + _blob(exc)
    except Unsatisfiable:
        raise RuntimeError("no valid case could be generated (every case was refused by "
                           "refimpl after rounding to this dtype)") from None
    return None, count[0], ""


def _blob(exc) -> str:
    notes = getattr(exc, "__notes__", [])
    lines = [n.strip() for n in notes if "reproduce_failure" in n]
    if lines:
        return lines[0]
    return "a curated reference case (explicit example): fails on every run"


# -- certify ---------------------------------------------------------------------------------------

def check_op(op: Op, fn, check: str, *, dtype="float64", max_examples=100, shrink=False,
             replay_dir=None):
    """Run one check of one op; return ``(status, discrepancy or None, cases run)``.

    ``status`` is ``"pass"``, ``"FAIL"`` or ``"-"`` (no such check for this op). A replay
    file is written into ``replay_dir`` (created if needed) on failure.
    """
    dt = np.dtype(dtype)
    if check == "value" and op.statistical is not None:
        problem = op.statistical(fn, dt)
        if problem is None:
            return "pass", None, 1
        return "FAIL", _finish(_problem_failure(op, "value", problem, dt), "", replay_dir), 1
    bodies = {"value": (_value_body, op.value, max_examples),
              "invalid-input": (_error_body, True, max(5, max_examples // 4)),
              "invariant": (_invariant_body, bool(op.invariants), max_examples)}
    make, applies, n = bodies[check]
    if not applies:
        return "-", None, 0
    failure, count, note = _search(op.cases(), make(op, fn, dt), n, shrink, op.examples())
    if failure is None:
        return "pass", None, count
    return "FAIL", _finish(failure, note, replay_dir), count


def _finish(failure: _Failure, note: str, replay_dir) -> Discrepancy:
    d = failure.discrepancy
    d.reproduce = note
    if replay_dir is not None:
        d.replay = write_replay(replay_dir, d, failure.case, failure.expected,
                                failure.obtained, failure.tolerance, failure.outputs)
    return d


def resolve_backend(spec):
    """A backend object and its name from a module, an object or ``"MODULE[:ATTR]"``.

    ``MODULE`` may be a dotted module name (imported with the current directory on
    ``sys.path``, as ``python -m`` does) or the path of a ``.py`` file.
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


def certify(backend, *, functions=None, max_examples=100, dtype="float64", replay_dir=None,
            shrink=False) -> Report:
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
        Generated cases per check (value, invariant; a quarter of them, at least 5, for
        invalid inputs).
    dtype : {"float64", "float32", "float16"}
        Inputs are rounded to this dtype and passed as arrays of it. float64: the
        eps x condition bounds; lower precision: the baseline rule (``docs/tolerances.md``).
    replay_dir : str or path, optional
        Where to write a replay ``.npz`` per failure (default: a new temporary directory,
        created on the first failure).
    shrink : bool
        Let Hypothesis shrink a failing case to a minimal one (slower).

    Returns
    -------
    Report
        ``.passed`` (every provided name passed), ``[name]`` (a FunctionResult),
        ``.format()``, ``.write_json(path)``.

    Notes
    -----
    Names the backend lacks are reported as "not provided", not failed. Stochastic
    estimators (``rfa_attention``, ...) are reported as "not certified", with the reason.
    The cases are generated by :mod:`refimpl.testing.strategies`, derandomised: the same
    call gives the same cases, so a failure reproduces by running it again.

    Examples
    --------
    >>> import refimpl.attention
    >>> from refimpl.testing import certify
    >>> report = certify(refimpl.attention, functions=["softmax_attention",
    ...                  "kernel_attention"], max_examples=5)
    >>> [(r.name, r.verdict) for r in report.results]
    [('softmax_attention', 'pass'), ('kernel_attention', 'pass')]
    """
    dt = np.dtype(dtype)
    if dt.name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    obj, name = resolve_backend(backend)
    ops = all_ops()
    known = list(ops) + list(NOT_CERTIFIED)
    names = known if functions is None else list(functions)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"functions must be names refimpl certifies; unknown: {unknown}; "
                         f"known: {', '.join(known)}")
    replay = {"dir": None if replay_dir is None else os.fspath(replay_dir)}
    results = [_certify_one(ops.get(n), n, _lookup(obj, n), dt, max_examples, shrink, replay)
               for n in names]
    return Report(name, dt.name, int(max_examples), results, replay["dir"])


def _certify_one(op, name, fn, dt, max_examples, shrink, replay) -> FunctionResult:
    if fn is None:
        return FunctionResult(name, "not provided")
    if op is None:
        return FunctionResult(name, "not certified", note=NOT_CERTIFIED[name])
    start = time.perf_counter()
    result = FunctionResult(name, "pass")

    def replay_dir():
        if replay["dir"] is None:
            replay["dir"] = tempfile.mkdtemp(prefix="refimpl-certify-")
        return replay["dir"]

    for check in ("value", "invalid-input", "invariant"):
        try:
            status, found, count = check_op(op, fn, check, dtype=dt,
                                            max_examples=max_examples, shrink=shrink,
                                            replay_dir=_LazyDir(replay_dir))
        except Exception as exc:
            status, found, count = "error", None, 0
            result.note += (f"{check}: {type(exc).__name__}: {exc}\n"
                            + "".join(traceback.format_exception(exc)[-3:]))
        result.checks[check] = status
        result.examples += count
        if found is not None:
            result.failures.append(found)
    statuses = set(result.checks.values())
    result.verdict = "error" if "error" in statuses else "FAIL" if "FAIL" in statuses else "pass"
    result.seconds = time.perf_counter() - start
    return result


class _LazyDir(os.PathLike):
    """A directory path created only when a replay file is written."""

    def __init__(self, make):
        self._make = make

    def __fspath__(self):
        return self._make()
