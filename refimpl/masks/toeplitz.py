"""One-dimensional relative-position masks: Toeplitz and decayed causal.

A mask whose entries depend only on the offset ``i - j`` is Toeplitz. Relative position
encodings (RPE) are such masks: ``M_ij = exp(b_{i-j})`` multiplies the attention weights
as the additive bias ``b_{i-j}`` would (Choromanski et al. 2022, Sec. 3.1; Luo et al.
2021). Embedded in a circulant matrix, a Toeplitz product is a convolution, computed by
FFT in O(L log L) per column. The causal mask is the Toeplitz mask of ``1[i >= j]``
(optionally decayed, ``gamma^(i-j)``), whose product is a scan in O(L).
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy.signal import lfilter

from .. import tolerances
from .._validate import as_float_array, positive_int, real_scalar
from ._base import Mask, call_offset_function

__all__ = ["CausalMask", "ToeplitzMask"]


class ToeplitzMask(Mask):
    r"""Toeplitz mask ``M_ij = c[i - j]`` for ``i >= j`` and ``r[j - i]`` for ``j > i``.

    The convention is :func:`scipy.linalg.toeplitz`: ``c`` is the first column and ``r``
    the first row (``r[0]`` is ignored; ``r=None`` gives the symmetric matrix with
    ``r = c``).

    Parameters
    ----------
    c : array_like, shape (L,)
        First column: the values ``f(0), f(1), ..., f(L-1)`` of the offsets ``i - j >= 0``.
    r : array_like, shape (S,), optional
        First row: ``r[t] = f(-t)``. Defaults to ``c`` (a symmetric mask).

    Notes
    -----
    The fast product embeds ``M`` in a circulant matrix of order ``n >= L + S - 1``
    whose first column is

    .. math:: e = [c_0, c_1, \dots, c_{L-1}, 0, \dots, 0, r_{S-1}, \dots, r_1],

    so that :math:`MX = (C [X; 0])_{:L}` and :math:`C y = \mathcal{F}^{-1}(\mathcal{F} e
    \odot \mathcal{F} y)`. The spectrum of ``e`` is computed once; each product costs two
    real FFTs of length ``n`` per column, O(L log L) [1]_ (Sec. 3.1), [2]_. ``n`` is
    :func:`scipy.fft.next_fast_len` of ``L + S - 1``.

    References
    ----------
    .. [1] K. Choromanski et al., "From block-Toeplitz matrices to differential
       equations on graphs: towards a general theory for scalable masked
       Transformers", ICML 2022, Sec. 3.1.
    .. [2] S. Luo et al., "Stable, fast and accurate: kernelized attention with
       relative positional encoding", NeurIPS 2021, Sec. 3.2.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.masks import ToeplitzMask
    >>> M = ToeplitzMask([1.0, 0.5, 0.25], [1.0, 2.0, 4.0])
    >>> M.toarray()
    array([[1.  , 2.  , 4.  ],
           [0.5 , 1.  , 2.  ],
           [0.25, 0.5 , 1.  ]])
    >>> np.allclose(M @ np.eye(3), M.toarray())
    True
    """

    def __init__(self, c, r=None):
        self.c = as_float_array(c, "c", ndim=1)
        self.r = self.c.copy() if r is None else as_float_array(r, "r", ndim=1).copy()
        self.r[0] = self.c[0]  # scipy.linalg.toeplitz ignores r[0]; keep c and r consistent
        L, S = self.c.size, self.r.size
        super().__init__((L, S))
        self._n_fft = scipy.fft.next_fast_len(L + S - 1, real=True)
        e = np.zeros(self._n_fft)
        e[:L] = self.c
        if S > 1:
            e[self._n_fft - (S - 1):] = self.r[:0:-1]
        self._spectrum = scipy.fft.rfft(e)

    @classmethod
    def from_function(cls, f, L) -> ToeplitzMask:
        """The ``(L, L)`` mask ``M_ij = f(i - j)``.

        Parameters
        ----------
        f : callable
            Vectorised over an integer array of offsets; must return finite reals of
            the same shape.
        L : int
            Number of tokens.

        Examples
        --------
        >>> from refimpl.masks import ToeplitzMask
        >>> ToeplitzMask.from_function(lambda t: 0.5 ** abs(t), 3).toarray()
        array([[1.  , 0.5 , 0.25],
               [0.5 , 1.  , 0.5 ],
               [0.25, 0.5 , 1.  ]])
        """
        L = positive_int(L, "L")
        t = np.arange(L)
        c = call_offset_function(f, t, (L,))
        r = call_offset_function(f, -t, (L,))
        return cls(c, r)

    def _apply(self, X):
        spectrum_x = scipy.fft.rfft(X, n=self._n_fft, axis=0)
        spectrum_x *= self._spectrum[:, None]
        return scipy.fft.irfft(spectrum_x, n=self._n_fft, axis=0)[: self.shape[0]]

    def _dense(self):
        L, S = self.shape
        i = np.arange(L)[:, None]
        j = np.arange(S)[None, :]
        lower = self.c[np.clip(i - j, 0, L - 1)]
        upper = self.r[np.clip(j - i, 0, S - 1)]
        return np.where(i >= j, lower, upper)

    def product_error_bound(self, X):
        X = self._operand(X).reshape(self.shape[1], -1)
        kernel_l1 = np.abs(self.c).sum() + np.abs(self.r[1:]).sum()
        per_column = tolerances.fft_convolution_bound(self._n_fft, kernel_l1, X)
        return np.broadcast_to(per_column, (self.shape[0], X.shape[1]))

    def _transpose(self):
        return ToeplitzMask(self.r, self.c)

    _adjoint = _transpose


class CausalMask(Mask):
    r"""Decayed causal mask ``M_ij = gamma^(i - j)`` for ``j <= i``, else 0.

    Parameters
    ----------
    L : int
        Number of tokens.
    gamma : float, default 1.0
        Decay per step, in ``[0, 1]``. ``gamma = 1`` is the plain causal (lower
        triangular ones) mask of unidirectional Performers; ``gamma = 0`` is the
        identity.

    Notes
    -----
    :math:`(MX)_i = \sum_{j \le i} \gamma^{i-j} X_j` satisfies the scan
    :math:`s_i = \gamma s_{i-1} + X_i`, computed in O(L) per column
    (:func:`numpy.cumsum` for ``gamma = 1``, :func:`scipy.signal.lfilter` otherwise).
    It is the Toeplitz mask of ``f(t) = gamma^t 1[t >= 0]`` [1]_ (Sec. 3.1) and, with
    ``gamma = 1``, the prefix-sum form of causal linear attention [2]_.

    References
    ----------
    .. [1] K. Choromanski et al., ICML 2022 (see :class:`ToeplitzMask`), Sec. 3.1.
    .. [2] K. Choromanski et al., "Rethinking attention with Performers", ICLR 2021,
       Sec. 2.6 (unidirectional attention by prefix sums).

    Examples
    --------
    >>> from refimpl.masks import CausalMask
    >>> CausalMask(3, gamma=0.5).toarray()
    array([[1.  , 0.  , 0.  ],
           [0.5 , 1.  , 0.  ],
           [0.25, 0.5 , 1.  ]])
    """

    def __init__(self, L, gamma=1.0):
        L = positive_int(L, "L")
        self.gamma = real_scalar(gamma, "gamma", low=0.0, high=1.0)
        super().__init__((L, L))

    def _apply(self, X):
        if self.gamma == 1.0:
            return np.cumsum(X, axis=0)
        return lfilter([1.0], [1.0, -self.gamma], X, axis=0)

    def _dense(self):
        L = self.shape[0]
        offset = np.arange(L)[:, None] - np.arange(L)[None, :]
        return np.where(offset >= 0, self.gamma ** np.maximum(offset, 0), 0.0)

    def product_error_bound(self, X):
        X = self._operand(X).reshape(self.shape[1], -1)
        # Each output is a sum (or decayed recurrence) of at most L terms of |X|; |M||X| is
        # itself a causal product, computed by the scan so that no L x L matrix is formed.
        return tolerances.summation_bound(self.shape[0], self._apply(np.abs(X)))
