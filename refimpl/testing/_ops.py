"""The op database of the harness: one record per public name a backend may provide.

Each :class:`Op` binds a public name to refimpl's callable of the same name (the
reference), a strategy of valid cases, the float64 error bound of the reference
(from :mod:`refimpl.tolerances`), an optional naive same-precision baseline, the invalid
inputs that must raise, and the invariants that need no oracle. The records live in
``_ops_*.py``, one module per family, and register themselves with :func:`register`.
"""

from __future__ import annotations

import dataclasses
import importlib
import warnings
from collections.abc import Callable

import numpy as np

from .. import tolerances
from ._case import Case

__all__ = ["NOT_CERTIFIED", "Ctx", "Invariant", "Op", "Problem", "all_ops", "case_features",
           "float_arrays", "layout_invariant", "register", "undefined"]

#: Modules whose import registers ops (imported by :func:`all_ops`).
OP_MODULES = ["refimpl.testing._ops_attention", "refimpl.testing._ops_masks",
              "refimpl.testing._ops_features", "refimpl.testing._ops_graphs",
              "refimpl.testing._ops_eigen", "refimpl.testing._ops_stochastic"]

#: Contract names the harness does not certify, with the reason shown in the report.
NOT_CERTIFIED = {
    "positive_features_mse": "a closed form of the Monte-Carlo estimator's error (Performer "
                          "Lemma 2), which refimpl verify checks against sampled variances; "
                          "backends implement the estimator, not its MSE",
    "trig_features_mse": "a closed form of the Monte-Carlo estimator's error (Performer "
                          "Lemma 2), which refimpl verify checks against sampled variances; "
                          "backends implement the estimator, not its MSE",
    "hyperbolic_features_mse": "a closed form of the Monte-Carlo estimator's error (Performer "
                          "Lemma 2), which refimpl verify checks against sampled variances; "
                          "backends implement the estimator, not its MSE",
    "nystrom": "eigenvectors are defined up to sign and rotation within clusters; compare "
               "spectra with refimpl verify instead",
    "neuralef_fit": "a stochastic training loop; certify neuralef_loss",
    "Eigenfunctions": "a result type, not an operation",
    "rbf_gaussian_eigen": "returns an Eigenfunctions object (a closed form, not a backend op)",
    "brownian_eigen": "returns an Eigenfunctions object (a closed form, not a backend op)",
    "brownian_bridge_eigen": "returns an Eigenfunctions object",
    "circle_eigen": "returns an Eigenfunctions object",
    "sphere_eigen": "returns an Eigenfunctions object",
}


@dataclasses.dataclass
class Problem:
    """A failed invariant or statistical check, before it becomes a Discrepancy."""

    label: str
    case: Case
    message: str = ""
    output: str | None = None
    got: np.ndarray | None = None
    want: np.ndarray | None = None
    tol: np.ndarray | None = None


class BackendRaised(Exception):
    """The backend raised on a valid input (wraps the original exception)."""

    def __init__(self, exc: BaseException, case: Case):
        super().__init__(f"{type(exc).__name__}: {exc}")
        self.exc, self.case = exc, case


class Unreadable(Exception):
    """The backend returned something that cannot be read as the op's outputs."""

    def __init__(self, exc: BaseException, case: Case):
        super().__init__(f"{type(exc).__name__}: {exc}")
        self.exc, self.case = exc, case


@dataclasses.dataclass(frozen=True)
class Invariant:
    """A property of the backend's own outputs that needs no oracle."""

    label: str
    check: Callable  # (ctx, case) -> Problem | None


