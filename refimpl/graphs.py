r"""Sparse attention graphs and their Normalised Information Payload (NIP).

Wang et al., "What Dense Graph Do You Need for Self-Attention?" (ICML 2022,
arXiv:2205.14014) read a sparse attention pattern as a graph on the ``n`` tokens, score it
by how well uniform attention on the graph mixes information within a few layers (NIP),
and propose the Hypercube Transformer, whose graph has ``O(n log n)`` edges and diameter
``ceil(log2 n)``. The module reads in that order:

1. the graphs: complete, sliding window, star, Longformer, BigBird and hypercube, and the
   lifting of a block-level layout to tokens (the official runs use 16-token blocks);
2. the attention mask of a graph, dense (:func:`attention_mask`, the oracle) and as a
   ``scipy.sparse`` pattern (:func:`attention_pattern`, used by
   :func:`refimpl.attention.sparse_graph_attention`);
3. the information payload :math:`P^h` and :func:`nip`, with a report and a table.

Conventions: a graph is an undirected :class:`networkx.Graph` on the nodes ``0 .. n-1``.
Edge weights are ignored (an attention graph is a pattern), and so are self-loops: every
token attends to itself whether or not the graph says so (:func:`attention_mask` adds the
diagonal). Directed graphs and multigraphs are refused.

The NIP formula of the paper could not be checked against any available source; :func:`nip`
implements the reconstruction fixed in ``spec/nip_mra_flash.md`` Sec. 7 (see its Notes).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse

from ._validate import as_rng, nonnegative_int, positive_int

__all__ = [
    "NIPReport",
    "attention_mask",
    "attention_pattern",
    "bigbird_graph",
    "complete_graph",
    "format_nip_table",
    "hypercube_graph",
    "information_payload",
    "lift_blocks",
    "longformer_graph",
    "nip",
    "nip_report",
    "nip_table",
    "sliding_window_graph",
    "standard_graphs",
    "star_graph",
]

#: Largest graph :func:`information_payload` and :func:`nip` accept: they form the dense
#: ``n x n`` matrix power, O(n^3 log h) time (about 5 s at n = 2048 on two cores).
NIP_MAX_NODES = 2048

# Payloads below this are not resolved: products of subnormals lose their relative accuracy
# (each product may add n * tiny absolutely), so the bound of tolerances.payload_bound fails.
_PAYLOAD_FLOOR = float(np.finfo(np.float64).tiny / np.finfo(np.float64).eps)


# -- validation -----------------------------------------------------------------------------

def _check_graph(graph, name: str = "graph") -> int:
    """Require a simple undirected networkx graph on the nodes 0..n-1; return n."""
    if not isinstance(graph, nx.Graph):
        raise TypeError(f"{name} must be a networkx.Graph; got {type(graph).__name__}")
    if graph.is_directed():
        raise ValueError(f"{name} must be undirected (attention graphs are symmetric); "
                         f"got a {type(graph).__name__}; use graph.to_undirected()")
    if graph.is_multigraph():
        raise ValueError(f"{name} must be a simple graph; got a {type(graph).__name__}")
    n = graph.number_of_nodes()
    if n == 0:
        raise ValueError(f"{name} must have at least one node; got an empty graph")
    labels = set(graph.nodes)
    if labels != set(range(n)) or any(isinstance(v, (bool, np.bool_)) for v in labels):
        extra = sorted(map(repr, labels - set(range(n))))[:3]
        raise ValueError(f"{name} must have the nodes 0..{n - 1} (token positions); "
                         f"got nodes such as {', '.join(extra)}; use "
                         f"networkx.convert_node_labels_to_integers")
    return n


def _edges(graph) -> tuple[np.ndarray, np.ndarray]:
    """The edges ``(i, j)``, ``i < j``, without self-loops, as two int arrays."""
    pairs = np.array([(i, j) for i, j in graph.edges() if i != j], dtype=np.int64)
    pairs = pairs.reshape(-1, 2)
    return pairs.min(axis=1), pairs.max(axis=1)


def _from_edges(n: int, rows, cols, name: str) -> nx.Graph:
    graph = nx.Graph(name=name)
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(np.asarray(rows).tolist(), np.asarray(cols).tolist()))
    return graph


def _window_edges(n: int, w: int):
    i = np.arange(n)
    pairs = [(i[: n - s], i[s:]) for s in range(1, min(w, n - 1) + 1)]
    return (np.concatenate([p[0] for p in pairs]) if pairs else np.zeros(0, np.int64),
            np.concatenate([p[1] for p in pairs]) if pairs else np.zeros(0, np.int64))


def _global_nodes(global_nodes, n: int, name: str = "global_nodes") -> np.ndarray:
    """An int (the first that many tokens) or a list of distinct token indices."""
    if np.ndim(global_nodes) == 0:
        count = nonnegative_int(global_nodes, name)
        if count > n:
            raise ValueError(f"{name} must be at most n = {n} (more global tokens than "
                             f"tokens); got {count}")
        return np.arange(count)
    nodes = [nonnegative_int(g, f"{name} entry") for g in global_nodes]
    if any(g >= n for g in nodes) or len(set(nodes)) != len(nodes):
        raise ValueError(f"{name} must be distinct token indices in 0..{n - 1}; "
                         f"got {sorted(nodes)}")
    return np.array(nodes, dtype=np.int64)


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


# -- the information payload and NIP ---------------------------------------------------------

def _check_size(n: int, what: str) -> None:
    if n > NIP_MAX_NODES:
        raise ValueError(f"graph has {n} nodes; {what} forms dense n x n matrix powers, "
                         f"O(n^3 log h) time, and accepts at most NIP_MAX_NODES = "
                         f"{NIP_MAX_NODES} nodes")


def _reach_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Clipped to 0/1 after each product, the counts stay <= n < 2^24: exact in float32.
    return np.minimum(a @ b, np.float32(1.0))


def _reach_power(reach: np.ndarray, h: int) -> np.ndarray:
    """[dist(i, j) <= h] from [dist(i, j) <= 1] by binary powering."""
    result, base = np.eye(reach.shape[0], dtype=np.float32), reach
    while h:
        if h & 1:
            result = _reach_product(result, base)
        h >>= 1
        if h:
            base = _reach_product(base, base)
    return result


def _diameter(mask: np.ndarray) -> int | None:
    """The diameter by doubling the reach matrix, then bisecting; None if disconnected."""
    powers = [mask.astype(np.float32)]  # powers[j] = [dist <= 2^j]
    while not powers[-1].all():
        doubled = _reach_product(powers[-1], powers[-1])
        if np.array_equal(doubled, powers[-1]):
            return None
        powers.append(doubled)
    if mask.shape[0] == 1:
        return 0
    # Largest h with [dist <= h] not full, built from the powers below the first full one.
    h, reach = 0, None
    for j in range(len(powers) - 2, -1, -1):
        trial = powers[j] if reach is None else _reach_product(reach, powers[j])
        if not trial.all():
            h, reach = h + 2**j, trial
    return h + 1


def _payload(graph, hops, what: str):
    """(P^h, h, diameter, mask) of ``graph``, with the documented checks."""
    n = _check_graph(graph)
    _check_size(n, what)
    mask = attention_mask(graph)
    diameter = _diameter(mask)
    if hops is None:
        if diameter is None:
            raise ValueError("graph is disconnected, so its diameter (the default hops) is "
                             "infinite; pass hops explicitly")
        hops = diameter
    hops = nonnegative_int(hops, "hops")
    transition = mask / mask.sum(axis=1, keepdims=True)
    return np.linalg.matrix_power(transition, hops), hops, diameter, mask


def information_payload(graph, hops=None):
    r"""The information payload :math:`P^h` of uniform attention on ``graph``.

    Parameters
    ----------
    graph : networkx.Graph
        Undirected, on the nodes ``0 .. n-1``, ``n <= NIP_MAX_NODES``.
    hops : int, optional
        The number of layers ``h >= 0``; defaults to the diameter of ``graph`` (a
        disconnected graph then is a ``ValueError``).

    Returns
    -------
    numpy.ndarray, shape (n, n)
        Row-stochastic; entry ``(i, j)`` is the share of token ``j`` in token ``i`` after
        ``h`` layers of uniform attention on the graph.

    Notes
    -----
    .. math:: P = D^{-1} (A + I), \qquad D = \mathrm{diag}((A + I)\mathbf 1), \qquad
              \mathrm{IP}_h = P^h.

    ``spec/nip_mra_flash.md`` Sec. 7 (a reconstruction: the formula of Wang et al. 2022
    could not be checked). Dense, by binary powering: O(n^3 log h) time, O(n^2)
    memory. Entries are exactly 0 when ``dist(i, j) > h``; a positive entry below
    ~1e-292 (long paths, e.g. a window ``w = 1`` beyond ~600 tokens) underflows.

    Examples
    --------
    >>> from refimpl.graphs import information_payload, sliding_window_graph
    >>> information_payload(sliding_window_graph(2, 1))
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    return _payload(graph, hops, "information_payload")[0]


