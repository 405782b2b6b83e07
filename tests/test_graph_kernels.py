"""Graph-kernel masks: ``DiffusionMask`` (exp(lam W)) and ``RegularizedLaplacianMask``.

* the fast products (``expm_multiply``, sparse LU) against the dense oracles, on
  Hypothesis-drawn sparse matrices and graphs of sizes 1, 2, odd and prime;
* the oracle against closed forms built here independently of ``refimpl.verify``
  (hypercube as a Kronecker power, cycle as a cosine sum, path eigenbasis, grid as a
  Kronecker sum, complete graph), spec ``masked_attention.md`` Sec. 5 D;
* invariants through the fast product (semigroup, exp(0 W) = I, regular row sums,
  the Perron vector of the normalised adjacency, Markov heat kernels);
* Algorithm 1 with graph-kernel masks against ``kernel_attention``;
* input forms, node order, validation, determinism; negative controls.

Every tolerance is a bound from ``refimpl.tolerances`` (through the masks' own
``fast_error_bound``, ``oracle_error_bound`` and ``product_error_bound``).
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg
from hypothesis import given
from hypothesis import strategies as st
from test_masks import SIZES, assert_within, seeds

from refimpl import tolerances, verify
from refimpl.attention import kernel_attention, masked_linear_attention
from refimpl.masks import DiffusionMask, RegularizedLaplacianMask
from refimpl.verify.graph_kernels import degree_one_four_sixteen_tree, normalized_adjacency

LAMBDAS = st.one_of(st.sampled_from([0.0, 1.0, -1.0, 0.5]), st.floats(-3, 3))


# -- strategies ------------------------------------------------------------------------------

@st.composite
def sparse_matrices(draw, *, symmetric=None, signed=None, sizes=SIZES):
    """A random sparse matrix with about 1-6 entries per row, in CSR."""
    rng = draw(seeds(), label="rng")
    n = draw(sizes, label="n")
    degree = draw(st.floats(0.5, 6.0), label="expected degree")
    symmetric = draw(st.booleans(), label="symmetric") if symmetric is None else symmetric
    signed = draw(st.booleans(), label="signed") if signed is None else signed
    keep = rng.random((n, n)) < min(1.0, degree / n)
    values = rng.uniform(-1.0, 1.0, (n, n)) if signed else rng.random((n, n))
    A = scipy.sparse.csr_array(np.where(keep, values, 0.0))
    return ((A + A.T) / 2).tocsr() if symmetric else A


@st.composite
def weighted_graphs(draw, *, connected=False, sizes=SIZES):
    """A networkx graph with positive weights; optionally connected (a spanning path)."""
    rng = draw(seeds(), label="rng")
    n = draw(sizes, label="n")
    p = draw(st.floats(0.0, 0.6), label="edge probability")
    graph = nx.gnp_random_graph(n, p, seed=int(rng.integers(2**31)))
    if connected:
        nx.add_path(graph, rng.permutation(n).tolist())
    for u, v in graph.edges:
        graph[u][v]["weight"] = float(rng.uniform(0.1, 3.0))
    return graph


def assert_fast_matches_oracle(mask, X):
    dense = mask.toarray()
    bound = mask.product_error_bound(X) + tolerances.product_bound(dense, X)
    assert_within(mask @ X, dense @ X, bound, f"{mask!r} @ X")
    assert_within(mask @ X[:, 0], dense @ X[:, 0], bound[:, 0], f"{mask!r} @ x")


# -- fast product against the oracle -----------------------------------------------------------

@given(W=sparse_matrices(), lam=LAMBDAS, data=st.data())
def test_diffusion_fast_matches_oracle(W, lam, data):
    mask = DiffusionMask(W, lam)
    assert scipy.sparse.issparse(mask.W)  # the fast path never densifies W
    assert_fast_matches_oracle(mask, data.draw(seeds(), label="X rng").normal(size=(W.shape[0], 3)))


@given(W=sparse_matrices(sizes=st.integers(1, 12)), lam=LAMBDAS, data=st.data())
def test_diffusion_dense_input_and_transpose(W, lam, data):
    X = data.draw(seeds(), label="X rng").normal(size=(W.shape[0], 2))
    dense_input = DiffusionMask(W.toarray(), lam)
    assert isinstance(dense_input.W, np.ndarray)
    assert_fast_matches_oracle(dense_input, X)
    mask = DiffusionMask(W, lam)
    transposed = mask.T
    bound = transposed.oracle_error_bound() + mask.oracle_error_bound()
    assert_within(transposed.toarray(), mask.toarray().T, bound, "exp(lam W^T) = exp(lam W)^T")
    assert_fast_matches_oracle(transposed, X)


@given(graph=weighted_graphs(), sigma=st.one_of(st.sampled_from([0.0, 1.0]),
                                                st.floats(0.0, 50.0)), data=st.data())
def test_regularized_laplacian_fast_matches_oracle(graph, sigma, data):
    mask = RegularizedLaplacianMask(graph, sigma)
    assert_fast_matches_oracle(mask, data.draw(seeds(), label="X rng").normal(size=(len(graph), 3)))


@given(graph=weighted_graphs(), sigma=st.floats(0.0, 50.0))
def test_regularized_laplacian_is_doubly_stochastic(graph, sigma):
    """(I + sigma L)^{-1} 1 = 1, entries >= 0, symmetric (an M-matrix inverse)."""
    mask = RegularizedLaplacianMask(graph, sigma)
    n = len(graph)
    ones = np.ones((n, 1))
    assert_within(mask @ ones, ones, mask.fast_error_bound(ones), "fast row sums")
    dense = mask.toarray()
    error = mask.oracle_error_bound()
    row_sums = tolerances.summation_bound(n, np.abs(dense).sum(axis=1))
    assert_within(dense.sum(axis=1), 1.0, error + row_sums, "oracle row sums")
    assert np.all(dense >= -error)
    assert_within(dense, dense.T, 2 * error, "symmetry")
    if sigma == 0.0:
        np.testing.assert_array_equal(dense, np.eye(n))


# -- the oracle against closed forms ---------------------------------------------------------

def hypercube_graph(k: int) -> nx.Graph:
    """The k-cube with vertex i = the integer whose binary label is i."""
    cube = nx.hypercube_graph(k)
    bits = {v: v if isinstance(v, tuple) else (v,) for v in cube}  # k = 1 gives plain ints
    return nx.relabel_nodes(cube, {v: int("".join(map(str, b)), 2) for v, b in bits.items()})


@given(k=st.integers(1, 6), lam=LAMBDAS)
def test_hypercube_is_kronecker_power(k, lam):
    """exp(lam A_{Q_k}) = (x)^k [[cosh, sinh], [sinh, cosh]] (bit 0 = the last factor)."""
    block = np.array([[np.cosh(lam), np.sinh(lam)], [np.sinh(lam), np.cosh(lam)]])
    desired = np.ones((1, 1))
    for _ in range(k):
        desired = np.kron(desired, block)
    mask = DiffusionMask(hypercube_graph(k), lam)
    closed = tolerances.summation_bound(2 * k + 2, np.abs(desired))
    assert_within(mask.toarray(), desired, mask.oracle_error_bound() + closed, "Q_k")
    # Entry (i, j) depends only on the Hamming distance h: cosh^(k-h) sinh^h.
    i = np.arange(2**k)
    h = sum(((i[:, None] ^ i[None, :]) >> bit) & 1 for bit in range(k))
    hamming_form = np.cosh(lam) ** (k - h) * np.sinh(lam) ** h
    assert_within(hamming_form, desired, 2 * closed, "Hamming form")


@given(n=st.integers(3, 40), lam=LAMBDAS)
def test_cycle_is_circulant_cosine_sum(n, lam):
    """exp(lam A_{C_n})_ij = (1/n) sum_k e^{2 lam cos(2 pi k/n)} cos(2 pi k (i - j)/n)."""
    k = np.arange(n)
    eig = np.exp(2 * lam * np.cos(2 * np.pi * k / n))
    offset = (k[:, None] - k[None, :]) % n
    phase = np.outer(offset.ravel(), k) % n  # exact reduction of the angle
    desired = (np.cos(2 * np.pi * phase / n) @ eig / n).reshape(n, n)
    mask = DiffusionMask(nx.cycle_graph(n), lam)
    closed = tolerances.summation_bound(n + 17 + int(np.ceil(4 * abs(lam))), eig.sum() / n)
    assert_within(mask.toarray(), desired, mask.oracle_error_bound() + closed, "C_n")


@given(n=st.integers(1, 40), lam=LAMBDAS)
def test_path_eigenbasis(n, lam):
    k = np.arange(1, n + 1)
    mu = 2 * np.cos(k * np.pi / (n + 1))
    U = np.sqrt(2.0 / (n + 1)) * np.sin((np.outer(k, k) % (2 * (n + 1))) * np.pi / (n + 1))
    np.testing.assert_allclose(U @ U.T, np.eye(n), rtol=0, atol=tolerances.summation_bound(
        n + 17, 2.0))  # U is orthogonal (a sanity check of the closed form itself)
    desired = (U * np.exp(lam * mu)) @ U.T
    mask = DiffusionMask(nx.path_graph(n), lam)
    closed = tolerances.summation_bound(n + 17 + int(np.ceil(4 * abs(lam))),
                                        2.0 / (n + 1) * np.exp(lam * mu).sum())
    assert_within(mask.toarray(), desired, mask.oracle_error_bound() + closed, "P_n")


def _kronecker_bound(grid, first, second, kron):
    e1, e2 = first.oracle_error_bound(), second.oracle_error_bound()
    return (grid.oracle_error_bound() + e1 * second.inf_norm_bound + first.inf_norm_bound * e2
            + e1 * e2 + tolerances.summation_bound(1, np.abs(kron)))


@given(n1=st.integers(1, 6), n2=st.integers(1, 6), lam=LAMBDAS)
def test_grid_is_kronecker_sum(n1, n2, lam):
    """Grid = P_n1 x P_n2 (Cartesian): exp(lam(A1 (+) A2)) = exp(lam A1) (x) exp(lam A2)."""
    grid = DiffusionMask(nx.grid_2d_graph(n1, n2), lam)  # nodes (r, c) sort row-major
    first, second = DiffusionMask(nx.path_graph(n1), lam), DiffusionMask(nx.path_graph(n2), lam)
    kron = np.kron(first.toarray(), second.toarray())
    assert_within(grid.toarray(), kron, _kronecker_bound(grid, first, second, kron), "grid")


@pytest.mark.parametrize("n1, n2", [(2, 3), (3, 3), (2, 5)])
def test_normalized_grid_is_not_kronecker(n1, n2):
    """The Kronecker identity fails for D^{-1/2} A D^{-1/2}: boundary degrees differ."""
    lam = 1.0
    grid = DiffusionMask(normalized_adjacency(DiffusionMask(nx.grid_2d_graph(n1, n2)).W), lam)
    first = DiffusionMask(normalized_adjacency(DiffusionMask(nx.path_graph(n1)).W), lam)
    second = DiffusionMask(normalized_adjacency(DiffusionMask(nx.path_graph(n2)).W), lam)
    kron = np.kron(first.toarray(), second.toarray())
    assert np.any(np.abs(grid.toarray() - kron) > _kronecker_bound(grid, first, second, kron))


@given(n=st.integers(1, 30), lam=LAMBDAS)
def test_complete_graph(n, lam):
    desired = np.exp(-lam) * (np.eye(n) + np.expm1(lam * n) / n)
    mask = DiffusionMask(nx.complete_graph(n), lam)
    closed = tolerances.summation_bound(4, np.abs(desired) * (2 + abs(lam) * n))
    assert_within(mask.toarray(), desired, mask.oracle_error_bound() + closed, "K_n")


# -- invariants through the fast product -------------------------------------------------------

@given(W=sparse_matrices(), a=st.floats(-2, 2), b=st.floats(-2, 2), data=st.data())
def test_semigroup_through_fast_products(W, a, b, data):
    X = data.draw(seeds(), label="X rng").normal(size=(W.shape[0], 3))
    first, second, total = DiffusionMask(W, a), DiffusionMask(W, b), DiffusionMask(W, a + b)
    inner = second @ X
    bound = (first.fast_error_bound(inner) + first.inf_norm_bound * second.fast_error_bound(X)
             + total.fast_error_bound(X))
    assert_within(first @ inner, total @ X, bound, "exp(aW) exp(bW) X = exp((a+b)W) X")


@pytest.mark.parametrize("lam", [5e-324, 1e-310, -2e-308])
def test_subnormal_times_do_not_break_expm_multiply(lam):
    """scipy's scaling count underflows to 0 for ||lam W||_1 below ~1e-322 (NaN there)."""
    mask = DiffusionMask(nx.complete_graph(3), lam)
    X = np.arange(6.0).reshape(3, 2)
    assert_fast_matches_oracle(mask, X)
    assert np.all(np.isfinite(mask @ X))


