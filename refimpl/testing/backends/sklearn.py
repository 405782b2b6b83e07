"""scikit-learn as it is: its pairwise kernels and random Fourier features.

``refimpl certify refimpl.testing.backends.sklearn``; needs the ``sklearn`` extra
(``python -m pip install "refimpl[sklearn]"``).

=======================  ======================================================================
refimpl name             scikit-learn
=======================  ======================================================================
``rbf_kernel``           :func:`sklearn.metrics.pairwise.rbf_kernel` with ``gamma = 1/(2 l^2)``
``polynomial_kernel``    :func:`sklearn.metrics.pairwise.polynomial_kernel` with ``gamma = 1``,
                         ``coef0 = c``
``fourier_features``     :class:`sklearn.kernel_approximation.RBFSampler`'s ``transform`` with
                         its weights set to ``[omega; omega]`` and offsets ``-pi/2`` and 0, so
                         that ``sqrt(2/2m) cos(omega x + b)`` is ``[sin, cos](omega x)/sqrt(m)``
=======================  ======================================================================

``Nystroem`` has no refimpl counterpart: refimpl's ``nystrom`` returns eigenfunctions,
which the harness does not certify (signs and rotations are free).

Examples
--------
>>> import numpy as np
>>> from refimpl.testing.backends import sklearn as sk  # doctest: +SKIP
>>> sk.rbf_kernel(np.zeros((1, 2)), np.ones((1, 2)))  # doctest: +SKIP
array([[0.36787944]])
"""

from __future__ import annotations

import numpy as np

from . import require

pairwise = require("sklearn.metrics.pairwise", "sklearn")
kernel_approximation = require("sklearn.kernel_approximation", "sklearn")

__all__ = ["fourier_features", "polynomial_kernel", "rbf_kernel"]


def rbf_kernel(x, y=None, *, lengthscale=1.0):
    """``sklearn.metrics.pairwise.rbf_kernel(x, y, gamma=1 / (2 lengthscale^2))``."""
    return pairwise.rbf_kernel(x, y, gamma=1.0 / (2.0 * lengthscale**2))


def polynomial_kernel(x, y=None, *, degree, c=1.0):
    """``sklearn.metrics.pairwise.polynomial_kernel(x, y, degree, gamma=1, coef0=c)``."""
    return pairwise.polynomial_kernel(x, y, degree=degree, gamma=1.0, coef0=c)


def fourier_features(x, omega):
    """``RBFSampler.transform`` with the weights ``[omega; omega]``."""
    omega = np.asarray(omega)
    if omega.ndim != 2:
        raise ValueError("RBFSampler has one weight matrix (m, d)")
    m = omega.shape[0]
    sampler = kernel_approximation.RBFSampler(n_components=2 * m)
    sampler.random_weights_ = np.concatenate([omega, omega]).T
    sampler.random_offset_ = np.concatenate([np.full(m, -np.pi / 2), np.zeros(m)])
    sampler.n_features_in_ = omega.shape[1]
    sampler._n_features_out = 2 * m
    return sampler.transform(x)
