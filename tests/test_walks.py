"""Random-walk estimators (refimpl.walks): exact weights, unbiasedness, n^(-1/2), bad input.

* deterministic: the GRF weights by exhaustive path enumeration against the closed-form
  mean and second moment, on Hypothesis-drawn graphs (sizes 1, 2, odd, prime; signed
  weights, self-loops, directed edges, nodes without neighbours); the GKAT cosine mask's
  properties; the low-rank and walk masks' fast products;
* statistical, each test at false-failure rate <= 1e-6 (fixed seeds, Bonferroni over the
  entries tested, z thresholds from refimpl.tolerances.walk_z_threshold): GRFs, walk
  frequencies, Feynman--Kac and the walk mask against their exact expectations (exact
  variances where derived, else the empirical standard error), the sampler's variance
  against the derived one, and the slope of log RMSE vs log n_walks;
* determinism, shapes, sparse outputs, and bad input named in the error.
"""

from __future__ import annotations

import io

import networkx as nx
import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
from hypothesis import given
from hypothesis import strategies as st
from test_masks import assert_within, seeds

from refimpl import tolerances, verify
from refimpl.attention import kernel_attention, masked_linear_attention
from refimpl.masks import LowRankMask
from refimpl.verify import walks as checks
from refimpl.walks import (
    WalkMask,
    _engine,
    gkat_features,
    gkat_mask,
    graph_random_features,
    grf_mean,
    grf_moments_by_enumeration,
    grf_second_moment,
    grf_variance,
    half_exponential_coefficients,
    heat_kernel_action,
    transition_matrix,
    walk_frequency_features,
    walk_frequency_mean,
    walk_mask_attention,
)

GRAPH_SIZES = st.one_of(st.sampled_from([1, 2, 3, 5, 7]), st.integers(1, 6))


@st.composite
def signed_graphs(draw, max_degree_steps=None):
    """A weighted (L, L) matrix: signed weights, self-loops, one-way edges, isolated nodes."""
    L = draw(GRAPH_SIZES, label="L")
    rng = draw(seeds(), label="rng")
    density = draw(st.sampled_from([0.0, 0.3, 0.6, 1.0]), label="edge density")
    pattern = rng.random((L, L)) < density
    W = np.where(pattern, rng.uniform(-0.8, 0.8, size=(L, L)), 0.0)
    if draw(st.booleans(), label="symmetric"):
        W = np.triu(W) + np.triu(W, 1).T
    return W


def magnitudes(W, alpha, p_halt):
    return (grf_mean(np.abs(W), np.abs(alpha)),
            grf_second_moment(np.abs(W), np.abs(alpha), p_halt=p_halt))


# -- exhaustive enumeration: the estimator's weights are exactly unbiased -----------------------

@given(W=signed_graphs(), data=st.data())
def test_enumeration_equals_closed_form_mean_and_second_moment(W, data):
    K = data.draw(st.integers(0, 4), label="K")
    alpha = np.array(data.draw(st.lists(st.floats(-2, 2), min_size=K + 1, max_size=K + 1),
                               label="alpha"))
    p_halt = data.draw(st.sampled_from([0.0, 0.1, 0.5, 0.9]), label="p_halt")
    mean, second, n_paths = grf_moments_by_enumeration(W, alpha, p_halt=p_halt)
    abs_mean, abs_second = magnitudes(W, alpha, p_halt)
    L = W.shape[0]
    assert_within(mean, grf_mean(W, alpha),
                  tolerances.walk_path_sum_bound(n_paths, K, L, abs_mean), "enumerated mean")
    assert_within(second, grf_second_moment(W, alpha, p_halt=p_halt),
                  tolerances.walk_path_sum_bound(n_paths, K, L, abs_second),
                  "enumerated second moment")
    assert np.all(grf_variance(W, alpha, p_halt=p_halt) >= 0)


