"""The common base of refimpl's structured masks.

A mask is a :class:`scipy.sparse.linalg.LinearOperator` with two ways to act:

* the fast product ``mask @ X`` (``_apply``), the algorithm the paper makes
  sub-quadratic, and
* :meth:`Mask.toarray`, the dense matrix built entry by entry from the definition
  (``_dense``), which is the oracle the fast product is checked against.

The two never share code beyond argument handling.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.linalg import LinearOperator

from .._validate import as_float_array

__all__ = ["Mask", "call_offset_function"]


class Mask(LinearOperator):
    """Base class: a real (L, S) mask with a fast product and a dense oracle.

    Subclasses implement ``_apply(X)`` for a finite float64 ``X`` of shape ``(S, k)``,
    ``_dense()`` and ``product_error_bound(X)``.
    """

    def __init__(self, shape: tuple[int, int]):
        super().__init__(dtype=np.dtype(np.float64), shape=tuple(int(s) for s in shape))

    # -- the fast product -------------------------------------------------------------
    def _matmat(self, X):
        X = as_float_array(X, "X", ndim=2)
        if X.shape[0] != self.shape[1]:
            raise ValueError(
                f"X must have {self.shape[1]} rows to multiply a mask of shape "
                f"{self.shape}; got shape {X.shape}"
            )
        return self._apply(X)

    def _matvec(self, x):
        x = as_float_array(x, "x")
        return self._matmat(x.reshape(-1, 1)).reshape(-1)

    def _apply(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- the oracle -----------------------------------------------------------------
    def toarray(self) -> np.ndarray:
        """The dense ``(L, S)`` mask built entry by entry from its definition (the oracle)."""
        return self._dense()

    def _dense(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def product_error_bound(self, X) -> np.ndarray:
        """Elementwise bound on ``|mask @ X - toarray() @ X|`` from the fast algorithm.

        Used by the tests and by ``refimpl verify``; see :mod:`refimpl.tolerances`.
        """
        raise NotImplementedError  # pragma: no cover - abstract

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of shape {self.shape}>"


def call_offset_function(f, offsets: np.ndarray, expected_shape: tuple[int, ...]) -> np.ndarray:
    """Evaluate a user's offset function ``f`` and check its values.

    ``f`` must be callable and return finite reals of shape ``expected_shape``.
    """
    if not callable(f):
        raise TypeError(f"f must be callable; got {type(f).__name__}")
    values = as_float_array(f(offsets), "f(offsets)")
    if values.shape != tuple(expected_shape):
        raise ValueError(
            f"f must return one value per offset, an array of shape {tuple(expected_shape)}; "
            f"got shape {values.shape}"
        )
    return values