@dataclasses.dataclass(frozen=True)
class Op:
    """One public name and everything the harness needs to certify it.

    Attributes
    ----------
    name : str
        The public name (a function, or a mask class checked through ``@ X``).
    family : str
    reference : callable
        refimpl's callable of that name.
    cases : callable
        ``cases()`` -> Hypothesis strategy of valid float64 :class:`Case` s.
    bound : callable or None
        ``bound(case64, expected)`` -> per-output float64 error bounds of the reference;
        None for exact results (graphs), compared for equality.
    naive : callable, optional
        ``naive(case, dtype)`` -> the outputs computed naively at ``dtype`` (the baseline
        of POLICY ``harness_baseline``); without it only the floor applies.
    outputs : tuple of str
    convert : callable
        Backend result -> tuple of float64 arrays (one per output).
    errors : callable
        ``errors(case)`` -> list of ``(label, invalid case)`` that must raise.
    invariants : tuple of Invariant
    value : bool
        Whether values are compared with the reference (False: invariants only).
    statistical : callable, optional
        ``statistical(fn, dtype)`` -> Problem or None: a check with a stated
        false-failure rate, run once (random draws a backend cannot reproduce).
    policy : str
        The POLICY key(s) of the bound, shown in reports.
    is_class : bool
        Checked as ``name(*args) @ X``.
    examples : callable
        ``examples()`` -> curated float64 cases run before the generated ones (the
        reference inputs of PyTorch's OpInfo): each hits a classic bug for sure, so a
        check does not depend on what a small number of generated cases happens to cover.
    plain : callable, optional
        ``plain()`` -> strategy of cases in the *plain domain* every backend of the name
        supports (no batch, no optional arguments, equal sizes where a library needs
        them); a third of the generated cases come from it, so a backend that refuses
        the optional features still gets a real value verdict.
    features : callable, optional
        ``features(case)`` -> set of labels of the optional input features the case uses
        (``"bias"``, ``"broadcast batch dimensions"``, ...), added to the generic ones of
        :func:`case_features`; a case the backend refuses is reported by its features.
    checker : callable, optional
        The refimpl callable whose errors define the invalid inputs (default
        ``reference``; the mask classes' reference is their dense oracle, which does not
        validate ``X``).
    """

    name: str
    family: str
    reference: Callable
    cases: Callable
    bound: Callable | None
    naive: Callable | None = None
    outputs: tuple = ("out",)
    convert: Callable | None = None
    errors: Callable = lambda case: []
    invariants: tuple = ()
    value: bool = True
    statistical: Callable | None = None
    policy: str = ""
    is_class: bool = False
    checker: Callable | None = None
    examples: Callable = lambda: []
    plain: Callable | None = None
    features: Callable | None = None

    def all_cases(self):
        """The strategy of valid cases: the plain domain one time in three, else ``cases()``."""
        if self.plain is None:
            return self.cases()
        from hypothesis import strategies as st

        full = self.cases()
        return st.one_of(self.plain(), full, full)

    def case_features(self, case: Case) -> frozenset:
        """The labels of the input features ``case`` uses (generic and op-specific)."""
        found = set(case_features(case))
        if self.features is not None:  # the op names its optional arguments itself
            found = {f for f in found if not f.startswith("argument ")}
            found |= set(self.features(case))
        return frozenset(found)

    def to_outputs(self, result) -> tuple:
        """The backend's result as a tuple of arrays (one per output)."""
        if self.convert is not None:
            return tuple(self.convert(result))
        return (np.asarray(result),)

    def expected(self, case: Case) -> tuple:
        """refimpl's float64 outputs on ``case`` (already rounded)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = case.float64().call(self.reference)
        return tuple(np.asarray(o, dtype=np.float64) for o in self.to_outputs(result))

    def bounds(self, case: Case, expected: tuple) -> tuple:
        """Per-output float64 bounds (zeros for exact ops)."""
        if self.bound is None:
            return tuple(np.zeros_like(e) for e in expected)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = self.bound(case.float64(), expected)
        return tuple(np.broadcast_to(np.asarray(b, dtype=np.float64), e.shape)
                     for b, e in zip(found, expected))


_OPS: dict[str, Op] = {}


def register(op: Op) -> Op:
    if op.name in _OPS:
        raise ValueError(f"an op named {op.name!r} is already registered")
    _OPS[op.name] = op
    return op


def all_ops() -> dict[str, Op]:
    """Every registered op, by name, after importing every module in ``OP_MODULES``."""
    for module in OP_MODULES:
        importlib.import_module(module)
    return dict(_OPS)


# -- evaluating a backend inside a check ----------------------------------------------------------

def call_quietly(fn, case: Case):
    """``case.call(fn)`` with warnings silenced: the harness judges results, not warnings
    (and a warnings filter set to "error" must not turn a NaN into a pass of an error check)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return case.call(fn)