def test_enumeration_catches_a_wrong_weight(monkeypatch):
    """Negative control: dropping 1/(1 - p) from the load update is caught, by name."""
    def biased(csr, node, load, offset, p_halt):
        return _original_step(csr, node, load, offset, 0.0)

    _original_step = _engine.step
    W, alpha = checks.tiny_graph(), np.array([1.0, 0.5, 0.25])
    exact = grf_mean(W, alpha)
    monkeypatch.setattr("refimpl.walks.grf.step", biased)  # the enumeration's import
    monkeypatch.setattr("refimpl.walks._engine.step", biased)  # the sampler's
    mean, _, n_paths = grf_moments_by_enumeration(W, alpha, p_halt=0.3)
    bound = tolerances.walk_path_sum_bound(n_paths, 2, 5, grf_mean(np.abs(W), alpha))
    assert np.any(np.abs(mean - exact) > bound)
    results = {r.name: r for r in verify.run(quick=True, families=["walks"],
                                             stream=io.StringIO())}
    assert results["walks/grf/enumeration_mean"].verdict == "FAIL"
    assert results["walks/grf/unbiased_ztest"].verdict == "FAIL"


def test_enumeration_refuses_too_many_paths(monkeypatch):
    monkeypatch.setattr("refimpl.walks.grf.MAX_ENUMERATED_PATHS", 10)
    with pytest.raises(ValueError, match="paths"):
        grf_moments_by_enumeration(np.ones((4, 4)), [1.0, 1.0, 1.0], p_halt=0.5)


# -- statistical: GRFs, with the exact variance ---------------------------------------------------

def grf_ztest(W, alpha, p_halt, n_walks, seed):
    """|Phi - E Phi| <= z sd + rounding, alpha = 1e-6 Bonferroni over all L^2 entries."""
    phi = graph_random_features(W, alpha, n_walks=n_walks, p_halt=p_halt, rng=seed)
    phi_abs = graph_random_features(np.abs(W), np.abs(alpha), n_walks=n_walks,
                                    p_halt=p_halt, rng=seed)  # same walks
    L, K = W.shape[0], len(alpha) - 1
    sd = np.sqrt(grf_variance(W, alpha, p_halt=p_halt) / n_walks)
    rounding = (tolerances.summation_bound(n_walks * (K + 1) + 3 * K + 3, phi_abs.toarray())
                + tolerances.walk_path_sum_bound(0, K, L, grf_mean(np.abs(W), np.abs(alpha))))
    assert_within(phi.toarray(), grf_mean(W, alpha),
                  tolerances.walk_ztest_bound(sd, L * L, rounding), "GRF z-test (alpha=1e-6)")


@pytest.mark.parametrize("p_halt", [0.0, 0.3, 0.7])
def test_grf_unbiased(p_halt):
    rng = np.random.default_rng(1)
    W = checks.moderate_graph(9, rng)
    W[2, 2], W[0, 3] = 0.2, -0.1  # a self-loop and a signed, one-way weight
    grf_ztest(W, [1.0, -0.6, 0.5, 0.3, 0.2], p_halt, 3000, seed=2)


def test_grf_unbiased_on_the_tiny_graph_with_networkx_input():
    W = checks.tiny_graph()
    G = nx.from_numpy_array(W, create_using=nx.DiGraph)
    a = graph_random_features(G, [1.0, 2.0, 1.0], n_walks=50, p_halt=0.2, rng=3)
    b = graph_random_features(scipy.sparse.csr_matrix(W), [1.0, 2.0, 1.0], n_walks=50,
                              p_halt=0.2, rng=3)
    assert (a != b).nnz == 0
    grf_ztest(W, [1.0, 2.0, 1.0], 0.2, 4000, seed=4)