@dataclass(frozen=True)
class NIPReport:
    """The NIP of one graph and what explains it (see :func:`nip_report`).

    Attributes
    ----------
    name : str
        The graph's name.
    n, edges : int
        Tokens and undirected edges (self-loops not counted).
    density : float
        :math:`\\rho = \\mathrm{nnz}(A + I) / n^2`, the cost of the pattern.
    diameter : int or None
        None for a disconnected graph.
    hops : int
        The ``h`` of :math:`P^h`.
    nip : float
        :math:`n \\min_{ij} (P^h)_{ij} / \\rho`.
    min_payload : float
        :math:`\\min_{ij} (P^h)_{ij}`.
    worst_pair : tuple of int
        The first ``(i, j)`` (row-major) where the minimum is attained.
    mean_payload : float
        :math:`n` times the mean of :math:`(P^h)_{ij}` over ``i != j`` (over all pairs
        it is exactly 1, as the rows sum to 1); 1 for ``n = 1``.
    reach : float
        The fraction of ordered pairs with ``dist(i, j) <= hops``.

    Examples
    --------
    >>> from refimpl.graphs import nip_report, star_graph
    >>> r = nip_report(star_graph(4), hops=1)
    >>> r.nip, r.reach, r.diameter
    (0.0, 0.625, 2)
    """

    name: str
    n: int
    edges: int
    density: float
    diameter: int | None
    hops: int
    nip: float
    min_payload: float
    worst_pair: tuple[int, int]
    mean_payload: float
    reach: float


