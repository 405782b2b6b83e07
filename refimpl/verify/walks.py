"""Checks of the random-walk estimators (:mod:`refimpl.walks`; spec Sec. 2.8, Sec. 5 F).

* deterministic: the GRF weights by exhaustive path enumeration against the closed
  forms of the mean and variance; the GKAT cosine mask's properties; the low-rank
  (walk) mask's fast product and Algorithm 1;
* statistical, each at false-failure rate 1e-6 (fixed seeds; Bonferroni over the
  entries compared; :data:`refimpl.tolerances.WALK_FALSE_FAILURE_RATE`): GRFs against
  :math:`\\sum_k \\alpha_k W^k` with the exact variance, walk frequencies against
  :math:`\\sum_t (1-p)^t P^t`, Feynman--Kac against ``expm``, the walk mask against its
  exact expectation, and the :math:`n^{-1/2}` decay of the GRF error.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .. import tolerances
from ..walks import (
    WalkMask,
    gkat_features,
    gkat_mask,
    graph_random_features,
    grf_mean,
    grf_moments_by_enumeration,
    grf_second_moment,
    grf_variance,
    heat_kernel_action,
    transition_matrix,
    walk_frequency_features,
    walk_frequency_mean,
)
from ._common import alg1_outcome, mask_product_outcome
from ._registry import Outcome, check, compare, worst

FAMILY = "walks"
GRF = "Reid+24 Alg.1 E Phi=sum a_k W^k"
SEED = 20231007  # any fixed seed makes the checks reproducible


def _rng(offset: int = 0) -> np.random.Generator:
    return np.random.default_rng(SEED + offset)


# -- test graphs ------------------------------------------------------------------------------

def tiny_graph() -> np.ndarray:
    """5 nodes: signed weights, a self-loop, a directed edge and a node without neighbours."""
    W = np.zeros((5, 5))
    for u, w, a in [(0, 1, 0.5), (1, 2, -0.4), (0, 2, 0.3), (2, 3, 0.6)]:
        W[u, w] = W[w, u] = a
    W[1, 1] = 0.25  # a self-loop is one more neighbour
    W[3, 0] = 0.2  # only 3 -> 0: the walk follows rows
    return W  # node 4 has no neighbours: its walks stop at once


def moderate_graph(L: int, rng) -> np.ndarray:
    """A connected weighted graph whose load factors ``W_uw deg(u)`` are about 1/2.

    A ring (connected) plus random chords; weights ``~ U(0.5, 1) / (2 deg(u))``, so a
    walk's load shrinks on average and the variance stays moderate (spec: heavy tails
    come from load factors above 1).
    """
    A = np.zeros((L, L))
    ring = np.arange(L)
    A[ring, (ring + 1) % L] = A[(ring + 1) % L, ring] = 1.0
    chords = np.triu(rng.random((L, L)) < 3.0 / L, 2)
    A = np.maximum(A, chords + chords.T)
    np.fill_diagonal(A, 0.0)
    deg = A.sum(axis=1)
    W = A * rng.uniform(0.5, 1.0, size=(L, L)) / (2 * deg[:, None])
    return (W + W.T) / 2


# -- deterministic: exhaustive enumeration of the GRF weights -----------------------------------

def _enumeration(moment: str):
    @check(f"walks/grf/enumeration_{moment}", family=FAMILY,
           paper=GRF if moment == "mean" else "grf_variance (derived), enumerated",
           policy="walk_path_sum")
    def _run(quick: bool) -> Outcome:
        W = tiny_graph()
        alpha = np.array([1.0, -0.7, 0.5, 0.3, -0.2, 0.1])
        K, L = alpha.size - 1, W.shape[0]
        outcomes = []
        for p_halt in (0.0, 0.35) if quick else (0.0, 0.2, 0.35, 0.6):
            mean, second, n_paths = grf_moments_by_enumeration(W, alpha, p_halt=p_halt)
            if moment == "mean":
                actual, desired = mean, grf_mean(W, alpha)
                magnitude = grf_mean(np.abs(W), np.abs(alpha))
            else:
                actual, desired = second, grf_second_moment(W, alpha, p_halt=p_halt)
                magnitude = grf_second_moment(np.abs(W), np.abs(alpha), p_halt=p_halt)
            bound = tolerances.walk_path_sum_bound(n_paths, K, L, magnitude)
            outcomes.append(compare(actual, desired, bound, detail=f"p_halt={p_halt}"))
        return worst(outcomes)

    return _run


_enumeration("mean")
_enumeration("second_moment")


# -- statistical: GRFs and walk frequencies against their exact means ---------------------------

@check("walks/grf/unbiased_ztest", family=FAMILY, paper="Reid+24 Alg.1 (z-test)",
       policy="walk_ztest")
def _grf_ztest(quick: bool) -> Outcome:
    rng = _rng(1)
    L, n_walks = (8, 3000) if quick else (30, 30000)
    W = moderate_graph(L, rng)
    W[0, 0] = 0.1  # a self-loop
    alpha = np.array([1.0, 0.8, -0.5, 0.4, 0.3, -0.2, 0.1])
    seed = int(rng.integers(2**32))
    phi = graph_random_features(W, alpha, n_walks=n_walks, p_halt=0.3, rng=seed).toarray()
    # Same seed, same walks (the choices depend only on the pattern): the |terms| summed.
    phi_abs = graph_random_features(np.abs(W), np.abs(alpha), n_walks=n_walks, p_halt=0.3,
                                    rng=seed).toarray()
    K = alpha.size - 1
    sd = np.sqrt(grf_variance(W, alpha, p_halt=0.3) / n_walks)
    rounding = (tolerances.summation_bound(n_walks * (K + 1) + 3 * K + 3, phi_abs)
                + tolerances.walk_path_sum_bound(0, K, L, grf_mean(np.abs(W), np.abs(alpha))))
    bound = tolerances.walk_ztest_bound(sd, L * L, rounding)
    return compare(phi, grf_mean(W, alpha), bound,
                   detail=f"alpha=1e-6, {L * L} entries, n_walks={n_walks}")


@check("walks/gkat/frequency_unbiased_ztest", family=FAMILY,
       paper="GKAT: E F = sum_t (1-p)^t P^t", policy="walk_ztest")
def _gkat_ztest(quick: bool) -> Outcome:
    rng = _rng(2)
    L, n_walks, length, p_stop = (9, 3000, 5, 0.2) if quick else (31, 30000, 8, 0.15)
    A = (moderate_graph(L - 1, rng) != 0).astype(float)
    A = np.pad(A, ((0, 1), (0, 1)))  # the last node has no neighbours
    F = walk_frequency_features(A, n_walks=n_walks, length=length, p_stop=p_stop,
                                rng=rng).toarray()
    # F is a GRF with W = P, alpha_t = (1 - p)^t, p_halt = p: its exact variance.
    alpha = (1.0 - p_stop) ** np.arange(length)
    sd = np.sqrt(grf_variance(transition_matrix(A), alpha, p_halt=p_stop) / n_walks)
    mean = walk_frequency_mean(A, length=length, p_stop=p_stop)
    rounding = tolerances.summation_bound(n_walks * length + length * (L + 4), mean + 1.0)
    return compare(F, mean, tolerances.walk_ztest_bound(sd, L * L, rounding),
                   detail=f"alpha=1e-6, {L * L} entries, n_walks={n_walks}")


def cosine_bound(F) -> np.ndarray:
    """Rounding bound for two evaluations of the cosine mask of ``F`` (or of F_hat F_hat^T).

    ``G = F F^T`` has error <= gamma(n) |F||F|^T (Higham eq. 3.13); its diagonal, a sum
    of squares, a relative gamma(n); the square root and the quotient a few eps more;
    the row-normalised features add gamma(n + 3) per factor. Both sides err, so the
    constants add: SAFETY (5n + 10) eps |F||F|^T_ij / sqrt(G_ii G_jj).
    """
    F = np.abs(np.asarray(F, dtype=np.float64))
    absgram = F @ F.T
    d = np.diag(absgram)
    return tolerances.SAFETY * (5 * F.shape[1] + 10) * tolerances.EPS * absgram / np.sqrt(
        np.outer(d, d))


@check("walks/gkat/cosine_mask_properties", family=FAMILY,
       paper="GKAT cosine: sym, diag 1, [0,1]", policy="product")
def _gkat_mask(quick: bool) -> Outcome:
    rng = _rng(3)
    L = 12 if quick else 60
    A = (moderate_graph(L, rng) != 0).astype(float)
    F = walk_frequency_features(A, n_walks=20, length=4, rng=rng)
    dense, sparse = gkat_mask(F.toarray()), gkat_mask(F).toarray()
    hat = gkat_features(F).toarray()
    # Exact by construction: symmetric, unit diagonal, entries in [0, 1] for F >= 0.
    exact = np.array([np.abs(dense - dense.T).max(), np.abs(np.diag(dense) - 1.0).max(),
                      max(-dense.min(), dense.max() - 1.0, 0.0)])
    bound = cosine_bound(F.toarray())
    return worst([
        compare(exact, np.zeros(3), 0.0, detail="symmetry, unit diagonal, range [0, 1]"),
        compare(sparse, dense, bound, detail="sparse vs dense F"),
        compare(hat @ hat.T, dense, bound, detail="gkat_features product"),
    ])


# -- statistical: Feynman-Kac heat kernel against expm ----------------------------------------

def heat_generator(L: int, rng, kind: str) -> np.ndarray:
    """``W`` for the heat checks: Laplacian ``A - D``, with a potential, or adjacency ``A``."""
    A = moderate_graph(L, rng) * 4.0  # rates ~ 1 per neighbour
    if kind == "adjacency":
        return A
    W = A - np.diag(A.sum(axis=1))
    return W + np.diag(rng.uniform(-0.5, 0.5, size=L)) if kind == "potential" else W


def _heat_check(kind: str, paper: str):
    @check(f"walks/heat/{kind}_ztest", family=FAMILY, paper=paper, policy="walk_ztest")
    def _run(quick: bool) -> Outcome:
        rng = _rng(4)
        L, n_walks = (10, 4000) if quick else (30, 40000)
        W = heat_generator(L, rng, kind)
        x = rng.normal(size=(L, 2))
        t = 0.5 if kind == "adjacency" else 1.0
        seed = int(rng.integers(2**32))
        est, se = heat_kernel_action(W, x, t, n_walks=n_walks, rng=seed, return_stderr=True)
        # Same seed, same walks (they do not depend on x): the mean of |terms|.
        magnitude = heat_kernel_action(W, np.abs(x), t, n_walks=n_walks, rng=seed)
        rounding = tolerances.summation_bound(n_walks + L, magnitude)
        bound = tolerances.walk_ztest_bound(se, x.size, rounding, df=n_walks - 1)
        return compare(est, scipy.linalg.expm(t * W) @ x, bound,
                       detail=f"alpha=1e-6, {x.size} entries, n_walks={n_walks}")

    return _run


_heat_check("laplacian", "CTMC: E_i x(X_t) = exp(t(A-D))x")
_heat_check("potential", "Feynman-Kac: exp(t(A-D+diag g))x")
_heat_check("adjacency", "Feynman-Kac, g = deg: exp(tA)x")


# -- the walk mask: fast product, Algorithm 1, unbiasedness, expectation ------------------------

def _walk_mask(quick: bool, offset: int) -> tuple[np.ndarray, WalkMask]:
    rng = _rng(offset)
    W = moderate_graph(15 if quick else 60, rng)
    return W, WalkMask(W, 1.5, n_walks=30 if quick else 200, p_halt=0.3, rng=rng)


@check("walks/walk_mask/product", family=FAMILY, paper="Phi1 (Phi2^T X), O(nnz)",
       policy="product")
def _walk_mask_product(quick: bool) -> Outcome:
    _, mask = _walk_mask(quick, 5)
    return mask_product_outcome(mask, _rng(6), columns=4)


@check("walks/walk_mask/alg1", family=FAMILY, paper="Choromanski+22 Alg. 1, GRF mask",
       policy="masked_linear_attention")
def _walk_mask_alg1(quick: bool) -> Outcome:
    _, mask = _walk_mask(quick, 7)
    return alg1_outcome(mask, _rng(8), m=3, dv=2)


@check("walks/walk_mask/unbiased_ztest", family=FAMILY,
       paper="E Phi1 Phi2^T = T_K(lW/2)^2", policy="walk_ztest")
def _walk_mask_unbiased(quick: bool) -> Outcome:
    rng = _rng(9)
    L, R, n_walks = (6, 300, 10) if quick else (12, 2000, 20)
    W = moderate_graph(L, rng)
    samples = np.stack([WalkMask(W, 2.0, n_walks=n_walks, p_halt=0.4, max_steps=4,
                                 rng=rng).toarray() for _ in range(R)])
    exact = WalkMask(W, 2.0, n_walks=1, p_halt=0.4, max_steps=4, rng=0).mean()
    se = samples.std(axis=0, ddof=1) / np.sqrt(R)
    rounding = tolerances.summation_bound(R * L * (n_walks * 5 + 3), samples.mean(axis=0))
    bound = tolerances.walk_ztest_bound(se, L * L, rounding, df=R - 1)
    return compare(samples.mean(axis=0), exact, bound,
                   detail=f"alpha=1e-6, {L * L} entries, {R} replicates (t quantile)")


@check("walks/walk_mask/mean_is_expm", family=FAMILY,
       paper="T_K(lW/2)^2 = exp(lW), W = W^T", policy="walk_taylor")
def _walk_mask_expm(quick: bool) -> Outcome:
    W, mask = _walk_mask(quick, 10)
    x = abs(mask.lam) * float(np.abs(W).sum(axis=1).max())
    bound = tolerances.walk_taylor_bound(mask.alpha.size - 1, W.shape[0], x)
    return compare(mask.mean(), scipy.linalg.expm(mask.lam * W), bound,
                   detail=f"K={mask.alpha.size - 1}")


# -- the n^(-1/2) decay of the GRF error --------------------------------------------------------

def rmse_slope(W, alpha, p_halt, sizes, n_replicates, rng):
    """Least-squares slope of log RMSE vs log n_walks, and the coefficient of variation
    of the squared error at each size (for the tolerance)."""
    mean = grf_mean(W, alpha)
    errors = np.array([[np.sum((graph_random_features(W, alpha, n_walks=n, p_halt=p_halt,
                                                      rng=rng).toarray() - mean) ** 2)
                        for _ in range(n_replicates)] for n in sizes])
    mse = errors.mean(axis=1)
    cv = errors.std(axis=1, ddof=1) / mse
    slope = np.polyfit(np.log(sizes), 0.5 * np.log(mse), 1)[0]
    return float(slope), cv, np.sqrt(mse)


@check("walks/grf/rmse_slope", family=FAMILY, paper="GRF error ~ n_walks^(-1/2)",
       policy="walk_rmse_slope")
def _grf_slope(quick: bool) -> Outcome:
    rng = _rng(11)
    L, R = (6, 40) if quick else (12, 300)
    W = moderate_graph(L, rng)
    sizes = 8 * 4 ** np.arange(4)  # a factor 64
    slope, cv, _ = rmse_slope(W, [1.0, 0.8, -0.5, 0.4, 0.3], 0.3, sizes, R, rng)
    tol = tolerances.walk_rmse_slope_tolerance(np.log(sizes), cv, R)
    return compare(slope, -0.5, tol, detail=f"slope {slope:.3f}, {R} replicates per size")