def test_grf_variance_matches_the_sampler():
    """Batch means of the sample variance of single-walk estimates vs grf_variance.

    40 batches of 100 single-walk replicates; z-test over the batch means with their
    empirical sd (t quantile, 39 df), alpha = 1e-6 Bonferroni over the L^2 entries.
    """
    rng = np.random.default_rng(5)
    W, alpha, p_halt = checks.moderate_graph(4, rng), np.array([1.0, 0.9, 0.8]), 0.25
    samples = np.stack([graph_random_features(W, alpha, n_walks=1, p_halt=p_halt,
                                              rng=rng).toarray() for _ in range(4000)])
    batch_var = samples.reshape(40, 100, 4, 4).var(axis=1, ddof=1)
    se = batch_var.std(axis=0, ddof=1) / np.sqrt(40)
    bound = tolerances.walk_ztest_bound(se, 16, df=39)
    assert_within(batch_var.mean(axis=0), grf_variance(W, alpha, p_halt=p_halt), bound,
                  "sampler variance vs grf_variance")


def test_error_falls_like_inverse_sqrt_walks():
    """Short form (always runs): 30 replicates per size, sizes 8..512 (a factor 64)."""
    rng = np.random.default_rng(6)
    W = checks.moderate_graph(6, rng)
    sizes = 8 * 4 ** np.arange(4)
    slope, cv, _ = checks.rmse_slope(W, [1.0, 0.8, -0.5, 0.4], 0.3, sizes, 30, rng)
    assert abs(slope + 0.5) <= tolerances.walk_rmse_slope_tolerance(np.log(sizes), cv, 30)


@pytest.mark.slow
def test_error_falls_like_inverse_sqrt_walks_long():
    rng = np.random.default_rng(7)
    W = checks.moderate_graph(10, rng)
    sizes = 16 * 4 ** np.arange(4)
    slope, cv, _ = checks.rmse_slope(W, [1.0, 0.8, -0.5, 0.4, 0.3], 0.3, sizes, 200, rng)
    tol = tolerances.walk_rmse_slope_tolerance(np.log(sizes), cv, 200)
    assert abs(slope + 0.5) <= tol
    assert tol < 0.1  # the test has the power to tell n^-1/2 from n^-1/3 or n^-2/3


@pytest.mark.slow
def test_grf_unbiased_long():
    rng = np.random.default_rng(8)
    grf_ztest(checks.moderate_graph(31, rng), [1.0, 0.7, -0.5, 0.4, 0.3, 0.2, 0.1], 0.2,
              30000, seed=9)


# -- GKAT walk frequencies and the cosine mask ------------------------------------------------

@pytest.mark.parametrize("p_stop", [0.0, 0.2])
def test_walk_frequencies_unbiased(p_stop):
    """z-test of F against sum_t (1-p)^t P^t with F's exact variance (a GRF with W = P)."""
    rng = np.random.default_rng(10)
    A = np.pad((checks.moderate_graph(8, rng) != 0).astype(float), ((0, 1), (0, 1)))
    A[0, 8] = 1.0  # a one-way edge into the node without neighbours
    n_walks, length, L = 3000, 5, 9
    F = walk_frequency_features(A, n_walks=n_walks, length=length, p_stop=p_stop, rng=11)
    alpha = (1.0 - p_stop) ** np.arange(length)
    sd = np.sqrt(grf_variance(transition_matrix(A), alpha, p_halt=p_stop) / n_walks)
    mean = walk_frequency_mean(A, length=length, p_stop=p_stop)
    rounding = tolerances.summation_bound(n_walks * length + length * (L + 4), mean + 1.0)
    assert_within(F.toarray(), mean, tolerances.walk_ztest_bound(sd, L * L, rounding),
                  "walk frequencies z-test (alpha=1e-6)")