def nip_report(graph, hops=None, *, name=None):
    """The NIP of ``graph`` with its diameter, hops, worst pair and mean payload.

    Parameters
    ----------
    graph : networkx.Graph
        As in :func:`nip`.
    hops : int, optional
        As in :func:`nip`.
    name : str, optional
        Defaults to ``graph.name``.

    Returns
    -------
    NIPReport

    Raises
    ------
    ValueError
        As :func:`nip`.

    Examples
    --------
    >>> from refimpl.graphs import hypercube_graph, nip_report
    >>> r = nip_report(hypercube_graph(8))
    >>> r.diameter, r.edges, r.worst_pair
    (3, 12, (0, 2))
    """
    payload, hops, diameter, mask = _payload(graph, hops, "nip")
    n, nnz = mask.shape[0], int(np.count_nonzero(mask))
    worst = np.unravel_index(np.argmin(payload), payload.shape)
    low = float(payload[worst])
    reachable = diameter is not None and hops >= diameter
    if (low == 0.0 and reachable) or 0.0 < low < _PAYLOAD_FLOOR:
        raise ValueError(f"the payload of pair {tuple(map(int, worst))} is positive but "
                         f"below the float64 range resolved here ({_PAYLOAD_FLOOR:.1e}): "
                         f"the NIP of this graph at hops = {hops} is not representable; "
                         f"use fewer tokens, fewer hops or a denser graph")
    reached = n**2 if reachable else np.count_nonzero(_reach_power(mask.astype(np.float32),
                                                                   hops))
    off = (n - np.trace(payload)) / (n - 1) if n > 1 else 1.0
    return NIPReport(name=graph.name if name is None else str(name), n=n,
                     edges=(nnz - n) // 2, density=nnz / n**2, diameter=diameter, hops=hops,
                     nip=float(n**3 * low / nnz), min_payload=low,
                     worst_pair=(int(worst[0]), int(worst[1])), mean_payload=float(off),
                     reach=float(reached / n**2))