@given(W=sparse_matrices(), data=st.data())
def test_exp_of_zero_is_identity_exactly(W, data):
    X = data.draw(seeds(), label="X rng").normal(size=(W.shape[0], 2))
    mask = DiffusionMask(W, 0.0)
    np.testing.assert_array_equal(mask @ X, X)
    np.testing.assert_array_equal(mask.toarray(), np.eye(W.shape[0]))


@given(n=st.integers(1, 30), lam=LAMBDAS, seed=st.integers(0, 2**16), data=st.data())
def test_regular_graph_row_sums(n, lam, seed, data):
    d = data.draw(st.integers(0, min(5, n - 1)), label="degree")
    d -= (d * n) % 2  # a d-regular graph on n nodes needs d n even
    graph = nx.random_regular_graph(d, n, seed=seed)
    mask = DiffusionMask(graph, lam)
    ones = np.ones((n, 1))
    desired = np.full((n, 1), np.exp(lam * d))
    closed = tolerances.summation_bound(2, desired * (1 + abs(lam) * d))
    assert_within(mask @ ones, desired, mask.fast_error_bound(ones) + closed, "exp(lam A) 1")


@given(hubs=st.integers(1, 12), lam=LAMBDAS, data=st.data())
def test_normalized_adjacency_perron_vector(hubs, lam, data):
    """D^{-1/2} A D^{-1/2} sqrt(d) = sqrt(d), so exp(lam Ahat) sqrt(d) = e^lam sqrt(d)."""
    tree = degree_one_four_sixteen_tree(hubs, data.draw(seeds(), label="rng"))
    A = DiffusionMask(tree).W
    normalized = normalized_adjacency(A)
    root = np.sqrt(np.asarray(A.sum(axis=1)).ravel())[:, None]
    np.testing.assert_array_equal(normalized @ root, root)  # exact by construction
    mask = DiffusionMask(normalized, lam)
    desired = np.exp(lam) * root
    closed = tolerances.summation_bound(2, desired * (1 + abs(lam)))
    assert_within(mask @ root, desired, mask.fast_error_bound(root) + closed, "e^lam sqrt(d)")


