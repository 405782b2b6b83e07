"""Shared helpers of the ``test_eigen*`` files, and tests of the helpers themselves.

* :func:`mp_recursion`: the NNGP/NTK recursion in mpmath at 40 digits, written from the
  expectations of spec Sec. 3(f) (``acos`` of the exact cosine; shared with
  ``refimpl verify`` through ``refimpl.eigen._reference``), the reference of the float64
  recursion;
* :func:`align_signs`: eigenfunctions are defined up to sign;
* :func:`sphere_points`: points on the sphere of radius ``sqrt(d / 2)``, where
  :math:`\\Sigma^l(x, x) = 1` for ``sigma_w2 = 2``, ``sigma_b2 = 0``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_masks import assert_within, seeds

from refimpl import tolerances
from refimpl.eigen import _reference

__all__ = ["align_signs", "assert_within", "mp_recursion", "seeds", "sphere_points"]


def sphere_points(n: int, d: int, rng, radius=None) -> np.ndarray:
    """``n`` uniform points on the sphere of radius ``sqrt(d / 2)`` (or ``radius``)."""
    g = rng.standard_normal((n, d))
    r = np.sqrt(d / 2) if radius is None else radius
    return r * g / np.linalg.norm(g, axis=1, keepdims=True)


def align_signs(estimate: np.ndarray, exact: np.ndarray, weights=None) -> np.ndarray:
    """Flip each column of ``estimate`` to the sign of its inner product with ``exact``."""
    w = np.ones(exact.shape[0]) if weights is None else weights
    signs = np.sign(np.sum(w[:, None] * estimate * exact, axis=0))
    return estimate * np.where(signs == 0, 1.0, signs)


def mp_recursion(x, y, depth, activation="relu", sigma_w2=2.0, sigma_b2=0.0, dps=40):
    """``(NNGP, NTK)`` matrices of spec Sec. 3(f) computed in mpmath at ``dps`` digits."""
    nngp, ntk = _reference.mp_recursion(x, y, depth, activation, sigma_w2, sigma_b2, dps)
    return nngp, ntk


# -- tests of the helpers --------------------------------------------------------------------

def test_mp_recursion_depth_zero_is_the_linear_kernel():
    x = np.array([[1.0, 2.0], [0.5, -1.0]])
    nngp, ntk = mp_recursion(x, x, 0, sigma_w2=3.0, sigma_b2=0.5)
    exact = 3.0 * (x @ x.T) / 2 + 0.5
    bound = tolerances.product_bound(np.abs(x) * 1.5, np.abs(x).T) + tolerances.EPS
    assert_within(nngp, exact, bound, "mp_recursion depth 0")
    np.testing.assert_array_equal(nngp, ntk)


def test_mp_recursion_relu_one_layer_is_arccos_at_known_angles():
    # Orthogonal unit inputs, sigma_w2 = 2, d = 2: Sigma^1 = t = 0, NNGP = kappa_1(0) = 1/pi
    # times |x||y| 2/d = 1, NTK = 0 * kappa_0(0) + 1/pi.
    x = np.array([[1.0, 0.0]])
    y = np.array([[0.0, 1.0]])
    nngp, ntk = mp_recursion(x, y, 1)
    assert abs(nngp[0, 0] - 1 / np.pi) <= 2 * tolerances.EPS
    assert abs(ntk[0, 0] - 1 / np.pi) <= 2 * tolerances.EPS


@given(rng=seeds(), n=st.integers(1, 4))
def test_align_signs_undoes_random_flips(rng, n):
    exact = rng.standard_normal((6, n))
    flips = rng.choice([-1.0, 1.0], size=n)
    np.testing.assert_array_equal(align_signs(exact * flips, exact), exact)


@pytest.mark.parametrize("d", [2, 3, 7])
def test_sphere_points_have_the_requested_radius(d):
    x = sphere_points(5, d, np.random.default_rng(0))
    norms = np.linalg.norm(x, axis=1)
    assert_within(norms, np.sqrt(d / 2), tolerances.summation_bound(d + 4, np.sqrt(d / 2)),
                  "radius")
