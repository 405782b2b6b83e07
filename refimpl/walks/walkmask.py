r"""A random-walk estimate of the diffusion mask :math:`\exp(\lambda W)` with linear-time products.

With :math:`\alpha_k = (\lambda/2)^k/k!` the graph random features of
:func:`~refimpl.walks.graph_random_features` have mean
:math:`T_K(\lambda W/2) = \sum_{k\le K} (\lambda W/2)^k/k!`, a truncated
:math:`\exp(\lambda W/2)`. Two independent feature matrices give
:math:`\hat M = \Phi_1\Phi_2^\top` with :math:`\mathbb{E}\hat M = T_K(\lambda W/2)
T_K(\lambda W/2)^\top`, which is :math:`\exp(\lambda W)` up to the truncation for
symmetric ``W``. Its product :math:`\Phi_1(\Phi_2^\top X)` costs O(nnz) per column:
the "linearisation" of graph masks (spec Sec. 2.8; Reid et al. 2024).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.linalg

from .. import tolerances
from .._validate import as_rng, nonnegative_int, positive_int, real_scalar
from ..attention import kernel_attention, masked_linear_attention
from ..masks.lowrank import LowRankMask
from ._engine import as_graph, halting
from .grf import graph_random_features, grf_mean

__all__ = ["WalkAttention", "WalkMask", "half_exponential_coefficients", "walk_mask_attention"]


def half_exponential_coefficients(lam, n_terms: int) -> np.ndarray:
    r"""The coefficients :math:`\alpha_k = (\lambda/2)^k / k!`, ``k = 0..n_terms-1``.

    Their self-convolution is :math:`\sum_{a+b=k}\alpha_a\alpha_b = \lambda^k/k!`, the
    series of :math:`\exp(\lambda W)`.

    Examples
    --------
    >>> from refimpl.walks import half_exponential_coefficients
    >>> half_exponential_coefficients(2.0, 4)
    array([1.        , 1.        , 0.5       , 0.16666667])
    """
    lam = real_scalar(lam, "lam")
    n_terms = positive_int(n_terms, "n_terms")
    k = np.arange(n_terms)
    log_factorial = np.array([math.lgamma(j + 1.0) for j in k])
    if lam == 0:
        return (k == 0).astype(np.float64)
    return np.sign(lam) ** k * np.exp(k * math.log(abs(lam) / 2) - log_factorial)


def _default_steps(W_csr, lam) -> int:
    """Smallest ``K`` whose Taylor tail of exp(lam W / 2) is below eps in the inf-norm.

    With :math:`x = |\\lambda|\\,\\|W\\|_\\infty/2`, the tail after ``K`` is at most
    :math:`x^{K+1}/(K+1)!\\,e^{x}`, relative to the bound :math:`e^{x}` on
    :math:`\\|\\exp(\\lambda W/2)\\|_\\infty` (spec Sec. 5 item 26).
    """
    x = abs(lam) / 2 * float(abs(W_csr).sum(axis=1).max())
    K, term = 0, x
    while term > tolerances.EPS:
        K += 1
        term *= x / (K + 1)
    return K


class WalkMask(LowRankMask):
    r"""Random-walk (GRF) estimate :math:`\hat M = \Phi_1 \Phi_2^\top` of :math:`\exp(\lambda W)`.

    Parameters
    ----------
    W : array_like, scipy.sparse matrix or networkx graph, shape (L, L)
        Weighted adjacency (symmetric for :math:`\exp(\lambda W)`; see Notes).
    lam : float, default 1.0
    n_walks : int
        Walks per node for each of the two feature matrices.
    p_halt : float
        Halting probability in ``[0, 1)``.
    max_steps : int, optional
        Truncation ``K`` of the series; by default the smallest ``K`` whose tail is
        below machine epsilon relative to :math:`e^{|\lambda|\|W\|_\infty/2}`.
    rng : numpy.random.Generator, int or None

    Attributes
    ----------
    alpha : numpy.ndarray
        :math:`\alpha_k = (\lambda/2)^k/k!`, ``k = 0..K``.
    left, right : scipy.sparse.csr_array
        :math:`\Phi_1, \Phi_2`, independent GRFs of ``W`` with coefficients ``alpha``.

    Notes
    -----
    The walks of :math:`\Phi_1` and :math:`\Phi_2` are independent, so
    :math:`\mathbb{E}[\Phi_1\Phi_2^\top] = \mathbb{E}\Phi_1\,(\mathbb{E}\Phi_2)^\top =
    T_K(\lambda W/2)\,T_K(\lambda W^\top/2)` (:meth:`mean`), exactly, for every ``K``.
    For symmetric ``W`` this is :math:`\exp(\lambda W/2)^2 = \exp(\lambda W)` up to the
    truncation. The product costs O((nnz(Φ₁) + nnz(Φ₂)) k) for ``k`` columns, at most
    O(L n_walks K k). With :func:`~refimpl.attention.masked_linear_attention` this is
    linear-time graph-masked attention (Reid et al. 2024, arXiv 2410.03462; the GRF
    masks of Choromanski et al. 2022, whose statement is [recall only]).

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.linalg
    >>> from refimpl.walks import WalkMask
    >>> W = 0.4 * np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    >>> M = WalkMask(W, 1.0, n_walks=4000, p_halt=0.3, rng=0)
    >>> M.shape, M.left.format
    ((3, 3), 'csr')
    >>> bool(np.abs(M.toarray() - scipy.linalg.expm(W)).max() < 0.05)
    True
    """

    def __init__(self, W, lam=1.0, *, n_walks, p_halt, max_steps=None, rng=None):
        csr = as_graph(W, "W")
        self.lam = real_scalar(lam, "lam")
        n_walks = positive_int(n_walks, "n_walks")
        p_halt = halting(p_halt, "p_halt")
        K = _default_steps(csr, self.lam) if max_steps is None else nonnegative_int(
            max_steps, "max_steps")
        self.alpha = half_exponential_coefficients(self.lam, K + 1)
        self.graph = csr
        rng = as_rng(rng)
        left = graph_random_features(csr, self.alpha, n_walks=n_walks, p_halt=p_halt, rng=rng)
        right = graph_random_features(csr, self.alpha, n_walks=n_walks, p_halt=p_halt, rng=rng)
        super().__init__(left, right)

    def mean(self) -> np.ndarray:
        r"""The exact expectation :math:`T_K(\lambda W/2)\,T_K(\lambda W/2)^\top` (dense)."""
        half = grf_mean(self.graph, self.alpha)
        return half @ half.T


class WalkAttention(NamedTuple):
    """Masked linear attention with a :class:`WalkMask` against the exact diffusion mask."""

    estimate: np.ndarray  # masked_linear_attention with the WalkMask (O(nnz) products)
    exact: np.ndarray  # kernel_attention with the dense expm(lam W)
    error: float  # max |estimate - exact|
    mask: WalkMask


def walk_mask_attention(phi_q, phi_k, v, W, lam=1.0, *, n_walks, p_halt, max_steps=None,
                        rng=None) -> WalkAttention:
    r"""Compare masked linear attention with a :class:`WalkMask` to the exact diffusion mask.

    Parameters
    ----------
    phi_q, phi_k, v : array_like, shapes (L, m), (L, m), (L, dv)
        Query and key features (nonnegative, so that every normaliser is positive) and
        values.
    W, lam, n_walks, p_halt, max_steps, rng
        As for :class:`WalkMask`.

    Returns
    -------
    WalkAttention
        ``estimate`` (Algorithm 1 through the O(nnz) mask products), ``exact``
        (:func:`~refimpl.attention.kernel_attention` with the dense
        :math:`\exp(\lambda W)` of :func:`scipy.linalg.expm`, the oracle that
        ``refimpl.masks.DiffusionMask`` is also checked against), their largest
        absolute difference, and the mask.

    Notes
    -----
    The mask estimate is unbiased, but attention is a ratio of two linear functions of
    the mask, so ``estimate`` is consistent, not unbiased: its error is
    :math:`O(n_{\mathrm{walks}}^{-1/2})` plus an :math:`O(1/n_{\mathrm{walks}})` bias.
    Cost: O(m (dv+1) nnz + L^3) (the dense ``expm`` dominates).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.walks import walk_mask_attention
    >>> rng = np.random.default_rng(0)
    >>> W = 0.3 * np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    >>> phi, v = rng.random((3, 2)) + 0.1, rng.normal(size=(3, 2))
    >>> result = walk_mask_attention(phi, phi, v, W, n_walks=2000, p_halt=0.3, rng=1)
    >>> result.estimate.shape, bool(result.error < 0.05)
    ((3, 2), True)
    """
    mask = WalkMask(W, lam, n_walks=n_walks, p_halt=p_halt, max_steps=max_steps, rng=rng)
    exact_mask = scipy.linalg.expm(mask.lam * mask.graph.toarray())
    estimate = masked_linear_attention(phi_q, phi_k, v, mask)
    exact = kernel_attention(phi_q, phi_k, v, mask=exact_mask)
    return WalkAttention(estimate, exact, float(np.abs(estimate - exact).max()), mask)
