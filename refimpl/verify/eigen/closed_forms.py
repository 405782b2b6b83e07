"""Deterministic checks of refimpl.eigen: kernels, closed forms, Nyström, spheres, golden."""

from __future__ import annotations

import functools

import numpy as np
import scipy.special as sc

from ... import tolerances
from ...eigen import _reference as ref
from ...eigen import (
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
    nngp_kernel,
    nngp_relu_kernel,
    ntk_kernel,
    ntk_relu_kernel,
    nystrom,
    polynomial_eigen_1d,
    rbf_gaussian_eigen,
    rbf_kernel,
    sphere_multiplicity,
    von_mises_eigen,
    von_mises_kernel,
)
from .._registry import Outcome, check, compare, worst
from ._common import EPS, FAMILY, _rng, golden

# -- kernels and recursions -----------------------------------------------------------------------

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
            exact = ref.mp_recursion(x, y, depth, activation, 2.0, 0.1)
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
        diag = np.diag(ntk_relu_kernel(x, depth=depth))
        outcomes.append(compare(diag, np.full_like(diag, depth + 1.0),
                                tolerances.nngp_recursion_bound(depth, d, depth + 1),
                                detail=f"Theta(x, x) = L + 1, L = {depth}"))
    return worst(outcomes)


@check("eigen/kernels/arccos_vs_mpmath", family=FAMILY, paper="Cho&Saul09 Eq3 (mpmath)",
       policy="kernel_entry")
def _arccos_mpmath(quick: bool) -> Outcome:
    rng = _rng(3)
    x = rng.normal(size=(4, 3))
    y = np.vstack([x + 1e-10 * rng.normal(size=x.shape), rng.normal(size=(2, 3))])
    outcomes = []
    for order in (0, 1, 2):
        norms = np.outer(np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1)) ** order
        outcomes.append(compare(arccos_kernel(x, y, order=order), ref.mp_arccos(x, y, order),
                                tolerances.kernel_entry_bound(10 * 11 * (order + 1), norms),
                                detail=f"order {order}"))
    return worst(outcomes)


# -- closed forms ---------------------------------------------------------------------------------

@check("eigen/closed/rbf_orthonormal", family=FAMILY, paper="GPML 4.3.1 (Hermite, exact rule)",
       policy="hermite_recurrence")
def _rbf_orthonormal(quick: bool) -> Outcome:
    outcomes = []
    k, n = (40, 100) if quick else (150, 300)
    for ell, sigma in ((1.0, 1.0), (0.5, 2.0), (2.0, 0.7)):
        ef = rbf_gaussian_eigen(k, lengthscale=ell, sigma=sigma)
        x, W, u = ref.exact_rbf_rule(ef.info["c"], sigma, n)
        F = ef(x)
        E, aF = ref.hermite_error(F, ef, x), np.abs(F)
        rounding = tolerances.quadrature_bound(n, W, roundings=8 + 2 * u * u)[:, None]
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
        Ey, Et = ref.hermite_error(Fy, ef, y), ref.hermite_error(Ft, ef, t)
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

            def tail(F, z, kernel=kernel, mu=mu, N=N):
                s, kd = (F * F) @ mu, np.diag(kernel(z))
                return kd - s + tolerances.quadrature_bound(N, s + np.abs(kd), roundings=8)

            rounding = tolerances.quadrature_bound(N, (np.abs(Fx) * mu) @ np.abs(Fy).T,
                                                   roundings=8)
            bound = tolerances.mercer_tail_bound(tail(Fx, x), tail(Fy, y),
                                                 rounding + 4 * EPS * np.abs(kernel(x, y)))
            outcomes.append(compare((Fx * mu) @ Fy.T, kernel(x, y), bound,
                                    detail=f"{ef.method}, N = {N}"))
    return worst(outcomes)


# -- Nyström on quadrature rules ------------------------------------------------------------

def _matrix_norm(kernel, x, w):
    root = np.sqrt(w)
    return float(np.linalg.norm(root[:, None] * kernel(x, x) * root[None, :]))


@check("eigen/nystrom/brownian_discrete_spectra", family=FAMILY,
       paper="spec 2: min(i,j) closed forms", policy="eigenvalue")
