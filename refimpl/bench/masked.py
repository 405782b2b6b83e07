"""Benchmarks of the masked-attention family (Choromanski et al. 2022, Sec. 3).

* ``masked/toeplitz_matmul``: ``ToeplitzMask @ X`` for the ``(L, m (dv + 1))`` block that
  Algorithm 1 multiplies, against the bare FFT round trip it is built on and against
  :func:`scipy.linalg.matmul_toeplitz`. Goal: within 1.3x the bare FFT at ``L = 2^16``.
* ``masked/alg1/<mask>``: :func:`~refimpl.attention.masked_linear_attention` with a
  Toeplitz, causal, decayed causal, 2-D grid and ripple mask against the dense
  :func:`~refimpl.attention.kernel_attention`. Goal: time grows like ``L^1.15`` or slower.
"""

from __future__ import annotations

import math
import os

import numpy as np
import scipy.fft
import scipy.linalg

from .. import tolerances
from ..attention import kernel_attention, masked_linear_attention
from ..masks import CausalMask, GridRPEMask, RippleMask, ToeplitzMask, stick_breaking
from ._timing import Table, benchmark, best_times

FAMILY = "masked"
SEED = 20220717  # any fixed seed: the same inputs on every run
M_FEATURES, DV = 16, 16  # Algorithm 1 multiplies the mask by m (dv + 1) = 272 columns
RINGS = 8  # ripple rings: O(L R) per column for a fixed R
TOEPLITZ_GOAL = 1.3  # ToeplitzMask / bare FFT at the largest size
EXPONENT_GOAL = 1.15  # fitted exponent of Algorithm 1's time in L
DENSE_MAX_L = 2**13  # dense oracle: O(L^2) memory, ~1 s per call at 2^13 on 2 cores
CHECK_MAX_L = 2**11  # fast vs dense error check: an O(L^2) bound, kept cheap


def _rng(offset: int) -> np.random.Generator:
    return np.random.default_rng(SEED + offset)


def _powers(quick: bool, low: int, high: int, quick_high: int) -> list[int]:
    """``2^low ... 2^high``, or ``2^8 ... 2^quick_high`` for ``--quick``."""
    low, high = (8, quick_high) if quick else (low, high)
    return [2**p for p in range(low, high + 1)]


def _verdict(met: bool, quick: bool) -> str:
    # At --quick sizes fixed overheads dominate: a verdict would mean nothing.
    return "not judged (--quick)" if quick else ("met" if met else "NOT met")


# -- ToeplitzMask @ X against the bare FFT and scipy.linalg.matmul_toeplitz ------------------

def _toeplitz_check(c, r, X, n_fft):
    """A check for :func:`best_times`: ToeplitzMask and matmul_toeplitz agree."""

    def check(outputs):
        ours, scipys = outputs["ToeplitzMask"], outputs["matmul_toeplitz"]
        kernel_l1 = np.abs(c).sum() + np.abs(r[1:]).sum()
        # Both are FFT convolutions with the same kernel, each within the bound of its
        # own transform length (scipy's, 2L - 1, is at most n_fft): twice the bound.
        bound = 2 * tolerances.fft_convolution_bound(n_fft, kernel_l1, X)
        diff = np.abs(ours - scipys).max(axis=0)
        if np.any(diff > bound):
            worst = int(np.argmax(diff / bound))
            raise RuntimeError(
                f"ToeplitzMask @ X and scipy.linalg.matmul_toeplitz disagree at L={len(c)}: "
                f"column {worst} differs by {diff[worst]:.3e} > bound {bound[worst]:.3e}")
        return float(diff.max() / np.abs(scipys).max())

    return check


@benchmark("masked/toeplitz_matmul", family=FAMILY,
           description="ToeplitzMask @ X, X of shape (L, 272), vs bare rfft+irfft of the "
                       "padded X and scipy.linalg.matmul_toeplitz (interleaved, best of n)")
def toeplitz_matmul(quick: bool) -> Table:
    """Time ``ToeplitzMask @ X`` against the bare FFT and SciPy, interleaved per size."""
    table = Table("L", ["ToeplitzMask", "bare FFT", "matmul_toeplitz"],
                  ratios={"Toeplitz/FFT": ("ToeplitzMask", "bare FFT"),
                          "matmul/FFT": ("matmul_toeplitz", "bare FFT")},
                  extras={"n_fft": "d", "rel diff": ".1e"})
    for L in _powers(quick, 12, 16, quick_high=11):
        rng = _rng(L)
        c, r = rng.random(L), rng.random(L)
        X = rng.standard_normal((L, M_FEATURES * (DV + 1)))
        mask = ToeplitzMask(c, r)
        # The circulant order ToeplitzMask documents: next_fast_len(L + S - 1).
        n = scipy.fft.next_fast_len(2 * L - 1, real=True)

        def bare(X=X, n=n):
            return scipy.fft.irfft(scipy.fft.rfft(X, n=n, axis=0), n=n, axis=0)

        funcs = {
            "ToeplitzMask": lambda mask=mask, X=X: mask @ X,
            "bare FFT": bare,
            "matmul_toeplitz": lambda c=c, r=r, X=X: scipy.linalg.matmul_toeplitz((c, r), X),
        }
        # Best of 3 rounds even at the largest sizes: the ratio is the result.
        timing = best_times(funcs, quick=quick, slow_repeats=3,
                            check=_toeplitz_check(c, r, X, n))
        table.add(L, timing.seconds, {"n_fft": n, "rel diff": timing.checked})
    ratio = table.ratio("Toeplitz/FFT")[-1]
    table.note(f"goal: ToeplitzMask within {TOEPLITZ_GOAL}x the bare FFT at "
               f"L={table.sizes[-1]}: {ratio:.3f}x, {_verdict(ratio <= TOEPLITZ_GOAL, quick)}")
    table.note("rel diff: max|ToeplitzMask @ X - matmul_toeplitz| / max|matmul_toeplitz|, "
               "each column within 2x refimpl.tolerances.fft_convolution_bound")
    return table


