"""Kernels of refimpl.eigen against their definitions, and NNGP/NTK against closed forms.

* every kernel against an entry-by-entry oracle in mpmath (30 digits), within the
  per-entry bound of POLICY ``kernel_entry``; shapes, ``y=None`` and 1-D inputs;
* every kernel matrix is positive semi-definite (:func:`check_psd`);
* the arc-cosine kernel against its defining Gaussian expectation (z-test, alpha = 1e-6);
* the NNGP/NTK recursions against mpmath (ReLU and erf, with and without bias, near the
  diagonal), against the arc-cosine closed forms on the sphere (spec Sec. 3(f)), and
  :math:`\\Theta(x, x) = L + 1` (POLICY ``nngp_recursion``);
* random networks: the empirical NTK by reverse mode against an explicit forward-mode
  Jacobian, Monte-Carlo NNGP/NTK unbiased for one hidden layer (z-tests at
  alpha = 1e-6, Student t with the per-network sd), the random-projection NTK unbiased
  for a fixed network, and wide deep networks within a stated tolerance.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_eigen_helpers import assert_within, mp_recursion, seeds, sphere_points

from refimpl import tolerances
from refimpl.eigen import (
    RandomMLP,
    arccos_kernel,
    brownian_bridge_kernel,
    brownian_kernel,
    check_psd,
    nngp_erf_kernel,
    nngp_kernel,
    nngp_monte_carlo,
    nngp_relu_kernel,
    ntk_erf_kernel,
    ntk_kernel,
    ntk_monte_carlo,
    ntk_relu_kernel,
    polynomial_kernel,
    rbf_kernel,
    von_mises_kernel,
)

EPS = tolerances.EPS
POINTS = st.integers(1, 5)
DIMS = st.integers(1, 4)


def _mp_matrix(f, x, y):
    with mp.workdps(30):
        return np.array([[float(f([mp.mpf(float(t)) for t in a], [mp.mpf(float(t)) for t in b]))
                          for b in y] for a in x])


def _dot(a, b):
    return mp.fsum(p * q for p, q in zip(a, b))


# -- kernels against their definitions --------------------------------------------------------

@given(rng=seeds(), n=POINTS, p=POINTS, d=DIMS, ell=st.sampled_from([0.3, 1.0, 2.5]))
def test_rbf_matches_definition(rng, n, p, d, ell):
    x, y = rng.normal(size=(n, d)), rng.normal(size=(p, d))
    exact = _mp_matrix(lambda a, b: mp.exp(-_dot([s - t for s, t in zip(a, b)],
                                                 [s - t for s, t in zip(a, b)]) / (2 * ell**2)),
                       x, y)
    out = rbf_kernel(x, y, lengthscale=ell)
    exponent = -np.log(np.maximum(exact, np.finfo(float).tiny))
    bound = tolerances.kernel_entry_bound((d + 8) * (1 + exponent), exact)
    assert_within(out, exact, bound + np.finfo(float).tiny, "rbf_kernel vs mpmath")


@given(rng=seeds(), n=POINTS, p=POINTS, d=DIMS, degree=st.integers(0, 5),
       c=st.sampled_from([0.0, 0.5, 1.5]))
def test_polynomial_matches_definition(rng, n, p, d, degree, c):
    x, y = rng.normal(size=(n, d)), rng.normal(size=(p, d))
    exact = _mp_matrix(lambda a, b: (_dot(a, b) + c) ** degree, x, y)
    magnitude = (np.abs(x) @ np.abs(y).T + c) ** degree
    bound = tolerances.kernel_entry_bound(degree * (d + 4) + 1, magnitude)
    assert_within(polynomial_kernel(x, y, degree=degree, c=c), exact, bound,
                  "polynomial_kernel vs mpmath")


def _mp_arccos(order):
    def k(a, b):
        na, nb = mp.sqrt(_dot(a, a)), mp.sqrt(_dot(b, b))
        if na == 0 or nb == 0:
            theta = mp.pi / 2
        else:
            theta = mp.acos(max(min(_dot(a, b) / (na * nb), 1), -1))
        s, c, rest = mp.sin(theta), mp.cos(theta), mp.pi - theta
        J = [rest, s + rest * c, 3 * s * c + rest * (1 + 2 * c * c)][order]
        return na**order * nb**order * J / mp.pi
    return k


@given(rng=seeds(), n=POINTS, d=st.integers(1, 4), order=st.sampled_from([0, 1, 2]),
       near=st.booleans())
def test_arccos_matches_definition_including_near_duplicates(rng, n, d, order, near):
    x = rng.normal(size=(n, d))
    y = x + 1e-9 * rng.normal(size=(n, d)) if near else rng.normal(size=(n, d))
    exact = _mp_matrix(_mp_arccos(order), x, y)
    norms = np.linalg.norm(x, axis=1)[:, None] * np.linalg.norm(y, axis=1)[None, :]
    # The angle (Kahan's formula) errs by (d + 8) eps radians, J_n' <= 3 pi.
    bound = tolerances.kernel_entry_bound(10 * (d + 8) * (order + 1), norms**order)
    assert_within(arccos_kernel(x, y, order=order), exact, bound, "arccos_kernel vs mpmath")


def test_arccos_zero_vector_convention():
    out = arccos_kernel([[0.0, 0.0], [1.0, 0.0]], [[1.0, 0.0]], order=0)
    np.testing.assert_array_equal(out, [[0.5], [1.0]])


@given(rng=seeds(), n=POINTS, p=POINTS)
def test_interval_and_circle_kernels_match_definitions(rng, n, p):
    x, y = rng.random(n), rng.random(p)
    np.testing.assert_array_equal(brownian_kernel(x, y), np.minimum.outer(x, y))
    exact = _mp_matrix(lambda a, b: min(a[0], b[0]) - a[0] * b[0], x[:, None], y[:, None])
    assert_within(brownian_bridge_kernel(x, y), exact,
                  tolerances.kernel_entry_bound(3, np.minimum.outer(x, y)), "bridge")
    t, s = 7 * rng.random(n) - 3, 7 * rng.random(p) - 3
    exact = _mp_matrix(lambda a, b: mp.exp(2 * (mp.cos(a[0] - b[0]) - 1)), t[:, None],
                       s[:, None])
    # exp(-2 kappa sin^2(u/2)): the exponent (size <= 4 kappa) carries ~6 roundings.
    bound = tolerances.kernel_entry_bound(8 * (1 + 4 * 2.0), exact)
    assert_within(von_mises_kernel(t, s, kappa=2.0), exact, bound, "von Mises")


@pytest.mark.parametrize("kernel", [
    rbf_kernel,
    lambda x, y=None: polynomial_kernel(x, y, degree=3, c=1.0),
    lambda x, y=None: arccos_kernel(x, y, order=1),
    lambda x, y=None: nngp_relu_kernel(x, y, depth=2, sigma_b2=0.3),
    lambda x, y=None: ntk_erf_kernel(x, y, depth=2, sigma_b2=0.3),
], ids=["rbf", "poly", "arccos1", "nngp_relu", "ntk_erf"])
def test_shapes_defaults_and_psd(kernel):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(4, 3))
    assert kernel(x, y).shape == (6, 4)
    K = kernel(x)
    np.testing.assert_array_equal(K, kernel(x, x))
    check_psd(K)
    one_d = rng.normal(size=5)
    np.testing.assert_array_equal(kernel(one_d), kernel(one_d[:, None]))


@pytest.mark.parametrize("kernel", [brownian_kernel, brownian_bridge_kernel,
                                    lambda x, y=None: von_mises_kernel(x, y, kappa=3.0)])
def test_one_dimensional_kernels_are_psd(kernel):
    x = np.random.default_rng(1).random(40)
    check_psd(kernel(x))


def test_check_psd_refuses_indefinite_and_asymmetric():
    assert check_psd(np.eye(3)) == 1.0
    with pytest.raises(ValueError, match="positive semi-definite"):
        check_psd([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="symmetric"):
        check_psd([[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="square"):
        check_psd(np.ones((2, 3)))


def test_arccos_is_its_gaussian_expectation():
    """z-test of k_n(x, y) = 2 E[Theta(w.x)Theta(w.y)(w.x)^n(w.y)^n], alpha = 1e-6."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4))
    w = rng.standard_normal((200_000, 4))
    proj = w @ x.T  # (S, 3)
    for order in (0, 1, 2):
        feats = np.where(proj > 0, proj**order, 0.0) * np.sqrt(2.0)
        terms = feats[:, :, None] * feats[:, None, :]
        sd = terms.std(axis=0, ddof=1) / np.sqrt(len(w))
        bound = tolerances.eigen_ztest_bound(sd, 3 * 3 * 3, df=len(w) - 1)
        assert_within(terms.mean(axis=0), arccos_kernel(x, order=order), bound,
                      f"arc-cosine order {order}, z-test")