class Ctx:
    """What an invariant sees: the backend's outputs and its error allowance on a case."""

    def __init__(self, op: Op, fn, dtype, on_accept=None):
        self.op, self.fn, self.dtype = op, fn, np.dtype(dtype)
        self.on_accept = on_accept
        self._memo: dict = {}

    def cast(self, case: Case) -> Case:
        return case.cast(self.dtype)

    def run(self, case: Case) -> tuple:
        """The backend's outputs (float64 arrays) on ``case`` (rounded to the dtype)."""
        try:
            result = call_quietly(self.fn, case)
        except Exception as exc:  # an unsupported input feature
            raise BackendRaised(exc, case) from exc
        if self.on_accept is not None:
            self.on_accept(case)
        try:
            return tuple(np.asarray(o, dtype=np.float64) for o in self.op.to_outputs(result))
        except Exception as exc:
            raise Unreadable(exc, case) from exc

    def allowance(self, case: Case) -> tuple:
        """The error each output of a correct backend may have on ``case``."""
        found = self._memo.get(id(case))
        if found is not None and found[0] is case:
            return found[1]
        expected = self.op.expected(case)
        allow = tuple(tolerances.harness_allowance(b, self.dtype, np.abs(e).max(initial=0.0))
                      for b, e in zip(self.op.bounds(case, expected), expected))
        self._memo[id(case)] = (case, allow)
        return allow

    def compare(self, label, case, got, want, tol) -> Problem | None:
        """A Problem for the first output where ``|got - want| > tol``, else None."""
        for name, g, w, t in zip(self.op.outputs, got, want, tol):
            g, w = np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64)
            if g.shape != w.shape:
                return Problem(label, case, f"{name} has shape {g.shape}, but the invariant "
                               f"needs {w.shape}", name)
            with np.errstate(invalid="ignore", over="ignore"):
                bad = ~(np.abs(g - w) <= t)
            if bad.any():
                return Problem(label, case, "", name, g, w, np.broadcast_to(t, w.shape))
        return None


def relation(label: str, transform, *, base_ok=None) -> Invariant:
    """The invariant ``run(new) == select(run(case))`` for each ``(new, select)`` of
    ``transform(case, rng)``, within ``select(allowance(case)) + allowance(new)``.

    ``select`` maps a tuple of outputs to the expected tuple (a permutation, an index,
    the identity); it is applied to the allowances as well, so it must only move entries.
    """

    def check(ctx: Ctx, case: Case):
        if base_ok is not None and not base_ok(case):
            return None
        pairs = transform(case, np.random.default_rng(case.seed))
        if not pairs:
            return None
        base, base_allow = ctx.run(case), ctx.allowance(case)
        for new, select in pairs:
            new = ctx.cast(new)
            got, allow = ctx.run(new), ctx.allowance(new)
            want = select(base)
            tol = tuple(np.abs(a) + b for a, b in zip(select(base_allow), allow))
            problem = ctx.compare(label, new, got, want, tol)
            if problem is not None:
                return problem
        return None

    return Invariant(label, check)


def identity(outputs):
    return outputs


def seed_invariants(what: str = "result", whats: str = "results") -> tuple:
    """The invariants of a seeded random name: the same ``rng`` gives the same ``what``;
    ``rng`` and ``rng + 1`` give different draws, unless refimpl's own output does not
    depend on the draws there (a single key, ...)."""
    label = "different seeds give different draws"

    def check(ctx, case):
        first = ctx.run(case)[0]
        other = ctx.run(case.replace(rng=case["rng"] + 1))[0]
        if first.shape != other.shape or not np.array_equal(first, other):
            return None
        ours = [np.asarray(ctx.op.to_outputs(call_quietly(ctx.op.reference, c))[0])
                for c in (case.float64(), case.float64().replace(rng=case["rng"] + 1))]
        if np.array_equal(*ours):
            return None
        return Problem(label, case, f"seeds rng and rng + 1 gave identical {whats}")

    return (relation(f"same seed, same {what}", lambda case, rng: [(case, identity)]),
            Invariant(label, check))


def _fortran(case: Case, rng):
    """The same case with every array of two or more dimensions in column-major order."""
    changes = {k: np.asfortranarray(v) for k, v in case.values().items()
               if isinstance(v, np.ndarray) and v.ndim >= 2}
    return [(case.replace(**changes), identity)] if changes else []


