"""Op records of the stochastic estimators: certified by their law.

A backend's random draws cannot match refimpl's, so these names are certified by what
their draws must satisfy on average. The backend is called ``n`` times on each of a few
fixed cases with the seeds ``rng = 0, 1, ..., n - 1`` (it never sees refimpl's samples),
and the mean of its outputs is tested entry by entry:

* **unbiased estimators** (``randomized_attention``, ``graph_random_features``,
  ``walk_frequency_features``, ``heat_kernel_action``, ``WalkMask``): a one-sample test of
  the mean against the exact expectation (softmax attention, ``sum_k alpha_k W^k``, the
  walk-frequency mean, ``exp(tW) x``, ``T_K(lam W / 2) T_K(lam W / 2)^T X``), each computed
  here from its definition with dense matrices, the standard error estimated from the
  same draws;
* **consistent but biased estimators** (``rfa_attention``, ``lara_attention``): a
  two-sample test of the backend's mean against the mean of refimpl's own draws at the
  same settings (seeds ``10**6 + i``), which needs no closed form for the bias;
* the sampler ``gaussian_omega`` keeps its moment checks (:mod:`._ops_features`).

Rates (POLICY ``["harness_statistical"]``): a run's false-failure rate is at most
``HARNESS_FALSE_FAILURE_RATE`` = 1e-6, split evenly over the statistical names and, within
a name, Bonferroni over every entry tested; each entry's statistic is Student's t with
``n - 1`` degrees of freedom (Welch's with the smaller ``n - 1`` for two samples). Every
output tested is an average of bounded draws (convex combinations of value rows, bounded
walk deposits, bounded Feynman--Kac weights), for which the t approximation holds at these
``n``; the rate is the approximation's. :func:`detectable_bias` gives the power.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
from collections.abc import Callable

import networkx as nx
import numpy as np
import scipy.linalg
from hypothesis import strategies as st

from .. import attention, estimators, tolerances, walks
from . import strategies as rst
from ._case import Case
from ._ops import Op, Problem, call_quietly, poisoned, register, seed_invariants

__all__ = ["DEFAULT_CALLS", "STATISTICAL_NAMES", "calls_per_case", "detectable_bias",
           "name_false_failure_rate", "statistical_budget"]

#: Independent backend calls per fixed case at the default budget.
DEFAULT_CALLS = 1000
#: Every name certified by a statistical check (the run's rate is split evenly over them).
STATISTICAL_NAMES = ("gaussian_omega", "randomized_attention", "rfa_attention",
                     "lara_attention", "graph_random_features", "walk_frequency_features",
                     "heat_kernel_action", "WalkMask")
#: Seeds of refimpl's own draws in the two-sample tests (disjoint from the backend's).
REFERENCE_SEEDS = 10**6

_CALLS = contextvars.ContextVar("refimpl_statistical_calls", default=DEFAULT_CALLS)
_ON_CALLS = contextvars.ContextVar("refimpl_statistical_progress", default=None)
_FIRST_SEED = contextvars.ContextVar("refimpl_statistical_first_seed", default=0)
_RATE = contextvars.ContextVar("refimpl_statistical_rate", default=None)
#: The progress hook is called once per this many backend calls.
PROGRESS_EVERY = 100


@contextlib.contextmanager
def on_calls(hook):
    """Call ``hook()`` every ``PROGRESS_EVERY`` backend calls of a statistical check."""
    token = _ON_CALLS.set(hook)
    try:
        yield
    finally:
        _ON_CALLS.reset(token)


@contextlib.contextmanager
def statistical_budget(calls: int):
    """Run the statistical checks with ``calls`` backend calls per case (default 1000).

    Examples
    --------
    >>> from refimpl.testing._ops_stochastic import calls_per_case, statistical_budget
    >>> with statistical_budget(4000):
    ...     calls_per_case()
    4000
    """
    if isinstance(calls, bool) or not isinstance(calls, (int, np.integer)) or calls < 30:
        raise ValueError(f"the statistical budget must be an integer of at least 30 calls "
                         f"per case, got {calls!r}")
    token = _CALLS.set(int(calls))
    try:
        yield
    finally:
        _CALLS.reset(token)


@contextlib.contextmanager
def calibration(first_seed: int, rate: float):
    """Seeds ``first_seed, first_seed + 1, ...`` for the backend and the per-name
    false-failure rate ``rate``: for checking that the stated rate holds (tests/meta)."""
    if not 0.0 < rate < 1.0:
        raise ValueError(f"rate must be in (0, 1), got {rate!r}")
    tokens = (_FIRST_SEED.set(int(first_seed)), _RATE.set(float(rate)))
    try:
        yield
    finally:
        _FIRST_SEED.reset(tokens[0])
        _RATE.reset(tokens[1])


def calls_per_case() -> int:
    """The backend calls per case of the statistical checks now (see statistical_budget)."""
    return _CALLS.get()


def name_false_failure_rate() -> float:
    """The false-failure rate of one name's statistical check: the run's, split evenly."""
    override = _RATE.get()
    if override is not None:
        return override
    return tolerances.HARNESS_FALSE_FAILURE_RATE / len(STATISTICAL_NAMES)


def _critical(entries: int, calls: int) -> float:
    import scipy.stats

    return float(scipy.stats.t.isf(name_false_failure_rate() / (2 * max(entries, 1)),
                                   calls - 1))


def detectable_bias(entries: int, calls: int | None = None, *, two_sample=False,
                    power=0.99) -> float:
    """The smallest bias, in standard deviations of one call's output, that a check over
    ``entries`` entries detects with probability ``power`` (normal approximation).

    Examples
    --------
    >>> from refimpl.testing._ops_stochastic import detectable_bias
    >>> round(detectable_bias(24, 1000), 2)
    0.26
    """
    import scipy.stats

    n = calls_per_case() if calls is None else int(calls)
    spread = math.sqrt(2.0 if two_sample else 1.0) / math.sqrt(n)
    return (_critical(entries, n) + float(scipy.stats.norm.isf(1.0 - power))) * spread


# -- the generic law check ------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Trial:
    """One fixed case of a statistical check.

    ``read(result)`` turns a backend result into a float64 array; ``exact(case64)`` is the
    exact expectation (a one-sample test) or None (two-sample against refimpl's draws);
    ``scale`` bounds the magnitude of every entry, for the rounding allowance.
    """

    label: str
    case: Case
    exact: Callable | None = None
    read: Callable = np.asarray


def _sample(fn, case: Case, read, calls: int, first_seed: int):
    out, hook = None, _ON_CALLS.get()
    for i in range(calls):
        if hook is not None and i % PROGRESS_EVERY == PROGRESS_EVERY - 1:
            hook()
        value = np.asarray(read(call_quietly(fn, case.replace(rng=first_seed + i))),
                           dtype=np.float64)
        if out is None:
            out = np.empty((calls,) + value.shape)
        if value.shape != out.shape[1:]:
            return None, f"call {i} returned shape {value.shape}, call 0 {out.shape[1:]}"
        if not np.all(np.isfinite(value)):
            return None, f"call {i} (rng={first_seed + i}) returned non-finite values"
        out[i] = value
    return out, ""


def law_check(trials, reference) -> Callable:
    """The ``statistical(fn, dtype)`` of an op whose law ``trials`` test (see Trial)."""

    def statistical(fn, dtype):
        n = calls_per_case()
        dt = np.dtype(dtype)
        eps = tolerances.dtype_eps(dt)
        shapes = [np.shape(t.read(call_quietly(reference, t.case))) for t in trials]
        entries = sum(int(np.prod(s)) for s in shapes)
        crit = _critical(entries, n)
        rate = name_false_failure_rate()
        for trial, shape in zip(trials, shapes):
            case = trial.case.cast(dt)
            got, why = _sample(fn, case, trial.read, n, _FIRST_SEED.get())
            if got is None:
                return Problem(f"{trial.label}: every call returns finite values of one shape",
                               case, why)
            if got.shape[1:] != shape:
                return Problem(f"{trial.label}: output shape", case,
                               f"returned shape {got.shape[1:]}, expected {shape}")
            if trial.exact is None:
                ref, why = _sample(reference, case.float64(), trial.read, n,
                                   REFERENCE_SEEDS + _FIRST_SEED.get())
                problem = _same_law(trial, case, got, ref, entries)
                if problem is not None:
                    return problem
                continue
            mean, var = got.mean(axis=0), got.var(axis=0, ddof=1)
            want = np.asarray(trial.exact(case.float64()), dtype=np.float64)
            what = "the exact expectation"
            se = np.sqrt(var / n)
            # rounding of the backend's arithmetic and of the exact value: tiny beside se
            size = np.abs(got).max(axis=0) + np.abs(want)
            slack = 64 * tolerances.SAFETY * eps * size
            gap = np.maximum(np.abs(mean - want) - slack, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(se > 0, gap / se, np.where(gap > 0, np.inf, 0.0))
            if np.any(z > crit):
                i = np.unravel_index(int(np.argmax(z)), z.shape)
                where = f" at {tuple(int(j) for j in i)}" if z.ndim else ""
                return Problem(
                    f"{trial.label}: the mean of {n} calls", case,
                    f"the mean of {n} calls{where} is {mean[i]:.6g}, {what} is "
                    f"{want[i]:.6g} (standard error {se[i]:.3g}): z = {z[i]:.2f} beyond "
                    f"+-{crit:.2f} (false-failure rate {rate:.2g} for this name, Bonferroni "
                    f"over {entries} entries)")
        return None

    statistical.trials = trials
    return statistical


def _same_law(trial, case, got, ref, entries):
    """Mann--Whitney U per entry: the backend's draws and refimpl's have one law.

    Rank-based, so heavy tails (LARA's signed MIS weights) cannot inflate the rate; the
    U statistic is a sum of bounded terms, tie-corrected, asymptotically normal.
    """
    import scipy.stats

    n = got.shape[0]
    pooled = np.concatenate([got, ref])
    constant = np.ptp(pooled, axis=0) == 0
    with np.errstate(all="ignore"):
        p = scipy.stats.mannwhitneyu(got, ref, axis=0, method="asymptotic").pvalue
    p = np.where(constant, 1.0, np.nan_to_num(np.asarray(p, dtype=np.float64), nan=0.0))
    level = name_false_failure_rate() / max(entries, 1)
    if np.all(p >= level):
        return None
    i = np.unravel_index(int(np.argmin(p)), p.shape)
    where = f" at {tuple(int(j) for j in i)}" if p.ndim else ""
    med_b, med_r = np.median(got, axis=0)[i], np.median(ref, axis=0)[i]
    return Problem(
        f"{trial.label}: the law of {n} calls", case,
        f"the {n} outputs{where} (median {med_b:.6g}, mean {got.mean(axis=0)[i]:.6g}) and "
        f"refimpl's {n} draws at the same settings (median {med_r:.6g}, mean "
        f"{ref.mean(axis=0)[i]:.6g}) differ in law: Mann-Whitney p = {p[i]:.2g} below "
        f"{level:.2g} (false-failure rate {name_false_failure_rate():.2g} for this name, "
        f"Bonferroni over {entries} entries)")


def _seeded(draw):
    return draw(st.integers(0, 2**31 - 1))


# -- the attention estimators ----------------------------------------------------------------------

def _qkv(seed, L, S, d, dv, spread, batch=()):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal(batch + (L, d)) * spread
    k = rng.standard_normal(batch + (S, d)) * spread
    return q, k, rng.standard_normal(batch + (S, dv))


def _attention_trials(name, extra):
    """Three fixed cases: moderate logits, peaked logits (a wide softmax mixture), a batch."""
    settings = [("moderate logits", (3, 4, 4, 2, 1.0, ())),
                ("peaked logits", (2, 5, 8, 1, 0.9, ())),
                ("a batch of two", (2, 3, 3, 2, 0.8, (2,)))]
    trials = []
    for seed, (label, (L, S, d, dv, spread, batch)) in enumerate(settings):
        q, k, v = _qkv(20221202 + seed, L, S, d, dv, spread, batch)
        case = Case(name, (("q", q), ("k", k), ("v", v)), {**extra, "rng": 0})
        exact = None
        if name == "randomized_attention":
            def exact(c):
                return attention.softmax_attention(c["q"], c["k"], c["v"])
        trials.append(Trial(f"{name} ({label})", case, exact))
    return trials


@st.composite
def _attention_cases(draw, name, extra):
    L, S = draw(rst.sizes(max_size=4)), draw(rst.sizes(max_size=5))
    d, dv = draw(rst.sizes(max_size=4)), draw(rst.sizes(max_size=3))
    q, k, v = _qkv(draw(rst.seeds()), L, S, d, dv, 0.7)
    kwargs = {key: draw(values) for key, values in extra.items()}
    return Case(name, (("q", q), ("k", k), ("v", v)), {**kwargs, "rng": _seeded(draw)},
                seed=draw(rst.seeds()))


def _attention_errors(count):
    def errors(case):
        return [("NaN in q", poisoned(case, "q")),
                (f"{count} = 0", case.replace(**{count: 0})),
                ("v has a row per key plus one",
                 case.replace(v=np.concatenate([case["v"], case["v"][..., :1, :]], axis=-2)))]
    return errors


_ATTENTION = {
    "randomized_attention": ({"num_samples": 64}, {"num_samples": st.integers(1, 3)},
                             "num_samples", estimators.randomized_attention),
    "rfa_attention": ({"num_features": 4}, {"num_features": st.integers(1, 6),
                                            "orthogonal": st.booleans()},
                      "num_features", estimators.rfa_attention),
    "lara_attention": ({"num_proposals": 2, "samples_per_proposal": 2},
                       {"num_proposals": st.integers(1, 3),
                        "samples_per_proposal": st.integers(1, 2)},
                       "num_proposals", estimators.lara_attention),
}


def _rfa_trials():
    trials = _attention_trials("rfa_attention", {"num_features": 4})
    q, k, v = _qkv(20221299, 3, 4, 3, 2, 0.9)
    trials.append(Trial("rfa_attention (orthogonal features)",
                        Case("rfa_attention", (("q", q), ("k", k), ("v", v)),
                             {"num_features": 3, "orthogonal": True, "rng": 0})))
    return trials


def _lara_trials():
    trials = _attention_trials("lara_attention", {"num_proposals": 2,
                                                  "samples_per_proposal": 2})
    # the query-specific correction lam (r_nc - mean_c r_nc) matters: distinct landmarks
    q, k, v = _qkv(3, 8, 8, 2, 1, 2.0)
    q[:4] += 1.5
    trials.append(Trial("lara_attention (lam = 2, distinct landmarks)",
                        Case("lara_attention", (("q", q), ("k", k), ("v", v)),
                             {"num_proposals": 2, "samples_per_proposal": 1,
                              "alpha_coeff": 2.0, "rng": 0})))
    return trials


for _name, (_fixed, _drawn, _count, _ref) in _ATTENTION.items():
    # RA: 64 samples per call shrink each call's spread 8-fold, not the bias of a wrong law
    _trials = {"randomized_attention": lambda: _attention_trials("randomized_attention",
                                                                {"num_samples": 64}),
               "rfa_attention": _rfa_trials, "lara_attention": _lara_trials}[_name]()
    register(Op(
        name=_name, family="estimators", reference=_ref,
        cases=(lambda n=_name, e=_drawn: _attention_cases(n, e)), bound=None, value=False,
        statistical=law_check(_trials, _ref), policy="harness_statistical",
        errors=_attention_errors(_count), invariants=seed_invariants(),
    ))


# -- walks on graphs -------------------------------------------------------------------------------

def _weighted_graph(seed, L, signed):
    rng = np.random.default_rng(seed)
    G = nx.cycle_graph(L)
    G.add_edge(0, L // 2)
    W = np.zeros((L, L))
    for u, w in G.edges:
        W[u, w] = W[w, u] = rng.uniform(0.3, 0.8) * (rng.choice([-1.0, 1.0]) if signed else 1.0)
    return W


def _powers_sum(W, alpha):
    out, P = np.zeros_like(W), np.eye(W.shape[0])
    for a in alpha:
        out += a * P
        P = P @ W
    return out


def _dense(result):
    return result.toarray() if hasattr(result, "toarray") else np.asarray(result)


def _grf_trials():
    trials = []
    for seed, (L, signed, p) in enumerate([(5, True, 0.3), (6, False, 0.5)]):
        W = _weighted_graph(7 + seed, L, signed)
        alpha = np.array([1.0, 0.5, -0.25, 0.125])
        case = Case("graph_random_features", (("W", W), ("alpha", alpha)),
                    {"n_walks": 3, "p_halt": p, "rng": 0})
        trials.append(Trial(f"graph_random_features (L = {L}, p_halt = {p})", case,
                            lambda c: _powers_sum(c["W"], c["alpha"]), _dense))
    return trials


def _frequency_mean(c):
    A = (np.asarray(c["graph"]) != 0).astype(np.float64)
    deg = A.sum(axis=1)
    P = np.divide(A, deg[:, None], out=np.zeros_like(A), where=deg[:, None] > 0)
    p = c.get("p_stop", 0.0)
    return _powers_sum(P, [(1.0 - p) ** t for t in range(c["length"])])


def _frequency_trials():
    trials = []
    for seed, (L, length, p) in enumerate([(5, 3, 0.0), (6, 4, 0.25)]):
        A = (np.abs(_weighted_graph(11 + seed, L, False)) > 0).astype(np.float64)
        A[L - 1] = A[:, L - 1] = 0.0  # an isolated node: its walks stay put
        case = Case("walk_frequency_features", (("graph", A),),
                    {"n_walks": 2, "length": length, "p_stop": p, "rng": 0})
        trials.append(Trial(f"walk_frequency_features (L = {L}, length {length}, p_stop {p})",
                            case, _frequency_mean, _dense))
    return trials


def _heat_trials():
    trials = []
    for seed, (L, kind, t) in enumerate([(5, "laplacian", 0.7), (4, "adjacency", 0.5)]):
        A = np.abs(_weighted_graph(13 + seed, L, False))
        W = A - np.diag(A.sum(axis=1)) if kind == "laplacian" else A
        x = np.random.default_rng(seed).standard_normal((L, 2))
        case = Case("heat_kernel_action", (("W", W), ("x", x), ("t", t)),
                    {"n_walks": 4, "rng": 0})
        trials.append(Trial(f"heat_kernel_action ({kind}, t = {t})", case,
                            lambda c: scipy.linalg.expm(c["t"] * c["W"]) @ c["x"]))
    return trials


def _walkmask_mean(c):
    W, lam, K = c["W"], c.get("lam", 1.0), c["max_steps"]
    half = _powers_sum(W, [(lam / 2.0) ** k / math.factorial(k) for k in range(K + 1)])
    return half @ half.T @ c["X"]


def _walkmask_trials():
    trials = []
    for seed, (L, lam, K) in enumerate([(5, 1.0, 4), (4, -0.8, 3)]):
        W = np.abs(_weighted_graph(17 + seed, L, False))
        X = np.random.default_rng(seed).standard_normal((L, 2))
        case = Case("WalkMask", (("W", W), ("lam", lam)),
                    {"n_walks": 1, "p_halt": 0.3, "max_steps": K, "rng": 0}, operand=X)
        trials.append(Trial(f"WalkMask (L = {L}, lam = {lam}) @ X", case, _walkmask_mean))
    return trials


@st.composite
def _graph_cases(draw, name):
    L = draw(st.integers(2, 6))
    W = _weighted_graph(draw(rst.seeds()), max(L, 3), name == "graph_random_features")[:L, :L]
    seed = _seeded(draw)
    if name == "graph_random_features":
        return Case(name, (("W", W), ("alpha", np.array([1.0, 0.5, 0.25]))),
                    {"n_walks": draw(st.integers(1, 3)), "p_halt": 0.4, "rng": seed})
    if name == "walk_frequency_features":
        return Case(name, (("graph", (W != 0).astype(float)),),
                    {"n_walks": draw(st.integers(1, 3)), "length": draw(st.integers(1, 4)),
                     "rng": seed})
    if name == "heat_kernel_action":
        A = np.abs(W)
        return Case(name, (("W", A - np.diag(A.sum(axis=1))), ("x", np.ones(L)), ("t", 0.5)),
                    {"n_walks": draw(st.integers(1, 3)), "rng": seed})
    return Case(name, (("W", np.abs(W)), ("lam", 0.5)),
                {"n_walks": draw(st.integers(1, 2)), "p_halt": 0.3, "max_steps": 3,
                 "rng": seed}, operand=np.ones((L, 1)))


def _graph_errors(name):
    def errors(case):
        rows = [("n_walks = 0", case.replace(n_walks=0))]
        if name in ("graph_random_features", "WalkMask"):
            rows.append(("p_halt = 1", case.replace(p_halt=1.0)))
        if name == "heat_kernel_action":
            rows.append(("t = -1", case.replace(t=-1.0)))
            rows.append(("NaN in x", poisoned(case, "x")))
        if name == "walk_frequency_features":
            rows.append(("length = 0", case.replace(length=0)))
        return rows
    return errors


_GRAPHS = {
    "graph_random_features": (walks.graph_random_features, _grf_trials, _dense),
    "walk_frequency_features": (walks.walk_frequency_features, _frequency_trials, _dense),
    "heat_kernel_action": (walks.heat_kernel_action, _heat_trials, None),
    "WalkMask": (walks.WalkMask, _walkmask_trials, None),
}

for _name, (_ref, _make, _convert) in _GRAPHS.items():
    register(Op(
        name=_name, family="walks", reference=_ref,
        cases=(lambda n=_name: _graph_cases(n)), bound=None, value=False,
        statistical=law_check(_make(), _ref), policy="harness_statistical",
        convert=(None if _convert is None else (lambda result, f=_convert: (f(result),))),
        errors=_graph_errors(_name), invariants=seed_invariants(),
        is_class=_name == "WalkMask",
    ))


def power_table(calls: int | None = None, sd_calls: int = 200) -> list:
    """One row per statistical name: the test, the entries tested, the per-name rate and the
    smallest bias detected with probability 0.99, in standard deviations of one call's
    output and (median entry, refimpl's own spread from ``sd_calls`` calls) in its units."""
    from ._ops import all_ops
    from ._ops_features import OMEGA_ROWS, OMEGA_SHAPES

    n = calls_per_case() if calls is None else int(calls)
    rows = []
    for name in STATISTICAL_NAMES:
        op = all_ops()[name]
        trials = getattr(op.statistical, "trials", None)
        if trials is None:  # gaussian_omega: moments of N(0, I) rows (unit spread)
            total = sum(d * (d + 3) // 2 + 2 + (d * (d + 1) if orth else 0)
                        for d, _ in OMEGA_SHAPES for orth in (False, True))
            rows_drawn = OMEGA_ROWS * n // DEFAULT_CALLS
            z = tolerances.estimator_z_threshold(total, name_false_failure_rate())
            bias = (z + 2.326) / math.sqrt(rows_drawn / max(m for _, m in OMEGA_SHAPES))
            rows.append((name, "z-tests of the moments of the rows", total, bias, bias))
            continue
        two = trials[0].exact is None
        shapes = [np.shape(t.read(call_quietly(op.reference, t.case))) for t in trials]
        entries = sum(int(np.prod(s)) for s in shapes)
        # Mann-Whitney's efficiency against a shift of Gaussian data is 3/pi
        bias = detectable_bias(entries, n, two_sample=two) / (math.sqrt(3 / math.pi)
                                                             if two else 1.0)
        spreads = []
        for t in trials:
            draws, _ = _sample(op.reference, t.case, t.read, sd_calls, REFERENCE_SEEDS)
            spreads.append(draws.std(axis=0, ddof=1).ravel())
        test = ("Mann-Whitney against refimpl's draws" if two
                else "one-sample t against the exact expectation")
        rows.append((name, test, entries, bias, bias * float(np.median(np.concatenate(spreads)))))
    return rows