def nip(graph, hops=None):
    r"""Normalised Information Payload of an attention graph (refimpl's reconstruction).

    Parameters
    ----------
    graph : networkx.Graph
        Undirected, on the nodes ``0 .. n-1``, ``n <= NIP_MAX_NODES`` (2048).
    hops : int, optional
        Layers ``h >= 0``; defaults to the diameter (the fewest layers after which every
        token has received something from every other).

    Returns
    -------
    float
        0 when ``hops`` is below the diameter; 1 for the complete graph (any ``h >= 1``).

    Raises
    ------
    ValueError
        For a bad graph, more than ``NIP_MAX_NODES`` nodes, a disconnected graph without
        ``hops``, or a positive payload too small for float64 (about 1e-292).

    Notes
    -----
    With :math:`P = D^{-1}(A + I)` (uniform attention on the graph, see
    :func:`information_payload`),

    .. math:: \mathrm{NIP}_h(G) = \frac{n \min_{ij} (P^h)_{ij}}{\rho(G)}, \qquad
              \rho(G) = \frac{\mathrm{nnz}(A + I)}{n^2}.

    :math:`n \min (P^h)_{ij}` compares the worst-served pair with perfect mixing (1/n);
    dividing by the density charges the graph for its attention cost. For the k-cube
    (``n = 2^k``, ``h = k``) the minimum is :math:`k!/(k+1)^k` (at distances k and k-1),
    so :math:`\mathrm{NIP} = n^2 k! / (k+1)^{k+1}` (``proofs/nip.py``).

    **This is not necessarily the paper's formula.** Wang et al. (ICML 2022,
    arXiv:2205.14014) define NIP, but no available source shows their formula; refimpl
    implements the reconstruction fixed in ``spec/nip_mra_flash.md`` Sec. 7 and keeps
    the name ``nip`` for it. Values are not comparable with the paper's numbers.
    Cost: O(n^3 log h) time, O(n^2) memory (dense powers; see ``NIP_MAX_NODES``).

    Examples
    --------
    >>> from refimpl.graphs import complete_graph, hypercube_graph, nip
    >>> nip(complete_graph(5))
    1.0
    >>> round(nip(hypercube_graph(4)), 12)  # 16 * 2! / 3^3
    1.185185185185
    """
    return nip_report(graph, hops).nip


# -- the standard graphs and the table -------------------------------------------------------

def standard_graphs(n, *, block=1, rng=None):
    """The attention graphs compared by NIP, on ``n`` tokens.

    Parameters
    ----------
    n : int
        Number of tokens (a multiple of ``block``).
    block : int, default 1
        Build each layout on ``n / block`` blocks and lift it with :func:`lift_blocks`
        (16 in the official runs of Wang et al.).
    rng : numpy.random.Generator, int or None
        For the random part of BigBird.

    Returns
    -------
    dict of str to networkx.Graph
        complete; sliding window ``w = 1, 4, 16``; star; Longformer (``w = 1``, one
        global); BigBird (``w = 1``, one global, 4 random); hypercube. Longformer and
        BigBird take the official LRA block settings (1 global, 4 random, a window three
        blocks wide) at block size ``block``.

    Examples
    --------
    >>> from refimpl.graphs import standard_graphs
    >>> list(standard_graphs(16, rng=0))[:3]
    ['complete', 'window w=1', 'window w=4']
    """
    n, block = positive_int(n, "n"), positive_int(block, "block")
    if n % block:
        raise ValueError(f"n must be a multiple of block = {block}; got n = {n}")
    m = n // block
    layouts = [complete_graph(m), *(sliding_window_graph(m, w) for w in (1, 4, 16)),
               star_graph(m), longformer_graph(m, 1, 1),
               bigbird_graph(m, 1, 1, min(4, m - 1), rng=rng), hypercube_graph(m)]
    names = ["complete", "window w=1", "window w=4", "window w=16", "star",
             "longformer", "bigbird", "hypercube"]
    if block > 1:
        layouts = [lift_blocks(g, block) for g in layouts]
    return dict(zip(names, layouts))


def nip_table(n, *, hops=None, block=1, rng=None):
    """:func:`nip_report` of each of :func:`standard_graphs` ``(n, block=block, rng=rng)``.

    Returns
    -------
    list of NIPReport

    Examples
    --------
    >>> from refimpl.graphs import nip_table
    >>> [r.name for r in nip_table(8, rng=0)][-1]
    'hypercube'
    """
    graphs = standard_graphs(n, block=block, rng=rng)
    return [nip_report(g, hops, name=name) for name, g in graphs.items()]


def format_nip_table(reports):
    """A Markdown table of :class:`NIPReport` s.

    Examples
    --------
    >>> from refimpl.graphs import complete_graph, format_nip_table, nip_report
    >>> print(format_nip_table([nip_report(complete_graph(4))]).splitlines()[2])
    | complete | 4 | 6 | 1 | 1 | 1 | 1 | 0.25 | (0, 0) | 1 |
    """
    lines = ["| graph | n | edges | density | diameter | hops | NIP | min P^h | worst pair "
             "| mean payload |", "|---" * 10 + "|"]
    for r in reports:
        lines.append(f"| {r.name} | {r.n} | {r.edges} | {r.density:.4g} | {r.diameter} | "
                     f"{r.hops} | {r.nip:.4g} | {r.min_payload:.4g} | {r.worst_pair} | "
                     f"{r.mean_payload:.4g} |")
    return "\n".join(lines)