@given(graph=weighted_graphs(connected=True, sizes=st.integers(1, 25)), t=st.floats(0.01, 3.0))
def test_heat_kernel_is_markov(graph, t):
    """exp(t(A - D)): rows sum to 1, entries positive (certified where above the bound)."""
    generator = -scipy.sparse.csgraph.laplacian(DiffusionMask(graph).W)
    mask = DiffusionMask(generator, t)
    n = len(graph)
    ones = np.ones((n, 1))
    assert_within(mask @ ones, ones, mask.fast_error_bound(ones), "fast row sums")
    dense = mask.toarray()
    error = mask.oracle_error_bound()
    row_sums = tolerances.summation_bound(n, np.abs(dense).sum(axis=1))
    assert_within(dense.sum(axis=1), 1.0, error + row_sums, "oracle row sums")
    # Nonnegative up to the bound (a Metzler generator); strict positivity is certified by
    # refimpl verify on a graph whose smallest entry exceeds the bound.
    assert np.all(dense > -error)


@given(n=st.integers(3, 25))
def test_heat_kernel_tends_to_uniform(n):
    """On C_n, ||exp(-tL) - J/n||_2 = e^{-t lambda_2}, lambda_2 = 2 - 2 cos(2 pi / n)."""
    t = 40.0
    mask = DiffusionMask(-scipy.sparse.csgraph.laplacian(DiffusionMask(nx.cycle_graph(n)).W), t)
    gap = np.exp(-t * (2 - 2 * np.cos(2 * np.pi / n)))
    excess = np.abs(mask.toarray() - 1.0 / n) - gap
    assert excess.max() <= mask.oracle_error_bound() + tolerances.summation_bound(2, 1.0)


