"""The Nyström method against closed forms (spec Sec. 2 and Sec. 4 #5, #6, #9, #10, #12).

Deterministic (POLICY ``eigenvalue`` / ``eigenvector``: Weyl and Davis--Kahan around a
backward-stable ``eigh``):

* Brownian motion and bridge on equispaced rules, whose Nyström matrices have exact
  closed-form spectra (:func:`brownian_discrete`), eigenvalues and node values;
* the RBF under a Gauss--Hermite rule against GPML's closed form, eigenvalues and
  extended eigenfunctions;
* the 1-D polynomial kernel under Gauss--Legendre (exact for :math:`n \\ge p + 1`) against
  :func:`polynomial_eigen_1d`, and its rank;
* the circle: equispaced von Mises Nyström = the aliased sums :math:`\\sum_q\\mu_{j+qn}`;
* extension consistency: :math:`\\hat\\psi_j(x_i)` reproduces the node values and
  :math:`\\sum_i w_i\\hat\\psi_j(x_i)^2 = 1`.

Statistical (alpha = 1e-6 each): the Hoffman--Wielandt bound
:math:`\\mathbb E\\sum_j(\\hat\\mu_j - \\mu_j)^2 \\le (\\mathbb E k(x,x)^2 - \\sum\\mu^2)/n`
(one-sided t-test) and the :math:`n^{-1}` slope of the squared error (POLICY
``nystrom_mse_slope``).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import scipy.special as sc
from hypothesis import given
from hypothesis import strategies as st
from test_eigen_helpers import align_signs, assert_within, seeds, sphere_points

from refimpl import tolerances
from refimpl.eigen import (
    brownian_bridge_discrete,
    brownian_bridge_kernel,
    brownian_discrete,
    brownian_kernel,
    gauss_hermite_rule,
    gauss_legendre_rule,
    nystrom,
    polynomial_eigen_1d,
    polynomial_kernel,
    rbf_gaussian_eigen,
    rbf_kernel,
    von_mises_kernel,
)

EPS = tolerances.EPS


def _matrix_norm(kernel, x, w):
    root = np.sqrt(w)
    return float(np.linalg.norm(root[:, None] * kernel(x, x) * root[None, :]))


@given(n=st.integers(1, 120), bridge=st.booleans())
def test_brownian_nystrom_equals_the_discrete_closed_form(n, bridge):
    exact = brownian_bridge_discrete(n) if bridge else brownian_discrete(n)
    kernel = brownian_bridge_kernel if bridge else brownian_kernel
    k = min(n, 6)
    ef = nystrom(kernel, exact.nodes, k, weights=exact.weights)
    size = _matrix_norm(kernel, exact.nodes, exact.weights)
    n_nodes = exact.nodes.size
    eig = tolerances.eigenvalue_bound(n_nodes, size)
    closed = exact.eigenvalues[:k]
    assert_within(ef.eigenvalues, closed, eig + 4 * EPS * closed, "eigenvalues")
    gaps = np.abs(np.subtract.outer(exact.eigenvalues, np.r_[exact.eigenvalues, 0.0]))
    gaps[np.arange(n), np.arange(n)] = np.inf
    vec = tolerances.eigenvector_bound(n_nodes, size, gaps.min(axis=1)[:k])
    values = align_signs(ef.info["values_at_nodes"], exact.values[:, :k], exact.weights)
    # ||v_hat - v||_2 <= vec per column, and psi(x_i) = v_i / sqrt(w_i).
    bound = vec / np.sqrt(exact.weights)[:, None] + 8 * EPS * np.abs(exact.values[:, :k])
    assert_within(values, exact.values[:, :k], bound, "node values")


@pytest.mark.parametrize("ell,sigma,n", [(1.0, 1.0, 100), (2.0, 0.7, 100), (0.5, 2.0, 400)])
def test_gauss_hermite_nystrom_equals_gpml(ell, sigma, n):
    """spec Sec. 4 #5(a): eigenvalues with mu_j / mu_0 > 1e-8 and the extended functions."""
    exact = rbf_gaussian_eigen(13, lengthscale=ell, sigma=sigma)
    keep = min(12, int(np.sum(exact.eigenvalues / exact.eigenvalues[0] > 1e-8)))
    kernel = functools.partial(rbf_kernel, lengthscale=ell)
    x, w = gauss_hermite_rule(n, sigma)
    n = x.size  # nodes with underflowing weights are dropped
    ef = nystrom(kernel, x, keep, weights=w)
    size = _matrix_norm(kernel, x, w)
    mu = exact.eigenvalues[:keep]
    closed = tolerances.kernel_entry_bound(np.arange(keep) + 8, mu)
    assert_within(ef.eigenvalues, mu, tolerances.eigenvalue_bound(n, size) + closed,
                  "Gauss-Hermite Nystrom vs GPML")
    # Extension: |psi_hat(t) - psi(t)| <= (1/mu) sqrt(sum_i w_i k(t, x_i)^2) ||dv||_2 + ...
    below = -np.diff(exact.eigenvalues)  # mu_j - mu_{j+1}
    gaps = np.minimum(below[:keep], np.r_[np.inf, below][:keep])
    vec = tolerances.eigenvector_bound(n, size, gaps)
    t = np.linspace(-2 * sigma, 2 * sigma, 7)
    Kt = kernel(t, x)
    F = exact(t)[:, :keep]
    got = align_signs(ef(t), F)
    spread = np.sqrt((Kt * Kt) @ w)[:, None]
    eig = tolerances.eigenvalue_bound(n, size)
    bound = (spread * vec / mu + np.abs(F) * (eig / mu)
             + tolerances.quadrature_bound(n, (np.abs(Kt) * w) @ np.abs(ef.info["values_at_nodes"])
                                           / mu, roundings=16)
             + tolerances.hermite_bound(np.arange(keep), np.abs(F).max(axis=0) + 1, 20 * sigma**2))
    assert_within(got, F, bound, "extended eigenfunctions vs GPML")