@given(W=signed_graphs(), length=st.integers(1, 5), data=st.data())
def test_walk_frequency_counts(W, length, data):
    """Exact facts of every sample: the start is counted, rows count the visited nodes."""
    rng = data.draw(seeds(), label="rng")
    F = walk_frequency_features(W, n_walks=3, length=length, rng=rng)
    assert scipy.sparse.issparse(F) and F.format == "csr" and F.shape == W.shape
    dense = F.toarray()
    assert np.all(dense >= 0) and np.all(np.diag(dense) >= 1.0 / 3)
    counts = dense * 3  # integers up to the rounding of the division by n_walks
    np.testing.assert_array_equal(np.round(counts), np.round(counts, 6))
    deg = (W != 0).sum(axis=1)
    reachable = np.where(deg > 0, length, 1)  # no stopping: walks end only at dead ends
    assert np.all(np.round(counts).sum(axis=1) <= 3 * reachable)
    if np.all(deg > 0):
        np.testing.assert_array_equal(np.round(counts).sum(axis=1), 3 * length)
    np.testing.assert_array_equal(
        walk_frequency_features(W, n_walks=2, length=1, rng=rng).toarray(), np.eye(len(W)))


def test_walk_frequency_mean_closed_forms():
    # On a cycle every node has two neighbours: P = (S + S^T)/2 with S the shift.
    n, length = 5, 4
    P = transition_matrix(nx.cycle_graph(n))
    shift = np.roll(np.eye(n), 1, axis=1)
    np.testing.assert_array_equal(P, (shift + shift.T) / 2)
    mean = walk_frequency_mean(nx.cycle_graph(n), length=length, p_stop=0.5)
    np.testing.assert_array_equal(mean.sum(axis=1), np.full(n, 1 + 0.5 + 0.25 + 0.125))


@given(data=st.data())
def test_gkat_mask_properties(data):
    rng = data.draw(seeds(), label="rng")
    L = data.draw(GRAPH_SIZES, label="L")
    n = data.draw(st.integers(1, 6), label="n")
    F = rng.random((L, n)) * (rng.random((L, n)) < 0.6)
    F[np.arange(L), rng.integers(0, n, size=L)] += 1.0  # no zero rows
    M = gkat_mask(F)
    np.testing.assert_array_equal(M, M.T)
    np.testing.assert_array_equal(np.diag(M), np.ones(L))
    assert np.all((M >= 0) & (M <= 1))
    bound = checks.cosine_bound(F)
    assert_within(gkat_mask(scipy.sparse.csr_array(F)).toarray(), M, bound, "sparse vs dense")
    assert_within(gkat_mask(3.5 * F), M, bound, "scale invariance")
    hat = gkat_features(F)
    assert_within(hat @ hat.T, M, bound, "row-normalised features")
    mask = LowRankMask(gkat_features(scipy.sparse.csr_array(F)), hat)
    assert_within(mask.toarray(), M, bound, "GKAT as a low-rank mask")


def test_gkat_mask_of_signed_features_is_a_cosine():
    F = np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 1.0]])
    M = gkat_mask(F)
    assert M[0, 1] == -1.0 and np.all(np.abs(M) <= 1)


# -- heat kernel by continuous-time walks -----------------------------------------------------

def heat_ztest(W, x, t, n_walks, seed):
    est, se = heat_kernel_action(W, x, t, n_walks=n_walks, rng=seed, return_stderr=True)
    magnitude = heat_kernel_action(W, np.abs(x), t, n_walks=n_walks, rng=seed)
    rounding = tolerances.summation_bound(n_walks + len(W), magnitude)
    bound = tolerances.walk_ztest_bound(se, np.size(x), rounding, df=n_walks - 1)
    assert_within(est, scipy.linalg.expm(t * W) @ x, bound, "Feynman-Kac z-test (alpha=1e-6)")


@pytest.mark.parametrize("kind", ["laplacian", "potential", "adjacency"])
def test_heat_kernel_unbiased(kind):
    rng = np.random.default_rng(12)
    W = checks.heat_generator(7, rng, kind)
    heat_ztest(W, rng.normal(size=(7, 2)), 0.5 if kind == "adjacency" else 1.0, 4000, 13)