# -- Algorithm 1 with graph-kernel masks -------------------------------------------------------

@st.composite
def graph_kernel_masks(draw):
    kind = draw(st.sampled_from(["adjacency", "heat", "regularized"]), label="kind")
    graph = draw(weighted_graphs(), label="graph")
    if kind == "regularized":
        return RegularizedLaplacianMask(graph, draw(st.floats(0.0, 10.0), label="sigma"))
    W = DiffusionMask(graph).W
    if kind == "heat":
        W = -scipy.sparse.csgraph.laplacian(W)
    return DiffusionMask(W, draw(st.floats(0.0, 2.0), label="lam"))


@given(mask=graph_kernel_masks(), m=st.integers(1, 3), dv=st.integers(1, 3), data=st.data())
def test_algorithm1_with_graph_kernel_masks(mask, m, dv, data):
    rng = data.draw(seeds(), label="rng")
    L = mask.shape[0]
    phi_q, phi_k = rng.random((L, m)) + 0.05, rng.random((L, m)) + 0.05
    v = rng.normal(size=(L, dv))
    bound = tolerances.masked_linear_attention_bound(phi_q, phi_k, v, mask)
    assert_within(masked_linear_attention(phi_q, phi_k, v, mask),
                  kernel_attention(phi_q, phi_k, v, mask=mask), bound, f"Alg. 1 with {mask!r}")