@pytest.mark.parametrize("n", [5, 6, 9, 16])
def test_gauss_legendre_nystrom_is_exact_for_the_polynomial_kernel(n):
    """(xx' + 1.5)^4 on U[-1, 1]: rank 5; a rule exact to degree 2n - 1 >= 8 has exactly the
    operator's eigenpairs (spec Sec. 3(d), Sec. 4 #9)."""
    exact = polynomial_eigen_1d(4, c=1.5)
    kernel = functools.partial(polynomial_kernel, degree=4, c=1.5)
    x, w = gauss_legendre_rule(n, -1.0, 1.0)
    k = min(n, 6)
    ef = nystrom(kernel, x, k, weights=w)
    size = _matrix_norm(kernel, x, w)
    eig = float(tolerances.eigenvalue_bound(n, size))
    assert_within(ef.eigenvalues[:5], exact.eigenvalues, eig + 4 * EPS * exact.eigenvalues,
                  "eigenvalues")
    if k > 5:
        assert abs(ef.eigenvalues[5]) <= eig, "rank 5: the sixth eigenvalue is a rounding zero"
        with pytest.raises(ValueError, match="beyond the numerical rank"):
            ef(np.zeros(1))
        ef = nystrom(kernel, x, 5, weights=w)
    gaps = -np.diff(np.r_[np.inf, exact.eigenvalues, 0.0])
    gap = np.minimum(gaps[:-1], gaps[1:])
    t = np.linspace(-1, 1, 11)
    F = exact(t)
    vec = tolerances.eigenvector_bound(n, size, gap)
    spread = np.sqrt((kernel(t, x) ** 2) @ w)[:, None]
    bound = spread * vec / exact.eigenvalues + (np.abs(F) + 1) * 1e3 * eig / exact.eigenvalues
    assert_within(align_signs(ef(t), F), F, bound, "extended eigenfunctions")


@given(n=st.integers(3, 64), kappa=st.sampled_from([0.5, 2.0, 8.0]))
def test_equispaced_circle_nystrom_is_the_aliased_spectrum(n, kappa):
    """spec Sec. 4 #6: K/n is circulant, its eigenvalues are sum_q mu_{j + qn}."""
    t = 2 * np.pi * np.arange(n) / n
    ef = nystrom(functools.partial(von_mises_kernel, kappa=kappa), t, n)
    q = np.arange(-40, 41)
    aliased = np.array([sc.ive(np.abs(j + q * n), kappa).sum() for j in range(n)])
    expected = np.sort(aliased)[::-1]
    size = _matrix_norm(functools.partial(von_mises_kernel, kappa=kappa), t, np.full(n, 1 / n))
    bound = tolerances.eigenvalue_bound(n, size) + tolerances.quadrature_bound(81, expected)
    assert_within(ef.eigenvalues, expected, bound, "circulant Nystrom")


