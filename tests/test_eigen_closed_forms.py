"""Closed-form spectra of refimpl.eigen: spec Sec. 3 and the property tests of Sec. 4.

Every deterministic comparison is held to a rounding bound of refimpl.tolerances:

* quadrature rules are chosen to be *exact* for the integrand where possible (Gauss--Hermite
  for the weight :math:`e^{-2cx^2}` integrates products of RBF eigenfunctions exactly;
  Gauss--Jacobi integrates polynomial profiles exactly; the trapezoid rule integrates
  trigonometric polynomials exactly; product rules on :math:`S^2` integrate spherical
  polynomials exactly), so that only rounding is left (POLICY ``quadrature``);
* where the integrand is analytic but not polynomial (eigen-equation residuals), the rule
  has many more nodes than the integrand's degree of oscillation, as spec Sec. 4 #5
  prescribes, so its remainder is below the rounding bound;
* Mercer partial sums are held to the Cauchy--Schwarz tail bound
  :math:`|k - S_N|(x, y) \\le \\sqrt{T_N(x, x)T_N(y, y)}` (POLICY ``mercer_tail``), which is
  a theorem, not an estimate.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import scipy.special as sc
from hypothesis import given
from hypothesis import strategies as st
from test_eigen_helpers import assert_within

from refimpl import tolerances
from refimpl.eigen import (
    brownian_bridge_eigen,
    brownian_bridge_kernel,
    brownian_eigen,
    brownian_kernel,
    circle_eigen,
    funk_hecke_eigenvalues,
    gauss_hermite_rule,
    gauss_legendre_rule,
    legendre_d,
    polynomial_eigen_1d,
    polynomial_kernel,
    rbf_gaussian_eigen,
    rbf_kernel,
    sphere_eigen,
    sphere_multiplicity,
    von_mises_eigen,
    von_mises_kernel,
)
from refimpl.eigen._golden import GOLDEN

EPS = tolerances.EPS
RBF_CASES = [(1.0, 1.0), (0.5, 2.0), (2.0, 0.7)]  # (lengthscale, sigma): spec Sec. 3(a)


def golden(name):
    return np.array([float(v) for v in GOLDEN[name][1]])


def _golden_bound(values, roundings):
    # The stored 25 digits add nothing; one float64 rounding of each side plus the
    # computation's own bound.
    return tolerances.kernel_entry_bound(roundings, values) + EPS * np.abs(values)


# -- the Gaussian kernel under a Gaussian measure ---------------------------------------------

def _exact_rbf_rule(c, sigma, n):
    """Nodes and weights integrating poly(x) exp(-2 c x^2 + x^2/(2 sigma^2)) p(x) exactly."""
    u, wu = sc.roots_hermite(n)
    x = u / np.sqrt(2 * c)
    log_p = -x * x / (2 * sigma**2) - np.log(sigma * np.sqrt(2 * np.pi))
    return x, np.exp(np.log(wu) + u * u + log_p) / np.sqrt(2 * c), u


def _hermite_error(F, ef, x):
    """Pointwise error bound of the computed eigenfunctions (POLICY hermite_recurrence)."""
    a, c = ef.info["a"], ef.info["c"]
    envelope = np.maximum.accumulate(np.abs(F), axis=1)
    order = ef.info["multi_indices"][:, 0]
    return tolerances.hermite_bound(order, envelope, ((c - a) * x * x)[:, None])


@pytest.mark.parametrize("ell,sigma", RBF_CASES)
def test_rbf_eigenfunctions_are_orthonormal(ell, sigma):
    k, n = 120, 300  # the rule is exact to degree 2n - 1 = 599 >= 2 (k - 1)
    ef = rbf_gaussian_eigen(k, lengthscale=ell, sigma=sigma)
    x, W, u = _exact_rbf_rule(ef.info["c"], sigma, n)
    F = ef(x)
    gram = (F * W[:, None]).T @ F
    E, aF = _hermite_error(F, ef, x), np.abs(F)
    rounding = tolerances.quadrature_bound(n, 1.0, roundings=8 + 2 * u * u)[:, None] * W[:, None]
    bound = (W[:, None] * E).T @ aF + (W[:, None] * aF).T @ E + (rounding * aF).T @ aF
    assert_within(gram, np.eye(k), bound, f"Gram matrix, (l, sigma) = {(ell, sigma)}")


@pytest.mark.parametrize("ell,sigma", RBF_CASES)
def test_rbf_eigen_equation_residual(ell, sigma):
    k = 20
    n = int(200 * max(1.0, 2 * sigma / ell))  # spec Sec. 4 #5: n >= 100 max(1, 2 sigma/l)
    ef = rbf_gaussian_eigen(k, lengthscale=ell, sigma=sigma)
    y, w = gauss_hermite_rule(n, sigma)
    t = np.linspace(-3 * sigma, 3 * sigma, 9)
    Fy, Ft, K = ef(y), ef(t), rbf_kernel(t, y, lengthscale=ell)
    integral = (K * w) @ Fy
    Ey, Et = _hermite_error(Fy, ef, y), _hermite_error(Ft, ef, t)
    bound = ((K * w) @ (Ey + tolerances.quadrature_bound(n, np.abs(Fy), roundings=16))
             + ef.eigenvalues * (Et + 2 * EPS * np.abs(Ft)))
    assert_within(integral, ef.eigenvalues * Ft, bound, "int k psi p = mu psi")


def test_rbf_large_k_matches_mpmath_without_overflow():
    ell, sigma = 0.5, 2.0
    ef = rbf_gaussian_eigen(1000, lengthscale=ell, sigma=sigma)
    x = np.array([0.0, 0.7, 3.0, 9.0, -14.0])
    F = ef(x)
    assert np.all(np.isfinite(F))
    orders = [0, 7, 100, 171, 600, 999]
    with mp.workdps(40):
        a, b = mp.mpf(1) / (4 * sigma**2), mp.mpf(1) / (2 * ell**2)
        c = mp.sqrt(a * a + 2 * a * b)
        exact = np.array([[float((c / a) ** mp.mpf(0.25) * mp.exp(-(c - a) * mp.mpf(t) ** 2)
                                 * mp.hermite(m, mp.sqrt(2 * c) * mp.mpf(t))
                                 / mp.sqrt(mp.mpf(2) ** m * mp.factorial(m)))
                           for m in orders] for t in x])
    bound = _hermite_error(F, ef, x)[:, orders]
    assert_within(F[:, orders], exact, bound, "Hermite recurrence vs mpmath")


@pytest.mark.parametrize("ell,sigma", RBF_CASES)
def test_rbf_trace_and_hilbert_schmidt_identities(ell, sigma):
    N = 60
    ef = rbf_gaussian_eigen(N, lengthscale=ell, sigma=sigma)
    mu, B, m = ef.eigenvalues, ef.info["B"], np.arange(N)
    root = mu[0]
    rounding = tolerances.quadrature_bound(N, mu, roundings=m + 8).sum()
    tail = root * B**N / (1 - B)
    assert abs(mu.sum() + tail - 1.0) <= rounding + 4 * EPS, "sum mu = k(x, x) = 1"
    hs_tail = root**2 * B ** (2 * N) / (1 - B * B)
    hs = 1.0 / np.sqrt(1.0 + 4.0 * sigma**2 / ell**2)
    assert abs(np.sum(mu**2) + hs_tail - hs) <= 2 * rounding + 8 * EPS, "sum mu^2 = E k^2"


def _mercer_check(ef, kernel, x, y, k_diag):
    Fx, Fy = ef(x), ef(y)
    mu = ef.eigenvalues
    partial = (Fx * mu) @ Fy.T
    n = mu.size

    def diag_tail(F, kd):
        s = (F * F) @ mu
        return kd - s + tolerances.quadrature_bound(n, s + np.abs(kd), roundings=8)

    rounding = tolerances.quadrature_bound(n, (np.abs(Fx) * mu) @ np.abs(Fy).T, roundings=8)
    bound = tolerances.mercer_tail_bound(diag_tail(Fx, k_diag(x)), diag_tail(Fy, k_diag(y)),
                                         rounding + 4 * EPS * np.abs(kernel(x, y)))
    assert_within(partial, kernel(x, y), bound, f"Mercer partial sum, N = {n}")
    return bound


@pytest.mark.parametrize("N", [5, 40])
def test_mercer_partial_sums_within_the_tail_bound(N):
    rng = np.random.default_rng(N)
    x, y = rng.normal(size=6) * 1.5, rng.normal(size=5) * 1.5
    ef = rbf_gaussian_eigen(N)
    bound = _mercer_check(ef, rbf_kernel, x, y, lambda t: np.ones(t.shape[0]))
    # For the RBF the tail decays like B^N (spec Sec. 4 #4).
    assert np.max(bound) <= 50 * ef.info["B"] ** N + 1e3 * EPS
    t = rng.random(6)
    s = rng.random(5)
    for eig, kern in ((brownian_eigen(N), brownian_kernel),
                      (brownian_bridge_eigen(N), brownian_bridge_kernel)):
        bound = _mercer_check(eig, kern, t, s, lambda z, kern=kern: np.diag(kern(z)))
        # The spec's tail: sum_{j>N} mu_j |psi_j|^2 <= 2 sum_{j>N} mu_j = 2 psi_1(N + a)/pi^2.
        shift = 0.5 if kern is brownian_kernel else 1.0
        assert np.max(bound) <= 2 * sc.polygamma(1, N + shift) / np.pi**2 + 1e3 * EPS


def test_rbf_in_two_dimensions_is_the_tensor_product():
    ef2 = rbf_gaussian_eigen(10, lengthscale=0.8, sigma=1.3, dim=2)
    ef1 = rbf_gaussian_eigen(4, lengthscale=0.8, sigma=1.3)
    index = ef2.info["multi_indices"]
    np.testing.assert_array_equal(index.sum(axis=1), [0, 1, 1, 2, 2, 2, 3, 3, 3, 3])
    mu = ef1.eigenvalues
    assert_within(ef2.eigenvalues, mu[index[:, 0]] * mu[index[:, 1]],
                  tolerances.kernel_entry_bound(16, ef2.eigenvalues), "mu_(i,j) = mu_i mu_j")
    pts = np.random.default_rng(0).normal(size=(7, 2))
    f1x, f1y = ef1(pts[:, 0]), ef1(pts[:, 1])
    expected = f1x[:, index[:, 0]] * f1y[:, index[:, 1]]
    assert_within(ef2(pts), expected, tolerances.kernel_entry_bound(16, np.abs(expected) + 1),
                  "psi_(i,j)(x) = psi_i(x1) psi_j(x2)")


# -- Brownian motion and bridge -----------------------------------------------------------------

@pytest.mark.parametrize("eigen,kernel", [(brownian_eigen, brownian_kernel),
                                          (brownian_bridge_eigen, brownian_bridge_kernel)],
                         ids=["brownian", "bridge"])
def test_sine_bases_residual_and_orthonormality(eigen, kernel):
    k, n = 12, 60
    ef = eigen(k)
    # Residual: split the integral at the kink y = x (spec Sec. 4 #1), Gauss-Legendre on
    # each piece; the pieces are polynomial x sine, of frequency <= k pi: n = 60 is ample.
    t = np.linspace(0.05, 0.95, 7)
    integral, size = np.zeros((t.size, k)), np.zeros((t.size, k))
    for i, ti in enumerate(t):
        for low, high in ((0.0, ti), (ti, 1.0)):
            y, w = gauss_legendre_rule(n, low, high)
            terms = (high - low) * w[:, None] * kernel(np.array([ti]), y).T * ef(y)
            integral[i] += terms.sum(axis=0)
            size[i] += np.abs(terms).sum(axis=0)
    freq = np.sqrt(1 / ef.eigenvalues)
    F = ef(t)
    value_error = 4 * EPS * (freq + 2) * np.sqrt(2)  # sin of a rounded argument, times sqrt2
    bound = (tolerances.quadrature_bound(2 * n, size, roundings=8) + size * value_error
             + ef.eigenvalues * (value_error + 2 * EPS * np.abs(F)))
    assert_within(integral, ef.eigenvalues * F, bound, "eigen-equation residual")
    y, w = gauss_legendre_rule(n)
    G = ef(y)
    gram = (G * w[:, None]).T @ G
    bound = tolerances.quadrature_bound(n, 2.0, roundings=8 + 4 * (freq[:, None] + freq[None, :]))
    assert_within(gram, np.eye(k), bound, "orthonormality")


@pytest.mark.parametrize("shift,trace,hs", [(0.5, 0.5, 1 / 6), (0.0, 1 / 6, 1 / 90)],
                         ids=["brownian", "bridge"])
def test_sine_bases_trace_and_hilbert_schmidt(shift, trace, hs):
    N = 200
    ef = brownian_eigen(N) if shift else brownian_bridge_eigen(N)
    mu = ef.eigenvalues
    first = 1 - shift  # the tails sum_{j > N} 1/(j - shift)^p through polygamma
    tail1 = sc.polygamma(1, N + first) / np.pi**2
    tail2 = sc.polygamma(3, N + first) / 6 / np.pi**4
    rounding = tolerances.quadrature_bound(N, trace, roundings=8)
    assert abs(mu.sum() + tail1 - trace) <= rounding, "sum mu = int k(x, x)"
    assert abs(np.sum(mu**2) + tail2 - hs) <= 2 * rounding, "sum mu^2 = int int k^2"
    np.testing.assert_allclose(mu[:4], golden("brownian" if shift else "brownian_bridge"),
                               rtol=4 * EPS, atol=0)


# -- the circle ------------------------------------------------------------------------------------

def test_circle_fft_matches_von_mises_closed_form():
    kappa, k = 2.0, 41
    ef = circle_eigen(lambda t: np.exp(kappa * (np.cos(t) - 1.0)), k)
    exact = von_mises_eigen(k, kappa=kappa)
    np.testing.assert_array_equal(ef.degrees, exact.degrees)
    n = ef.info["n_nodes"]
    # FFT: |error| <= FFT_CONSTANT log2(N) eps max|f| (Higham Thm 24.2); the trapezoid
    # rule's aliasing adds sum_{q != 0} mu_{n + qN} <= 2 mu_{N - n}.
    aliasing = 2 * sc.ive(n - ef.degrees, kappa)
    bound = (tolerances.FFT_CONSTANT * np.log2(n) * EPS * 1.0 + aliasing
             + 4 * EPS * exact.eigenvalues)
    assert_within(ef.eigenvalues, exact.eigenvalues, bound, "circle_eigen vs e^-k I_n(k)")
    assert_within(exact.eigenvalues[[0, 1, 3, 5]], golden("von_mises_kappa2"),
                  _golden_bound(golden("von_mises_kappa2"), 4), "golden kappa = 2")
    full = von_mises_eigen(201, kappa=kappa).eigenvalues
    assert abs(full.sum() - 1.0) <= float(tolerances.quadrature_bound(201, 1.0)), "trace 1"


def test_circle_eigenfunctions_orthonormal_and_eigen():
    kappa, k, n = 3.0, 15, 64
    ef = von_mises_eigen(k, kappa=kappa)
    t = 2 * np.pi * np.arange(n) / n  # trapezoid: exact for trigonometric degree < n
    F = ef(t)
    gram = F.T @ F / n
    assert_within(gram, np.eye(k), tolerances.quadrature_bound(n, 2.0, roundings=16),
                  "orthonormality")
    K = von_mises_kernel(t, kappa=kappa)
    residual = K @ F / n - F * ef.eigenvalues
    # Not exact (exp(kappa cos) is not a trigonometric polynomial): aliasing of the
    # kernel's coefficients beyond n - k is below e^-kappa I_{n-k}(kappa) ~ 1e-60.
    bound = tolerances.quadrature_bound(n, np.abs(K) @ np.abs(F) / n, roundings=24)
    assert_within(residual, 0.0, bound + sc.ive(n - k, kappa) * 4, "eigen-equation")


# -- spheres (Funk-Hecke) -------------------------------------------------------------------------

@pytest.mark.parametrize("d,name", [(3, "poly3_s2"), (5, "poly3_s4")])
def test_funk_hecke_polynomial_profile_is_exact(d, name):
    mu = funk_hecke_eigenvalues(lambda t: (t + 1.0) ** 3, d, 6, n_nodes=20)
    exact = np.concatenate([golden(name), [0.0, 0.0]])
    bound = tolerances.quadrature_bound(20, 8.0, roundings=2 * np.arange(7) + 12)
    assert_within(mu, exact, bound, f"(t+1)^3 on S^{d - 1} (zeros beyond degree 3)")
    total = sum(sphere_multiplicity(d, ell) * mu[ell] for ell in range(7))
    assert abs(total - 8.0) <= float(tolerances.quadrature_bound(7, 8 * 40, roundings=40)), \
        "sum N(d, l) mu_l = f(1)"


def _kappa0(th):
    return 1 - th / np.pi


def _kappa1(th):
    return (np.sin(th) + (np.pi - th) * np.cos(th)) / np.pi


def _ntk2(th):
    return np.cos(th) * _kappa0(th) + _kappa1(th)


def test_arccos_spectra_on_s2_match_exact_values_and_zero_patterns():
    ell_max, n = 60, 600
    k0 = funk_hecke_eigenvalues(_kappa0, 3, ell_max, angle=True, n_nodes=n)
    ell = np.arange(ell_max + 1)
    exact = np.zeros(ell_max + 1)
    exact[0] = 0.5
    odd = ell[1::2]
    # (1/2)((l-2)!!/(l+1)!!)^2 for odd l, by the ratio of consecutive terms.
    ratio = np.ones(odd.size)
    ratio[1:] = (odd[1:] - 2) / (odd[1:] + 1)
    exact[odd] = 0.5 * (np.cumprod(ratio) / 2) ** 2
    bound = tolerances.quadrature_bound(n, 1.0, roundings=2 * ell + 8)
    assert_within(k0, exact, bound, "kappa_0 on S^2 vs the double-factorial formula")
    assert_within(k0[:8], golden("arccos0_s2"), bound[:8], "golden kappa_0")
    k1 = funk_hecke_eigenvalues(_kappa1, 3, ell_max, angle=True, n_nodes=n)
    assert_within(k1[:5], golden("arccos1_s2"), bound[:5], "golden kappa_1")
    assert_within(k1[3::2], 0.0, bound[3::2], "kappa_1: odd l >= 3 vanish")
    ntk = funk_hecke_eigenvalues(_ntk2, 3, ell_max, angle=True, n_nodes=n)
    assert_within(ntk[3::2], 0.0, 2 * bound[3::2], "2-layer NTK: odd l >= 3 vanish")
    assert np.all(k0[1::2] > 100 * bound[1::2]) and np.all(k1[2::2] > 100 * bound[2::2])


@pytest.mark.parametrize("d", [3, 4])
@pytest.mark.parametrize("profile,parity,rate", [(_kappa0, 1, 0), (_kappa1, 0, 2), (_ntk2, 0, 0)],
                         ids=["kappa0", "kappa1", "ntk"])
def test_decay_slopes(d, profile, parity, rate):
    """log mu_l vs log l at l in [80, 160] on the non-vanishing parity: -d (kappa_0, NTK) and
    -d - 2 (kappa_1) (Bach 2017; Bietti & Mairal 2019), POLICY decay_slope."""
    mu = funk_hecke_eigenvalues(profile, d, 160, angle=True, n_nodes=800)
    ell = np.arange(80, 161)
    ell = ell[ell % 2 == parity]
    slope = np.polyfit(np.log(ell), np.log(mu[ell]), 1)[0]
    assert abs(slope + d + rate) <= tolerances.DECAY_SLOPE_TOLERANCE


def _s2_product_rule(n):
    """Gauss-Legendre in cos(theta) x trapezoid in phi: exact for degree < min(2n, n_phi)."""
    z, wz = sc.roots_legendre(n)
    phi = 2 * np.pi * np.arange(2 * n) / (2 * n)
    zz, pp = np.meshgrid(z, phi, indexing="ij")
    r = np.sqrt(1 - zz**2)
    pts = np.stack([r * np.cos(pp), r * np.sin(pp), zz], axis=-1).reshape(-1, 3)
    w = np.repeat(wz / 2, phi.size) / phi.size
    return pts, w


def test_sphere_eigenfunctions_orthonormal_eigen_and_addition_theorem():
    profile = lambda t: (t + 1.0) ** 3  # noqa: E731
    ef = sphere_eigen(profile, 3, 3, n_nodes=20)
    assert ef.k == 16
    pts, w = _s2_product_rule(12)  # exact for spherical polynomials of degree < 24
    F = ef(pts)
    scale = np.abs(F).max()
    gram = (F * w[:, None]).T @ F
    # The basis comes from an eigendecomposition of zonal Gram matrices (rounding of
    # order eigenvalue_bound times the basis size) and P_l by its recurrence.
    size = float(tolerances.eigenvalue_bound(4 * 16, 16 * scale**2))
    bound = tolerances.quadrature_bound(w.size, scale**2, roundings=32) + size
    assert_within(gram, np.eye(16), bound, "orthonormality on S^2 (exact product rule)")
    K = polynomial_kernel(pts[:40], pts, degree=3, c=1.0)
    integral = (K * w) @ F
    bound = tolerances.quadrature_bound(w.size, (np.abs(K) * w) @ np.abs(F), roundings=16) \
        + np.abs(K).max() * size
    assert_within(integral, F[:40] * ef.eigenvalues, bound, "int k psi = mu psi on S^2")
    # Addition theorem: sum over the degree-l basis of psi(x) psi(y) = N P_l(x . y).
    x = pts[::97]
    for ell in range(4):
        cols = ef.degrees == ell
        G = ef(x)[:, cols]
        zonal = sphere_multiplicity(3, ell) * legendre_d(ell, 3, np.clip(x @ x.T, -1, 1)
                                                          .ravel())[:, ell].reshape(len(x), -1)
        assert_within(G @ G.T, zonal, 10 * size + 8 * EPS * np.abs(zonal).max(),
                      f"addition theorem, degree {ell}")


@given(ell=st.integers(0, 30), d=st.integers(2, 7))
def test_multiplicities(ell, d):
    """N(d, l) against the formula (2l + d - 2)/l binom(l + d - 3, l - 1) of spec Sec. 3(d)."""
    from math import comb

    expected = 1 if ell == 0 else (2 * ell + d - 2) * comb(ell + d - 3, ell - 1) // ell
    assert sphere_multiplicity(d, ell) == expected


# -- the polynomial kernel on an interval ---------------------------------------------------------

def test_polynomial_1d_golden_trace_and_exact_residual():
    ef = polynomial_eigen_1d(4, c=1.5)
    gold = golden("poly4_c15_uniform_pm1")
    size = float(tolerances.eigenvalue_bound(5, 40.0))
    assert_within(ef.eigenvalues, gold, size + EPS * gold, "golden (xx'+1.5)^4")
    trace = float(GOLDEN["poly4_c15_uniform_pm1_trace"][1][0])
    assert abs(ef.eigenvalues.sum() - trace) <= 5 * size + 4 * EPS * trace
    y, w = gauss_legendre_rule(8, -1.0, 1.0)  # exact: degree 4 + 4 <= 15
    F = ef(y)
    gram = (F * w[:, None]).T @ F
    vec = size / (ef.eigenvalues[:, None] - np.r_[ef.eigenvalues[1:], 0.0][:, None]).min()
    assert_within(gram, np.eye(5), 4 * vec + tolerances.quadrature_bound(8, 50.0),
                  "orthonormality")
    t = np.linspace(-1, 1, 9)
    K = polynomial_kernel(t, y, degree=4, c=1.5)
    assert_within((K * w) @ F, ef(t) * ef.eigenvalues,
                  tolerances.quadrature_bound(8, (K * w) @ np.abs(F), roundings=16)
                  + 8 * vec * np.abs(K).max(), "eigen-equation residual")