# -- NNGP and NTK recursions ---------------------------------------------------------------------

@given(rng=seeds(), depth=st.integers(0, 4), activation=st.sampled_from(["relu", "erf"]),
       sigma_w2=st.sampled_from([1.0, 2.0]), sigma_b2=st.sampled_from([0.0, 0.1, 1.0]),
       near=st.booleans())
def test_recursion_matches_mpmath(rng, depth, activation, sigma_w2, sigma_b2, near):
    d = 3
    x = rng.normal(size=(3, d))
    y = x + 1e-9 * rng.normal(size=(3, d)) if near else rng.normal(size=(2, d))
    nngp, ntk = mp_recursion(x, y, depth, activation, sigma_w2, sigma_b2)
    kwargs = dict(depth=depth, activation=activation, sigma_w2=sigma_w2, sigma_b2=sigma_b2)
    for name, actual, exact, func in (("NNGP", nngp_kernel(x, y, **kwargs), nngp, nngp_kernel),
                                      ("NTK", ntk_kernel(x, y, **kwargs), ntk, ntk_kernel)):
        diag = np.sqrt(np.outer(np.diag(func(x, **kwargs)), np.diag(func(y, **kwargs))))
        bound = tolerances.nngp_recursion_bound(depth, d, diag)
        assert_within(actual, exact, bound, f"{name} {activation} depth {depth} vs mpmath")


