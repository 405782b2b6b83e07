"""Statistical and training checks of refimpl.eigen: Monte-Carlo Nyström, random
networks, NeuralEF."""

from __future__ import annotations

import math

import numpy as np

from ... import tolerances
from ...eigen import _reference as ref
from ...eigen import (
    gauss_legendre_rule,
    l2_batch_norm,
    neuralef_batch_eigenvalues,
    neuralef_fit,
    neuralef_loss,
    neuralef_minibatch_prediction,
    nngp_kernel,
    nngp_monte_carlo,
    ntk_kernel,
    ntk_monte_carlo,
    nystrom,
    polynomial_eigen_1d,
    rbf_gaussian_eigen,
    rbf_kernel,
    uniform_sampler,
)
from .._registry import Outcome, check, compare, worst
from ._common import FAMILY, _rng

# -- statistical: Monte-Carlo Nyström and random networks ---------------------------------------

def _mc_nystrom(sizes, R, rng):
    mu = rbf_gaussian_eigen(10).eigenvalues
    hs = 1.0 - 1.0 / math.sqrt(5.0)  # E k(x,x)^2 - sum mu^2, l = sigma = 1
    rows = []
    for n in sizes:
        err = np.array([np.sum((nystrom(rbf_kernel, rng.standard_normal(n), 10).eigenvalues
                                - mu) ** 2) for _ in range(R)])
        rows.append((n, err.mean(), err.std(ddof=1), hs / n))
    return rows


@check("eigen/nystrom/mc_hoffman_wielandt", family=FAMILY,
       paper="spec 2: E sum dmu^2 <= HS/n", policy="eigen_ztest")
def _mc_hw(quick: bool) -> Outcome:
    R = 40 if quick else 200
    rows = _mc_nystrom((25, 100) if quick else (25, 100, 400), R, _rng(5))
    t = tolerances.eigen_z_threshold(2 * len(rows), df=R - 1)
    # One-sided: mean - HS/n <= t sd / sqrt(R); the error reported is the excess over HS/n.
    return worst([Outcome(max(m - b, 0.0), t * s / math.sqrt(R),
                          f"n = {n}: mean {m:.3g} vs bound {b:.3g}") for n, m, s, b in rows])


@check("eigen/nystrom/mc_error_slope", family=FAMILY, paper="spec 4 #10: MSE ~ 1/n",
       policy="nystrom_mse_slope")
def _mc_slope(quick: bool) -> Outcome:
    R = 60 if quick else 200
    rows = _mc_nystrom((25, 50, 100, 200) if quick else (25, 50, 100, 200, 400), R, _rng(6))
    n, m, s = (np.array([r[i] for r in rows]) for i in range(3))
    slope = np.polyfit(np.log(n), np.log(m), 1)[0]
    tol = tolerances.nystrom_mse_slope_tolerance(np.log(n), s / m, R)
    return Outcome(abs(slope + 1.0), tol, f"slope {slope:.3f}, R = {R}")


def _t_outcome(terms, exact, what):
    S = terms.shape[0]
    sd = terms.std(axis=0, ddof=1) / math.sqrt(S)
    return compare(terms.mean(axis=0), exact,
                   tolerances.eigen_ztest_bound(sd, exact.size, df=S - 1), detail=what)


@check("eigen/random_networks/one_layer_unbiased", family=FAMILY,
       paper="NeuralEF 1.6: E[g g'] = NNGP", policy="eigen_ztest")
def _mc_networks(quick: bool) -> Outcome:
    x = _rng(7).normal(size=(4, 3))
    S = 200 if quick else 2000
    outcomes = []
    for activation in ("relu", "erf"):
        kw = dict(depth=1, activation=activation, sigma_w2=2.0, sigma_b2=0.2)
        outcomes.append(_t_outcome(nngp_monte_carlo(x, n_networks=S, width=8, rng=8,
                                                    per_network=True, **kw),
                                   nngp_kernel(x, **kw), f"NNGP {activation}"))
        outcomes.append(_t_outcome(nngp_monte_carlo(x, n_networks=5 * S, width=8, readout=True,
                                                    rng=9, per_network=True, **kw),
                                   nngp_kernel(x, **kw), f"NNGP {activation}, read-out"))
        outcomes.append(_t_outcome(ntk_monte_carlo(x, n_networks=S, width=8, rng=10,
                                                   per_network=True, **kw),
                                   ntk_kernel(x, **kw), f"NTK {activation}"))
    return worst(outcomes)


# -- NeuralEF --------------------------------------------------------------------------------------

@check("eigen/neuralef/gradient_vs_differences", family=FAMILY,
       paper="NeuralEF Sec.3: G=2KPsi(I-U)/B^2", policy="neuralef_loss")
