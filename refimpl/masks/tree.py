r"""Tree masks: ``M_ij = f(dist_T(i, j))`` for tokens that are the nodes of a tree.

With the exponential ``f(x) = exp(-a x)`` the product is a two-pass dynamic program
(leaves to root, then root to leaves), O(L) per column on any weighted tree; in matrix
form it is a pair of sparse unit-triangular solves,

.. math:: M = (I - EP)^{-1} (I - E^2) (I - P^\top E)^{-1},

with ``P`` the parent indicator of the rooted tree in a parents-first order (node 0 and
the labels themselves when they allow it, else a centre and breadth-first order) and
``E = diag(exp(-a w(v, parent v)))``. For a general ``f`` on an unweighted tree the
product is the centroid decomposition with FFT correlations of depth histograms,
O(L log^2 L) per column; a weighted tree with a general ``f`` falls back to the dense
matrix. Choromanski et al. (2022), tree masks ("dynamic programming" in the abstract;
the exact section and theorem numbers are still to be checked against the PDF,
``spec/masked_attention.md`` Sec. 7).
"""

from __future__ import annotations

import numbers
from itertools import chain
from operator import itemgetter, methodcaller

import networkx as nx
import numpy as np
from scipy.sparse.csgraph import breadth_first_order, connected_components, dijkstra

from .. import tolerances
from .._validate import as_float_array, real_scalar
from ._base import Mask, call_offset_function
from ._trees import (
    adjacency,
    apply_blocks,
    blocks_error_bound,
    centroid_blocks,
    parent_factor,
    rooted_forest,
)

__all__ = ["TreeMask"]


def _first_bad(items, ok) -> int:
    """Index of the first item failing ``ok`` (only called once a failure is known)."""
    return next(i for i, x in enumerate(items) if not ok(x))


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_))


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _tree_nodes(tree) -> int:
    """Check that the nodes are exactly the integers ``0..L-1``; return ``L``."""
    nodes = list(tree.nodes)
    L = len(nodes)
    if L == 0:
        raise ValueError("tree must have at least one node; got an empty graph")
    labels = np.asarray(nodes)
    if labels.dtype.kind not in "iu":
        bad = nodes[_first_bad(nodes, _is_int)]
        raise ValueError(f"tree nodes must be the integers 0..{L - 1}; got node {bad!r}")
    present = np.zeros(L, dtype=bool)
    inside = (labels >= 0) & (labels < L)
    present[labels[inside]] = True
    if not present.all():
        raise ValueError(f"tree nodes must be the integers 0..{L - 1}; got no node "
                         f"{int(np.argmin(present))}")
    return L


def _adjacency_entries(tree, L: int) -> tuple[np.ndarray, np.ndarray, list]:
    """Every (node, neighbour, weight) entry of the adjacency, each edge twice.

    Built from the adjacency dictionaries with C-level iterators only: on a graph with
    10^6 nodes this is several times faster than iterating ``tree.edges(data=...)``.
    """
    heads = np.fromiter(map(itemgetter(0), tree.adjacency()), np.int64, L)
    neighbours = list(map(itemgetter(1), tree.adjacency()))
    degree = np.fromiter(map(len, neighbours), np.int64, L)
    u = np.repeat(heads, degree)
    v = np.fromiter(chain.from_iterable(neighbours), np.int64, int(degree.sum()))
    attributes = chain.from_iterable(map(dict.values, neighbours))
    return u, v, list(map(methodcaller("get", "weight", 1.0), attributes))