def test_heat_kernel_nonsymmetric_and_vector_x():
    rng = np.random.default_rng(14)
    W = checks.heat_generator(6, rng, "potential")
    W[0, 1] += 0.7  # rates need not be symmetric
    W[0, 0] -= 0.7
    x = rng.normal(size=6)
    heat_ztest(W, x, 1.0, 4000, 15)
    # The walks do not depend on x: columns of a matrix x are the vector results (up to
    # the summation order of the mean over walks).
    both = heat_kernel_action(W, np.stack([x, -x], axis=1), 1.0, n_walks=50, rng=16)
    single = heat_kernel_action(W, x, 1.0, n_walks=50, rng=16)
    magnitude = heat_kernel_action(W, np.abs(x), 1.0, n_walks=50, rng=16)
    bound = tolerances.summation_bound(50, magnitude)
    assert_within(both[:, 0], single, bound, "x column 0 vs vector x")
    assert_within(both[:, 1], -single, bound, "x column 1 vs vector -x")


@given(W=signed_graphs(), data=st.data())
def test_heat_kernel_exact_cases(W, data):
    """t = 0 gives x; a Laplacian keeps constants; a node without neighbours is exp(t g) x."""
    rng = data.draw(seeds(), label="rng")
    A = np.abs(W - np.diag(np.diag(W)))
    L = len(A)
    x = rng.normal(size=L)
    np.testing.assert_array_equal(heat_kernel_action(A, x, 0.0, n_walks=3, rng=rng), x)
    laplacian = A - np.diag(A.sum(axis=1))
    # g = diag + off-diagonal row sums is 0 up to the rounding of two summation orders.
    assert_within(heat_kernel_action(laplacian, np.ones(L), 0.7, n_walks=3, rng=rng),
                  np.ones(L), tolerances.summation_bound(2 * L + 2, 1 + 0.7 * A.sum(axis=1)),
                  "Laplacian: constants are fixed")
    g = rng.uniform(-1, 1, size=L)
    est = heat_kernel_action(laplacian + np.diag(g), x, 0.7, n_walks=3, rng=rng)
    alone = A.sum(axis=1) == 0
    exact = np.exp(0.7 * g[alone]) * x[alone]
    assert_within(est[alone], exact, tolerances.summation_bound(3 + 2, np.abs(exact)),
                  "isolated nodes")


# -- low-rank and walk masks --------------------------------------------------------------------

@given(L=GRAPH_SIZES, S=GRAPH_SIZES, r=st.integers(1, 4), sparse=st.booleans(), data=st.data())
def test_low_rank_mask_product(L, S, r, sparse, data):
    rng = data.draw(seeds(), label="rng")
    U = rng.normal(size=(L, r)) * (rng.random((L, r)) < 0.7)
    V = rng.normal(size=(S, r))
    mask = LowRankMask(scipy.sparse.csr_array(U) if sparse else U, V)
    assert mask.shape == (L, S) and mask.rank == r
    np.testing.assert_array_equal(mask.toarray(), np.einsum("ip,jp->ij", U, V))
    X = rng.normal(size=(S, 3))
    bound = mask.product_error_bound(X) + tolerances.product_bound(mask.toarray(), X)
    assert_within(mask @ X, mask.toarray() @ X, bound, "U (V^T X)")
    assert_within(mask @ X[:, 0], mask.toarray() @ X[:, 0], bound[:, 0], "U (V^T x)")
    np.testing.assert_array_equal(mask.T.toarray(), mask.toarray().T)