def _brownian_discrete(quick: bool) -> Outcome:
    outcomes = []
    for n in ((7, 64) if quick else (7, 64, 300, 1000)):
        for spectrum, kernel in ((brownian_discrete(n), brownian_kernel),
                                 (brownian_bridge_discrete(n), brownian_bridge_kernel)):
            k = min(n, 8)
            ef = nystrom(kernel, spectrum.nodes, k, weights=spectrum.weights)
            size = _matrix_norm(kernel, spectrum.nodes, spectrum.weights)
            closed = spectrum.eigenvalues[:k]
            outcomes.append(compare(ef.eigenvalues, closed,
                                    tolerances.eigenvalue_bound(spectrum.nodes.size, size)
                                    + 4 * EPS * closed, detail=f"{kernel.__name__}, n = {n}"))
    return worst(outcomes)


@check("eigen/nystrom/gauss_hermite_vs_gpml", family=FAMILY, paper="spec 4 #5(a): GH Nystrom",
       policy="eigenvalue")
def _gauss_hermite(quick: bool) -> Outcome:
    outcomes = []
    cases = ((1.0, 1.0, 100), (2.0, 0.7, 100)) if quick else (
        (1.0, 1.0, 100), (2.0, 0.7, 100), (0.5, 2.0, 400))
    for ell, sigma, n in cases:
        exact = rbf_gaussian_eigen(12, lengthscale=ell, sigma=sigma)
        keep = int(np.sum(exact.eigenvalues / exact.eigenvalues[0] > 1e-8))
        kernel = functools.partial(rbf_kernel, lengthscale=ell)
        x, w = gauss_hermite_rule(n, sigma)
        ef = nystrom(kernel, x, keep, weights=w)
        mu = exact.eigenvalues[:keep]
        bound = (tolerances.eigenvalue_bound(x.size, _matrix_norm(kernel, x, w))
                 + tolerances.kernel_entry_bound(np.arange(keep) + 8, mu))
        outcomes.append(compare(ef.eigenvalues, mu, bound, detail=f"(l, sigma) = {(ell, sigma)}"))
    return worst(outcomes)


@check("eigen/nystrom/polynomial_rank_5_exact", family=FAMILY,
       paper="(xx'+1.5)^4: GL Nystrom exact", policy="eigenvalue")
def _poly_exact(quick: bool) -> Outcome:
    exact = polynomial_eigen_1d(4, c=1.5).eigenvalues
    outcomes = []
    for n in ((6, 9) if quick else (6, 9, 16, 50)):
        x, w = gauss_legendre_rule(n, -1.0, 1.0)
        ef = nystrom(ref.poly_kernel, x, 6, weights=w)
        eig = tolerances.eigenvalue_bound(n, _matrix_norm(ref.poly_kernel, x, w))
        padded = np.r_[exact, 0.0]
        outcomes.append(compare(ef.eigenvalues, padded, eig + 4 * EPS * padded,
                                detail=f"n = {n}: 5 eigenvalues and a rounding zero"))
    return worst(outcomes)


@check("eigen/nystrom/circle_aliasing", family=FAMILY, paper="spec 4 #6: sum_q mu_(j+qn)",
       policy="eigenvalue")
def _circle(quick: bool) -> Outcome:
    outcomes = []
    for n, kappa in (((5, 2.0), (16, 8.0)) if quick else ((5, 2.0), (16, 8.0), (64, 30.0))):
        t = 2 * np.pi * np.arange(n) / n
        kernel = functools.partial(von_mises_kernel, kappa=kappa)
        ef = nystrom(kernel, t, n)
        q = np.arange(-60, 61)
        aliased = np.sort([sc.ive(np.abs(j + q * n), kappa).sum() for j in range(n)])[::-1]
        bound = (tolerances.eigenvalue_bound(n, _matrix_norm(kernel, t, np.full(n, 1 / n)))
                 + tolerances.quadrature_bound(q.size, aliased))
        outcomes.append(compare(ef.eigenvalues, aliased, bound, detail=f"n = {n}, kappa = {kappa}"))
    return worst(outcomes)


# -- spheres --------------------------------------------------------------------------------------

@check("eigen/sphere/funk_hecke_exact", family=FAMILY, paper="Funk-Hecke; spec 5 golden",
       policy="quadrature")
