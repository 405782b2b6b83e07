"""Checks of the tree-mask family (``spec/masked_attention.md`` Sec. 2.7, 5 E 28-30).

* the two-pass DP of :class:`~refimpl.masks.TreeMask` (``decay``) against the dense
  oracle on random weighted trees (random parent arrays and Pruefer sequences);
* the centroid + FFT path (general ``f``, unweighted trees) and the dense fallback
  (weighted trees) against the oracle;
* closed forms: path = KMS = the Toeplitz FFT (and the two-scan recurrence), the star,
  the complete binary tree, ``decay = 0`` (all ones), sums of exponentials;
* large trees without the dense oracle: the DP against the Toeplitz FFT on a path and
  against the centroid + FFT path with ``f = exp(-a x)`` on a random tree;
* Algorithm 1 with a tree mask against ``kernel_attention``.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from .. import tolerances
from ..masks import CausalMask, ToeplitzMask, TreeMask
from ._common import alg1_outcome
from ._registry import Outcome, check, compare

FAMILY = "trees"
TREES = "Choromanski+22 tree DP"
SEED = 20220718  # any fixed seed makes the checks reproducible


def _rng(offset: int = 0) -> np.random.Generator:
    return np.random.default_rng(SEED + offset)


def _parent_tree(rng, L, *, weighted):
    """Random recursive tree: node i's parent uniform below i, then relabelled."""
    label = rng.permutation(L)
    parent = (rng.random(L - 1) * np.arange(1, L)).astype(np.int64)
    tree = nx.Graph()
    tree.add_nodes_from(range(L))
    weights = rng.uniform(0.0, 3.0, L - 1) if weighted else np.ones(L - 1)
    tree.add_weighted_edges_from(zip(label[1:].tolist(), label[parent].tolist(),
                                     weights.tolist()))
    return tree


def _prufer_tree(rng, L, *, weighted):
    tree = nx.from_prufer_sequence(rng.integers(0, L, size=L - 2).tolist())
    for u, v in tree.edges:
        tree[u][v]["weight"] = float(rng.uniform(0.0, 3.0)) if weighted else 1.0
    return tree


def _against_oracle(mask, X, *, extra=0.0) -> Outcome:
    dense = mask.toarray()
    bound = mask.product_error_bound(X) + tolerances.product_bound(dense, X) + extra
    return compare(mask @ X, dense @ X, bound, detail=f"method {mask.method}")


# -- the DP against the oracle (5 E 28) -------------------------------------------------------

def _dp_check(name, make, decay):
    @check(f"trees/dp/{name}", family=FAMILY, paper=TREES + " (two passes)", policy="tree_dp")
    def _run(quick: bool) -> Outcome:
        rng = _rng(1)
        L = 61 if quick else 401
        mask = TreeMask(make(rng, L, weighted=True), decay=decay)
        return _against_oracle(mask, rng.normal(size=(L, 5)))

    return _run


_dp_check("random_parent_weighted", _parent_tree, 0.7)
_dp_check("prufer_weighted", _prufer_tree, 0.7)
_dp_check("prufer_weighted_small_decay", _prufer_tree, 1e-3)


# -- general f (5 E 30) -----------------------------------------------------------------------

_FUNCTIONS = {
    "polynomial": lambda x: 1.0 - 0.05 * x + 1e-3 * x**3,
    "reciprocal": lambda x: 1.0 / (1.0 + x),
    "random_table": None,  # filled per size below
}


def _centroid_check(name):
    @check(f"trees/centroid_fft/{name}", family=FAMILY,
           paper="Choromanski+22 centroids + FFT", policy="tree_centroid_fft")
    def _run(quick: bool) -> Outcome:
        rng = _rng(2)
        L = 127 if quick else 1021
        table = rng.normal(size=L)
        f = _FUNCTIONS[name] or (lambda x: table[x.astype(np.int64)])
        maker = _prufer_tree if name == "polynomial" else _parent_tree
        return _against_oracle(TreeMask(maker(rng, L, weighted=False), f),
                               rng.normal(size=(L, 4)))

    return _run