def test_walk_mask_product_alg1_and_expectation():
    rng = np.random.default_rng(17)
    W = checks.moderate_graph(11, rng)
    mask = WalkMask(W, 1.5, n_walks=40, p_halt=0.3, rng=rng)
    assert scipy.sparse.issparse(mask.left) and mask.left.format == "csr"
    X = rng.normal(size=(11, 3))
    dense = mask.toarray()
    assert_within(mask @ X, dense @ X,
                  mask.product_error_bound(X) + tolerances.product_bound(dense, X), "WalkMask @ X")
    phi_q, phi_k, v = rng.random((11, 2)) + 0.1, rng.random((11, 2)) + 0.1, rng.normal(
        size=(11, 2))
    assert_within(masked_linear_attention(phi_q, phi_k, v, mask),
                  kernel_attention(phi_q, phi_k, v, mask=mask),
                  tolerances.masked_linear_attention_bound(phi_q, phi_k, v, mask), "Alg. 1")
    x = 1.5 * float(np.abs(W).sum(axis=1).max())
    K = mask.alpha.size - 1
    assert_within(mask.mean(), scipy.linalg.expm(1.5 * W),
                  tolerances.walk_taylor_bound(K, 11, x), "T_K(lW/2)^2 vs expm")
    # The diffusion mask of refimpl.masks, where it exists, is the same matrix.
    diffusion = pytest.importorskip("refimpl.masks.diffusion")
    oracle = diffusion.DiffusionMask(W, 1.5)
    assert_within(mask.mean(), oracle.toarray(),
                  tolerances.walk_taylor_bound(K, 11, x) + oracle.oracle_error_bound(),
                  "T_K(lW/2)^2 vs DiffusionMask")


def test_walk_mask_unbiased():
    """Replicate means vs the exact expectation; empirical sd, t quantile, alpha = 1e-6."""
    rng = np.random.default_rng(18)
    W, R = checks.moderate_graph(5, rng), 400
    W[1, 1] = 0.2
    samples = np.stack([WalkMask(W, 2.0, n_walks=8, p_halt=0.4, max_steps=3,
                                 rng=rng).toarray() for _ in range(R)])
    exact = WalkMask(W, 2.0, n_walks=1, p_halt=0.4, max_steps=3, rng=0).mean()
    se = samples.std(axis=0, ddof=1) / np.sqrt(R)
    rounding = tolerances.summation_bound(R * 5 * (8 * 4 + 3), samples.mean(axis=0))
    assert_within(samples.mean(axis=0), exact,
                  tolerances.walk_ztest_bound(se, 25, rounding, df=R - 1), "walk mask z-test")


def test_walk_mask_attention_converges():
    rng = np.random.default_rng(19)
    W = checks.moderate_graph(7, rng)
    phi, v = rng.random((7, 2)) + 0.1, rng.normal(size=(7, 3))
    result = walk_mask_attention(phi, phi, v, W, 1.0, n_walks=4000, p_halt=0.3, rng=20)
    assert result.estimate.shape == result.exact.shape == (7, 3)
    coarse = walk_mask_attention(phi, phi, v, W, 1.0, n_walks=4, p_halt=0.3, rng=20)
    assert result.error < coarse.error  # a sanity check of the helper, not a statistical claim
    np.testing.assert_array_equal(
        result.exact, kernel_attention(phi, phi, v, mask=scipy.linalg.expm(W)))


def test_half_exponential_coefficients_square_to_the_exponential():
    a = half_exponential_coefficients(-1.3, 8)
    full = np.convolve(a, a)[:8]
    exact = np.array([(-1.3) ** k / np.prod(np.arange(1, k + 1)) for k in range(8)])
    assert_within(full, exact, tolerances.summation_bound(8 + 8, np.abs(exact)), "a * a")
    np.testing.assert_array_equal(half_exponential_coefficients(0.0, 3), [1.0, 0.0, 0.0])


# -- determinism, shapes, sparsity ------------------------------------------------------------

