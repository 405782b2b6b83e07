"""The attention graphs of Wang et al. (ICML 2022) and their attention masks.

Complete, sliding window, star, Longformer, BigBird and hypercube graphs; the lifting of a
block-level layout to tokens; the dense mask (the oracle) and the sparse pattern of a graph.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.sparse

from .._validate import as_rng, nonnegative_int, positive_int
from ._common import _check_graph, _edges, _from_edges, _global_nodes, _window_edges

__all__ = [
    "attention_mask",
    "attention_pattern",
    "bigbird_graph",
    "complete_graph",
    "hypercube_graph",
    "lift_blocks",
    "longformer_graph",
    "sliding_window_graph",
    "star_graph",
]


# -- the graphs -------------------------------------------------------------------------------

def complete_graph(n):
    """The complete graph on ``n`` tokens: dense attention.

    Parameters
    ----------
    n : int
        Number of tokens, at least 1.

    Returns
    -------
    networkx.Graph
        ``n (n - 1) / 2`` edges.

    Examples
    --------
    >>> from refimpl.graphs import complete_graph
    >>> complete_graph(4).number_of_edges()
    6
    """
    n = positive_int(n, "n")
    graph = nx.complete_graph(n)
    graph.name = "complete"
    return graph


def sliding_window_graph(n, w):
    """Sliding-window (local) attention: ``i ~ j`` when ``0 < |i - j| <= w``.

    Parameters
    ----------
    n : int
        Number of tokens, at least 1.
    w : int
        Half-width of the window, at least 0 (``w = 0``: no edges, each token attends to
        itself only; ``w >= n - 1``: the complete graph).

    Returns
    -------
    networkx.Graph

    Notes
    -----
    Beltagy et al., "Longformer" (2020), Sec. 3.1. For ``w >= 1`` the diameter is
    :math:`\\lceil (n - 1) / w \\rceil`; about :math:`n (2w + 1)` mask entries.

    Examples
    --------
    >>> from refimpl.graphs import sliding_window_graph
    >>> sorted(sliding_window_graph(5, 2).neighbors(0))
    [1, 2]
    """
    n, w = positive_int(n, "n"), nonnegative_int(w, "w")
    return _from_edges(n, *_window_edges(n, w), name=f"window w={w}")


def star_graph(n):
    """The star: token 0 is joined to every other token (one global token, no window).

    Parameters
    ----------
    n : int
        Number of tokens, at least 1.

    Returns
    -------
    networkx.Graph
        ``n - 1`` edges, diameter 2 for ``n >= 3``.

    Examples
    --------
    >>> from refimpl.graphs import star_graph
    >>> sorted(star_graph(4).edges())
    [(0, 1), (0, 2), (0, 3)]
    """
    n = positive_int(n, "n")
    others = np.arange(1, n)
    return _from_edges(n, np.zeros_like(others), others, name="star")


def longformer_graph(n, w, global_nodes):
    """Longformer attention: a sliding window plus global tokens joined to all.

    Parameters
    ----------
    n : int
        Number of tokens, at least 1.
    w : int
        Window half-width, at least 0 (as in :func:`sliding_window_graph`).
    global_nodes : int or sequence of int
        An int ``g``: the first ``g`` tokens are global (``0 <= g <= n``); a sequence:
        the distinct indices of the global tokens.

    Returns
    -------
    networkx.Graph

    Notes
    -----
    Beltagy et al., "Longformer" (2020), Sec. 3.1 (sliding window plus symmetric global
    attention). The official LRA runs of Wang et al. use 1 global block and a window
    three blocks wide, i.e. ``longformer_graph(n_blocks, 1, 1)`` lifted by
    :func:`lift_blocks`. Diameter at most 2 when a global token exists.

    Examples
    --------
    >>> from refimpl.graphs import longformer_graph
    >>> sorted(longformer_graph(6, 1, [3]).neighbors(0))
    [1, 3]
    """
    n, w = positive_int(n, "n"), nonnegative_int(w, "w")
    hubs = _global_nodes(global_nodes, n)
    graph = _from_edges(n, *_window_edges(n, w), name=f"longformer w={w} g={hubs.size}")
    graph.add_edges_from((int(g), j) for g in hubs for j in range(n) if j != g)
    return graph


def bigbird_graph(n, w, n_global, n_random, *, rng=None):
    """BigBird attention: window, global tokens and random neighbours per token.

    Parameters
    ----------
    n : int
        Number of tokens, at least 1.
    w : int
        Window half-width, at least 0.
    n_global : int
        The first ``n_global`` tokens are global (``0 <= n_global <= n``).
    n_random : int
        Each token ``i`` draws ``n_random`` distinct partners uniformly from the other
        ``n - 1`` tokens (``0 <= n_random <= n - 1``); the edge is undirected, so ``j``
        also attends to ``i``, and a draw may repeat a window or global edge.
    rng : numpy.random.Generator, int or None
        Randomness of the random part (same seed, same graph).

    Returns
    -------
    networkx.Graph

    Notes
    -----
    Zaheer et al., "Big Bird" (NeurIPS 2020), Sec. 2: random, window and global attention.
    The official LRA runs of Wang et al. use 1 global block, 4 random blocks and a window
    three blocks wide (``bigbird_graph(n_blocks, 1, 1, 4)`` lifted by :func:`lift_blocks`).
    O(n (w + n_global + n_random)) edges; the draws cost O(n n_random) expected time.

    Examples
    --------
    >>> from refimpl.graphs import bigbird_graph
    >>> g = bigbird_graph(8, 1, 1, 2, rng=0)
    >>> all(g.degree(i) >= 2 for i in range(8))
    True
    """
    n, w = positive_int(n, "n"), nonnegative_int(w, "w")
    hubs = _global_nodes(n_global, n, "n_global")
    n_random = nonnegative_int(n_random, "n_random")
    if n_random > n - 1:
        raise ValueError(f"n_random must be at most n - 1 = {n - 1} (distinct partners per "
                         f"token); got {n_random}")
    gen = as_rng(rng)
    graph = longformer_graph(n, w, hubs)
    graph.name = f"bigbird w={w} g={hubs.size} r={n_random}"
    for i in range(n):
        # Draw among the other n - 1 tokens: indices >= i skip i itself.
        partners = gen.choice(n - 1, size=n_random, replace=False)
        graph.add_edges_from((i, int(j + (j >= i))) for j in partners)
    return graph


def _inverse_gray(g: np.ndarray) -> np.ndarray:
    """The position whose reflected Gray code is ``g``: prefix XOR of the bits of ``g``."""
    position, shifted = g.copy(), g >> 1
    while shifted.any():
        position ^= shifted
        shifted >>= 1
    return position


def hypercube_graph(n):
    """The Hypercube Transformer's graph on ``n`` tokens (Gray-code construction).

    Parameters
    ----------
    n : int
        Number of tokens, at least 1.

    Returns
    -------
    networkx.Graph
        For ``n = 2^k`` the k-cube: ``k 2^(k-1)`` edges, k-regular, diameter k.

    Notes
    -----
    With :math:`g(i) = i \\oplus \\lfloor i / 2 \\rfloor` the reflected Gray code and
    :math:`k = \\lceil \\log_2 n \\rceil`,

    .. math:: i \\sim j \\iff \\operatorname{popcount}(g(i) \\oplus g(j)) = 1,
              \\qquad 0 \\le i, j < n,

    the subgraph of the k-cube induced by its first ``n`` vertices in Gray-code order.
    This is the official ``TesseractSparsityConfig.get_mask`` (Wang et al. 2022, code of
    the Hypercube Transformer), whose labels are bit-reversed Gray codes (a relabelling
    of the cube's coordinates), with neighbours beyond ``n`` dropped. Consecutive tokens
    are adjacent; the diameter is :math:`\\lceil \\log_2 n \\rceil` (checked for
    ``n <= 300``). Degrees lie in ``[1, k]``: O(n log n) edges, built in O(n log n).

    Examples
    --------
    >>> from refimpl.graphs import hypercube_graph
    >>> sorted(hypercube_graph(8).neighbors(0))
    [1, 3, 7]
    """
    n = positive_int(n, "n")
    i = np.arange(n, dtype=np.int64)
    gray = i ^ (i >> 1)
    rows, cols = [], []
    for bit in range(max(n - 1, 0).bit_length()):
        partner = _inverse_gray(gray ^ (1 << bit))
        keep = (partner < n) & (partner > i)  # each edge once; beyond n is dropped
        rows.append(i[keep])
        cols.append(partner[keep])
    empty = np.zeros(0, dtype=np.int64)
    return _from_edges(n, np.concatenate(rows or [empty]), np.concatenate(cols or [empty]),
                       name="hypercube")


def lift_blocks(layout, block):
    """Lift a block-level layout to tokens: blocks of ``block`` tokens attend as blocks.

    Parameters
    ----------
    layout : networkx.Graph
        A graph on the ``n_b`` blocks ``0 .. n_b - 1``.
    block : int
        Tokens per block (the official runs of Wang et al. use 16).

    Returns
    -------
    networkx.Graph
        On ``n_b * block`` tokens: token ``a`` (block ``a // block``) and token ``b`` are
        joined when their blocks are equal or adjacent, so that
        ``attention_mask(lift_blocks(G, b)) == kron(attention_mask(G), ones((b, b)))``.

    Notes
    -----
    DeepSpeed's block-sparse attention, as used by the official LRA and BERT runs: the
    token mask is :math:`\\tilde A_b \\otimes \\mathbf{1}_{b \\times b}`, so row sums are
    :math:`b (\\deg_G(I) + 1)`. Built with :func:`scipy.sparse.kron`, O(nnz b^2).

    Examples
    --------
    >>> from refimpl.graphs import lift_blocks, sliding_window_graph
    >>> lift_blocks(sliding_window_graph(2, 1), 2).number_of_edges()
    6
    """
    _check_graph(layout, "layout")
    block = positive_int(block, "block")
    tokens = scipy.sparse.kron(attention_pattern(layout), np.ones((block, block)),
                               format="coo")
    upper = tokens.row < tokens.col
    name = f"{layout.name or 'layout'} x {block}-token blocks"
    return _from_edges(layout.number_of_nodes() * block, tokens.row[upper], tokens.col[upper],
                       name=name)


# -- the attention mask ---------------------------------------------------------------------

def attention_mask(graph):
    """The dense 0/1 attention mask of ``graph``: adjacency plus self-loops.

    Parameters
    ----------
    graph : networkx.Graph
        Undirected, on the nodes ``0 .. n-1``.

    Returns
    -------
    numpy.ndarray, shape (n, n)
        :math:`\\tilde A = A + I`, float64, symmetric.

    Notes
    -----
    Built entry by entry from the edge list: the oracle for :func:`attention_pattern`,
    O(n^2) memory. ``softmax_attention(q, k, v, mask=attention_mask(graph))`` is the
    dense reference of :func:`refimpl.attention.sparse_graph_attention`.

    Examples
    --------
    >>> from refimpl.graphs import attention_mask, star_graph
    >>> attention_mask(star_graph(3))
    array([[1., 1., 1.],
           [1., 1., 0.],
           [1., 0., 1.]])
    """
    n = _check_graph(graph)
    rows, cols = _edges(graph)
    mask = np.eye(n)
    mask[rows, cols] = 1.0
    mask[cols, rows] = 1.0
    return mask


def attention_pattern(graph):
    """The sparse attention pattern of ``graph``: :math:`A + I` as a CSR array.

    Parameters
    ----------
    graph : networkx.Graph or scipy.sparse array
        A graph (as in :func:`attention_mask`), or a square sparse matrix with a symmetric
        pattern, whose explicit nonzero entries are the edges (its values are ignored).

    Returns
    -------
    scipy.sparse.csr_array, shape (n, n)
        Ones on the edges and the diagonal, sorted column indices in every row.

    Notes
    -----
    Converting a networkx graph costs ``O(|E|)`` in Python (about 1 s for the hypercube at
    n = 2^16); pass the result to :func:`refimpl.attention.sparse_graph_attention` to
    convert once and attend many times.

    Examples
    --------
    >>> from refimpl.graphs import attention_pattern, hypercube_graph
    >>> attention_pattern(hypercube_graph(4)).indices.tolist()
    [0, 1, 3, 0, 1, 2, 1, 2, 3, 0, 2, 3]
    """
    if scipy.sparse.issparse(graph):
        pattern = scipy.sparse.csr_array(graph, dtype=np.float64)
        if pattern.ndim != 2 or pattern.shape[0] != pattern.shape[1] or not pattern.shape[0]:
            raise ValueError(f"graph must be a non-empty square sparse pattern; got shape "
                             f"{pattern.shape}")
        pattern.data = (pattern.data != 0).astype(np.float64)
        pattern.eliminate_zeros()
        if (pattern != pattern.T).nnz:
            raise ValueError("graph must have a symmetric pattern (an undirected graph); "
                             "got a sparse matrix whose pattern is not symmetric")
    else:
        n = _check_graph(graph)
        pattern = nx.to_scipy_sparse_array(graph, nodelist=range(n), weight=None,
                                           dtype=np.float64, format="csr")
    pattern = scipy.sparse.csr_array(pattern + scipy.sparse.eye_array(pattern.shape[0]))
    pattern.data[:] = 1.0  # a self-loop given in the graph would otherwise count twice
    pattern.sort_indices()
    return pattern