for _name in _FUNCTIONS:
    _centroid_check(_name)


@check("trees/centroid_fft/path", family=FAMILY, paper="Choromanski+22 centroids + FFT",
       policy="tree_centroid_fft")
def _centroid_path(quick: bool) -> Outcome:
    """A path: the deepest histograms, so the FFT (not the direct Hankel) blocks."""
    L = 301 if quick else 1001
    rng = _rng(3)
    return _against_oracle(TreeMask(nx.path_graph(L), lambda x: np.cos(x / 7.0) / (1.0 + x)),
                           rng.normal(size=(L, 3)))


@check("trees/dense_fallback/weighted", family=FAMILY, paper="f(D), D by csgraph.dijkstra",
       policy="product")
def _dense_fallback(quick: bool) -> Outcome:
    rng = _rng(4)
    L = 61 if quick else 401
    mask = TreeMask(_prufer_tree(rng, L, weighted=True), lambda x: np.cos(x) / (1.0 + x * x))
    return _against_oracle(mask, rng.normal(size=(L, 4)))


# -- closed forms (5 E 29) --------------------------------------------------------------------

@check("trees/closed/path_is_kms_toeplitz", family=FAMILY,
       paper="path: exp(-a|i-j|), Toeplitz FFT", policy="tree_dp")
def _path_kms(quick: bool) -> Outcome:
    L, a = (2001 if quick else 200_001), 0.01
    X = _rng(5).normal(size=(L, 4))
    mask = TreeMask(nx.path_graph(L), decay=a)
    kms = ToeplitzMask.from_function(lambda t: np.exp(-a * np.abs(t)), L)
    return compare(mask @ X, kms @ X, mask.product_error_bound(X) + kms.product_error_bound(X))


@check("trees/closed/path_two_scans", family=FAMILY, paper="KMS = fwd + bwd - x",
       policy="tree_dp")
def _path_scans(quick: bool) -> Outcome:
    L, a = (257 if quick else 2003), 0.05
    X = _rng(6).normal(size=(L, 3))
    mask = TreeMask(nx.path_graph(L), decay=a)
    causal = CausalMask(L, np.exp(-a))
    scans = causal @ X + (causal @ X[::-1])[::-1] - X
    # fl(exp(-a))^t is within t eps of exp(-a t), and the two additions round once each.
    kms = np.exp(-a * np.abs(np.subtract.outer(np.arange(L), np.arange(L))))
    bound = (mask.product_error_bound(X) + causal.product_error_bound(X)
             + causal.product_error_bound(X[::-1])[::-1] + 2 * tolerances.product_bound(kms, X))
    return compare(mask @ X, scans, bound)


@check("trees/closed/star", family=FAMILY, paper="[[1, r1^T], [r1, (1-r^2)I + r^2 J]]",
       policy="tree_dp")
def _star(quick: bool) -> Outcome:
    n_leaves, a = (40 if quick else 400), 0.3
    rho = np.exp(-a)
    L = n_leaves + 1
    X = _rng(7).normal(size=(L, 3))
    leaves = X[1:].sum(axis=0)
    closed = np.vstack([X[0] + rho * leaves,
                        rho * X[0] + (1 - rho * rho) * X[1:] + rho * rho * leaves])
    # The closed form sums <= L + 3 terms, with entries exp(-2a) against rho^2.
    size = np.vstack([np.abs(X[0]) + np.abs(X[1:]).sum(0),
                      np.abs(X[0]) + np.abs(X[1:]) + np.abs(X[1:]).sum(0)])
    mask = TreeMask(nx.star_graph(n_leaves), decay=a)
    return compare(mask @ X, closed,
                   mask.product_error_bound(X) + tolerances.summation_bound(L + 3, size))


