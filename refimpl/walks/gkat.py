r"""GKAT: walk-frequency features and the cosine-similarity mask.

The RWGNK kernel of GKAT (Choromanski et al. 2021, arXiv 2107.07999 v1; official code
HL-hanlin/GKAT) compares nodes by how often short random walks from them visit each
node: the walk-frequency matrix :math:`F` (:func:`walk_frequency_features`), its exact
expectation (:func:`walk_frequency_mean`), and the cosine mask
:math:`M_{ij} = (FF^\top)_{ij}/\sqrt{(FF^\top)_{ii}(FF^\top)_{jj}}` (:func:`gkat_mask`),
whose row-normalised features (:func:`gkat_features`) make it a low-rank mask.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from .._validate import as_float_array, as_rng, positive_int
from ._engine import as_graph, as_sparse, deposits_to_csr, halting, powers, walks

__all__ = ["gkat_features", "gkat_mask", "transition_matrix", "walk_frequency_features",
           "walk_frequency_mean"]


def walk_frequency_features(graph, *, n_walks, length, p_stop=0.0, rng=None):
    r"""The GKAT walk-frequency matrix :math:`F` (sparse).

    Parameters
    ----------
    graph : networkx graph, array_like or scipy.sparse matrix, shape (L, L)
        Only the pattern of nonzeros is used (simple random walks); nodes ``0..L-1``.
    n_walks : int
        Walks per start node, ``>= 1``.
    length : int
        Nodes per walk, the start node included, ``>= 1``: at most ``length - 1`` steps.
    p_stop : float, default 0.0
        Probability of stopping before each step, in ``[0, 1)``.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    scipy.sparse.csr_array, shape (L, L)
        :math:`F_{iu} = \frac{1}{n_w} \sum_{\text{walks from } i} \sum_{t<\ell} 1[X_t = u]`.

    Notes
    -----
    The official code's convention: the start node is counted (``t = 0``); while a walk
    has fewer than ``length`` nodes and its node has neighbours, it stops with
    probability ``p_stop``, else moves to a uniform neighbour, which is counted. A walk
    that stops, or reaches a node without neighbours, counts nothing more. So with
    :math:`P = D^{-1}A` on the pattern (zero rows for nodes without neighbours)

    .. math:: \mathbb{E}\,F_{i,:} = \sum_{t=0}^{\ell-1} (1-p_{\mathrm{stop}})^t\, e_i^\top P^t

    (:func:`walk_frequency_mean`): the walk is alive at step ``t`` with probability
    :math:`(1-p)^t` and, given that, at ``u`` with probability :math:`(P^t)_{iu}`. This is
    :func:`~refimpl.walks.graph_random_features` with :math:`W = P`,
    :math:`\alpha_t = (1-p)^t` and ``p_halt = p_stop``: each deposit
    :math:`\alpha_t \mathrm{load}_t = (1-p)^t (1-p)^{-t} = 1`, so
    :func:`~refimpl.walks.grf_variance` gives the exact variance. The official code keeps
    raw counts; dividing by ``n_walks`` does not change the cosine mask.
    O(L n_walks length) time, vectorised over all walks.

    References
    ----------
    .. [1] K. Choromanski, H. Lin, H. Chen, et al., "Graph Kernel Attention Transformers",
       arXiv 2107.07999 v1 (2021), the RWGNK kernel; official code HL-hanlin/GKAT,
       ``deepwalk/OnlyWalk.py`` (walks) and the attention notebooks (Hadamard masking).

    Examples
    --------
    >>> import networkx as nx
    >>> from refimpl.walks import walk_frequency_features
    >>> F = walk_frequency_features(nx.path_graph(4), n_walks=10, length=3, rng=0)
    >>> F.shape, F.sum(axis=1).tolist()  # every walk visits exactly 3 nodes
    ((4, 4), [3.0, 3.0, 3.0, 3.0])
    """
    csr = as_graph(graph, "graph")
    n_walks = positive_int(n_walks, "n_walks")
    length = positive_int(length, "length")
    p_stop = halting(p_stop, "p_stop")
    rng = as_rng(rng)
    rows, cols, vals = [], [], []
    for _, start, node, _ in walks(csr, n_walks, length - 1, p_stop, rng, weighted=False):
        rows.append(start)
        cols.append(node)
        vals.append(np.ones(node.size))
    return deposits_to_csr(rows, cols, vals, csr.shape[0], n_walks)


def transition_matrix(graph) -> np.ndarray:
    r"""The simple-random-walk transition matrix :math:`P = D^{-1}A` on the pattern (dense).

    A node without neighbours has a zero row (its walks stop).

    Examples
    --------
    >>> from refimpl.walks import transition_matrix
    >>> transition_matrix([[0, 2, 5], [1, 0, 0], [0, 0, 0]])
    array([[0. , 0.5, 0.5],
           [1. , 0. , 0. ],
           [0. , 0. , 0. ]])
    """
    pattern = (as_graph(graph, "graph") != 0).astype(np.float64).toarray()
    deg = pattern.sum(axis=1)
    return pattern / np.where(deg > 0, deg, 1.0)[:, None]


def walk_frequency_mean(graph, *, length, p_stop=0.0) -> np.ndarray:
    r"""Exact :math:`\mathbb{E}F = \sum_{t<\ell} (1-p_{\mathrm{stop}})^t P^t` (dense).

    See :func:`walk_frequency_features`. O(length L^3).

    Examples
    --------
    >>> import networkx as nx
    >>> from refimpl.walks import walk_frequency_mean
    >>> walk_frequency_mean(nx.path_graph(2), length=3)
    array([[2., 1.],
           [1., 2.]])
    """
    length = positive_int(length, "length")
    p_stop = halting(p_stop, "p_stop")
    terms = powers(transition_matrix(graph), length - 1)
    return sum((1.0 - p_stop) ** t * P for t, P in enumerate(terms))


def _features(F, name: str = "F"):
    """``F`` as a dense float64 array or a CSR array, and its row 2-norms (none zero)."""
    F = as_sparse(F, name) if scipy.sparse.issparse(F) else as_float_array(F, name, ndim=2)
    squares = F.multiply(F).sum(axis=1) if scipy.sparse.issparse(F) else (F * F).sum(axis=1)
    norms = np.sqrt(np.asarray(squares, dtype=np.float64).reshape(-1))
    if np.any(norms == 0):
        raise ValueError(f"{name} must have no zero rows (the cosine is undefined); "
                         f"row {int(np.flatnonzero(norms == 0)[0])} is zero")
    return F, norms


def gkat_features(F):
    r"""Row-normalised frequencies :math:`\hat F = \mathrm{diag}(\|F_{i,:}\|_2)^{-1} F`.

    :math:`\hat F \hat F^\top` equals :func:`gkat_mask` (up to rounding), so
    ``LowRankMask(gkat_features(F), gkat_features(F))`` is the GKAT mask with an
    O(nnz(F)) product: the "random feature map decomposition via random walks" of the
    GKAT abstract. Sparse in, CSR out; dense in, dense out; a zero row is a
    ``ValueError``.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.walks import gkat_features
    >>> gkat_features(np.array([[3.0, 4.0], [0.0, 2.0]]))
    array([[0.6, 0.8],
           [0. , 1. ]])
    """
    F, norms = _features(F)
    if scipy.sparse.issparse(F):
        return scipy.sparse.csr_array(scipy.sparse.diags_array(1.0 / norms) @ F)
    return F / norms[:, None]


def gkat_mask(F):
    r"""The GKAT cosine mask :math:`M_{ij} = G_{ij}/\sqrt{G_{ii} G_{jj}}` with :math:`G = FF^\top`.

    Parameters
    ----------
    F : array_like or scipy.sparse matrix, shape (L, n)
        Walk-frequency features (:func:`walk_frequency_features`), or any real matrix
        without zero rows.

    Returns
    -------
    numpy.ndarray or scipy.sparse.csr_array, shape (L, L)
        Dense for dense ``F``. For sparse ``F``, a CSR array with the pattern of
        :math:`FF^\top`: pairs whose walks never visit a common node store nothing.

    Notes
    -----
    Straight from the definition. :math:`G` is symmetrised as :math:`(G + G^\top)/2`, an
    exact no-op in real arithmetic, so that ``M`` is exactly symmetric whatever the
    summation order; the diagonal is exactly 1, since :math:`\sqrt{\mathrm{fl}(g^2)} = g`
    in IEEE arithmetic; entries are clipped to ``[-1, 1]`` (Cauchy--Schwarz), which only
    removes rounding. For nonnegative ``F`` the entries lie in ``[0, 1]``. The official
    code multiplies the softmax weights by this mask elementwise and renormalises the
    rows [1]_. Cost O(L^2 n) dense, O(nnz(FF^T)) sparse. For ``i != j``, rows from
    independent walks make :math:`(FF^\top)_{ij}` unbiased for
    :math:`(\mathbb{E}F\,\mathbb{E}F^\top)_{ij}`; the diagonal carries
    :math:`+\mathrm{Var}`, and the cosine ratio is consistent but biased.

    References
    ----------
    .. [1] K. Choromanski, H. Lin, H. Chen, et al., "Graph Kernel Attention Transformers",
       arXiv 2107.07999 v1 (2021), the RWGNK kernel; official code HL-hanlin/GKAT,
       ``deepwalk/OnlyWalk.py`` (walks) and the attention notebooks (Hadamard masking).

    Examples
    --------
    >>> from refimpl.walks import gkat_mask
    >>> gkat_mask([[1.0, 0.0], [1.0, 1.0]]).round(4)
    array([[1.    , 0.7071],
           [0.7071, 1.    ]])
    """
    F, _ = _features(F)
    gram = F @ F.T
    if not scipy.sparse.issparse(gram):
        gram = (gram + gram.T) * 0.5
        diag = np.diag(gram)
        return np.clip(gram / np.sqrt(diag[:, None] * diag[None, :]), -1.0, 1.0)
    coo = scipy.sparse.coo_array((gram + gram.T) * 0.5)
    diag = coo.tocsr().diagonal()
    values = np.clip(coo.data / np.sqrt(diag[coo.row] * diag[coo.col]), -1.0, 1.0)
    out = scipy.sparse.coo_array((values, (coo.row, coo.col)), shape=coo.shape).tocsr()
    out.sort_indices()
    return out

