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
    def _operand(self, X) -> np.ndarray:
        """Validate the right operand of a product: finite real, (S,) or (S, k)."""
        if X is None or isinstance(X, (str, bytes)):
            raise TypeError(f"X must be a real array of {self.shape[1]} rows; got {X!r}")
        X = as_float_array(X, "X")
        if X.ndim not in (1, 2) or X.shape[0] != self.shape[1]:
            raise ValueError(
                f"X must have shape ({self.shape[1]},) or ({self.shape[1]}, k) to multiply a "
                f"mask of shape {self.shape}; got shape {X.shape}"
            )
        return X

    def dot(self, x):
        """``mask @ x`` for an array (validated here, by refimpl's rules) or an operator."""
        if isinstance(x, LinearOperator):
            return super().dot(x)
        X = self._operand(x)
        return self._apply(X.reshape(-1, 1)).reshape(-1) if X.ndim == 1 else self._apply(X)

    def __matmul__(self, other):
        return self.dot(other)

    def matmat(self, X):
        X = self._operand(X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional for matmat; got shape {X.shape}")
        return self._apply(X)

    def matvec(self, x):
        x = self._operand(x)
        if x.ndim != 1:
            raise ValueError(f"x must be 1-dimensional for matvec; got shape {x.shape}")
        return self._apply(x.reshape(-1, 1)).reshape(-1)

    def _matmat(self, X):
        return self._apply(self._operand(X))

    def _matvec(self, x):
        return self._apply(self._operand(x).reshape(-1, 1)).reshape(-1)

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
