"""Ripple masks: stick-breaking weights on square rings, by summed-area tables.

Ripple attention (Zheng, Pan, Kong, ICML 2022) weights the tokens of an image by the
ring ("ripple") they lie on around the query: the ring index is the Chebyshev distance
``r = max(|di|, |dj|)`` of the 2-D positions, and the ring weights ``alpha_r`` come from
a stick-breaking transform, so that near rings are favoured and the far ones keep the
rest of the stick. The masked product is a sum of box sums, each four look-ups in a
summed-area table.

The exact parameterisation of the paper (which input drives the stick-breaking logits,
and how its threshold picks the last ring) could not be checked against the text; this
module implements the reconstruction of ``spec/masked_attention.md`` Sec. 3 as defined
in ``CONTRACT.md``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import log_expit

from .. import tolerances
from .._validate import as_float_array, positive_int
from ._base import Mask

__all__ = ["RippleMask", "stick_breaking"]


def stick_breaking(logits) -> np.ndarray:
    r"""Stick-breaking weights from ``R`` logits: ``R`` nonnegative weights summing to 1.

    Parameters
    ----------
    logits : array_like, shape (..., R)
        One logit per ring; leading dimensions are batch dimensions. The last logit is
        ignored (the last weight takes the rest of the stick).

    Returns
    -------
    numpy.ndarray, shape (..., R)

    Notes
    -----
    With :math:`\beta_r = \sigma(\ell_r)`,

    .. math:: \alpha_r = \beta_r \prod_{s<r} (1 - \beta_s) \quad (r < R - 1), \qquad
              \alpha_{R-1} = \prod_{s < R-1} (1 - \beta_s),

    so :math:`\sum_r \alpha_r = 1`. Computed in log space,
    :math:`\log\beta = \log\sigma(\ell)` and :math:`\log(1-\beta) = \log\sigma(-\ell)`
    (:func:`scipy.special.log_expit`), so no weight underflows to 0 before its time or
    becomes NaN for logits of any size. Zheng, Pan, Kong (ICML 2022), Sec. 3.2 [1]_.

    References
    ----------
    .. [1] L. Zheng, H. Pan, L. Kong, "Ripple attention for visual perception with
       sub-quadratic complexity", ICML 2022.

    Examples
    --------
    >>> from refimpl.masks import stick_breaking
    >>> stick_breaking([0.0, 0.0, 0.0])
    array([0.5 , 0.25, 0.25])
    """
    logits = as_float_array(logits, "logits", min_ndim=1)
    # Logits near the float64 limit drive log-weights to -inf: exp then gives exactly 0.
    with np.errstate(over="ignore", invalid="ignore"):
        return _stick_breaking_log_space(logits)


def _stick_breaking_log_space(logits: np.ndarray) -> np.ndarray:
    log_keep = np.cumsum(log_expit(-logits[..., :-1]), axis=-1)  # log prod_{s<=r}(1 - beta_s)
    log_before = np.concatenate([np.zeros(logits.shape[:-1] + (1,)), log_keep], axis=-1)
    log_take = np.concatenate(
        [log_expit(logits[..., :-1]), np.zeros(logits.shape[:-1] + (1,))], axis=-1
    )
    return np.exp(log_before + log_take)


class RippleMask(Mask):
    r"""Ripple mask on an ``H x W`` image: ``M_pq = alpha_{min(r(p, q), R-1)}``.

    Parameters
    ----------
    shape : tuple of two ints
        The image ``(H, W)``; tokens are numbered in row-major order, ``L = H W``.
    alpha : array_like, shape (R,) or (H*W, R)
        Ring weights, shared by all queries or one row per query (e.g. from
        :func:`stick_breaking`). Distances ``r >= R - 1`` share the last weight.

    Notes
    -----
    With :math:`r(p, q) = \max(|p_0 - q_0|, |p_1 - q_1|)` the Chebyshev distance and
    :math:`w_r(p) = \sum_{q : r(p,q) \le r} x_q` the sum over the square of radius ``r``
    around ``p`` (clipped to the image), the ring sums are
    :math:`w_r - w_{r-1}` and the product telescopes:

    .. math:: (Mx)_p = \sum_{r=0}^{\rho-1} (\alpha_r(p) - \alpha_{r+1}(p))\, w_r(p)
              + \alpha_{\rho}(p)\, w_{\max}(p), \qquad
              \rho = \min(R - 1, \max(H, W) - 1).

    Each :math:`w_r(p)` is four look-ups in a summed-area table built once in O(L)
    (padded by edge replication, so the clipped boxes of all queries are array slices), so
    a product costs O(L \rho) per column: O(L R) for a fixed number of rings and
    O(L^{1.5}) without truncation [1]_ (Sec. 3.3).

    References
    ----------
    .. [1] L. Zheng, H. Pan, L. Kong, "Ripple attention for visual perception with
       sub-quadratic complexity", ICML 2022.

    Examples
    --------
    >>> from refimpl.masks import RippleMask
    >>> RippleMask((1, 4), [1.0, 0.5, 0.25]).toarray()
    array([[1.  , 0.5 , 0.25, 0.25],
           [0.5 , 1.  , 0.5 , 0.25],
           [0.25, 0.5 , 1.  , 0.5 ],
           [0.25, 0.25, 0.5 , 1.  ]])
    """

    def __init__(self, shape, alpha):
        try:
            dims = tuple(shape)
        except TypeError:
            raise TypeError(f"shape must be a pair (H, W) of ints; got {shape!r}") from None
        if len(dims) != 2:
            raise ValueError(f"shape must be a pair (H, W); got {dims}")
        self.grid_shape = (positive_int(dims[0], "shape[0]"), positive_int(dims[1], "shape[1]"))
        L = math.prod(self.grid_shape)
        alpha = as_float_array(alpha, "alpha")
        if alpha.ndim not in (1, 2) or (alpha.ndim == 2 and alpha.shape[0] != L):
            raise ValueError(f"alpha must have shape (R,) or ({L}, R); got shape {alpha.shape}")
        self.alpha = alpha
        super().__init__((L, L))

    @property
    def n_rings(self) -> int:
        """``R``, the number of ring weights."""
        return self.alpha.shape[-1]

    def _chebyshev(self):
        H, W = self.grid_shape
        i, j = np.divmod(np.arange(H * W), W)
        return np.maximum(np.abs(i[:, None] - i[None, :]), np.abs(j[:, None] - j[None, :]))

    def _dense(self):
        ring = np.minimum(self._chebyshev(), self.n_rings - 1)
        if self.alpha.ndim == 1:
            return self.alpha[ring]
        return np.take_along_axis(self.alpha, ring, axis=1)

    def _coefficients(self):
        """The telescoped weights: (L, rho + 1) rows [a_0 - a_1, ..., a_{rho-1} - a_rho, a_rho]."""
        H, W = self.grid_shape
        rho = min(self.n_rings - 1, max(H, W) - 1)
        alpha = np.broadcast_to(self.alpha, (H * W, self.n_rings))[:, : rho + 1]
        return np.concatenate([alpha[:, :-1] - alpha[:, 1:], alpha[:, -1:]], axis=1)

    def _apply(self, X):
        H, W = self.grid_shape
        k = X.shape[1]
        coeff = self._coefficients().reshape(H, W, -1)
        rho = coeff.shape[-1] - 1
        # Summed-area table, padded by edge replication: clipping a box to the image is
        # then plain slicing (views), since rows before 0 repeat the zero row and rows
        # past H repeat the last one.
        sat = np.zeros((H + 1, W + 1, k))
        np.cumsum(X.reshape(H, W, k), axis=0, out=sat[1:, 1:])
        np.cumsum(sat[1:, 1:], axis=1, out=sat[1:, 1:])
        padded = np.pad(sat, ((rho, rho), (rho, rho), (0, 0)), mode="edge")
        out = coeff[:, :, rho, None] * sat[H, W]  # the last weight covers the whole image
        for r in range(rho):
            strip = padded[rho + r + 1: rho + r + 1 + H] - padded[rho - r: rho - r + H]
            box = strip[:, rho + r + 1: rho + r + 1 + W] - strip[:, rho - r: rho - r + W]
            box *= coeff[:, :, r, None]
            out += box
        return out.reshape(H * W, k)

    def product_error_bound(self, X):
        X = self._operand(X).reshape(self.shape[1], -1)
        H, W = self.grid_shape
        weight = np.abs(self._coefficients()).sum(axis=1)  # (L,)
        abs_total = np.abs(X).sum(axis=0)  # (k,)
        # Table entries: sums of <= H W terms, cumulated along two axes (H + W roundings
        # each); a box is 4 such entries; the rho + 1 boxes are then summed.
        n_terms = 4 * (H + W + 3) + self._coefficients().shape[1]
        return tolerances.summation_bound(n_terms, weight[:, None] * abs_total[None, :])
