"""SciPy as it is: Toeplitz products by FFT, convolutions, and the action of expm.

``refimpl certify refimpl.testing.backends.scipy``; needs nothing beyond refimpl's own
dependencies.

===================  ===========================================================================
refimpl name         SciPy
===================  ===========================================================================
``ToeplitzMask``     :func:`scipy.linalg.matmul_toeplitz` ``((c, r), X)`` (``(c, X)``, symmetric,
                     when ``r`` is None)
``CausalMask``       the decayed causal product as a causal convolution:
                     :func:`scipy.signal.fftconvolve` of ``gamma**t`` with each column of ``X``
``DiffusionMask``    :func:`scipy.sparse.linalg.expm_multiply` ``(lam W, X)``
===================  ===========================================================================

Examples
--------
>>> import numpy as np
>>> from refimpl.testing.backends import scipy as sb
>>> sb.CausalMask(3, gamma=0.5) @ np.ones((3, 1))
array([[1.  ],
       [1.5 ],
       [1.75]])
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.linalg
import scipy.signal
import scipy.sparse
import scipy.sparse.linalg

__all__ = ["CausalMask", "DiffusionMask", "ToeplitzMask"]


class ToeplitzMask:
    """``scipy.linalg.matmul_toeplitz((c, r), X)``."""

    def __init__(self, c, r=None):
        self.c, self.r = c, r

    def __matmul__(self, X):
        return scipy.linalg.matmul_toeplitz(self.c if self.r is None else (self.c, self.r), X)


class CausalMask:
    """``fftconvolve(gamma**t, x)[:L]`` for each column ``x`` of ``X``."""

    def __init__(self, L, gamma=1.0):
        self.L, self.gamma = L, gamma

    def __matmul__(self, X):
        X = np.asarray(X)
        kernel = np.asarray(self.gamma, dtype=X.dtype) ** np.arange(self.L)
        kernel = kernel.reshape((-1,) + (1,) * (X.ndim - 1))
        return scipy.signal.fftconvolve(kernel, X, axes=0)[: self.L]


class DiffusionMask:
    """``scipy.sparse.linalg.expm_multiply(lam * W, X)``."""

    def __init__(self, W, lam=1.0):
        if isinstance(W, nx.Graph):
            W = nx.to_scipy_sparse_array(W, nodelist=sorted(W), format="csr")
        self.W, self.lam = W, lam

    def __matmul__(self, X):
        return scipy.sparse.linalg.expm_multiply(self.lam * self.W, X)
