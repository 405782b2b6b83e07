r"""Checks of kernel eigenfunctions (:mod:`refimpl.eigen`; spec ``neuralef.md`` Sec. 4-5).

Deterministic (rounding bounds of :mod:`refimpl.tolerances`):

* kernels and the NNGP/NTK recursions against mpmath and the arc-cosine closed forms;
* closed forms: orthonormality on exact quadrature rules, eigen-equation residuals,
  trace and Hilbert--Schmidt identities, Mercer tails (Cauchy--Schwarz bound);
* Nyström on quadrature rules against closed forms (Brownian and bridge discrete
  spectra, Gauss--Hermite RBF, Gauss--Legendre polynomial kernel, circulant aliasing);
* Funk--Hecke spectra: exact values, zero patterns, the trace identity, decay slopes;
* golden values of spec Sec. 5 (``refimpl/eigen/_golden.py``, mpmath at 40 digits);
* NeuralEF: the loss gradient against exact central differences; population NeuralEF
  with linear features against the exact eigenpairs.

Statistical (false-failure rate 1e-6 each, :data:`~refimpl.tolerances.EIGEN_FALSE_FAILURE_RATE`):
Monte-Carlo Nyström (Hoffman--Wielandt bound, :math:`1/n` slope), random-network NNGP/NTK
for one hidden layer, the batch-eigenvalue formula of :mod:`refimpl.eigen.minibatch`, and
minibatch NeuralEF recovering the components that formula says it can.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.special as sc

from .. import tolerances
from ..eigen import (
    arccos_kernel,
    brownian_bridge_discrete,
    brownian_bridge_eigen,
    brownian_bridge_kernel,
    brownian_discrete,
    brownian_eigen,
    brownian_kernel,
    funk_hecke_eigenvalues,
    gauss_hermite_rule,
    gauss_legendre_rule,
    neuralef_loss,
    nngp_kernel,
    nngp_monte_carlo,
    nngp_relu_kernel,
    ntk_kernel,
    ntk_monte_carlo,
    ntk_relu_kernel,
    nystrom,
    polynomial_eigen_1d,
    polynomial_kernel,
    rbf_gaussian_eigen,
    rbf_kernel,
    sphere_multiplicity,
    von_mises_eigen,
    von_mises_kernel,
)
from ..eigen._golden import GOLDEN
from ._registry import Outcome, check, compare

FAMILY = "eigen"
SEED = 20220717  # ICML 2022
EPS = tolerances.EPS


def _rng(offset: int = 0) -> np.random.Generator:
    return np.random.default_rng(SEED + offset)


def worst(outcomes) -> Outcome:
    """The outcome with the largest error / tolerance."""
    def ratio(o):
        if o.tolerance > 0:
            return o.error / o.tolerance
        return np.inf if o.error > 0 or not np.isfinite(o.error) else 0.0

    return max(outcomes, key=ratio)


def golden(name: str) -> np.ndarray:
    return np.array([float(v) for v in GOLDEN[name][1]])


# -- kernels and recursions -----------------------------------------------------------------------

def mp_recursion(x, y, depth, activation, sigma_w2, sigma_b2):
    """NNGP and NTK of spec Sec. 3(f) in mpmath at 40 digits (``acos`` of the exact cosine)."""
    import mpmath as mp

    with mp.workdps(40):
        sw2, sb2 = mp.mpf(sigma_w2), mp.mpf(sigma_b2)
        out = np.empty((2, len(x), len(y)))
        for i, xi in enumerate(x):
            for j, yj in enumerate(y):
                u, v = [mp.mpf(float(t)) for t in xi], [mp.mpf(float(t)) for t in yj]
                d = len(u)
                a, b = sw2 * mp.fsum(t * t for t in u) / d + sb2, sw2 * mp.fsum(
                    t * t for t in v) / d + sb2
                c = sw2 * mp.fsum(p * q for p, q in zip(u, v)) / d + sb2
                theta = c
                for _ in range(depth):
                    if activation == "relu":
                        r = mp.sqrt(a * b)
                        ang = mp.acos(max(min(c / r, 1), -1))
                        cross = r / (2 * mp.pi) * (mp.sin(ang) + (mp.pi - ang) * c / r)
                        dot, ea, eb = (mp.pi - ang) / (2 * mp.pi), a / 2, b / 2
                    else:
                        ta, tb = 1 + 2 * a, 1 + 2 * b
                        cross = 2 / mp.pi * mp.asin(2 * c / mp.sqrt(ta * tb))
                        dot = 4 / mp.pi / mp.sqrt(ta * tb - 4 * c * c)
                        ea, eb = 2 / mp.pi * mp.asin(2 * a / ta), 2 / mp.pi * mp.asin(2 * b / tb)
                    a, b, c = sw2 * ea + sb2, sw2 * eb + sb2, sw2 * cross + sb2
                    theta = theta * sw2 * dot + c
                out[:, i, j] = float(c), float(theta)
        return out


@check("eigen/nngp_ntk/recursion_vs_mpmath", family=FAMILY,
       paper="Jacot+18 Thm1; Lee+18 Eq4 (mp)", policy="nngp_recursion")
def _recursion_mpmath(quick: bool) -> Outcome:
    rng = _rng(1)
    x = rng.normal(size=(3, 4))
    y = np.vstack([x[:2] + 1e-9 * rng.normal(size=(2, 4)), rng.normal(size=(1, 4))])
    outcomes = []
    for activation in ("relu", "erf"):
        for depth in ((1, 3) if quick else (1, 2, 4, 6)):
            kw = dict(depth=depth, activation=activation, sigma_w2=2.0, sigma_b2=0.1)
            exact = mp_recursion(x, y, depth, activation, 2.0, 0.1)
            for k, f in enumerate((nngp_kernel, ntk_kernel)):
                size = np.sqrt(np.outer(np.diag(f(x, **kw)), np.diag(f(y, **kw))))
                outcomes.append(compare(f(x, y, **kw), exact[k],
                                        tolerances.nngp_recursion_bound(depth, 4, size),
                                        detail=f"{f.__name__} {activation} depth {depth}"))
    return worst(outcomes)


@check("eigen/nngp_ntk/sphere_closed_forms", family=FAMILY,
       paper="spec 3(f): k1, t k0 + k1, L + 1", policy="nngp_recursion")
def _sphere_closed(quick: bool) -> Outcome:
    d = 5
    g = _rng(2).normal(size=(6 if quick else 30, d))
    x = np.sqrt(d / 2) * g / np.linalg.norm(g, axis=1, keepdims=True)
    k0, k1 = arccos_kernel(x, order=0), arccos_kernel(x, order=1) / (d / 2)
    cos = x @ x.T / (d / 2)
    angle = tolerances.kernel_entry_bound(10 * (d + 8) * 2, 1.0)
    outcomes = [
        compare(nngp_relu_kernel(x, depth=1), k1,
                tolerances.nngp_recursion_bound(1, d, 1.0) + angle, detail="NNGP = kappa_1"),
        compare(ntk_relu_kernel(x, depth=1), cos * k0 + k1,
                3 * (tolerances.nngp_recursion_bound(1, d, 1.0) + angle),
                detail="NTK = t kappa_0 + kappa_1"),
    ]
    for depth in (2, 5):
        outcomes.append(compare(np.diag(ntk_relu_kernel(x, depth=depth)), depth + 1.0,
                                tolerances.nngp_recursion_bound(depth, d, depth + 1),
                                detail=f"Theta(x, x) = L + 1, L = {depth}"))
    return worst(outcomes)


@check("eigen/kernels/arccos_vs_mpmath", family=FAMILY, paper="Cho&Saul09 Eq3 (mpmath)",
       policy="kernel_entry")
def _arccos_mpmath(quick: bool) -> Outcome:
    import mpmath as mp

    rng = _rng(3)
    x = rng.normal(size=(4, 3))
    y = np.vstack([x + 1e-10 * rng.normal(size=x.shape), rng.normal(size=(2, 3))])
    outcomes = []
    with mp.workdps(30):
        for order in (0, 1, 2):
            exact = np.empty((len(x), len(y)))
            for i, a in enumerate(x):
                for j, b in enumerate(y):
                    u, v = [mp.mpf(float(t)) for t in a], [mp.mpf(float(t)) for t in b]
                    nu, nv = mp.sqrt(mp.fsum(t * t for t in u)), mp.sqrt(mp.fsum(t * t for t in v))
                    th = mp.acos(mp.fsum(p * q for p, q in zip(u, v)) / (nu * nv))
                    J = [mp.pi - th, mp.sin(th) + (mp.pi - th) * mp.cos(th),
                         3 * mp.sin(th) * mp.cos(th)
                         + (mp.pi - th) * (1 + 2 * mp.cos(th) ** 2)][order]
                    exact[i, j] = float((nu * nv) ** order * J / mp.pi)
            norms = np.outer(np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1)) ** order
            outcomes.append(compare(arccos_kernel(x, y, order=order), exact,
                                    tolerances.kernel_entry_bound(10 * 11 * (order + 1), norms),
                                    detail=f"order {order}"))
    return worst(outcomes)


# -- closed forms ---------------------------------------------------------------------------------

def _rbf_exact_rule(c, sigma, n):
    """Gauss-Hermite for the weight exp(-2 c x^2): exact for products of RBF eigenfunctions."""
    u, wu = sc.roots_hermite(n)
    x = u / np.sqrt(2 * c)
    log_p = -x * x / (2 * sigma**2) - np.log(sigma * np.sqrt(2 * np.pi))
    return x, np.exp(np.log(wu) + u * u + log_p) / np.sqrt(2 * c), u


def _hermite_error(F, ef, x):
    a, c = ef.info["a"], ef.info["c"]
    envelope = np.maximum.accumulate(np.abs(F), axis=1)
    return tolerances.hermite_bound(ef.info["multi_indices"][:, 0], envelope,
                                    ((c - a) * x * x)[:, None])


@check("eigen/closed/rbf_orthonormal", family=FAMILY, paper="GPML 4.3.1 (Hermite, exact rule)",
       policy="hermite_recurrence")
def _rbf_orthonormal(quick: bool) -> Outcome:
    outcomes = []
    k, n = (40, 100) if quick else (150, 300)
    for ell, sigma in ((1.0, 1.0), (0.5, 2.0), (2.0, 0.7)):
        ef = rbf_gaussian_eigen(k, lengthscale=ell, sigma=sigma)
        x, W, u = _rbf_exact_rule(ef.info["c"], sigma, n)
        F = ef(x)
        E, aF = _hermite_error(F, ef, x), np.abs(F)
        rounding = tolerances.quadrature_bound(n, 1.0, roundings=8 + 2 * u * u)[:, None] * W[:, None]
        bound = (W[:, None] * E).T @ aF + (W[:, None] * aF).T @ E + (rounding * aF).T @ aF
        outcomes.append(compare((F * W[:, None]).T @ F, np.eye(k), bound,
                                detail=f"(l, sigma) = {(ell, sigma)}, k = {k}"))
    return worst(outcomes)


@check("eigen/closed/rbf_eigen_residual", family=FAMILY, paper="GPML 4.3.1: int k psi = mu psi",
       policy="quadrature")
def _rbf_residual(quick: bool) -> Outcome:
    outcomes = []
    for ell, sigma in ((1.0, 1.0), (0.5, 2.0)):
        ef = rbf_gaussian_eigen(10 if quick else 25, lengthscale=ell, sigma=sigma)
        y, w = gauss_hermite_rule(int(200 * max(1.0, 2 * sigma / ell)), sigma)
        t = np.linspace(-3 * sigma, 3 * sigma, 7)
        Fy, Ft, K = ef(y), ef(t), rbf_kernel(t, y, lengthscale=ell)
        Ey, Et = _hermite_error(Fy, ef, y), _hermite_error(Ft, ef, t)
        bound = ((K * w) @ (Ey + tolerances.quadrature_bound(y.size, np.abs(Fy), roundings=16))
                 + ef.eigenvalues * (Et + 2 * EPS * np.abs(Ft)))
        outcomes.append(compare((K * w) @ Fy, ef.eigenvalues * Ft, bound,
                                detail=f"(l, sigma) = {(ell, sigma)}"))
    return worst(outcomes)


@check("eigen/closed/sine_bases_residual", family=FAMILY,
       paper="spec 3(b)(e): Brownian, bridge", policy="quadrature")
def _sine_residual(quick: bool) -> Outcome:
    outcomes = []
    k, n = (6, 40) if quick else (20, 80)
    for eigen, kernel in ((brownian_eigen, brownian_kernel),
                          (brownian_bridge_eigen, brownian_bridge_kernel)):
        ef = eigen(k)
        t = np.linspace(0.05, 0.95, 7)
        integral, size = np.zeros((t.size, k)), np.zeros((t.size, k))
        for i, ti in enumerate(t):
            for low, high in ((0.0, ti), (ti, 1.0)):  # split at the kink (spec Sec. 4 #1)
                y, w = gauss_legendre_rule(n, low, high)
                terms = (high - low) * w[:, None] * kernel(np.array([ti]), y).T * ef(y)
                integral[i] += terms.sum(axis=0)
                size[i] += np.abs(terms).sum(axis=0)
        freq = np.sqrt(1 / ef.eigenvalues)
        value_error = 4 * EPS * (freq + 2) * np.sqrt(2)
        bound = (tolerances.quadrature_bound(2 * n, size, roundings=8) + size * value_error
                 + ef.eigenvalues * (value_error + 2 * EPS * np.abs(ef(t))))
        outcomes.append(compare(integral, ef.eigenvalues * ef(t), bound, detail=ef.method))
    return worst(outcomes)


@check("eigen/closed/trace_and_hs_identities", family=FAMILY,
       paper="Mercer: sum mu = E k(x,x)", policy="quadrature")
def _trace_hs(quick: bool) -> Outcome:
    N = 60 if quick else 400
    outcomes = []
    ef = rbf_gaussian_eigen(N)
    mu, B = ef.eigenvalues, ef.info["B"]
    rounding = float(tolerances.quadrature_bound(N, mu, roundings=np.arange(N) + 8).sum())
    outcomes.append(compare(mu.sum() + mu[0] * B**N / (1 - B), 1.0, rounding + 4 * EPS,
                            detail="RBF: sum mu = 1 (geometric tail)"))
    outcomes.append(compare(np.sum(mu**2) + mu[0] ** 2 * B ** (2 * N) / (1 - B * B),
                            float(golden("rbf_normal_l1_s1_hs")[0]), 2 * rounding + 8 * EPS,
                            detail="RBF: sum mu^2 = 1/sqrt5"))
    for shift, eigen, trace, hs in ((0.5, brownian_eigen, 0.5, 1 / 6),
                                    (1.0, brownian_bridge_eigen, 1 / 6, 1 / 90)):
        mu = eigen(N).eigenvalues
        tail1 = sc.polygamma(1, N + shift) / np.pi**2
        tail2 = sc.polygamma(3, N + shift) / 6 / np.pi**4
        r = float(tolerances.quadrature_bound(N, trace, roundings=8))
        outcomes.append(compare(mu.sum() + tail1, trace, r, detail=f"{eigen.__name__} trace"))
        outcomes.append(compare(np.sum(mu**2) + tail2, hs, 2 * r, detail=f"{eigen.__name__} HS"))
    full = von_mises_eigen(201, kappa=2.0).eigenvalues
    outcomes.append(compare(full.sum(), 1.0, tolerances.quadrature_bound(201, 1.0),
                            detail="von Mises: sum e^-k I_n(k) = 1"))
    return worst(outcomes)


@check("eigen/closed/mercer_tail", family=FAMILY, paper="Mercer partial sum, C-S tail",
       policy="mercer_tail")
def _mercer(quick: bool) -> Outcome:
    rng = _rng(4)
    outcomes = []
    for N in ((5, 30) if quick else (3, 10, 30, 100)):
        for ef, kernel, x, y in ((rbf_gaussian_eigen(N), rbf_kernel, rng.normal(size=5),
                                  rng.normal(size=4)),
                                 (brownian_eigen(N), brownian_kernel, rng.random(5),
                                  rng.random(4))):
            Fx, Fy, mu = ef(x), ef(y), ef.eigenvalues

            def tail(F, z, kernel=kernel, mu=mu):
                s, kd = (F * F) @ mu, np.diag(kernel(z))
                return kd - s + tolerances.quadrature_bound(N, s + np.abs(kd), roundings=8)

            rounding = tolerances.quadrature_bound(N, (np.abs(Fx) * mu) @ np.abs(Fy).T,
                                                   roundings=8)
            bound = tolerances.mercer_tail_bound(tail(Fx, x), tail(Fy, y),
                                                 rounding + 4 * EPS * np.abs(kernel(x, y)))
            outcomes.append(compare((Fx * mu) @ Fy.T, kernel(x, y), bound,
                                    detail=f"{ef.method}, N = {N}"))
    return worst(outcomes)