# -- Algorithm 1 against the dense oracle ----------------------------------------------------

def _grid(L: int) -> tuple[int, int]:
    """A square-ish ``(h, w)`` grid of ``L = 2^p`` tokens, ``h <= w``."""
    h = 2 ** (int(math.log2(L)) // 2)
    return h, L // h


def _dense_fits(L: int) -> bool:
    """Whether the dense oracle fits: ``L <= DENSE_MAX_L`` and memory for its matrices."""
    # toarray() and kernel_attention hold up to ~10 (L, L) float64 temporaries at once.
    need = 10 * 8 * L * L
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        free = math.inf  # not POSIX: trust DENSE_MAX_L alone
    return L <= DENSE_MAX_L and need <= free / 2


def _error_check(phi_q, phi_k, v, mask, fast):
    """A check for :func:`best_times` of the dense oracle: Algorithm 1 agrees with it.

    It returns ``max |fast - dense| / bound`` and raises above 1, so that a wrong answer
    is never timed.
    """

    def check(outputs):
        bound = tolerances.masked_linear_attention_bound(phi_q, phi_k, v, mask)
        ratio = float((np.abs(fast - outputs["dense"]) / bound).max())
        if not ratio <= 1:
            raise RuntimeError(f"masked_linear_attention differs from kernel_attention by "
                               f"{ratio:.3g} times the tolerance bound at L={mask.shape[0]}")
        return ratio

    return check


def _alg1_table(quick: bool, make_mask) -> Table:
    """Time Algorithm 1 and (where it fits) the dense oracle for the masks ``make_mask(L)``."""
    table = Table("L", ["Alg. 1", "dense"], ratios={"dense/Alg. 1": ("dense", "Alg. 1")},
                  extras={"err/bound": ".2g"})
    for L in _powers(quick, 10, 16, quick_high=10):
        rng = _rng(L + 1)
        phi_q = rng.random((L, M_FEATURES)) + 0.1  # positive: nonzero normalisers
        phi_k = rng.random((L, M_FEATURES)) + 0.1
        v = rng.standard_normal((L, DV))
        mask = make_mask(L)

        def fast(mask=mask, phi_q=phi_q, phi_k=phi_k, v=v):
            return masked_linear_attention(phi_q, phi_k, v, mask)

        def dense(mask=mask, phi_q=phi_q, phi_k=phi_k, v=v):
            return kernel_attention(phi_q, phi_k, v, mask=mask)

        times = dict(best_times({"Alg. 1": fast}, quick=quick).seconds)
        extras = {}
        if _dense_fits(L):
            # The dense warm-up output is the reference of the (small-L) error check.
            check = None
            if L <= CHECK_MAX_L:
                check = _error_check(phi_q, phi_k, v, mask, fast())
            timing = best_times({"dense": dense}, quick=quick, check=check)
            times.update(timing.seconds)
            extras["err/bound"] = timing.checked
        table.add(L, times, extras)
    fits = table.exponents()["Alg. 1"], table.exponents(upper_half=True)["Alg. 1"]
    table.note(f"goal: Alg. 1 time ~ L^e with e <= {EXPONENT_GOAL}: e = {fits[0]:.2f} over "
               f"all sizes ({fits[1]:.2f} over the upper half), "
               f"{_verdict(fits[0] <= EXPONENT_GOAL, quick)}")
    table.note(f"m = {M_FEATURES} features, dv = {DV}; dense = kernel_attention including "
               f"mask.toarray(), up to L = {DENSE_MAX_L}; err/bound: max error over the "
               f"tolerance of refimpl.tolerances.masked_linear_attention_bound")
    return table


def _toeplitz_rpe(L: int) -> ToeplitzMask:
    # Nonsymmetric, positive: different decay to the past and to the future (both
    # branches are evaluated, so each decays in |t| and neither can overflow).
    return ToeplitzMask.from_function(
        lambda t: np.where(t >= 0, np.exp(-np.abs(t) / 64.0), 0.5 * np.exp(-np.abs(t) / 16.0)),
        L)


def _grid_rpe(L: int) -> GridRPEMask:
    return GridRPEMask(_grid(L), lambda t: np.exp(-np.abs(t).sum(axis=-1) / 8.0))


def _ripple(L: int) -> RippleMask:
    return RippleMask(_grid(L), stick_breaking(_rng(0).normal(size=RINGS)))


_ALG1_MASKS = {
    "toeplitz": ("ToeplitzMask (RPE, nonsymmetric)", _toeplitz_rpe),
    "causal": ("CausalMask, gamma = 1", CausalMask),
    "causal_decayed": ("CausalMask, gamma = 0.99", lambda L: CausalMask(L, gamma=0.99)),
    "grid_2d": ("GridRPEMask on a square-ish h x w = L grid", _grid_rpe),
    "ripple": (f"RippleMask on a square-ish grid, R = {RINGS} stick-breaking rings", _ripple),
}


def _register_alg1(key: str, what: str, make_mask) -> None:
    @benchmark(f"masked/alg1/{key}", family=FAMILY,
               description=f"masked_linear_attention (Alg. 1) vs dense kernel_attention, "
                           f"{what}, m = {M_FEATURES}, dv = {DV}")
    def _run(quick: bool) -> Table:
        return _alg1_table(quick, make_mask)


for _key, (_what, _make) in _ALG1_MASKS.items():
    _register_alg1(_key, _what, _make)
