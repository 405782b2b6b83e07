r"""Graph random features (GRFs): unbiased sparse estimates of :math:`\sum_k \alpha_k W^k`.

Definition and sampler (:func:`graph_random_features`), the exact mean and per-walk
variance (:func:`grf_mean`, :func:`grf_variance`), the exhaustive path enumeration that
checks both (:func:`grf_moments_by_enumeration`), and the linear-time random-walk
estimate of the diffusion mask :math:`\exp(\lambda W)` (:class:`WalkMask`).
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, as_rng, positive_int
from ._engine import as_graph, degrees, deposits_to_csr, halting, powers, step, walks

__all__ = [
    "MAX_ENUMERATED_PATHS",
    "graph_random_features",
    "grf_mean",
    "grf_moments_by_enumeration",
    "grf_second_moment",
    "grf_variance",
]

#: Most walk paths :func:`grf_moments_by_enumeration` will enumerate.
MAX_ENUMERATED_PATHS = 2_000_000


def _arguments(W, alpha, p_halt):
    return (as_graph(W, "W"), as_float_array(alpha, "alpha", ndim=1),
            halting(p_halt, "p_halt"))


def graph_random_features(W, alpha, *, n_walks, p_halt, rng=None):
    r"""Graph random features: sparse Φ with :math:`\mathbb{E}\Phi = \sum_k \alpha_k W^k`.

    Parameters
    ----------
    W : array_like, scipy.sparse matrix or networkx graph, shape (L, L)
        Weighted adjacency, any real weights (a graph on nodes ``0..L-1``, attribute
        ``weight``, default 1). The neighbours of ``u`` are the nonzeros of row ``u``.
    alpha : array_like, shape (K + 1,)
        Coefficients :math:`\alpha_0, \dots, \alpha_K`; walks stop after ``K`` steps
        (after the last nonzero coefficient).
    n_walks : int
        Walks per start node, ``>= 1``.
    p_halt : float
        Halting probability before each step, in ``[0, 1)``.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    scipy.sparse.csr_array, shape (L, L)
        Row ``i``: the average over the ``n_walks`` walks from ``i`` of their deposits.

    Notes
    -----
    A walk starts at ``i`` with load 1 and deposits :math:`\alpha_0` at ``i``. Before
    each step it halts with probability ``p``; otherwise it moves from ``u`` to a
    uniform neighbour ``w``, multiplies its load by :math:`W_{uw}\deg(u)/(1-p)`, and
    deposits :math:`\alpha_k \cdot \mathrm{load}` at its node after step ``k``. A walk at
    a node without neighbours stops (its row of ``W`` is zero, so nothing is lost). The
    path :math:`i = u_0 \to \dots \to u_k` is walked with probability
    :math:`\prod_s (1-p)/\deg(u_s)` and carries the load
    :math:`\prod_s W_{u_s u_{s+1}} \deg(u_s)/(1-p)`, so for every finite sequence
    :math:`\alpha` (the truncation included)

    .. math:: \mathbb{E}\,\Phi_{iv} = \sum_{k=0}^{K} \alpha_k (W^k)_{iv}.

    Variance: :func:`grf_variance` over ``n_walks``. Time O(L n_walks min(K, 1/p))
    expected, vectorised over all walks; at most that many stored entries. This is the
    GRF estimator of Reid et al. [1]_ (Alg. 1); Choromanski et al. [2]_ use random walks
    for graph masks, but their own estimator statement is [recall only] here.

    References
    ----------
    .. [1] I. Reid, K. Choromanski, E. Berger, A. Weller, "General graph random
       features", ICLR 2024, arXiv 2310.04859, Sec. 3 and Alg. 1.
    .. [2] K. Choromanski et al., "From block-Toeplitz matrices to differential
       equations on graphs", ICML 2022, arXiv 2107.07999 (statement not checked).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.walks import graph_random_features, grf_mean
    >>> W = 0.3 * np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    >>> Phi = graph_random_features(W, [1.0, 1.0, 0.5], n_walks=20000, p_halt=0.2, rng=0)
    >>> Phi.shape, Phi.format
    ((3, 3), 'csr')
    >>> bool(np.abs(Phi.toarray() - grf_mean(W, [1.0, 1.0, 0.5])).max() < 0.02)
    True
    """
    csr, alpha, p_halt = _arguments(W, alpha, p_halt)
    n_walks = positive_int(n_walks, "n_walks")
    rng = as_rng(rng)
    nonzero = np.flatnonzero(alpha)
    n_steps = int(nonzero[-1]) if nonzero.size else 0
    rows, cols, vals = [], [], []
    for k, start, node, load in walks(csr, n_walks, n_steps, p_halt, rng):
        if alpha[k] != 0.0:
            rows.append(start)
            cols.append(node)
            vals.append(alpha[k] * load)
    return deposits_to_csr(rows, cols, vals, csr.shape[0], n_walks)


def grf_mean(W, alpha) -> np.ndarray:
    r"""Exact :math:`\mathbb{E}\Phi = \sum_{k=0}^{K} \alpha_k W^k` of :func:`graph_random_features`.

    Dense, by repeated products: O(K L^3).

    Examples
    --------
    >>> from refimpl.walks import grf_mean
    >>> grf_mean([[0.0, 2.0], [2.0, 0.0]], [1.0, 1.0, 1.0])
    array([[5., 2.],
           [2., 5.]])
    """
    W = as_graph(W, "W").toarray()
    alpha = as_float_array(alpha, "alpha", ndim=1)
    return sum(a * P for a, P in zip(alpha, powers(W, alpha.size - 1)))


def grf_second_moment(W, alpha, *, p_halt) -> np.ndarray:
    r"""Exact per-walk second moment :math:`\mathbb{E}[S_v^2]` (formula in :func:`grf_variance`).

    Examples
    --------
    >>> from refimpl.walks import grf_second_moment
    >>> grf_second_moment([[0.0, 1.0], [0.0, 0.0]], [1.0, 2.0], p_halt=0.5)  # 0 -> 1 or halt
    array([[1., 8.],
           [0., 1.]])
    """
    csr, alpha, p_halt = _arguments(W, alpha, p_halt)
    K, dense = alpha.size - 1, csr.toarray()
    Q = dense**2 * (degrees(csr)[:, None] / (1.0 - p_halt))
    returns = np.array([np.diag(P) for P in powers(dense, K)])  # returns[j, v] = (W^j)_vv
    second = np.zeros_like(dense)
    for k, Qk in enumerate(powers(Q, K)):
        later = alpha[k + 1:, None] * returns[1:K - k + 1]
        second += alpha[k] * Qk * (alpha[k] + 2.0 * later.sum(axis=0))[None, :]
    return second


def grf_variance(W, alpha, *, p_halt) -> np.ndarray:
    r"""Exact per-walk variance of every entry of :func:`graph_random_features`.

    ``Var(Phi[i, v])`` is this divided by ``n_walks`` (the walks are independent).

    Parameters
    ----------
    W, alpha, p_halt
        As for :func:`graph_random_features`.

    Returns
    -------
    numpy.ndarray, shape (L, L)

    Notes
    -----
    One walk from ``i`` deposits :math:`S_v = \sum_k \alpha_k \ell_k 1[X_k = v]`.
    Squaring the load replaces each step's weight times probability
    :math:`W_{uw} \cdot 1` by :math:`Q_{uw} = W_{uw}^2 \deg(u)/(1-p)`, so
    :math:`\mathbb{E}[\ell_k^2 1[X_k=v]] = (Q^k)_{iv}`; loads multiply along a path and
    the walk is Markov, so :math:`\mathbb{E}[\ell_k \ell_l 1[X_k = X_l = v]] =
    (Q^k)_{iv} (W^{l-k})_{vv}` for :math:`k < l`. Hence

    .. math:: \mathbb{E}[S_v^2] = \sum_{k=0}^{K} \alpha_k (Q^k)_{iv}
              \Big(\alpha_k + 2\sum_{j=1}^{K-k} \alpha_{k+j} (W^j)_{vv}\Big),
              \qquad \mathrm{Var}\,S_v = \mathbb{E}[S_v^2] - (\mathbb{E}\Phi)_{iv}^2,

    clipped at 0 against rounding. Dense, O(K L^3); checked against
    :func:`grf_moments_by_enumeration` and by ``refimpl verify``. The variance is finite
    for every finite ``K``; it grows like :math:`\rho(Q)^K`, which is large when
    :math:`W_{uw}\deg(u)/(1-p)` is large: choose ``W``'s scale and ``p`` accordingly.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.walks import grf_variance
    >>> W = np.array([[0.0, 1.0], [1.0, 0.0]])  # one neighbour, no halting: no randomness
    >>> grf_variance(W, [1.0, 1.0, 1.0], p_halt=0.0)
    array([[0., 0.],
           [0., 0.]])
    """
    second = grf_second_moment(W, alpha, p_halt=p_halt)
    return np.maximum(second - grf_mean(W, alpha) ** 2, 0.0)


def grf_moments_by_enumeration(W, alpha, *, p_halt):
    r"""Exact mean and second moment of one walk's deposits, by enumerating every path.

    Every path of at most ``K`` steps is followed with the estimator's own load update
    and weighted by its probability: halting ``p_halt`` before each step, uniform
    neighbours, stopping at nodes without neighbours and after ``K`` steps. No random
    numbers are drawn, so comparing with :func:`grf_mean` and :func:`grf_variance` is a
    deterministic check of the estimator's weights (exact up to rounding). Exponential
    cost: tiny graphs only (at most :data:`MAX_ENUMERATED_PATHS` partial paths per step).

    Returns
    -------
    mean, second_moment : numpy.ndarray, shape (L, L)
        ``E[S_v]`` and ``E[S_v^2]`` for the walks from ``i`` (row ``i``).
    n_paths : int
        The number of complete paths summed (for the rounding bound).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.walks import grf_mean, grf_moments_by_enumeration
    >>> W = np.array([[0.0, 0.5, 0.2], [0.5, 0.0, 0.0], [0.2, 0.0, 0.3]])
    >>> mean, second, n = grf_moments_by_enumeration(W, [1.0, 2.0, 3.0], p_halt=0.25)
    >>> bool(np.allclose(mean, grf_mean(W, [1.0, 2.0, 3.0]), rtol=1e-14, atol=0))
    True
    """
    csr, alpha, p_halt = _arguments(W, alpha, p_halt)
    L, K, deg = csr.shape[0], alpha.size - 1, degrees(csr)
    start = np.arange(L)
    node, load, prob = start.copy(), np.ones(L), np.ones(L)
    deposits = np.zeros((L, L))
    deposits[start, node] = alpha[0]
    mean, second, n_paths = np.zeros((L, L)), np.zeros((L, L)), 0
    for k in range(K + 1):
        stuck = (deg[node] == 0) | (k == K)
        ends = np.where(stuck, prob, prob * p_halt)  # probability that the path ends here
        np.add.at(mean, start, ends[:, None] * deposits)
        np.add.at(second, start, ends[:, None] * deposits**2)
        n_paths += int(np.count_nonzero(ends))
        parent = np.repeat(np.flatnonzero(~stuck), deg[node[~stuck]])
        if parent.size == 0:
            break
        if parent.size > MAX_ENUMERATED_PATHS:
            raise ValueError(
                f"W, alpha: more than {MAX_ENUMERATED_PATHS} paths of {k + 1} steps to "
                f"enumerate; use a smaller graph or fewer coefficients")
        offset = np.arange(parent.size) - np.searchsorted(parent, parent)
        start, prob = start[parent], prob[parent] * ((1.0 - p_halt) / deg[node[parent]])
        node, load = step(csr, node[parent], load[parent], offset, p_halt)
        deposits = deposits[parent]
        deposits[np.arange(parent.size), node] += alpha[k + 1] * load
    return mean, second, n_paths