#: Compiled kernels that read a buffer assuming C order get column-major inputs wrong.
layout_invariant = relation(
    "inputs in column-major (Fortran) memory order give the same result", _fortran)


def take(perm, axis):
    """A selector permuting every output along ``axis``."""
    return lambda outputs: tuple(np.take(o, perm, axis=axis) for o in outputs)


# -- input features (what a backend may legitimately not support) -------------------------------

def case_features(case: Case) -> set:
    """Generic feature labels of a case: keyword arguments given, memory order, vectors."""
    found = {f"argument {k}" for k, v in case.kwargs.items()
             if k != "rng" and v is not None and v is not False}
    for value in case.values().values():
        if isinstance(value, np.ndarray):
            if value.ndim >= 2 and value.flags.f_contiguous and not value.flags.c_contiguous:
                found.add("column-major arrays")
            if value.size and 0 in value.shape[-2:]:
                found.add("empty axes")
    if case.operand is not None and np.ndim(case.operand) == 1:
        found.add("a vector operand X")
    return found


# -- building invalid inputs ------------------------------------------------------------------

#: Kinds of invalid input (the third entry of an ``errors`` row; see :func:`undefined`).
NON_FINITE, UNDEFINED, CONTRACT = "non-finite", "undefined", "contract"


def undefined(label: str, case: Case) -> tuple:
    """An ``errors`` row whose result is mathematically undefined (a fully masked row):
    a backend may raise, return NaN or follow a documented convention (PyTorch returns 0);
    the harness reports the convention and requires refimpl's error only under ``strict``."""
    return (label, case, UNDEFINED)


def error_kind(row) -> str:
    """The kind of an ``errors`` row: given, or non-finite when an input holds NaN/inf."""
    if len(row) == 3:
        return row[2]
    return NON_FINITE if has_non_finite(row[1]) else CONTRACT


def float_arrays(case: Case) -> dict:
    """The floating-point array arguments of ``case``, by name."""
    return {name: value for name, value in case.values().items()
            if isinstance(value, np.ndarray) and value.dtype.kind == "f"}


def has_non_finite(case: Case) -> bool:
    """Whether any floating-point input of ``case`` is NaN or infinite."""
    if any(not np.all(np.isfinite(a)) for a in float_arrays(case).values()):
        return True
    return any(isinstance(v, float) and not np.isfinite(v) for v in case.values().values())


def poisoned(case: Case, name: str, value=np.nan) -> Case:
    """``case`` with the middle entry of argument ``name`` set to ``value`` (NaN, inf)."""
    a = np.array(case[name], dtype=np.result_type(case[name], np.float16))
    a[tuple(n // 2 for n in a.shape)] = value
    return case.replace(**{name: a})


def grown(case: Case, name: str, axis: int) -> Case:
    """``case`` with argument ``name`` one longer along ``axis`` (a wrong shape)."""
    a = np.asarray(case[name])
    extra = np.take(a, [0], axis=axis)
    return case.replace(**{name: np.concatenate([a, extra], axis=axis)})


# -- batches -----------------------------------------------------------------------------------

def batch_pairs(case: Case, core: dict, limit: int = 3) -> list:
    """Sub-cases at a few indices of the broadcast batch, with the matching selector.

    ``core`` maps argument names to their number of core (non-batch) dimensions.
    """
    present = {k: np.asarray(case[k]) for k in core if case[k] is not None}
    batches = {k: a.shape[: a.ndim - core[k]] for k, a in present.items()}
    full = np.broadcast_shapes(*batches.values()) if batches else ()
    if not full:
        return []
    indices = list(np.ndindex(full))
    picks = [indices[0], indices[-1], indices[len(indices) // 2]][:limit]
    pairs = []
    for idx in dict.fromkeys(picks):
        changes = {}
        for k, a in present.items():
            b = batches[k]
            own = idx[len(idx) - len(b):] if b else ()
            changes[k] = a[tuple(i if n > 1 else 0 for i, n in zip(own, b))]
        pairs.append((case.replace(**changes),
                      lambda outputs, idx=idx: tuple(o[idx] for o in outputs)))
    return pairs
