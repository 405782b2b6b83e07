"""Benchmarks of attention as importance sampling (Zheng et al., ICML 2022).

* ``estimators/scaling``: :func:`~refimpl.estimators.lara_attention` (``C = 64``
  proposals, one sample each) and :func:`~refimpl.estimators.rfa_attention` (``m = 256``
  features) for ``L = 2^10 .. 2^15``, ``d = dv = 64``, beside the quadratic
  :func:`~refimpl.estimators.randomized_attention` (one sample per query) and the exact
  :func:`~refimpl.attention.softmax_attention` where they fit. Goal: LARA and RFA time
  ~ ``L^e`` with ``e <= 1.1``.
* ``estimators/accuracy_per_time``: error against wall time at ``L = 1024``: RFA with
  ``64 k`` features, LARA with 64 proposals of ``k`` samples, RA with ``k`` samples per
  query, for ``k = 1, 2, 4, ..., 32``. The error is the RMS error per entry against
  softmax attention, averaged over a few seeds. Inputs have local structure (contiguous
  clusters, keys near queries; see ``_inputs``).
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..attention import softmax_attention
from ..estimators import lara_attention, randomized_attention, rfa_attention
from ._timing import Table, benchmark, best_times

FAMILY = "estimators"
SEED = 20220422  # any fixed seed: the same inputs on every run
D = DV = 64
PROPOSALS, FEATURES = 64, 256
CLUSTERS = 64  # contiguous clusters of tokens in the synthetic inputs
EXPONENT_GOAL = 1.1
DENSE_MAX_L = 2**13  # RA and softmax hold a few (L, L) float64 arrays
ERROR_SEEDS = 3


def _inputs(L: int, offset: int = 0):
    """Sequences with local structure: 64 contiguous clusters, keys close to queries.

    Cluster centres ``N(0, I_d)``; ``q = centre + 0.3 N(0, I)``, ``k = q + 0.3 N(0, I)``,
    ``v ~ N(0, I)``: attention is mostly within a cluster, the setting where LARA's
    segment landmarks are informative (with iid ``q, k`` in ``d = 64`` every estimator's
    importance weights are nearly degenerate).
    """
    rng = np.random.default_rng(SEED + L + offset)
    centres = rng.standard_normal((CLUSTERS, D))
    q = np.repeat(centres, -(-L // CLUSTERS), axis=0)[:L] + 0.3 * rng.standard_normal((L, D))
    k = q + 0.3 * rng.standard_normal((L, D))
    return q, k, rng.standard_normal((L, DV))


def _dense_fits(L: int) -> bool:
    """Whether RA and softmax fit: ``L <= DENSE_MAX_L`` and memory for ~8 (L, L) arrays."""
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        free = math.inf
    return L <= DENSE_MAX_L and 8 * 8 * L * L <= free / 2


def _rms_error(out, exact) -> float:
    """Root-mean-square error per output entry (the values have unit variance)."""
    return float(np.sqrt(np.mean((out - exact) ** 2)))


def _finite_check(outputs):
    """A check for :func:`best_times`: every estimate is finite and of the right shape."""
    for name, out in outputs.items():
        if not np.all(np.isfinite(out)):
            raise RuntimeError(f"{name} returned a non-finite estimate")
    return None


def _verdict(met: bool, quick: bool) -> str:
    return "not judged (--quick)" if quick else ("met" if met else "NOT met")


@benchmark("estimators/scaling", family=FAMILY,
           description=f"LARA (C = {PROPOSALS}) and RFA (m = {FEATURES}) vs RA (1 sample) and "
                       f"softmax attention, d = dv = {D}")
def scaling(quick: bool) -> Table:
    """Time the linear estimators against the quadratic ones, interleaved per size."""
    table = Table("L", ["LARA", "RFA", "RA", "softmax"],
                  ratios={"softmax/LARA": ("softmax", "LARA")},
                  extras={"err LARA": ".3f", "err RFA": ".3f", "err RA": ".3f"})
    sizes = [2**p for p in (range(8, 11) if quick else range(10, 16))]
    for L in sizes:
        q, k, v = _inputs(L)
        linear = {
            "LARA": lambda q=q, k=k, v=v: lara_attention(q, k, v, num_proposals=PROPOSALS,
                                                         rng=SEED),
            "RFA": lambda q=q, k=k, v=v: rfa_attention(q, k, v, num_features=FEATURES,
                                                       rng=SEED),
        }
        # The linear estimators are timed on their own, so that the slow dense rounds do
        # not cut their repeats; their warm-up outputs are kept for the error columns.
        timing = best_times(linear, quick=quick, min_time=None if quick else 0.5,
                            check=lambda outputs: _finite_check(outputs) or dict(outputs))
        times, estimates, extras = dict(timing.seconds), timing.checked, {}
        if _dense_fits(L):
            dense = {
                "RA": lambda q=q, k=k, v=v: randomized_attention(q, k, v, num_samples=1,
                                                                 rng=SEED),
                "softmax": lambda q=q, k=k, v=v: softmax_attention(q, k, v),
            }

            def check(outputs, estimates=estimates):
                _finite_check(outputs)
                every = {**estimates, "RA": outputs["RA"]}
                return {f"err {n}": _rms_error(every[n], outputs["softmax"]) for n in every}

            timing = best_times(dense, quick=quick, check=check)
            times.update(timing.seconds)
            extras = timing.checked
        table.add(L, times, extras)
    fits = table.exponents()
    ok = fits["LARA"] <= EXPONENT_GOAL and fits["RFA"] <= EXPONENT_GOAL
    table.note(f"goal: LARA and RFA time ~ L^e with e <= {EXPONENT_GOAL}: e = "
               f"{fits['LARA']:.2f} (LARA), {fits['RFA']:.2f} (RFA); RA {fits['RA']:.2f}, "
               f"softmax {fits['softmax']:.2f}; {_verdict(ok, quick)}")
    table.note(f"err: RMS error per entry against softmax attention (one draw); RA and "
               f"softmax up to L = {DENSE_MAX_L}; inputs: {CLUSTERS} contiguous clusters, "
               f"k = q + noise")
    return table


def _mean_error(estimate, exact) -> float:
    """RMS error averaged over ERROR_SEEDS independent draws."""
    return float(np.mean([_rms_error(estimate(SEED + 7 * i + 1), exact)
                          for i in range(ERROR_SEEDS)]))


@benchmark("estimators/accuracy_per_time", family=FAMILY,
           description="error vs wall time at fixed L: RFA (64 k features), LARA (64 "
                       "proposals x k samples), RA (k samples per query)")
def accuracy_per_time(quick: bool) -> Table:
    """For a growing budget ``k``: the time and the error of each estimator."""
    L = 256 if quick else 1024
    q, k, v = _inputs(L, offset=1)
    exact = softmax_attention(q, k, v)
    table = Table("k", ["RFA", "LARA", "RA"],
                  extras={"err RFA": ".4f", "err LARA": ".4f", "err RA": ".4f"})
    for budget in ([1, 2, 4] if quick else [1, 2, 4, 8, 16, 32]):
        estimators = {
            "RFA": lambda rng, b=budget: rfa_attention(q, k, v, num_features=64 * b, rng=rng),
            "LARA": lambda rng, b=budget: lara_attention(q, k, v, num_proposals=PROPOSALS,
                                                         samples_per_proposal=b, rng=rng),
            "RA": lambda rng, b=budget: randomized_attention(q, k, v, num_samples=b, rng=rng),
        }
        funcs = {name: (lambda est=est: est(SEED)) for name, est in estimators.items()}
        timing = best_times(funcs, quick=quick, check=_finite_check)
        errors = {f"err {name}": _mean_error(est, exact) for name, est in estimators.items()}
        table.add(budget, timing.seconds, errors)
    table.note(f"L = {L}, d = dv = {D}, {CLUSTERS} contiguous clusters with k = q + noise; "
               f"err: RMS error per entry against softmax attention (RMS of the exact output "
               f"{np.sqrt(np.mean(exact**2)):.3f}), mean of {ERROR_SEEDS} draws. RA is unbiased "
               f"and quadratic; RFA and LARA are self-normalised (biased, consistent) and "
               f"linear; LARA's MIS weights are unclamped.")
    return table
