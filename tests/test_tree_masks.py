"""Tree masks ``M_ij = f(dist_T(i, j))`` (``spec/masked_attention.md`` Sec. 2.7, 5 E 28-30).

* the two-pass DP (``decay``) equals the dense oracle on random weighted trees (random
  parent arrays and random Pruefer sequences), sizes 1, 2, odd and prime included;
* the centroid + FFT path equals the dense oracle for arbitrary ``f`` on unweighted
  trees, and the dense fallback for weighted ones;
* closed forms: a path is the KMS matrix (also against ``ToeplitzMask`` and the
  two-scan recurrence), the star, the complete binary tree, sums of exponentials;
* Algorithm 1 with a tree mask equals ``kernel_attention``;
* bad trees and arguments are refused by name.

Every tolerance comes from :mod:`refimpl.tolerances` (policies ``tree_dp``,
``tree_centroid_fft`` and ``product``).
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_masks import SIZES, assert_within, seeds

from refimpl import tolerances
from refimpl.attention import kernel_attention, masked_linear_attention
from refimpl.masks import CausalMask, ToeplitzMask, TreeMask
from refimpl.masks._trees import parent_factor, rooted_forest

DECAYS = st.one_of(st.sampled_from([0.0, 1e-3, 0.5, 3.0, 40.0]), st.floats(0, 5))


# -- tree generators ----------------------------------------------------------------------------

def parent_tree(rng, L, weighted):
    """A random recursive tree (parent of node i uniform below i), randomly relabelled."""
    label = rng.permutation(L)
    tree = nx.Graph()
    tree.add_nodes_from(range(L))
    for i in range(1, L):
        tree.add_edge(int(label[i]), int(label[rng.integers(0, i)]))
    return _weigh(rng, tree) if weighted else tree


def prufer_tree(rng, L, weighted):
    """A uniformly random labelled tree from a random Pruefer sequence."""
    if L == 1:
        tree = nx.Graph()
        tree.add_node(0)
    else:
        tree = nx.from_prufer_sequence(rng.integers(0, L, size=L - 2).tolist())
    return _weigh(rng, tree) if weighted else tree


def _weigh(rng, tree):
    """Random lengths in [0, 3), with exact zeros and integers mixed in."""
    for u, v in tree.edges:
        kind = rng.integers(0, 5)
        tree[u][v]["weight"] = (0.0 if kind == 0 else float(rng.integers(1, 4)) if kind == 1
                                else float(rng.uniform(0, 3)))
    return tree


@st.composite
def trees(draw, weighted=True):
    rng = draw(seeds(), label="rng")
    L = draw(SIZES, label="L")
    make = draw(st.sampled_from([parent_tree, prufer_tree]), label="generator")
    return make(rng, L, draw(st.booleans(), label="weighted") if weighted else False)


def assert_product_matches(mask, X, what):
    dense = mask.toarray()
    bound = mask.product_error_bound(X) + tolerances.product_bound(dense, X)
    assert_within(mask @ X, dense @ X, bound, f"{what} @ X")
    assert_within(mask @ X[:, 0], dense @ X[:, 0], bound[:, 0], f"{what} @ x")


def _distances(tree):
    """All-pairs distances by BFS per node in hops (unit weights), for closed forms."""
    L = tree.number_of_nodes()
    D = np.zeros((L, L))
    for source, lengths in nx.all_pairs_shortest_path_length(tree):
        D[source, list(lengths)] = list(lengths.values())
    return D


# -- the DP against the dense oracle (spec 5 E 28) ----------------------------------------------

@given(tree=trees(), decay=DECAYS, data=st.data())
def test_dp_matches_dense(tree, decay, data):
    mask = TreeMask(tree, decay=decay)
    assert mask.method == "dp"
    dense = mask.toarray()
    np.testing.assert_array_equal(np.diag(dense), 1.0)
    # The two ends sum a path's weights in opposite orders: |a d_vw - a d_wv| exp(-a d)
    # <= L u (a d) exp(-a d) <= L u, within an absolute summation bound.
    L = mask.shape[0]
    assert_within(dense, dense.T, tolerances.summation_bound(L, np.ones_like(dense)), "M = M^T")
    X = data.draw(seeds(), label="rng").normal(size=(mask.shape[0], 3))
    assert_product_matches(mask, X, f"TreeMask(decay={decay})")


def test_dp_factor_is_the_parent_matrix():
    """SuperLU keeps the unit triangular A = I - EP as its L factor (U = I, no pivots)."""
    rng = np.random.default_rng(3)
    tree = parent_tree(rng, 23, weighted=False)
    u, v = np.array(tree.edges).T
    from refimpl.masks._trees import adjacency

    order, parent = rooted_forest(adjacency(23, u, v), [5])
    coeff = rng.random(23)
    lu = parent_factor(order, parent, coeff)
    position = np.argsort(order)
    A = np.eye(23)
    for i, node in enumerate(order):
        if parent[node] >= 0:
            assert position[parent[node]] < i  # parents first: A is lower triangular
            A[i, position[parent[node]]] = -coeff[i]
    np.testing.assert_array_equal(lu.L.toarray(), A)
    np.testing.assert_array_equal(lu.U.toarray(), np.eye(23))


def test_dp_with_and_without_relabelling_agree():
    """Labels that put parents first are used as they are; others are permuted."""
    rng = np.random.default_rng(11)
    L = 40
    parent = [int(rng.integers(0, i)) for i in range(1, L)]
    ordered = nx.Graph((i, p) for i, p in enumerate(parent, start=1))
    label = rng.permutation(L)
    shuffled = nx.relabel_nodes(ordered, dict(enumerate(label.tolist())))
    a, b = TreeMask(ordered, decay=0.3), TreeMask(shuffled, decay=0.3)
    assert not a._relabel and b._relabel
    X = rng.normal(size=(L, 3))
    X_b = X[np.argsort(label)]  # node i of `ordered` is node label[i] of `shuffled`
    bound = a.product_error_bound(X) + b.product_error_bound(X_b)[label]
    assert_within(a @ X, (b @ X_b)[label], bound, "relabelled")


def test_zero_decay_is_all_ones_and_huge_decay_is_identity():
    tree = prufer_tree(np.random.default_rng(0), 17, weighted=True)
    X = np.random.default_rng(1).normal(size=(17, 2))
    ones = TreeMask(tree, decay=0.0)
    bound = ones.product_error_bound(X) + tolerances.summation_bound(17, np.abs(X).sum(0))
    assert_within(ones @ X, np.broadcast_to(X.sum(axis=0), X.shape), bound, "decay 0")
    tree = parent_tree(np.random.default_rng(2), 17, weighted=False)  # every distance >= 1
    far = TreeMask(tree, decay=800.0)  # exp(-800) underflows to 0
    np.testing.assert_array_equal(far.toarray(), np.eye(17))
    assert_within(far @ X, X, far.product_error_bound(X), "decay 800")


# -- general f: centroid + FFT and the dense fallback (spec 5 E 30) -----------------------------

def _functions(rng, L):
    table = rng.normal(size=L)
    return {
        "polynomial": lambda x: 1.0 - 0.3 * x + 0.02 * x**3,
        "reciprocal": lambda x: 1.0 / (1.0 + x),
        "random table": lambda x: table[x.astype(np.int64)],
        "oscillating": lambda x: np.cos(2.0 * x) * np.exp(-0.1 * x),
    }


@given(tree=trees(weighted=False), name=st.sampled_from(
    ["polynomial", "reciprocal", "random table", "oscillating"]), data=st.data())
def test_centroid_fft_matches_dense(tree, name, data):
    rng = data.draw(seeds(), label="rng")
    L = tree.number_of_nodes()
    mask = TreeMask(tree, _functions(rng, L)[name])
    assert mask.method == "centroid_fft"
    assert_product_matches(mask, rng.normal(size=(L, 3)), f"TreeMask({name})")


def _shape(name):
    if name == "path":
        return nx.path_graph(300)
    if name == "star":
        return nx.star_graph(150)
    if name == "binary":
        return nx.balanced_tree(2, 7)
    tree = nx.Graph()
    if name == "caterpillar":  # a spine of 60 with 3 legs on every spine node
        tree.add_edges_from((i, i + 1) for i in range(59))
        tree.add_edges_from((i, 60 + 3 * i + leg) for i in range(60) for leg in range(3))
    else:  # spider: 5 legs of 40 nodes around node 0
        tree.add_edges_from((0, 1 + 40 * leg) for leg in range(5))
        tree.add_edges_from((1 + 40 * leg + i, 2 + 40 * leg + i)
                            for leg in range(5) for i in range(39))
    return tree


@pytest.mark.parametrize("shape", ["path", "star", "binary", "caterpillar", "spider"])
def test_centroid_fft_on_extreme_shapes(shape):
    """Deep (long histograms, FFT blocks) and flat (many parts) trees, L up to 300."""
    tree = _shape(shape)
    rng = np.random.default_rng(7)
    L = tree.number_of_nodes()
    for name, f in _functions(rng, L).items():
        assert_product_matches(TreeMask(tree, f), rng.normal(size=(L, 2)), f"{shape} {name}")


@given(tree=trees(), data=st.data())
def test_dense_fallback_matches_and_sees_the_oracles_distances(tree, data):
    mask = TreeMask(tree, lambda x: x)  # f = identity: the matrices are the distances
    if mask.method == "dense":  # csgraph and networkx sum each row's paths alike
        np.testing.assert_array_equal(mask._matrix, mask.toarray())
    rng = data.draw(seeds(), label="rng")
    L = mask.shape[0]
    assert_product_matches(TreeMask(tree, _functions(rng, L)["oscillating"]),
                           rng.normal(size=(L, 2)), "weighted general f")


# -- closed forms (spec 5 E 29) -----------------------------------------------------------------

@given(L=SIZES, decay=DECAYS, data=st.data())
def test_path_is_kms_and_toeplitz(L, decay, data):
    """On a path, exp(-a dist) = rho^|i-j|: the DP, the Toeplitz FFT and two scans agree."""
    mask = TreeMask(nx.path_graph(L), decay=decay)
    kms = ToeplitzMask.from_function(lambda t: np.exp(-decay * np.abs(t)), L)
    np.testing.assert_array_equal(mask.toarray(), kms.toarray())
    X = data.draw(seeds(), label="rng").normal(size=(L, 3))
    dense = kms.toarray()
    bound = mask.product_error_bound(X) + kms.product_error_bound(X)
    assert_within(mask @ X, kms @ X, bound, "tree DP vs Toeplitz FFT")
    causal = CausalMask(L, np.exp(-decay))
    scans = causal @ X + (causal @ X[::-1])[::-1] - X
    # Each scan is within its own bound of its exact product; exact scans use
    # fl(exp(-a))^t, within t eps <= L eps of exp(-a t), and the final two additions
    # round once each: 2 SAFETY L eps |KMS||X| covers both.
    bound = (mask.product_error_bound(X) + causal.product_error_bound(X)
             + causal.product_error_bound(X[::-1])[::-1] + 2 * tolerances.product_bound(dense, X))
    assert_within(mask @ X, scans, bound, "tree DP vs two scans")


@given(n_leaves=st.integers(0, 40), decay=DECAYS, data=st.data())
def test_star_closed_form(n_leaves, decay, data):
    """M = [[1, rho 1^T], [rho 1, (1 - rho^2) I + rho^2 J]] with the centre first."""
    rng = data.draw(seeds(), label="rng")
    L = n_leaves + 1
    label = rng.permutation(L)  # the centre is node label[0]
    tree = nx.relabel_nodes(nx.star_graph(n_leaves), dict(enumerate(label.tolist())))
    rho = np.exp(-decay)
    closed = np.full((L, L), rho * rho)
    closed[0, :], closed[:, 0] = rho, rho
    np.fill_diagonal(closed, 1.0)
    closed = closed[np.ix_(np.argsort(label), np.argsort(label))]
    mask = TreeMask(tree, decay=decay)
    # exp(-2a) against exp(-a)^2: two roundings of exp and one of the square.
    entry_error = tolerances.summation_bound(3, closed)
    assert_within(mask.toarray(), closed, entry_error, "star entries")
    X = rng.normal(size=(L, 2))
    bound = (mask.product_error_bound(X) + tolerances.product_bound(closed, X)
             + entry_error @ np.abs(X))
    assert_within(mask @ X, closed @ X, bound, "star product")


def _heap_distances(L):
    """dist(i, j) in the complete binary tree with heap labels (children 2i+1, 2i+2)."""
    i, j = np.indices((L, L))
    dist = np.zeros((L, L), dtype=np.int64)
    while np.any(i != j):
        # A larger heap label is never shallower: lifting it walks towards the LCA.
        differ = i != j
        lift_i, lift_j = differ & (i > j), differ & (j > i)
        dist += differ
        i = np.where(lift_i, (i - 1) // 2, i)
        j = np.where(lift_j, (j - 1) // 2, j)
    return dist


@pytest.mark.parametrize("height", [0, 1, 2, 5])
def test_complete_binary_tree_closed_form(height):
    tree = nx.balanced_tree(2, height)
    L = tree.number_of_nodes()
    dist = _heap_distances(L)
    np.testing.assert_array_equal(dist, _distances(tree))
    rng = np.random.default_rng(height)
    X = rng.normal(size=(L, 3))
    for decay in (0.0, 0.4, 2.5):
        mask = TreeMask(tree, decay=decay)
        closed = np.exp(-decay * dist)
        np.testing.assert_array_equal(mask.toarray(), closed)
        assert_product_matches(mask, X, f"binary tree, decay {decay}")
    f = TreeMask(tree, lambda x: 1.0 / (1.0 + x * x))
    np.testing.assert_array_equal(f.toarray(), 1.0 / (1.0 + dist * dist))


@given(tree=trees(), data=st.data())
def test_sum_of_exponentials_by_linearity(tree, data):
    """f = sum_k c_k exp(-a_k x) equals sum_k c_k TreeMask(decay=a_k), by linearity."""
    rng = data.draw(seeds(), label="rng")
    c, a = rng.normal(size=3), rng.uniform(0, 2, size=3)
    L = tree.number_of_nodes()
    X = rng.normal(size=(L, 2))
    general = TreeMask(tree, lambda x: sum(ck * np.exp(-ak * x) for ck, ak in zip(c, a)))
    parts = [TreeMask(tree, decay=ak) for ak in a]
    by_parts = sum(ck * (part @ X) for ck, part in zip(c, parts))
    majorant = sum(abs(ck) * part.toarray() for ck, part in zip(c, parts))
    # Both sides are within their bounds of exact products with oracles whose entries
    # differ only by f's sum of 3 scaled exponentials (the same exp values); the sum of
    # the 3 scaled products here rounds alike.
    bound = (general.product_error_bound(X)
             + sum(abs(ck) * part.product_error_bound(X) for ck, part in zip(c, parts))
             + tolerances.product_bound(majorant, X)
             + tolerances.summation_bound(12, majorant @ np.abs(X)))
    assert_within(general @ X, by_parts, bound, f"{general.method} vs sum of DPs")


def test_single_node_and_two_nodes():
    one = nx.Graph()
    one.add_node(0)
    assert TreeMask(one, decay=2.0).toarray().tolist() == [[1.0]]
    np.testing.assert_array_equal(TreeMask(one, lambda x: 3 + x) @ np.array([2.0]), [6.0])
    two = nx.Graph()
    two.add_edge(1, 0, weight=0.5)
    mask = TreeMask(two, decay=2.0)
    np.testing.assert_array_equal(mask.toarray(), np.exp(-np.array([[0.0, 1.0], [1.0, 0.0]])))
    assert mask.diameter == 1 and mask.T is mask and mask.H is mask


def test_graph_is_read_once():
    tree = nx.path_graph(4)
    mask = TreeMask(tree, decay=1.0)
    before = mask.toarray()
    tree[1][2]["weight"] = 5.0
    np.testing.assert_array_equal(mask.toarray(), before)


# -- Algorithm 1 with a tree mask ----------------------------------------------------------------

@given(tree=trees(), use_decay=st.booleans(), data=st.data())
def test_alg1_with_tree_mask(tree, use_decay, data):
    rng = data.draw(seeds(), label="rng")
    L = tree.number_of_nodes()
    mask = (TreeMask(tree, decay=rng.uniform(0, 2)) if use_decay
            else TreeMask(tree, lambda x: 1.0 / (1.0 + x)))
    phi_q, phi_k = rng.random((L, 3)) + 0.05, rng.random((L, 3)) + 0.05
    v = rng.normal(size=(L, 2))
    bound = tolerances.masked_linear_attention_bound(phi_q, phi_k, v, mask)
    assert_within(masked_linear_attention(phi_q, phi_k, v, mask),
                  kernel_attention(phi_q, phi_k, v, mask=mask), bound, "Alg. 1")


# -- larger trees without the dense oracle -------------------------------------------------------

def _large_checks(L):
    rng = np.random.default_rng(L)
    X = rng.normal(size=(L, 4))
    path = TreeMask(nx.path_graph(L), decay=0.01)
    kms = ToeplitzMask.from_function(lambda t: np.exp(-0.01 * np.abs(t)), L)
    assert_within(path @ X, kms @ X, path.product_error_bound(X) + kms.product_error_bound(X),
                  f"path of {L}: DP vs Toeplitz")
    tree = parent_tree(rng, L, weighted=False)
    dp, fft = TreeMask(tree, decay=0.2), TreeMask(tree, lambda x: np.exp(-0.2 * x))
    # Both are within their bounds of the same exact product (identical oracle entries
    # up to exp's rounding, covered by the DP's policy).
    assert_within(dp @ X, fft @ X, dp.product_error_bound(X) + fft.product_error_bound(X),
                  f"random tree of {L}: DP vs centroid FFT")


def test_large_trees_short():
    _large_checks(3001)


@pytest.mark.slow
def test_large_trees_long():
    _large_checks(100_003)


# -- bad input -------------------------------------------------------------------------------------

def _bad_trees():
    cycle = nx.cycle_graph(4)
    forest = nx.Graph([(0, 1), (2, 3)])
    named = nx.relabel_nodes(nx.path_graph(3), {0: "a"})
    gap = nx.Graph([(0, 1), (1, 3)])
    loop = nx.path_graph(3)
    loop.add_edge(1, 1)
    negative, nan, text = nx.path_graph(3), nx.path_graph(3), nx.path_graph(3)
    negative[0][1]["weight"] = -1.0
    nan[1][2]["weight"] = float("nan")
    text[1][2]["weight"] = "1.0"
    floats = nx.relabel_nodes(nx.path_graph(2), {0: 0.0, 1: 1.0})
    return [
        ([[0, 1], [1, 0]], TypeError, "tree must be a networkx.Graph"),
        (nx.Graph(), ValueError, "at least one node"),
        (nx.DiGraph([(0, 1)]), ValueError, "undirected"),
        (nx.MultiGraph([(0, 1)]), ValueError, "simple undirected"),
        (cycle, ValueError, "cycles.*4 nodes has 3 edges; got 4"),
        (forest, ValueError, "connected; got 2"),
        (named, ValueError, "integers 0..2; got node 'a'"),
        (gap, ValueError, "integers 0..2; got no node 2"),
        (floats, ValueError, "integers 0..1; got node 0.0"),
        (loop, ValueError, r"self-loops; got the edge \(1, 1\)"),
        (negative, ValueError, r"nonnegative; edge \(0, 1\) has weight -1.0"),
        (nan, ValueError, r"edge \(1, 2\) has weight nan"),
        (text, TypeError, r"real numbers; edge \(1, 2\) has weight '1.0'"),
    ]


@pytest.mark.parametrize("tree, error, message", _bad_trees())
def test_bad_trees_are_refused_by_name(tree, error, message):
    with pytest.raises(error, match=message):
        TreeMask(tree, decay=1.0)


@pytest.mark.parametrize("kwargs, error, message", [
    ({}, ValueError, "exactly one of f and decay.*neither"),
    ({"f": np.exp, "decay": 1.0}, ValueError, "exactly one of f and decay.*both"),
    ({"decay": -0.5}, ValueError, "decay must be >= 0"),
    ({"decay": np.inf}, ValueError, "decay must be finite"),
    ({"decay": 1j}, TypeError, "decay must be a real number"),
    ({"f": 3.0}, TypeError, "f must be callable"),
    ({"f": lambda x: np.ones(2)}, ValueError, "one value per offset"),
    ({"f": lambda x: np.log(x - 1)}, ValueError, "finite"),
])
def test_bad_arguments_are_refused_by_name(kwargs, error, message):
    with np.errstate(all="ignore"), pytest.raises(error, match=message):
        TreeMask(nx.path_graph(4), **kwargs)


def test_weighted_general_f_refuses_beyond_dense_max(monkeypatch):
    monkeypatch.setattr(TreeMask, "DENSE_MAX", 10)
    tree = nx.path_graph(11)
    tree[0][1]["weight"] = 2.0
    with pytest.raises(ValueError, match="DENSE_MAX = 10 nodes; got L = 11"):
        TreeMask(tree, lambda x: x)
    assert TreeMask(tree, decay=1.0).method == "dp"
    assert TreeMask(nx.path_graph(11), lambda x: x).method == "centroid_fft"


def test_product_error_bound_checks_its_argument():
    mask = TreeMask(nx.path_graph(3), decay=1.0)
    with pytest.raises(ValueError, match="X must have 3 rows"):
        mask.product_error_bound(np.ones((2, 1)))
    with pytest.raises(ValueError, match="X must be 2-dimensional"):
        mask.product_error_bound(np.ones(3))


# -- the proofs' negative controls (proofs/trees.py) -----------------------------------------------

def _proofs():
    path = Path(__file__).resolve().parent.parent / "proofs" / "trees.py"
    spec = importlib.util.spec_from_file_location("_refimpl_proofs_trees_controls", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.proofs
def test_tree_proofs_can_fail():
    pytest.importorskip("sympy")
    proofs = _proofs()
    # Without the (I - E^2) middle factor, or with a wrap-around FFT length, they fail.
    assert proofs._factorisation_holds([-1, 0, 0, 1], middle=False) is False
    assert proofs._hankel_by_convolution_holds(3, 5) is True
    assert proofs._hankel_by_convolution_holds(3, 4) is False
    assert proofs._centroid_split_holds([-1, 0, 1, 2], correction=False) is False


# -- negative controls: the checks can fail --------------------------------------------------------

def test_a_wrong_dp_fails_its_verify_checks(monkeypatch):
    """A DP product off by 1e-9 of its column sums is caught by ``refimpl verify``."""
    from refimpl import verify

    original = TreeMask._dp_product

    def slightly_wrong(self, factor, X):
        return original(self, factor, X) + 1e-9 * np.abs(X).sum(axis=0)

    monkeypatch.setattr(TreeMask, "_dp_product", slightly_wrong)
    results = {r.name: r.verdict for r in verify.run(quick=True, families=["trees"],
                                                     stream=io.StringIO())}
    assert results["trees/dp/prufer_weighted"] == "FAIL"
    assert results["trees/closed/path_is_kms_toeplitz"] == "FAIL"
    assert results["trees/centroid_fft/reciprocal"] == "pass"


def test_centroids_without_corrections_are_wrong(monkeypatch):
    """Dropping the per-part correction histograms breaks the centroid product."""
    from refimpl.masks import _trees

    original = _trees.centroid_entries

    def no_corrections(n, u, v):
        node, bins, position, sign, levels = original(n, u, v)
        keep = sign > 0
        return node[keep], bins[keep], position[keep], sign[keep], levels

    monkeypatch.setattr(_trees, "centroid_entries", no_corrections)
    mask = TreeMask(nx.path_graph(9), lambda x: 1.0 / (1.0 + x))
    X = np.eye(9)
    dense = mask.toarray()
    excess = np.abs(mask @ X - dense @ X) - mask.product_error_bound(X)
    assert excess.max() > 0.1
