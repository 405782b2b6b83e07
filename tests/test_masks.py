"""Every fast mask product against its dense oracle, on Hypothesis-drawn masks.

Sizes are drawn so that 1, 2, odd and prime lengths all occur; masks are nonsymmetric
unless the family is symmetric by definition. The tolerance of every comparison is the
mask's own forward error bound plus the dense product's (refimpl.tolerances).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

from refimpl import tolerances
from refimpl.masks import CausalMask, GridRPEMask, RippleMask, ToeplitzMask, stick_breaking

# Small sizes that hit the special cases (1, 2), odd and prime lengths, and powers of two.
SIZES = st.one_of(st.sampled_from([1, 2, 3, 5, 7, 8, 11, 13, 16, 31]), st.integers(1, 40))
VALUES = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


def assert_within(actual, desired, bound, what):
    """Elementwise |actual - desired| <= bound, with the worst element in the message."""
    diff = np.abs(np.asarray(actual) - np.asarray(desired))
    bound = np.broadcast_to(bound, diff.shape)
    excess = diff - bound
    if diff.size and excess.max() > 0:
        worst = np.unravel_index(np.argmax(excess), diff.shape)
        pytest.fail(f"{what}: |error| {diff[worst]:.3e} > bound {bound[worst]:.3e} at {worst}")


def assert_product_matches(mask, X):
    dense = mask.toarray()
    bound = mask.product_error_bound(X) + tolerances.product_bound(dense, X)
    assert_within(mask @ X, dense @ X, bound, f"{mask!r} @ X")
    # A vector takes the matvec path and must agree with the first column.
    assert_within(mask @ X[:, 0], dense @ X[:, 0], bound[:, 0], f"{mask!r} @ x")


def vectors(n):
    return st.lists(VALUES, min_size=n, max_size=n).map(np.array)


@st.composite
def seeds(draw):
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


@given(L=SIZES, S=SIZES, data=st.data())
def test_toeplitz_matches_scipy_and_dense(L, S, data):
    c = data.draw(vectors(L), label="c")
    r = data.draw(vectors(S), label="r")
    X = data.draw(seeds(), label="rng").normal(size=(S, 3))
    mask = ToeplitzMask(c, r)
    assert mask.shape == (L, S)
    np.testing.assert_array_equal(mask.toarray(), scipy.linalg.toeplitz(c, r))
    assert_product_matches(mask, X)


@given(L=SIZES, data=st.data())
def test_toeplitz_symmetric_default_and_transpose(L, data):
    c = data.draw(vectors(L), label="c")
    r = data.draw(vectors(L), label="r")
    symmetric = ToeplitzMask(c).toarray()
    np.testing.assert_array_equal(symmetric, symmetric.T)
    mask = ToeplitzMask(c, r)
    np.testing.assert_array_equal(mask.T.toarray(), mask.toarray().T)
    X = data.draw(seeds(), label="rng").normal(size=(L, 2))
    bound = mask.T.product_error_bound(X) + tolerances.product_bound(mask.toarray().T, X)
    assert_within(mask.T @ X, mask.toarray().T @ X, bound, "M.T @ X")


@given(L=SIZES, data=st.data())
def test_toeplitz_from_function_is_f_of_offset(L, data):
    table = data.draw(vectors(2 * L - 1), label="f table")
    mask = ToeplitzMask.from_function(lambda t: table[t + L - 1], L)
    i, j = np.indices((L, L))
    np.testing.assert_array_equal(mask.toarray(), table[i - j + L - 1])
    assert_product_matches(mask, data.draw(seeds(), label="rng").normal(size=(L, 2)))


@given(L=SIZES, gamma=st.one_of(st.sampled_from([0.0, 1.0, 0.5]), st.floats(0, 1)),
       data=st.data())
def test_causal_mask(L, gamma, data):
    mask = CausalMask(L, gamma)
    i, j = np.indices((L, L))
    expected = np.where(j <= i, np.float64(gamma) ** np.maximum(i - j, 0), 0.0)
    np.testing.assert_array_equal(mask.toarray(), expected)
    assert_product_matches(mask, data.draw(seeds(), label="rng").normal(size=(L, 3)))


@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple), data=st.data())
def test_grid_mask(shape, data):
    rng = data.draw(seeds(), label="rng")
    box = tuple(2 * n - 1 for n in shape)
    table = rng.normal(size=box)  # f is an arbitrary table over the offset box

    def f(t):
        return table[tuple(t[..., a] + n - 1 for a, n in enumerate(shape))]

    mask = GridRPEMask(shape, f)
    positions = np.indices(shape).reshape(len(shape), -1).T
    L = positions.shape[0]
    expected = np.array([[f(positions[a] - positions[b]) for b in range(L)] for a in range(L)])
    np.testing.assert_array_equal(mask.toarray(), expected)
    assert_product_matches(mask, rng.normal(size=(L, 2)))


@given(n1=st.integers(1, 7), n2=st.integers(1, 7), data=st.data())
def test_grid_with_unit_axis_is_toeplitz(n1, n2, data):
    table = data.draw(vectors(2 * n1 - 1), label="f table")
    grid = GridRPEMask((n1, 1), lambda t: table[t[..., 0] + n1 - 1])
    line = ToeplitzMask.from_function(lambda t: table[t + n1 - 1], n1)
    np.testing.assert_array_equal(grid.toarray(), line.toarray())


@given(H=st.integers(1, 8), W=st.integers(1, 8), R=st.integers(1, 10),
       per_query=st.booleans(), data=st.data())
def test_ripple_mask(H, W, R, per_query, data):
    rng = data.draw(seeds(), label="rng")
    alpha = rng.normal(size=(H * W, R) if per_query else R)
    mask = RippleMask((H, W), alpha)
    rows, cols = np.divmod(np.arange(H * W), W)
    dist = np.maximum(np.abs(rows[:, None] - rows[None, :]), np.abs(cols[:, None] - cols[None, :]))
    ring = np.minimum(dist, R - 1)
    expected = np.take_along_axis(alpha, ring, 1) if per_query else alpha[ring]
    np.testing.assert_array_equal(mask.toarray(), expected)
    assert_product_matches(mask, rng.normal(size=(H * W, 3)))


@given(H=st.integers(1, 6), W=st.integers(1, 6), data=st.data())
def test_ripple_ring_sizes(H, W, data):
    """Each query's rings partition the image; interior rings have 8r tokens."""
    R = max(H, W)
    mask = RippleMask((H, W), np.eye(R)[0])  # alpha = e_0: only the query itself
    np.testing.assert_array_equal(mask.toarray(), np.eye(H * W))
    counts = sum(RippleMask((H, W), np.eye(R)[r]).toarray().sum(axis=1) for r in range(R))
    np.testing.assert_array_equal(counts, H * W)
    for r in range(1, R - 1):
        centre = (H // 2) * W + W // 2
        if H // 2 - r >= 0 and H // 2 + r < H and W // 2 - r >= 0 and W // 2 + r < W:
            assert RippleMask((H, W), np.eye(R)[r]).toarray()[centre].sum() == 8 * r


@given(logits=st.lists(st.floats(-50, 50), min_size=1, max_size=12))
def test_stick_breaking_definition(logits):
    logits = np.array(logits)
    alpha = stick_breaking(logits)
    beta = 1.0 / (1.0 + np.exp(-logits))
    expected = np.empty_like(beta)
    remaining = 1.0
    for r in range(beta.size - 1):
        expected[r] = beta[r] * remaining
        remaining *= 1.0 - beta[r]
    expected[-1] = remaining
    assert np.all(alpha >= 0)
    bound = tolerances.summation_bound(4 * beta.size, np.ones_like(alpha))
    assert_within(alpha, expected, bound, "stick_breaking")
    assert_within(alpha.sum(), 1.0, tolerances.summation_bound(beta.size, 1.0), "sum")


def test_stick_breaking_extremes_and_batches():
    np.testing.assert_array_equal(stick_breaking([1e4, 3.0, -2.0]), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(stick_breaking([-1e4, -1e4, 7.0]), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(stick_breaking([0.3]), [1.0])
    batch = np.random.default_rng(0).normal(size=(2, 3, 5))
    np.testing.assert_array_equal(stick_breaking(batch)[1, 2], stick_breaking(batch[1, 2]))
    # beta_r = 1 / (R - r) gives equal weights 1/R: logit(1/(R-r)) = -log(R - r - 1).
    R = 6
    logits = np.array([-np.log(R - r - 1.0) for r in range(R - 1)] + [0.0])
    assert_within(stick_breaking(logits), np.full(R, 1.0 / R),
                  tolerances.summation_bound(4 * R, np.ones(R)), "equal weights")