@given(rng=seeds(), n=st.integers(1, 40), k=st.integers(1, 5), d=st.integers(1, 3),
       weighted=st.booleans())
def test_extension_reproduces_node_values_and_is_normalised(rng, n, k, d, weighted):
    k = min(k, n)
    x = rng.normal(size=(n, d))
    w = rng.random(n) + 0.1 if weighted else None
    if weighted:
        w = w / w.sum()
    ef = nystrom(rbf_kernel, x, k, weights=w)
    ww = np.full(n, 1 / n) if w is None else w
    values = ef.info["values_at_nodes"]
    norms = (values**2).T @ ww
    assert_within(norms, 1.0, tolerances.quadrature_bound(n, 1.0, roundings=8), "sum w psi^2")
    live = ef.eigenvalues > ef.info["rank_tolerance"]
    if not np.all(live):
        return
    # psi(x_i) = (1/mu) sum_l w_l k(x_i, x_l) psi(x_l) = (1/mu) (W^1/2 K W^1/2 v)_i / sqrt(w_i):
    # the eigen-residual of eigh, amplified by 1/mu.
    size = _matrix_norm(rbf_kernel, x, ww)
    eig = tolerances.eigenvalue_bound(n, size)
    bound = (eig + tolerances.quadrature_bound(n, size, roundings=16)) / ef.eigenvalues \
        / np.sqrt(ww)[:, None]
    assert_within(ef(x), values, bound, "extension at the nodes")


def test_sphere_nystrom_rank_of_the_cubic_kernel():
    """(t + 1)^3 on S^2 has rank 1 + 3 + 5 + 7 = 16 (spec Sec. 3(d))."""
    x = sphere_points(300, 3, np.random.default_rng(0), radius=1.0)
    kernel = functools.partial(polynomial_kernel, degree=3, c=1.0)
    ef = nystrom(kernel, x, 17)
    eig = float(tolerances.eigenvalue_bound(300, _matrix_norm(kernel, x, np.full(300, 1 / 300))))
    assert np.all(ef.eigenvalues[:16] > 1e3 * eig)
    assert abs(ef.eigenvalues[16]) <= eig


# -- Monte-Carlo Nyström ------------------------------------------------------------------------

def _mc_errors(n, R, rng, k=10):
    mu = rbf_gaussian_eigen(k).eigenvalues
    errors = np.empty(R)
    for r in range(R):
        ef = nystrom(rbf_kernel, rng.standard_normal(n), k)
        errors[r] = np.sum((ef.eigenvalues - mu) ** 2)
    return errors


def _check_mc_scaling(sizes, R, seed):
    rng = np.random.default_rng(seed)
    hs = 1.0 - 1.0 / np.sqrt(5.0)  # E k(x,x)^2 - sum mu^2 for l = sigma = 1
    means, cvs = [], []
    for n in sizes:
        errors = _mc_errors(n, R, rng)
        sd = errors.std(ddof=1)
        # One-sided t-test of E[error] <= hs / n at alpha = 1e-6 (Bonferroni over sizes).
        t = tolerances.eigen_z_threshold(2 * len(sizes), df=R - 1)
        assert errors.mean() <= hs / n + t * sd / np.sqrt(R), f"Hoffman-Wielandt at n={n}"
        means.append(errors.mean())
        cvs.append(sd / errors.mean())
    log_n = np.log(sizes)
    slope = np.polyfit(log_n, np.log(means), 1)[0]
    tol = tolerances.nystrom_mse_slope_tolerance(log_n, cvs, R)
    assert abs(slope + 1.0) <= tol, f"slope {slope:.3f}, tolerance {tol:.3f}"
    return tol


def test_monte_carlo_nystrom_error_scaling():
    """Short form (always runs): R = 100 replicates at n = 25 .. 200."""
    _check_mc_scaling([25, 50, 100, 200], 100, seed=1)


@pytest.mark.slow
def test_monte_carlo_nystrom_error_scaling_long():
    tol = _check_mc_scaling([25, 50, 100, 200, 400], 200, seed=2)
    assert tol < 0.4  # the test can tell n^-1 from n^-1/2
