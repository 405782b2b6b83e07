"""Multi-dimensional relative-position masks: multilevel block-Toeplitz masks on grids.

Tokens on an ``n_1 x ... x n_k`` grid (row-major order) with the mask
``M_ij = f(p_i - p_j)`` of their relative positions give a ``k``-level block-Toeplitz
matrix (for images, block-Toeplitz with Toeplitz blocks). Wrapped onto the doubled
torus it becomes a multilevel circulant, diagonalised by the ``k``-dimensional FFT
(Choromanski et al. 2022, Sec. 3.2).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from .. import tolerances
from .._validate import positive_int
from ._base import Mask, call_offset_function

__all__ = ["GridRPEMask"]


def _grid_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be a tuple of positive ints; got {shape!r}") from None
    if not dims:
        raise ValueError("shape must have at least one dimension; got ()")
    return tuple(positive_int(n, f"shape[{axis}]") for axis, n in enumerate(dims))


class GridRPEMask(Mask):
    r"""Relative-position mask ``M_ij = f(p_i - p_j)`` for tokens on a grid.

    Parameters
    ----------
    shape : tuple of int
        The grid ``(n_1, ..., n_k)``; there are ``L = n_1 ... n_k`` tokens, numbered in
        row-major (C) order.
    f : callable
        Takes an integer array of offsets of shape ``(..., k)`` and returns the mask
        values, shape ``(...)``. Offsets range over ``-(n_a - 1) ... n_a - 1`` per axis.
        ``f`` must be deterministic: it is evaluated once for the fast product and
        again, independently, by :meth:`.toarray`.

    Notes
    -----
    Let :math:`N_a \ge 2 n_a - 1` be the torus size of axis ``a``. The kernel is written
    onto the torus, :math:`\kappa[t \bmod N] = f(t)` for every offset ``t`` in the box,
    the input is zero-padded onto it, and

    .. math:: MX = \left(\mathcal{F}^{-1}\big(\mathcal{F}\kappa \odot
              \mathcal{F}X_{\text{pad}}\big)\right)_{[0, n_1) \times \dots \times [0, n_k)},

    with :func:`scipy.fft.rfftn`. Cost O(L log L) per column, up to the constant
    :math:`2^k` of the padding [1]_ (Sec. 3.2). A separable ``f(a) = prod_k f_k(a_k)``
    gives the Kronecker product of 1-D Toeplitz masks.

    References
    ----------
    .. [1] K. Choromanski et al., "From block-Toeplitz matrices to differential
       equations on graphs", ICML 2022, Sec. 3.2 (d-dimensional RPE masks).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.masks import GridRPEMask
    >>> M = GridRPEMask((2, 2), lambda t: 0.5 ** np.abs(t).sum(axis=-1))
    >>> M.toarray()
    array([[1.  , 0.5 , 0.5 , 0.25],
           [0.5 , 1.  , 0.25, 0.5 ],
           [0.5 , 0.25, 1.  , 0.5 ],
           [0.25, 0.5 , 0.5 , 1.  ]])
    """

    def __init__(self, shape, f):
        self.grid_shape = _grid_shape(shape)
        if not callable(f):
            raise TypeError(f"f must be callable; got {type(f).__name__}")
        self.f = f
        L = math.prod(self.grid_shape)
        super().__init__((L, L))
        self._torus = tuple(scipy.fft.next_fast_len(2 * n - 1, real=True) for n in self.grid_shape)
        # Offsets t in the box, and the torus cell t mod N of each.
        ranges = [np.concatenate([np.arange(n), np.arange(-(n - 1), 0)]) for n in self.grid_shape]
        offsets = np.stack(np.meshgrid(*ranges, indexing="ij"), axis=-1)
        values = call_offset_function(f, offsets, offsets.shape[:-1])
        kernel = np.zeros(self._torus)
        kernel[np.ix_(*[r % N for r, N in zip(ranges, self._torus)])] = values
        self._kernel_l1 = float(np.abs(values).sum())
        self._spectrum = scipy.fft.rfftn(kernel)

    def _apply(self, X):
        k = len(self.grid_shape)
        axes = tuple(range(k))
        grid = X.reshape(self.grid_shape + (X.shape[1],))
        spectrum = scipy.fft.rfftn(grid, s=self._torus, axes=axes)
        spectrum *= self._spectrum[..., None]
        out = scipy.fft.irfftn(spectrum, s=self._torus, axes=axes)
        crop = tuple(slice(0, n) for n in self.grid_shape)
        return out[crop].reshape(X.shape)

    def _dense(self):
        k = len(self.grid_shape)
        positions = np.indices(self.grid_shape).reshape(k, -1).T
        offsets = positions[:, None, :] - positions[None, :, :]
        return call_offset_function(self.f, offsets, offsets.shape[:-1])

    def product_error_bound(self, X):
        X = self._operand(X).reshape(self.shape[1], -1)
        per_column = tolerances.fft_convolution_bound(
            math.prod(self._torus), self._kernel_l1, X
        )
        return np.broadcast_to(per_column, (self.shape[0], X.shape[1]))