def _gradient(quick: bool) -> Outcome:
    rng = _rng(11)
    outcomes = []
    for B, k in (((6, 3),) if quick else ((6, 3), (11, 5), (1, 2))):
        psi = np.round(rng.normal(size=(B, k)) * 4096) / 1024  # dyadic: psi +- 1/8 exact
        G = rng.normal(size=(B, B + 2))
        K = G @ G.T
        out = neuralef_loss(psi, K)
        _, bound = tolerances.neuralef_loss_bounds(psi, K)
        fd, fd_bound = ref.loss_differences(psi, K)
        outcomes.append(compare(out.gradient, fd, bound + fd_bound,
                                detail=f"B = {B}, k = {k}: l_j is quadratic in column j"))
    return worst(outcomes)


@check("eigen/neuralef/population_exact_pairs", family=FAMILY,
       paper="spec 4 #15: linear, population", policy="neuralef_population")
def _population(quick: bool) -> Outcome:
    x, w = gauss_legendre_rule(8, -1.0, 1.0)
    k, steps, lr = (3, 3000, 0.05) if quick else (5, 20_000, 0.02)
    ef = neuralef_fit(ref.poly_kernel, (x, w), k, features=ref.legendre_features, steps=steps,
                      lr=lr, rng=0)
    exact = polynomial_eigen_1d(4, c=1.5)
    xq, wq = gauss_legendre_rule(40, -1.0, 1.0)
    F, G = exact(xq)[:, :k], ef(xq)
    G = G * np.sign(np.sum(wq[:, None] * F * G, axis=0))
    err = np.sqrt(wq @ (G - F) ** 2)
    return worst([
        compare(ef.eigenvalues, exact.eigenvalues[:k],
                tolerances.NEURALEF_POPULATION_RTOL * exact.eigenvalues[:k],
                detail=f"eigenvalues, {steps} Adam steps"),
        compare(err, np.zeros_like(err), tolerances.NEURALEF_POPULATION_L2,
                detail="L2(p) error of psi_j"),
    ])


@check("eigen/neuralef/batch_eigenvalue_formula", family=FAMILY,
       paper="spec 1.8: V-statistic shift", policy="eigen_ztest")
def _batch_formula(quick: bool) -> Outcome:
    exact = polynomial_eigen_1d(4, c=1.5)
    x, w = gauss_legendre_rule(40, -1.0, 1.0)
    B, S = 256, (600 if quick else 4000)
    rng = _rng(12)
    samples = np.empty((S, 3))
    for s in range(S):
        t = rng.uniform(-1, 1, size=B)
        psi, _ = l2_batch_norm(exact(t)[:, :3])
        samples[s] = np.diag(neuralef_loss(psi, ref.poly_kernel(t)).R)
    pred = neuralef_batch_eigenvalues(ref.poly_kernel, exact, x, w, B)[:3]
    mu = exact.eigenvalues[:3]
    sd = samples.std(axis=0, ddof=1) / math.sqrt(S)
    bound = tolerances.eigen_ztest_bound(sd, 3, df=S - 1) + (pred - mu) ** 2 / mu
    return compare(samples.mean(axis=0), pred, bound, detail=f"E[R_jj], B = {B}, {S} batches")


@check("eigen/neuralef/minibatch_recovery", family=FAMILY,
       paper="spec 4 #17: recoverable comps", policy="neuralef_minibatch")
def _minibatch(quick: bool) -> Outcome:
    B, steps = (256, 1500) if quick else (1024, 2000)
    x, w = gauss_legendre_rule(40, -1.0, 1.0)
    exact = polynomial_eigen_1d(4, c=1.5)
    mu = exact.eigenvalues
    pred = neuralef_minibatch_prediction(ref.poly_kernel, ref.legendre_features, x, w, 5, B)
    asserted = (mu / mu[0] >= 0.1) & (pred.bias <= tolerances.NEURALEF_RECOVERABLE_BIAS)
    ef = neuralef_fit(ref.poly_kernel, uniform_sampler(-1.0, 1.0), 5,
                      features=ref.legendre_features, batch_size=B, steps=steps, lr=0.01, rng=0)
    F = exact(x)
    G = ef(x)[:, np.argsort(ef.info["order"])]
    G = G * np.sign(np.sum(w[:, None] * F * G, axis=0))
    err = np.sqrt(w @ (G - F) ** 2)
    shown = ", ".join(f"{e:.3f}{'' if a else ' (not asserted)'}" for e, a in zip(err, asserted))
    return compare(err[asserted], np.zeros(int(asserted.sum())), tolerances.NEURALEF_L2_TARGET,
                   detail=f"B = {B}: L2 errors {shown}; predicted bias {np.round(pred.bias, 3)}")