def _kappa0(t):
    return 1 - np.arccos(np.clip(t, -1, 1)) / np.pi


def _kappa1(t):
    t = np.clip(t, -1, 1)
    return (np.sqrt(1 - t * t) + (np.pi - np.arccos(t)) * t) / np.pi


@pytest.mark.parametrize("d", [2, 3, 10])
def test_sphere_closed_forms_of_spec_3f(d):
    """On ||x||^2 = d/2 with sigma_w2 = 2, sigma_b = 0: NNGP = kappa_1 and
    NTK = t kappa_0(t) + kappa_1(t) for one layer, and Theta(x, x) = L + 1."""
    x = sphere_points(7, d, np.random.default_rng(d))
    # The comparison is against the arc-cosine kernel (an independent float64 route):
    # arccos_kernel(order=n) = |x|^n |y|^n J_n / pi with |x|^2 = d/2.
    t = arccos_kernel(x, order=0)  # kappa_0 = J_0 / pi
    k1 = arccos_kernel(x, order=1) / (d / 2)  # kappa_1(t)
    cos = (x @ x.T) / (d / 2)
    bound = tolerances.nngp_recursion_bound(1, d, 1.0) + tolerances.kernel_entry_bound(
        10 * (d + 8) * 2, 1.0)
    assert_within(nngp_relu_kernel(x, depth=1), k1, bound, "NNGP = kappa_1")
    assert_within(ntk_relu_kernel(x, depth=1), cos * t + k1, 3 * bound, "NTK = t k0 + k1")
    for depth in (1, 3, 6):
        diag = np.diag(ntk_relu_kernel(x, depth=depth))
        assert_within(diag, depth + 1.0, tolerances.nngp_recursion_bound(depth, d, depth + 1),
                      f"Theta(x, x) = L + 1 at depth {depth}")
    # Depth 2 is the composition kappa_1(kappa_1(t)).
    assert_within(nngp_relu_kernel(x, depth=2), _kappa1(_kappa1(cos)),
                  tolerances.nngp_recursion_bound(2, d, 1.0)
                  + tolerances.kernel_entry_bound(10 * (d + 8) * 4, 1.0),
                  "NNGP depth 2 = kappa_1 o kappa_1")
    assert_within(nngp_relu_kernel(x, depth=0), cos, tolerances.nngp_recursion_bound(0, d, 1),
                  "depth 0 is the linear kernel")


def test_unit_sphere_carries_the_factor_two_over_d():
    """spec Sec. 3(f) says Sigma^l(x, x) = 1 on the *unit* sphere; with Sigma^1 = 2 x.y/d it
    is 2/d there (the closed forms hold on ||x||^2 = d/2). Checked, not assumed."""
    d = 5
    x = sphere_points(4, d, np.random.default_rng(3), radius=1.0)
    diag = np.diag(nngp_relu_kernel(x, depth=3))
    assert_within(diag, 2.0 / d, tolerances.nngp_recursion_bound(3, d, 1.0), "2/d")