ESTIMATORS = {
    "grf": lambda W, rng: graph_random_features(W, [1.0, 0.5, 0.25], n_walks=5, p_halt=0.2,
                                                rng=rng).toarray(),
    "frequency": lambda W, rng: walk_frequency_features(W, n_walks=5, length=4, p_stop=0.1,
                                                        rng=rng).toarray(),
    "heat": lambda W, rng: heat_kernel_action(np.abs(W), np.arange(len(W)), 1.0, n_walks=5,
                                              rng=rng),
    "walk_mask": lambda W, rng: WalkMask(W, 1.0, n_walks=5, p_halt=0.2, rng=rng).toarray(),
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_same_seed_same_result_different_seed_different(name):
    estimate = ESTIMATORS[name]
    W = checks.moderate_graph(7, np.random.default_rng(21))
    np.testing.assert_array_equal(estimate(W, 5), estimate(W, 5))
    np.testing.assert_array_equal(estimate(W, np.random.default_rng(5)), estimate(W, 5))
    assert not np.array_equal(estimate(W, 5), estimate(W, 6))
    generator = np.random.default_rng(7)
    assert not np.array_equal(estimate(W, generator), estimate(W, generator))


@given(W=signed_graphs(), n_walks=st.integers(1, 4), data=st.data())
def test_grf_shapes_and_sparsity(W, n_walks, data):
    rng = data.draw(seeds(), label="rng")
    K = data.draw(st.integers(0, 3), label="K")
    phi = graph_random_features(W, np.ones(K + 1), n_walks=n_walks, p_halt=0.5, rng=rng)
    assert isinstance(phi, scipy.sparse.csr_array) and phi.shape == W.shape
    assert phi.dtype == np.float64 and phi.has_sorted_indices
    assert phi.nnz <= W.shape[0] * min(n_walks * (K + 1), W.shape[0])
    # Only nodes within K steps can be reached; the start always gets alpha_0 = 1.
    reach = grf_mean(np.abs(W), np.ones(K + 1)) + np.eye(len(W))
    assert np.all((phi.toarray() != 0) <= (reach != 0))
    if K == 0:
        np.testing.assert_array_equal(phi.toarray(), np.eye(len(W)))


def test_input_types_agree():
    W = checks.moderate_graph(6, np.random.default_rng(22))
    G = nx.from_numpy_array(W)
    results = [graph_random_features(w, [1.0, 1.0], n_walks=3, p_halt=0.1, rng=1).toarray()
               for w in (W, W.tolist(), scipy.sparse.coo_matrix(W), scipy.sparse.csr_array(W), G)]
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


# -- bad input: refused loudly, naming the argument ---------------------------------------------

W3 = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
GRF = dict(W=W3, alpha=[1.0, 0.5], n_walks=2, p_halt=0.2)
FREQ = dict(graph=W3, n_walks=2, length=3)
HEAT = dict(W=W3, x=np.ones(3), t=1.0, n_walks=2)
MASK = dict(W=W3, lam=1.0, n_walks=2, p_halt=0.2)


def _relabelled():
    return nx.relabel_nodes(nx.path_graph(3), {2: "c"})


BAD = [
    (graph_random_features, dict(GRF, n_walks=0), ValueError, "n_walks"),
    (graph_random_features, dict(GRF, n_walks=2.5), TypeError, "n_walks"),
    (graph_random_features, dict(GRF, n_walks=True), TypeError, "n_walks"),
    (graph_random_features, dict(GRF, p_halt=1.0), ValueError, r"p_halt.*\[0, 1\)"),
    (graph_random_features, dict(GRF, p_halt=-0.1), ValueError, "p_halt"),
    (graph_random_features, dict(GRF, p_halt=np.nan), ValueError, "p_halt"),
    (graph_random_features, dict(GRF, alpha=[[1.0]]), ValueError, "alpha"),
    (graph_random_features, dict(GRF, alpha=[]), ValueError, "alpha"),
    (graph_random_features, dict(GRF, alpha=[1.0, np.inf]), ValueError, "alpha"),
    (graph_random_features, dict(GRF, W=np.ones((2, 3))), ValueError, r"W.*square.*\(2, 3\)"),
    (graph_random_features, dict(GRF, W=np.ones(3)), ValueError, "W"),
    (graph_random_features, dict(GRF, W=np.full((2, 2), np.nan)), ValueError, "W"),
    (graph_random_features, dict(GRF, W=W3 + 1j), TypeError, "W"),
    (graph_random_features, dict(GRF, W="W"), TypeError, "W"),
    (graph_random_features, dict(GRF, W=scipy.sparse.csr_array(np.where(W3 > 0, np.inf, 0))),
     ValueError, r"W \(stored entries\) must be finite"),
    (graph_random_features, dict(GRF, W=_relabelled()), ValueError, r"W.*nodes 0\.\.2"),
    (graph_random_features, dict(GRF, W=nx.Graph()), ValueError, "W.*non-empty"),
    (graph_random_features, dict(GRF, rng="seed"), TypeError, "rng"),
    (graph_random_features, dict(GRF, rng=-1), ValueError, "rng"),
    (walk_frequency_features, dict(FREQ, length=0), ValueError, "length"),
    (walk_frequency_features, dict(FREQ, n_walks=-3), ValueError, "n_walks"),
    (walk_frequency_features, dict(FREQ, p_stop=1.0), ValueError, "p_stop"),
    (walk_frequency_features, dict(FREQ, graph=np.zeros((0, 0))), ValueError, "graph"),
    (walk_frequency_mean, dict(graph=W3, length=0), ValueError, "length"),
    (heat_kernel_action, dict(HEAT, t=-1.0), ValueError, "t"),
    (heat_kernel_action, dict(HEAT, t=np.inf), ValueError, "t"),
    (heat_kernel_action, dict(HEAT, x=np.ones(4)), ValueError, r"x.*\(3,\)"),
    (heat_kernel_action, dict(HEAT, x=np.ones((3, 2, 1))), ValueError, "x"),
    (heat_kernel_action, dict(HEAT, x=[1.0, np.nan, 0.0]), ValueError, "x"),
    (heat_kernel_action, dict(HEAT, W=-W3), ValueError, r"W.*nonnegative off-diagonal"),
    (heat_kernel_action, dict(HEAT, W=W3 + 800 * np.eye(3)), ValueError, r"t \* max\(g\)"),
    (heat_kernel_action, dict(HEAT, n_walks=1, return_stderr=True), ValueError, "n_walks"),
    (gkat_mask, dict(F=np.array([[1.0, 0.0], [0.0, 0.0]])), ValueError, "F.*row 1"),
    (gkat_mask, dict(F=scipy.sparse.csr_array((2, 2))), ValueError, "F.*row 0"),
    (gkat_features, dict(F=np.ones(3)), ValueError, "F"),
    (LowRankMask, dict(left=np.ones((2, 2)), right=np.ones((3, 1))), ValueError, "left and right"),
    (LowRankMask, dict(left=np.ones((2, 2)) * 1j, right=np.ones((3, 2))), TypeError, "left"),
    (WalkMask, dict(MASK, max_steps=-1), ValueError, "max_steps"),
    (WalkMask, dict(MASK, lam=np.inf), ValueError, "lam"),
    (grf_moments_by_enumeration, dict(W=W3, alpha=[1.0], p_halt=1.5), ValueError, "p_halt"),
    (grf_variance, dict(W=W3, alpha=[1.0], p_halt=-1), ValueError, "p_halt"),
]


@pytest.mark.parametrize("func, kwargs, error, pattern", BAD,
                         ids=[f"{f.__name__}-{i}" for i, (f, *_) in enumerate(BAD)])
def test_bad_input_is_refused_by_name(func, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        func(**kwargs)


@pytest.mark.parametrize("func, kwargs", [(graph_random_features, GRF),
                                          (walk_frequency_features, FREQ),
                                          (heat_kernel_action, HEAT), (WalkMask, MASK)])
def test_valid_input_is_accepted(func, kwargs):
    """Positive control for the table above."""
    out = func(**kwargs, rng=0)
    assert np.all(np.isfinite(out.toarray() if hasattr(out, "toarray") else out))


def test_walk_proofs_can_fail():
    """Negative control for proofs/walks.py: loads without the importance weight are biased."""
    pytest.importorskip("sympy")
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "proofs" / "walks.py"
    spec = importlib.util.spec_from_file_location("_refimpl_proofs_walks_control", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.grf_unbiased_holds(2) is True
    assert module.grf_unbiased_holds(2, importance=False) is False
