r"""Low-rank masks :math:`M = U V^\top` with dense or sparse factors.

A mask with a factorisation :math:`M = UV^\top` (``U`` of shape ``(L, r)``, ``V`` of shape
``(S, r)``) multiplies in O((L + S) r) per column, or O(nnz(U) + nnz(V)) for sparse
factors, without forming ``M``. Examples: scenic's ``learned_features`` masks (spec
Sec. 2.5), the GKAT cosine mask :math:`\hat F \hat F^\top` and the graph-random-feature
estimate :math:`\Phi_1 \Phi_2^\top` of a diffusion mask (:mod:`refimpl.walks`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from .. import tolerances
from .._validate import as_float_array, check_finite
from ._base import Mask

__all__ = ["LowRankMask"]


def _factor(F, name: str):
    if scipy.sparse.issparse(F):
        if F.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be a real matrix; got a sparse matrix of dtype {F.dtype}")
        F = scipy.sparse.csr_array(F, dtype=np.float64)
        if F.ndim != 2 or 0 in F.shape:
            raise ValueError(
                f"{name} must be a non-empty 2-dimensional matrix; got shape {F.shape}")
        check_finite(F.data, f"{name} (stored entries)")
        return F
    return as_float_array(F, name, ndim=2)


def _dense(F) -> np.ndarray:
    return F.toarray() if scipy.sparse.issparse(F) else F


class LowRankMask(Mask):
    r"""The mask :math:`M = U V^\top`, multiplied as :math:`U(V^\top X)`.

    Parameters
    ----------
    left : array_like or scipy.sparse matrix, shape (L, r)
        The factor ``U``.
    right : array_like or scipy.sparse matrix, shape (S, r)
        The factor ``V``.

    Notes
    -----
    :math:`M_{ij} = \sum_{p=1}^{r} U_{ip} V_{jp}`. The fast product computes
    :math:`Y = V^\top X` and then :math:`UY`: O((L + S) r k) for dense factors and
    O((nnz(U) + nnz(V)) k) for sparse ones, for ``X`` of shape ``(S, k)``; no ``L x S``
    matrix is formed. With masked linear attention this is the face-splitting identity
    :math:`M \odot \Phi_Q\Phi_K^\top = (\Phi_Q \star U)(\Phi_K \star V)^\top`
    (Choromanski et al. 2022, Sec. 2; spec Sec. 5 item 7).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.masks import LowRankMask
    >>> M = LowRankMask([[1.0], [2.0]], [[1.0], [0.5], [0.0]])
    >>> M.toarray()
    array([[1. , 0.5, 0. ],
           [2. , 1. , 0. ]])
    >>> M @ np.ones(3)
    array([1.5, 3. ])
    """

    def __init__(self, left, right):
        self.left = _factor(left, "left")
        self.right = _factor(right, "right")
        if self.left.shape[1] != self.right.shape[1]:
            raise ValueError(
                f"left and right must have the same number of columns (the rank); got "
                f"shapes {self.left.shape} and {self.right.shape}")
        super().__init__((self.left.shape[0], self.right.shape[0]))

    @property
    def rank(self) -> int:
        """The inner dimension ``r`` of the factorisation."""
        return self.left.shape[1]

    def _apply(self, X):
        return np.asarray(self.left @ np.asarray(self.right.T @ X))

    def _dense(self):
        # Entry by entry from the definition, not through the product order of _apply.
        return np.einsum("ip,jp->ij", _dense(self.left), _dense(self.right))

    def product_error_bound(self, X):
        X = as_float_array(X, "X", ndim=2)
        # Two products with inner lengths S (then r): gamma(S) + gamma(r) times |U||V|^T|X|.
        # abs() keeps sparse factors sparse.
        magnitude = np.asarray(abs(self.left) @ np.asarray(abs(self.right).T @ np.abs(X)))
        n = self.shape[1] + self.rank
        return tolerances.SAFETY * n * tolerances.EPS * magnitude

    def _transpose(self):
        return LowRankMask(self.right, self.left)

    _adjoint = _transpose