def _heap_distances(L: int) -> np.ndarray:
    """dist(i, j) in the complete binary tree with heap labels, by lifting labels."""
    i, j = np.indices((L, L))
    dist = np.zeros((L, L), dtype=np.int64)
    while np.any(i != j):
        differ = i != j  # the larger heap label is never shallower: lift it
        lift_i, lift_j = differ & (i > j), differ & (j > i)
        dist += differ
        i, j = np.where(lift_i, (i - 1) // 2, i), np.where(lift_j, (j - 1) // 2, j)
    return dist


@check("trees/closed/complete_binary", family=FAMILY, paper="heap labels: dist by lifting",
       policy="tree_dp")
def _binary(quick: bool) -> Outcome:
    height, a = (5 if quick else 9), 0.4
    tree = nx.balanced_tree(2, height)
    L = tree.number_of_nodes()
    closed = np.exp(-a * _heap_distances(L))
    X = _rng(8).normal(size=(L, 3))
    mask = TreeMask(tree, decay=a)
    bound = mask.product_error_bound(X) + tolerances.product_bound(closed, X)
    return compare(mask @ X, closed @ X, bound)


@check("trees/closed/zero_decay_all_ones", family=FAMILY, paper="a = 0: M = J",
       policy="tree_dp")
def _all_ones(quick: bool) -> Outcome:
    rng = _rng(9)
    L = 101 if quick else 10_001
    X = rng.normal(size=(L, 3))
    mask = TreeMask(_prufer_tree(rng, L, weighted=True), decay=0.0)
    bound = mask.product_error_bound(X) + tolerances.summation_bound(L, np.abs(X).sum(axis=0))
    return compare(mask @ X, np.broadcast_to(X.sum(axis=0), X.shape), bound)


@check("trees/closed/sum_of_exponentials", family=FAMILY,
       paper="f = sum c_k e^{-a_k x}: linearity", policy="tree_centroid_fft")
def _sum_of_exponentials(quick: bool) -> Outcome:
    rng = _rng(10)
    L = 101 if quick else 501
    c, a = np.array([1.0, -0.5, 0.25]), np.array([0.1, 0.7, 2.0])
    tree = _parent_tree(rng, L, weighted=False)
    X = rng.normal(size=(L, 3))
    general = TreeMask(tree, lambda x: sum(ck * np.exp(-ak * x) for ck, ak in zip(c, a)))
    parts = [TreeMask(tree, decay=ak) for ak in a]
    majorant = sum(abs(ck) * part.toarray() for ck, part in zip(c, parts))
    # Oracle entries differ only by f's sum of three scaled exponentials.
    bound = (general.product_error_bound(X)
             + sum(abs(ck) * part.product_error_bound(X) for ck, part in zip(c, parts))
             + tolerances.product_bound(majorant, X)
             + tolerances.summation_bound(12, majorant @ np.abs(X)))
    return compare(general @ X, sum(ck * (part @ X) for ck, part in zip(c, parts)), bound)


# -- large trees: two fast paths against each other -------------------------------------------

@check("trees/large/dp_vs_centroid_fft", family=FAMILY,
       paper="exp(-a x): DP == centroids + FFT", policy="tree_dp")
def _large(quick: bool) -> Outcome:
    rng = _rng(11)
    L, a = (3001 if quick else 100_003), 0.2
    tree = _parent_tree(rng, L, weighted=False)
    X = rng.normal(size=(L, 4))
    dp, fft = TreeMask(tree, decay=a), TreeMask(tree, lambda x: np.exp(-a * x))
    return compare(dp @ X, fft @ X, dp.product_error_bound(X) + fft.product_error_bound(X))


# -- Algorithm 1 ------------------------------------------------------------------------------

def _alg1_check(name, make_mask):
    @check(f"trees/alg1/{name}", family=FAMILY, paper="Choromanski+22 Alg. 1",
           policy="masked_linear_attention")
    def _run(quick: bool) -> Outcome:
        rng = _rng(12)
        L = 61 if quick else 401
        mask = make_mask(_prufer_tree(rng, L, weighted=name == "decay"))
        return alg1_outcome(mask, rng)

    return _run


_alg1_check("decay", lambda tree: TreeMask(tree, decay=0.5))
_alg1_check("general_f", lambda tree: TreeMask(tree, lambda x: 1.0 / (1.0 + x)))