# -- input forms, node order, determinism ------------------------------------------------------

def test_input_forms_agree():
    rng = np.random.default_rng(7)
    graph = nx.gnp_random_graph(9, 0.4, seed=3)
    for u, v in graph.edges:
        graph[u][v]["weight"] = float(rng.uniform(0.5, 2.0))
    dense = nx.to_numpy_array(graph, nodelist=range(9))
    forms = [dense, dense.tolist(), scipy.sparse.csr_array(dense), scipy.sparse.coo_matrix(dense),
             scipy.sparse.csc_matrix(dense), graph]
    expected = DiffusionMask(dense, 0.7).toarray()
    for form in forms:
        mask = DiffusionMask(form, 0.7)
        np.testing.assert_array_equal(mask.toarray(), expected)
    boolean = DiffusionMask(dense > 0).W
    np.testing.assert_array_equal(boolean, (dense > 0).astype(float))


def test_graph_nodes_are_taken_in_sorted_order():
    graph = nx.Graph()
    graph.add_edge("c", "a", weight=2.0)
    graph.add_edge("b", "c", weight=3.0)
    W = DiffusionMask(graph).W.toarray()  # order a, b, c
    np.testing.assert_array_equal(W, [[0, 0, 2], [0, 0, 3], [2, 3, 0]])
    digraph = nx.DiGraph([(2, 0), (0, 1)])
    np.testing.assert_array_equal(DiffusionMask(digraph).W.toarray(),
                                  [[0, 1, 0], [0, 0, 0], [1, 0, 0]])
    loop = nx.Graph([(0, 0), (0, 1)])
    np.testing.assert_array_equal(RegularizedLaplacianMask(loop, 1.0).toarray(),
                                  RegularizedLaplacianMask(nx.path_graph(2), 1.0).toarray())


def test_products_are_deterministic_and_leave_global_state_alone():
    np.random.seed(12345)  # noqa: NPY002 - the legacy global state is what is checked
    before = np.random.get_state()  # noqa: NPY002
    grid = DiffusionMask(nx.grid_2d_graph(20, 20), 1.0)  # ||W||_1 = 4: onenormest runs
    X = np.random.default_rng(0).normal(size=(400, 16))
    first, second = grid @ X, grid @ X
    np.testing.assert_array_equal(first, second)
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


# -- validation --------------------------------------------------------------------------------

BAD_W = [
    (np.ones((2, 3)), ValueError, r"W must be square .*\(2, 3\)"),
    (np.ones(3), ValueError, r"W must have at least 2 dimensions"),
    (np.ones((2, 2, 2)), ValueError, r"W must be a 2-dimensional .*\(2, 2, 2\)"),
    ([[0.0, np.nan], [0.0, 0.0]], ValueError, r"W must be finite; found nan at index \(0, 1\)"),
    (scipy.sparse.csr_array(np.array([[0.0, 0.0], [np.inf, 0.0]])), ValueError,
     r"W must be finite; found inf at index \(1, 0\)"),
    (np.zeros((0, 0)), ValueError, r"W must be non-empty"),
    (scipy.sparse.csr_array((0, 0)), ValueError, r"W must be non-empty"),
    (scipy.sparse.csr_array((2, 3)), ValueError, r"W must be square"),
    (nx.Graph(), ValueError, r"W must have at least one node"),
    (np.array([[1j]]), TypeError, r"W must be a real .*complex"),
    (scipy.sparse.csr_array(np.array([[1j]])), TypeError, r"W must be real .*complex"),
    ("abc", TypeError, r"W must be a real array-like"),
    (None, TypeError, r"W must be a real"),
    (scipy.sparse.linalg.aslinearoperator(np.eye(2)), TypeError, r"W must be an explicit matrix"),
    (nx.Graph([("a", 1)]), TypeError, r"W must have sortable nodes"),
    (nx.Graph([(0, 1, {"weight": "heavy"})]), TypeError, r"edge \(0, 1\) has weight 'heavy'"),
]


