"""Golden values of spec ``neuralef.md`` Sec. 5 (``refimpl/eigen/_golden.py``).

Every stored spectrum is recomputed by refimpl's float64 code and compared within the
computation's rounding bound (the stored 25 digits add one float64 rounding); and the
stored strings are regenerated with mpmath (their provenance) and must agree to 20 digits.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from test_eigen_helpers import assert_within

from refimpl import tolerances
from refimpl.eigen import _reference as ref
from refimpl.eigen import (
    brownian_bridge_eigen,
    brownian_eigen,
    funk_hecke_eigenvalues,
    gauss_legendre_rule,
    nystrom,
    polynomial_eigen_1d,
    polynomial_kernel,
    rbf_gaussian_eigen,
    rbf_kernel,
    von_mises_eigen,
)
from refimpl.eigen._golden import GOLDEN, regenerate

EPS = tolerances.EPS


def golden(name):
    return np.array([float(v) for v in GOLDEN[name][1]])


def _computed(name):
    """refimpl's value of each golden entry and its rounding bound."""
    if name == "rbf_normal_l1_s1":
        mu = rbf_gaussian_eigen(4).eigenvalues
        return mu, tolerances.kernel_entry_bound(np.arange(4) + 8, mu)
    if name == "rbf_uniform_l1_pm2":
        x, w = gauss_legendre_rule(120, -2.0, 2.0)
        mu = nystrom(rbf_kernel, x, 6, weights=w).eigenvalues
        size = float(np.linalg.norm(np.sqrt(np.outer(w, w)) * rbf_kernel(x)))
        return mu, tolerances.eigenvalue_bound(x.size, size) + EPS * mu
    if name == "rbf_uniform_l1_pm2_hs":
        x, w = gauss_legendre_rule(120, -2.0, 2.0)
        return np.array([w @ rbf_kernel(x) ** 2 @ w]), tolerances.quadrature_bound(
            x.size**2, 1.0, roundings=16)
    if name == "poly4_c15_uniform_pm1":
        mu = polynomial_eigen_1d(4, c=1.5).eigenvalues
        return mu, tolerances.eigenvalue_bound(5, 40.0) + EPS * mu
    if name == "poly4_c15_uniform_pm1_trace":
        x, w = gauss_legendre_rule(8, -1.0, 1.0)  # exact for degree 8
        kern = functools.partial(polynomial_kernel, degree=4, c=1.5)
        values = np.array([kern(x[i:i + 1])[0, 0] for i in range(8)])
        return np.array([w @ values]), tolerances.quadrature_bound(8, 40.0, roundings=16)
    if name == "rbf_normal_l1_s1_hs":
        return np.array([1 / np.sqrt(5.0)]), np.array([2 * EPS])
    if name in ("brownian", "brownian_bridge"):
        mu = (brownian_eigen if name == "brownian" else brownian_bridge_eigen)(4).eigenvalues
        return mu, 4 * EPS * mu
    if name == "von_mises_kappa2":
        mu = von_mises_eigen(6, kappa=2.0).eigenvalues[[0, 1, 3, 5]]
        return mu, 8 * EPS * mu
    n = 600
    if name in ("arccos0_s2", "arccos1_s2"):
        profile, ell_max = (ref.kappa0, 7) if name == "arccos0_s2" else (ref.kappa1, 4)
        mu = funk_hecke_eigenvalues(profile, 3, ell_max, angle=True, n_nodes=n)
    else:
        d = 3 if name == "poly3_s2" else 5
        mu = funk_hecke_eigenvalues(lambda t: (t + 1.0) ** 3, d, 4, n_nodes=n)
    scale = 8.0 if name.startswith("poly") else 1.0
    return mu, tolerances.quadrature_bound(n, scale, roundings=2 * np.arange(mu.size) + 12)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_refimpl_reproduces_the_golden_values(name):
    computed, bound = _computed(name)
    assert_within(computed, golden(name), bound + EPS * np.abs(golden(name)), name)


def test_spec_digits_agree_with_the_stored_values():
    """The 10-12 digits printed in spec Sec. 5 (rounded as printed)."""
    spec = {
        "rbf_uniform_l1_pm2": [0.521215704353, 0.302538973209, 0.125742340934,
                               0.038923882403, 0.009388322396, 0.001839348836],
        "poly4_c15_uniform_pm1": [6.94413437, 5.23935296, 0.923980485, 0.117789899,
                                  0.00549625335],
        "rbf_normal_l1_s1": [0.6180339887, 0.2360679775, 0.0901699437, 0.0344418537],
        "von_mises_kappa2": [0.3085083226, 0.2152692892, 0.0932390333],
    }
    for name, printed in spec.items():
        stored = golden(name)[: len(printed)]
        digits = [len(repr(v).split(".")[1]) for v in printed]
        assert all(abs(s - p) <= 0.5 * 10.0**-q for s, p, q in zip(stored, printed, digits)), name
    assert abs(golden("rbf_uniform_l1_pm2_hs")[0] - 0.380613462928) <= 5e-13
    assert abs(golden("poly4_c15_uniform_pm1_trace")[0] - 13.2307539683) <= 5e-11


def test_regenerate_matches_the_stored_strings():
    """Provenance: mpmath at 40 digits (about 4 s) reproduces every stored value."""
    import mpmath as mp

    fresh = regenerate()
    assert set(fresh) == set(GOLDEN)
    with mp.workdps(40):
        for name, values in fresh.items():
            for new, old in zip(values, GOLDEN[name][1], strict=True):
                assert abs(mp.mpf(new) - mp.mpf(old)) <= mp.mpf(10) ** -20 * max(
                    1, abs(mp.mpf(old))), (name, new, old)