def _tree_edges(tree) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Validate a networkx tree on nodes ``0..L-1``; return ``(L, u, v, weight)``."""
    if not isinstance(tree, nx.Graph):
        raise TypeError(f"tree must be a networkx.Graph; got {type(tree).__name__}")
    if tree.is_directed() or tree.is_multigraph():
        raise ValueError(f"tree must be a simple undirected networkx.Graph; got a "
                         f"{type(tree).__name__}")
    L = _tree_nodes(tree)
    u, v, raw = _adjacency_entries(tree, L)
    w = np.asarray(raw) if raw else np.zeros(0)
    if w.dtype.kind not in "iuf":
        i = _first_bad(raw, _is_real)
        raise TypeError(f"tree edge weights must be real numbers; edge ({u[i]}, {v[i]}) has "
                        f"weight {raw[i]!r}")
    once = u <= v  # each edge appears in both endpoints' neighbour lists
    u, v, w = u[once], v[once], w[once].astype(np.float64)
    bad = ~(np.isfinite(w) & (w >= 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"tree edge weights must be finite and nonnegative; edge "
                         f"({u[i]}, {v[i]}) has weight {w[i]}")
    if np.any(u == v):
        i = int(np.argmax(u == v))
        raise ValueError(f"tree must not have self-loops; got the edge ({u[i]}, {v[i]})")
    n_parts = connected_components(adjacency(L, u, v), directed=False)[0]
    if n_parts != 1:
        raise ValueError(f"tree must be connected; got {n_parts} connected components")
    if u.size != L - 1:
        raise ValueError(f"tree must not have cycles: a tree on {L} nodes has {L - 1} edges; "
                         f"got {u.size}")
    return L, u, v, w


def _hop_depths(pred: np.ndarray) -> np.ndarray:
    """Depth in hops of every node of a BFS tree, by pointer jumping (O(L log height))."""
    nodes = np.arange(pred.size)
    ancestor = np.where(pred >= 0, pred, nodes)
    depth = (pred >= 0).astype(np.int64)
    while True:  # invariant: depth = hops from each node to its current ancestor
        further = ancestor[ancestor]
        if np.array_equal(further, ancestor):
            return depth
        depth += depth[ancestor]
        ancestor = further


def _centre(adj) -> tuple[int, int, int, np.ndarray]:
    """A centre of the tree (in hops), its eccentricity, the diameter, and the BFS
    predecessors from node 0."""
    # The last node of a breadth-first order is a farthest one, and a farthest node from
    # any node ends a longest path.
    order, from_zero = breadth_first_order(adj, 0, directed=False)
    a = int(order[-1])
    order, pred = breadth_first_order(adj, a, directed=False)
    from_a = _hop_depths(pred)
    b = int(order[-1])
    from_b = _hop_depths(breadth_first_order(adj, b, directed=False)[1])
    diameter = int(from_a[b])
    # The middle node of the a-b path has eccentricity ceil(diameter / 2), the least.
    on_path = (from_a + from_b == diameter) & (from_b == diameter // 2)
    centre = int(np.flatnonzero(on_path)[0])
    return centre, diameter - diameter // 2, diameter, from_zero


class TreeMask(Mask):
    r"""Tree mask ``M_ij = f(dist_T(i, j))`` over the nodes of a weighted tree.

    Parameters
    ----------
    tree : networkx.Graph
        An undirected tree on the nodes ``0..L-1``; the edge attribute ``weight`` (default
        1) is the edge length, finite and nonnegative. The graph is read once: later
        changes to it do not change the mask.
    f : callable, optional
        Vectorised over a float64 array of distances (integer-valued on an unweighted
        tree); returns finite reals of the same shape.
    decay : float, optional
        ``a >= 0`` for ``f(x) = exp(-a x)``: the O(L) dynamic program. Exactly one of
        ``f`` and ``decay`` must be given.

    Attributes
    ----------
    tree : networkx.Graph
        The graph as given.
    f : callable or None
        The given ``f`` (None with ``decay``).
    decay : float or None
        The given ``decay`` (None with ``f``).
    method : str
        The fast product: ``"dp"`` (``decay``), ``"centroid_fft"`` (``f`` on a tree with
        unit weights) or ``"dense"`` (``f`` on a weighted tree, at most
        :attr:`DENSE_MAX` nodes).
    diameter : int
        The diameter in hops; the tree is rooted at a centre of height
        ``ceil(diameter / 2)``.

    Raises
    ------
    TypeError
        If ``tree`` is not a networkx graph, a weight is not a real number, or ``f`` is
        not callable.
    ValueError
        For an empty, directed, disconnected or cyclic graph, self-loops, nodes other
        than ``0..L-1``, a negative or non-finite weight or ``decay``, both or neither of
        ``f`` and ``decay``, or a weighted tree with general ``f`` above
        :attr:`DENSE_MAX` nodes.

    Notes
    -----
    **Exponential f** [1]_. Root the tree, let :math:`e_v = e^{-a w(v, p(v))}` (0 at the
    root) and :math:`\rho(v, w) = e^{-a\,\mathrm{dist}(v, w)}`, the product of ``e`` along
    the path. The upward pass :math:`u_v = x_v + \sum_{c \in \mathrm{ch}(v)} e_c u_c`
    sums :math:`\rho(v, w) x_w` over the subtree of ``v``; the downward pass
    :math:`t_v = u_v + e_v (t_{p(v)} - e_v u_v)` adds the rest of the tree, so ``t = Mx``.
    With the nodes in an order that puts parents first (the labels themselves when rooted
    at 0 they already do, as on paths and heap-labelled trees; else breadth-first from a
    centre) and ``P[v, p(v)] = 1``,

    .. math:: (I - P^\top E) u = x, \quad (I - EP) t = (I - E^2) u, \quad
              M = (I - EP)^{-1} (I - E^2) (I - EP)^{-\top},

    and ``I - EP`` is unit lower triangular with one off-diagonal entry per row. It is
    factored once (:func:`scipy.sparse.linalg.splu`, natural order, no pivoting), so a
    product is two compiled sparse triangular solves: O(L) per column, whatever the
    height. ``proofs/trees.py`` proves the factorisation on small symbolic trees.

    **General f on an unweighted tree.** Take a centroid ``c`` of a component ``C``
    (removing it leaves parts of at most ``|C|/2`` nodes) and the depths
    :math:`\delta` from ``c``. Pairs split by ``c`` have distance
    :math:`\delta_u + \delta_w`, so with the depth histogram :math:`h[t] = \sum_{\delta_w =
    t} x_w` they contribute :math:`\sum_t f(\delta_u + t) h[t]`, a Hankel product done by
    FFT. The pairs inside one part ``C'`` of ``C - c`` are counted there with the wrong
    distance; the same product over ``C'``'s histogram of :math:`\delta` removes them,
    and the decomposition recurses into the parts. There are at most
    :math:`\lfloor\log_2 L\rfloor + 1` levels, each O(L log L): O(L log^2 L) per column.
    All histograms of the decomposition are precomputed as sparse gather/scatter
    matrices and correlated in batches by length, so no Python loop runs per node.

    **General f on a weighted tree**: the dense matrix ``f(D)``, with ``D`` from
    :func:`scipy.sparse.csgraph.dijkstra`, O(L^2) memory and time per column.

    :meth:`.toarray` is the oracle: all-pairs distances from networkx
    (:func:`networkx.all_pairs_dijkstra_path_length`) and ``f`` applied to them.
    :meth:`product_error_bound` follows the policies ``tree_dp`` and
    ``tree_centroid_fft`` of :mod:`refimpl.tolerances` (``product`` for the fallback).

    Construction costs O(L log L) for the DP (breadth-first searches, a centre by pointer
    jumping, one sparse LU of a triangular matrix) and O(L log^2 L) for the centroid
    decomposition; on 10^6 nodes reading the networkx graph dominates.

    References
    ----------
    .. [1] K. Choromanski et al., "From block-Toeplitz matrices to differential
       equations on graphs: towards a general theory for scalable masked
       Transformers", ICML 2022 (tree masks by dynamic programming; general ``f`` by
       balanced separators and FFT).

    Examples
    --------
    >>> import networkx as nx
    >>> import numpy as np
    >>> from refimpl.masks import TreeMask
    >>> M = TreeMask(nx.star_graph(3), decay=np.log(2))  # centre 0, three leaves
    >>> M.toarray()
    array([[1.  , 0.5 , 0.5 , 0.5 ],
           [0.5 , 1.  , 0.25, 0.25],
           [0.5 , 0.25, 1.  , 0.25],
           [0.5 , 0.25, 0.25, 1.  ]])
    >>> np.allclose(M @ np.eye(4), M.toarray())
    True
    >>> TreeMask(nx.path_graph(3), lambda x: 1 / (1 + x)).method
    'centroid_fft'
    """

    #: Largest weighted tree accepted with a general ``f`` (its dense matrix is held).
    DENSE_MAX = 4096

    def __init__(self, tree, f=None, *, decay=None):
        L, u, v, w = _tree_edges(tree)
        super().__init__((L, L))
        if (f is None) == (decay is None):
            given = "both" if f is not None else "neither"
            raise ValueError(f"exactly one of f and decay must be given; got {given}")
        if f is not None and not callable(f):
            raise TypeError(f"f must be callable; got {type(f).__name__}")
        self.tree, self.f = tree, f
        self.decay = None if decay is None else real_scalar(decay, "decay", low=0.0)
        self._edges = (u, v, w)
        adj = adjacency(L, u, v)
        centre, height, self.diameter, from_zero = _centre(adj)
        if self.decay is not None:
            self.method = "dp"
            self._setup_dp(adj, w, centre, height, from_zero)
        elif np.all(w == 1.0):
            self.method = "centroid_fft"
            table = call_offset_function(f, np.arange(self.diameter + 1.0),
                                         (self.diameter + 1,))
            self._blocks, self._levels = centroid_blocks(L, u, v, table)
        else:
            self.method = "dense"
            self._setup_dense(L, u, v, w)

    # -- the exponential case: two triangular solves -----------------------------------------
    def _setup_dp(self, adj, w, centre, height, from_zero):
        u, v, _ = self._edges
        L = from_zero.size
        # Labels that already put every parent first (root 0) need no permutation of X:
        # paths, heap-labelled and recursive trees. Otherwise root at the centre.
        self._relabel = not np.all(from_zero[1:] < np.arange(1, L))
        if self._relabel:
            order, parent = rooted_forest(adj, [centre])
        else:
            order, parent = np.arange(L), np.where(from_zero >= 0, from_zero, -1)
            height = int(_hop_depths(from_zero).max())
        weight_up = np.zeros(L)
        weight_up[np.where(parent[u] == v, u, v)] = w  # each edge's lower endpoint
        self._order, self._parent, self._weight_up = order, parent, weight_up[order]
        self._position = np.empty_like(order)
        self._position[order] = np.arange(L)
        self._factor = self._dp_factor(self.decay)
        self._half_factor = None  # for the error bound, built on first use
        children = np.bincount(parent[parent >= 0], minlength=L)
        # Longest sum of (1 + children) down a root path: the upward pass's term count.
        n_terms = min(2 * L - 1, (height + 1) * (int(children.max()) + 1))
        self._dp_constant = n_terms + 6 * height + 8

    def _dp_factor(self, a):
        with np.errstate(over="ignore"):  # a w = inf is fine: e = 0, 1 - e^2 = 1
            exponent = a * self._weight_up
        e = np.exp(-exponent)
        e[0] = 0.0  # the root has no parent edge
        one_minus_e2 = -np.expm1(-2.0 * exponent)  # accurate also when e is close to 1
        one_minus_e2[0] = 1.0
        return parent_factor(self._order, self._parent, e), one_minus_e2

    def _dp_product(self, factor, X):
        lu, one_minus_e2 = factor
        # SuperLU solves column by column: Fortran order spares it a slower internal copy,
        # and rows are permuted within each column (contiguous in the transpose).
        if self._relabel:
            X = np.take(np.ascontiguousarray(X.T), self._order, axis=1).T
        up = lu.solve(np.asfortranarray(X), trans="T")
        up *= one_minus_e2[:, None]
        Y = lu.solve(up)
        return np.take(Y.T, self._position, axis=1).T if self._relabel else Y

    # -- the dense fallback ------------------------------------------------------------------
    def _setup_dense(self, L, u, v, w):
        if L > self.DENSE_MAX:
            raise ValueError(
                f"tree with weights other than 1 and a general f needs the dense fallback, "
                f"O(L^2) memory, up to TreeMask.DENSE_MAX = {self.DENSE_MAX} nodes; got "
                f"L = {L} (use decay=, unit weights, or a sum of exponentials)")
        # Dijkstra sums each row's distances outward from its source, in the same order as
        # the networkx oracle, so f sees bit-identical distances.
        distance = dijkstra(adjacency(L, u, v, w), directed=False)
        values, inverse = np.unique(distance, return_inverse=True)
        table = call_offset_function(self.f, values, values.shape)
        self._matrix = table[inverse].reshape(L, L)

    # -- Mask interface ----------------------------------------------------------------------
    def _apply(self, X):
        if self.method == "dp":
            return self._dp_product(self._factor, X)
        if self.method == "centroid_fft":
            return apply_blocks(self._blocks, X)
        return self._matrix @ X

    def _dense(self):
        L = self.shape[0]
        u, v, w = self._edges
        graph = nx.Graph()
        graph.add_nodes_from(range(L))
        graph.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist()))
        distance = np.empty((L, L))
        for source, lengths in nx.all_pairs_dijkstra_path_length(graph):
            distance[source, list(lengths)] = list(lengths.values())
        if self.decay is not None:
            with np.errstate(over="ignore"):
                return np.exp(-self.decay * distance)
        values, inverse = np.unique(distance, return_inverse=True)
        return call_offset_function(self.f, values, values.shape)[inverse].reshape(L, L)

    def product_error_bound(self, X):
        """Componentwise bound on ``|self @ X - self.toarray() @ X|`` (exact product).

        ``"dp"``: policy ``tree_dp``; ``"centroid_fft"``: policy ``tree_centroid_fft``;
        ``"dense"``: policy ``product`` (the oracle's ``f`` values are bit-identical).
        """
        X = as_float_array(X, "X", ndim=2)
        if X.shape[0] != self.shape[1]:
            raise ValueError(f"X must have {self.shape[1]} rows; got shape {X.shape}")
        abs_X = np.abs(X)
        if self.method == "dp":
            if self._half_factor is None:
                self._half_factor = self._dp_factor(self.decay / 2)
            majorant = self._dp_product(self._half_factor, abs_X)
            return tolerances.tree_dp_bound(self._dp_constant, majorant)
        if self.method == "centroid_fft":
            return blocks_error_bound(self._blocks, abs_X, self._levels)
        return tolerances.product_bound(self._matrix, abs_X)

    def _transpose(self):
        return self  # dist is symmetric

    _adjoint = _transpose