def _funk_hecke(quick: bool) -> Outcome:
    outcomes = []
    for d, name in ((3, "poly3_s2"), (5, "poly3_s4")):
        mu = funk_hecke_eigenvalues(lambda t: (t + 1.0) ** 3, d, 6, n_nodes=20)
        outcomes.append(compare(mu, np.r_[golden(name), 0.0, 0.0],
                                tolerances.quadrature_bound(20, 8.0,
                                                            roundings=2 * np.arange(7) + 12),
                                detail=f"(t+1)^3 on S^{d - 1}"))
        total = sum(sphere_multiplicity(d, ell) * mu[ell] for ell in range(7))
        outcomes.append(compare(total, 8.0, tolerances.quadrature_bound(7, 8 * 40, roundings=40),
                                detail=f"sum N mu = f(1), d = {d}"))
    ell_max = 40 if quick else 120
    n = 2 * ell_max + 400
    k0 = funk_hecke_eigenvalues(ref.kappa0, 3, ell_max, angle=True, n_nodes=n)
    exact = ref.arccos0_s2(ell_max)
    bound = tolerances.quadrature_bound(n, 1.0, roundings=2 * np.arange(ell_max + 1) + 8)
    outcomes.append(compare(k0, exact, bound, detail="kappa_0 on S^2: ((l-2)!!/(l+1)!!)^2 / 2"))
    for f, name in ((ref.kappa1, "kappa_1"), (ref.ntk2, "2-layer NTK")):
        mu = funk_hecke_eigenvalues(f, 3, ell_max, angle=True, n_nodes=n)
        outcomes.append(compare(mu[3::2], np.zeros_like(mu[3::2]), 2 * bound[3::2],
                                detail=f"{name}: odd l >= 3 vanish"))
    return worst(outcomes)


@check("eigen/sphere/decay_slopes", family=FAMILY, paper="Bach17; Bietti&Mairal19: l^-d",
       policy="decay_slope")
def _decay(quick: bool) -> Outcome:
    outcomes = []
    for d in ((3,) if quick else (3, 4)):
        for f, parity, rate, name in ((ref.kappa0, 1, 0, "kappa_0"), (ref.kappa1, 0, 2, "kappa_1"),
                                      (ref.ntk2, 0, 0, "NTK")):
            mu = funk_hecke_eigenvalues(f, d, 160, angle=True, n_nodes=800)
            ell = np.arange(80, 161)
            ell = ell[ell % 2 == parity]
            slope = np.polyfit(np.log(ell), np.log(mu[ell]), 1)[0]
            outcomes.append(Outcome(abs(slope + d + rate), tolerances.DECAY_SLOPE_TOLERANCE,
                                    f"{name}, d = {d}: slope {slope:.3f} vs {-d - rate}"))
    return worst(outcomes)


# -- golden values (spec Sec. 5) ----------------------------------------------------------------

@check("eigen/golden/paper_settings", family=FAMILY, paper="spec 5 (mpmath 40 digits)",
       policy="eigenvalue")
def _golden_paper(quick: bool) -> Outcome:
    x, w = gauss_legendre_rule(60 if quick else 120, -2.0, 2.0)
    ef = nystrom(rbf_kernel, x, 6, weights=w)
    gold = golden("rbf_uniform_l1_pm2")
    eig = tolerances.eigenvalue_bound(x.size, _matrix_norm(rbf_kernel, x, w))
    poly = polynomial_eigen_1d(4, c=1.5).eigenvalues
    return worst([
        compare(ef.eigenvalues, gold, eig + EPS * gold, detail="RBF on U[-2, 2], GL Nystrom"),
        compare(w @ rbf_kernel(x) ** 2 @ w, golden("rbf_uniform_l1_pm2_hs")[0],
                tolerances.quadrature_bound(x.size**2, 1.0, roundings=16),
                detail="sum mu^2 = E k(x, y)^2 (double Gauss-Legendre)"),
        compare(poly, golden("poly4_c15_uniform_pm1"),
                tolerances.eigenvalue_bound(5, 40.0) + EPS * poly, detail="(xx'+1.5)^4"),
        compare(brownian_eigen(4).eigenvalues, golden("brownian"), 4 * EPS * golden("brownian"),
                detail="Brownian"),
        compare(von_mises_eigen(6, kappa=2.0).eigenvalues[[0, 1, 3, 5]],
                golden("von_mises_kappa2"), 8 * EPS * golden("von_mises_kappa2"),
                detail="von Mises kappa = 2"),
    ])