def test_erf_layer_is_williams_expectation():
    """z-test: E[erf(u) erf(v)] for (u, v) ~ N(0, Sigma^1) against depth-1 NNGP, alpha 1e-6."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 2))
    from scipy.special import erf

    S = 200_000
    cov = 1.0 * (x @ x.T) / 2
    u = rng.multivariate_normal(np.zeros(3), cov, size=S, method="eigh")
    terms = erf(u)[:, :, None] * erf(u)[:, None, :]
    sd = terms.std(axis=0, ddof=1) / math.sqrt(S)
    bound = tolerances.eigen_ztest_bound(sd, 9, df=S - 1)
    assert_within(terms.mean(axis=0), nngp_erf_kernel(x, depth=1, sigma_w2=1.0), bound,
                  "erf NNGP z-test")


# -- random networks -------------------------------------------------------------------------------

def _explicit_jacobian(net: RandomMLP, x: np.ndarray) -> np.ndarray:
    """J (n, P) by forward mode along every parameter's unit direction."""
    columns = []
    zero_w = [np.zeros_like(W) for W in net.weights]
    zero_b = [np.zeros_like(b) for b in net.biases]
    for kind, shapes in (("w", net.weights), ("b", net.biases)):
        for layer, param in enumerate(shapes):
            for index in np.ndindex(param.shape):
                tw, tb = [z.copy() for z in zero_w], [z.copy() for z in zero_b]
                (tw if kind == "w" else tb)[layer][index] = 1.0
                columns.append(net.jvp(x, tw, tb))
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("activation", ["relu", "erf", "tanh"])
def test_empirical_ntk_equals_explicit_jacobian_product(activation):
    rng = np.random.default_rng(5)
    net = RandomMLP(2, depth=2, width=3, activation=activation, sigma_b2=0.5, rng=rng)
    x = rng.normal(size=(4, 2))
    J = _explicit_jacobian(net, x)
    bound = tolerances.product_bound(np.abs(J), np.abs(J).T) * 4  # both routes round alike
    assert_within(net.ntk(x), J @ J.T, bound, f"reverse-mode NTK ({activation})")


def _t_test(terms, exact, what):
    S = terms.shape[0]
    sd = terms.std(axis=0, ddof=1) / math.sqrt(S)
    bound = tolerances.eigen_ztest_bound(sd, exact.size, df=S - 1)
    assert_within(terms.mean(axis=0), exact, bound, what)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_one_layer_monte_carlo_is_unbiased(activation):
    """depth 1: NNGP (features and the paper's read-out) and NTK, z-tests at alpha = 1e-6."""
    x = np.random.default_rng(6).normal(size=(4, 3))
    kw = dict(depth=1, activation=activation, sigma_w2=2.0, sigma_b2=0.2)
    nngp, ntk = nngp_kernel(x, **kw), ntk_kernel(x, **kw)
    _t_test(nngp_monte_carlo(x, n_networks=400, width=8, rng=7, per_network=True, **kw),
            nngp, f"NNGP features ({activation})")
    _t_test(nngp_monte_carlo(x, n_networks=4000, width=8, readout=True, rng=8,
                             per_network=True, **kw), nngp, f"NNGP read-out ({activation})")
    _t_test(ntk_monte_carlo(x, n_networks=400, width=8, rng=9, per_network=True, **kw),
            ntk, f"NTK ({activation})")


def test_random_projections_estimate_the_network_ntk():
    rng = np.random.default_rng(10)
    net = RandomMLP(3, depth=2, width=16, sigma_b2=0.1, rng=rng)
    x = rng.normal(size=(5, 3))
    terms = net.ntk_projections(x, n_projections=3000, rng=11, per_projection=True)
    _t_test(terms, net.ntk(x), "Rademacher projections of J J^T")


def test_wide_deep_networks_match_the_recursion():
    """depth 2: unbiased for the finite-width kernel, which is within O(1/width) of the
    recursion; tolerance t(alpha = 1e-6) sd + 1/width (the measured |bias| x width was
    below 0.6 at widths 16-256 for inputs of this scale, spec Sec. 3(f): O(1/width))."""
    x = sphere_points(4, 3, np.random.default_rng(12))
    width, S = 512, 60
    for est, exact in ((nngp_monte_carlo(x, depth=2, n_networks=S, width=width, rng=13,
                                         per_network=True), nngp_relu_kernel(x, depth=2)),
                       (ntk_monte_carlo(x, depth=2, n_networks=S, width=width, rng=14,
                                        per_network=True), ntk_relu_kernel(x, depth=2))):
        sd = est.std(axis=0, ddof=1) / math.sqrt(S)
        bound = tolerances.eigen_ztest_bound(sd, exact.size, df=S - 1) + 1.0 / width
        assert_within(est.mean(axis=0), exact, bound, "wide network vs recursion")
