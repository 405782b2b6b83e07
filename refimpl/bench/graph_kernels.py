"""Benchmarks of the graph-kernel masks (Choromanski et al. 2022, Sec. 3).

* ``graph_kernels/diffusion_grid``: ``DiffusionMask(A_grid, lam=1) @ X`` on the sparse
  ``s x s`` grid graph (``A = P_s (+) P_s``, a Kronecker sum built with
  :mod:`scipy.sparse`), ``X`` of shape ``(L, 16)``, for ``L = s^2`` up to about
  ``10^5``, against the dense oracle ``toarray() @ X`` (:func:`scipy.linalg.expm` of the
  dense matrix, O(L^3)) up to ``DENSE_MAX_L``. Goal: the fast product's time grows like
  ``L^e`` with ``e <= 1.2`` (``expm_multiply`` costs O(nnz) per column for a fixed
  ``||lam W||_1``).
* ``graph_kernels/regularized_laplacian_grid``: ``RegularizedLaplacianMask`` on the same
  grids: the sparse LU factorisation (once) and the solve for 16 columns, against the
  dense LAPACK factorisation and solve of the oracle. Measured, no goal (the fill of a
  2-D grid's LU grows like ``L log L`` with a nested-dissection-like ordering).
"""

from __future__ import annotations

import math
import os

import numpy as np
import scipy.sparse

from .. import tolerances
from ..masks import DiffusionMask, RegularizedLaplacianMask
from ._timing import Table, benchmark, best_times

FAMILY = "graph_kernels"
SEED = 20220718  # any fixed seed: the same inputs on every run
COLUMNS = 16
LAM = 1.0
SIGMA = 1.0
EXPONENT_GOAL = 1.2
DENSE_MAX_L = 2025  # 45 x 45: the dense expm is O(L^3), ~1-2 s here on 2 cores
CHECK_MAX_L = 1024  # fast against the oracle within the tolerance bound


def _verdict(met: bool, quick: bool) -> str:
    # At --quick sizes fixed overheads dominate: a verdict would mean nothing.
    return "not judged (--quick)" if quick else ("met" if met else "NOT met")


def _sides(quick: bool) -> list[int]:
    return [5, 8, 12, 16] if quick else [8, 16, 24, 32, 45, 64, 100, 160, 224, 316]


def grid_adjacency(side: int) -> scipy.sparse.csr_array:
    """Adjacency of the ``side x side`` grid: ``P (x) I + I (x) P`` (row-major nodes)."""
    ones = np.ones(side - 1)
    path = scipy.sparse.diags_array([ones, ones], offsets=[-1, 1], shape=(side, side))
    eye = scipy.sparse.eye_array(side)
    return (scipy.sparse.kron(path, eye) + scipy.sparse.kron(eye, path)).tocsr()


def _dense_fits(L: int) -> bool:
    need = 12 * 8 * L * L  # expm's work arrays and the squarings
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        free = math.inf
    return L <= DENSE_MAX_L and need <= free / 2


def _error_check(mask, X):
    """A check for :func:`best_times`: the fast product is within its bound of the oracle."""

    def check(outputs):
        dense = mask.toarray()
        bound = mask.product_error_bound(X) + tolerances.product_bound(dense, X)
        ratio = float((np.abs(outputs["fast"] - outputs["dense"]) / bound).max())
        if not ratio <= 1:
            raise RuntimeError(f"{mask!r} @ X differs from toarray() @ X by {ratio:.3g} "
                               f"times the tolerance bound")
        return ratio

    return check


@benchmark("graph_kernels/diffusion_grid", family=FAMILY,
           description=f"DiffusionMask(A_grid, lam={LAM:g}) @ X (scipy expm_multiply), X of "
                       f"shape (L, {COLUMNS}), vs the dense oracle toarray() @ X (scipy.linalg."
                       f"expm), on the s x s grid, L = s^2")
def diffusion_grid(quick: bool) -> Table:
    """Time the fast diffusion product against the dense oracle on 2-D grids."""
    table = Table("L", ["fast", "dense"], ratios={"dense/fast": ("dense", "fast")},
                  extras={"err/bound": ".2g"})
    for side in _sides(quick):
        L = side * side
        mask = DiffusionMask(grid_adjacency(side), LAM)
        X = np.random.default_rng(SEED + L).standard_normal((L, COLUMNS))
        funcs = {"fast": lambda mask=mask, X=X: mask @ X}
        extras = {}
        if _dense_fits(L):
            funcs["dense"] = lambda mask=mask, X=X: mask.toarray() @ X
        check = _error_check(mask, X) if L <= CHECK_MAX_L and "dense" in funcs else None
        timing = best_times(funcs, quick=quick, check=check)
        extras["err/bound"] = timing.checked
        table.add(L, timing.seconds, extras)
    fit = table.exponents()["fast"]
    upper = table.exponents(upper_half=True)["fast"]
    table.note(f"goal: fast time ~ L^e with e <= {EXPONENT_GOAL}: e = {fit:.2f} over all "
               f"sizes ({upper:.2f} over the upper half), {_verdict(fit <= EXPONENT_GOAL, quick)}")
    table.note(f"dense = toarray() @ X up to L = {DENSE_MAX_L}; err/bound: max error over "
               "DiffusionMask.product_error_bound plus the dense product's rounding "
               f"(L <= {CHECK_MAX_L})")
    return table


@benchmark("graph_kernels/regularized_laplacian_grid", family=FAMILY,
           description=f"RegularizedLaplacianMask(A_grid, sigma={SIGMA:g}): sparse LU "
                       f"(splu) + solve of {COLUMNS} columns vs the dense LAPACK oracle, "
                       "on the s x s grid, L = s^2")
def regularized_laplacian_grid(quick: bool) -> Table:
    """Time the sparse factorisation and solve against the dense oracle on 2-D grids."""
    table = Table("L", ["factor", "solve", "dense"], extras={"nnz(LU)/L": ".1f"})
    for side in _sides(quick):
        L = side * side
        A = grid_adjacency(side)
        X = np.random.default_rng(SEED + L).standard_normal((L, COLUMNS))
        mask = RegularizedLaplacianMask(A, SIGMA)
        funcs = {"factor": lambda A=A: RegularizedLaplacianMask(A, SIGMA),
                 "solve": lambda mask=mask, X=X: mask @ X}
        if _dense_fits(L):
            funcs["dense"] = lambda mask=mask, X=X: mask.toarray() @ X
        timing = best_times(funcs, quick=quick)
        fill = mask.factor_nnz / L
        table.add(L, timing.seconds, {"nnz(LU)/L": fill})
    fits = table.exponents()
    table.note(f"fitted exponents: factor {fits['factor']:.2f}, solve {fits['solve']:.2f}, "
               f"dense {fits['dense']:.2f}; factor includes building I + sigma L")
    return table