@pytest.mark.parametrize("W, error, match", BAD_W)
def test_bad_graph_matrices_are_refused(W, error, match):
    with pytest.raises(error, match=match):
        DiffusionMask(W)
    with pytest.raises(error, match=match):
        RegularizedLaplacianMask(W)


@pytest.mark.parametrize("lam, error, match", [
    (np.nan, ValueError, "lam must be finite"), (np.inf, ValueError, "lam must be finite"),
    ("1", TypeError, "lam must be a real number"), (None, TypeError, "lam must be a real"),
    (True, TypeError, "lam must be a real number"), ([1.0], TypeError, "lam must be a real"),
])
def test_bad_lambda_is_refused(lam, error, match):
    with pytest.raises(error, match=match):
        DiffusionMask(np.eye(2), lam)


def test_overflowing_generator_is_refused_by_name():
    with pytest.raises(ValueError, match=r"lam \* W must be finite; lam = 1e\+300"):
        DiffusionMask(scipy.sparse.csr_array(np.array([[0.0, 1e10], [1e10, 0.0]])), 1e300)


@pytest.mark.parametrize("W, sigma, match", [
    ([[0.0, 1.0], [2.0, 0.0]], 1.0, r"W must be symmetric .*W\[0, 1\] = 1.0 but W\[1, 0\] = 2.0"),
    (nx.DiGraph([(0, 1)]), 1.0, r"W must be symmetric"),
    ([[0.0, -1.0], [-1.0, 0.0]], 1.0, r"W must be nonnegative .*-1.0 at index \(0, 1\)"),
    ([[0.0]], -0.5, r"sigma must be >= 0.0; got -0.5"),
    ([[0.0]], np.nan, r"sigma must be finite"),
])
def test_bad_regularized_laplacian_input_is_refused(W, sigma, match):
    with pytest.raises(ValueError, match=match):
        RegularizedLaplacianMask(W, sigma)


def test_bad_product_operand_is_refused():
    mask = DiffusionMask(nx.path_graph(3))
    with pytest.raises(ValueError, match=r"X must have shape \(3,\) or \(3, k\).*\(4, 2\)"):
        mask @ np.ones((4, 2))
    with pytest.raises(ValueError, match=r"X must be finite"):
        mask @ np.array([1.0, np.nan, 0.0])


# -- negative controls -------------------------------------------------------------------------

def test_a_wrong_expm_multiply_fails_its_checks(monkeypatch):
    """A fast product off by 1e-7 relative is caught by the product and semigroup checks."""
    original = DiffusionMask._apply

    def slightly_wrong(self, X):
        exact = original(self, X)
        return exact + 1e-7 * np.abs(exact).max(axis=0)

    monkeypatch.setattr(DiffusionMask, "_apply", slightly_wrong)
    results = {r.name: r for r in verify.run(quick=True, families=["graph_kernels"],
                                             stream=io.StringIO())}
    assert results["graph_kernels/product/diffusion_symmetric"].verdict == "FAIL"
    assert results["graph_kernels/closed/semigroup"].verdict == "FAIL"
    assert results["graph_kernels/product/regularized_laplacian"].verdict == "pass"


def test_row_sum_bound_rejects_a_wrong_degree():
    """The bound is not vacuous: e^{3 lam} is not the row sum of exp(lam A) on C_5."""
    mask = DiffusionMask(nx.cycle_graph(5), 0.5)  # 2-regular
    ones = np.ones((5, 1))
    wrong = np.full((5, 1), np.exp(0.5 * 3))  # degree 3 instead of 2
    assert np.any(np.abs(mask @ ones - wrong) > mask.fast_error_bound(ones))


def _load_proofs():
    path = Path(__file__).resolve().parent.parent / "proofs" / "graph_kernels.py"
    spec = importlib.util.spec_from_file_location("_refimpl_proofs_graph_kernels_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.proofs
def test_proof_helpers_can_fail():
    pytest.importorskip("sympy")
    proofs = _load_proofs()
    assert proofs._hypercube_holds(2, distance="hamming") is True
    assert proofs._hypercube_holds(2, distance="index") is False
    assert proofs._kronecker_sum_holds(2, 3, normalized=False) is True
    assert proofs._kronecker_sum_holds(2, 3, normalized=True) is False
    import sympy as sp

    lam = proofs.LAM
    assert proofs._vanishes(sp.cosh(lam) + sp.sinh(lam) - sp.exp(lam)) is True
    assert proofs._vanishes(sp.cosh(lam) - sp.exp(lam)) is False
