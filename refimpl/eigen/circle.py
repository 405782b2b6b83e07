r"""Stationary kernels on the circle: Fourier spectra (spec ``neuralef.md`` Sec. 3(c)).

Under the uniform measure :math:`d\theta/2\pi`, a kernel :math:`f(\theta - \theta')`
(even, positive definite) has the eigenfunctions :math:`1, \sqrt2\cos n\theta,
\sqrt2\sin n\theta` and the Fourier coefficients of :math:`f` as eigenvalues.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.special

from .._validate import positive_int, real_scalar
from ..tolerances import EPS, FFT_CONSTANT
from ._base import Eigenfunctions

__all__ = ["circle_eigen", "von_mises_eigen"]


def _fourier_eigen(coefficients: np.ndarray, k: int, method: str, info: dict) -> Eigenfunctions:
    """Eigenpairs 1, sqrt2 cos(n t), sqrt2 sin(n t) with eigenvalues ``coefficients[n]``."""
    top = coefficients.size - 1
    if k > 2 * top + 1:
        raise ValueError(f"k must be at most {2 * top + 1} for these {top + 1} frequencies; "
                         f"got {k}")
    freq = np.concatenate([[0], np.repeat(np.arange(1, top + 1), 2)])
    is_sine = np.concatenate([[False], np.tile([False, True], top)])
    order = np.argsort(-coefficients[freq], kind="stable")[:k]
    freq, is_sine = freq[order], is_sine[order]

    def evaluate(x):
        t = x[:, :1] * freq
        scale = np.where(freq == 0, 1.0, np.sqrt(2.0))
        return scale * np.where(is_sine, np.sin(t), np.cos(t))

    return Eigenfunctions(coefficients[freq], evaluate, dim=1, method=method, degrees=freq,
                          info=dict(info, sine=is_sine))


def circle_eigen(kernel_fn, k, *, n_nodes=None) -> Eigenfunctions:
    r"""Eigenpairs of a stationary kernel :math:`f(\theta - \theta')` on the circle.

    Parameters
    ----------
    kernel_fn : callable
        ``f(t)``: the kernel as a vectorised function of the angle difference; even,
        :math:`2\pi`-periodic and positive definite.
    k : int
        Number of eigenpairs (counted with multiplicity).
    n_nodes : int, optional
        Number of equispaced nodes of the trapezoid rule (default
        ``max(8 k, 512)``, rounded up to a fast FFT length).

    Returns
    -------
    Eigenfunctions
        Degrees (frequencies) in ``.degrees``; ``info["sine"]`` marks sine functions.

    Notes
    -----
    Under :math:`d\theta / 2\pi` the eigenfunctions are :math:`1, \sqrt2\cos n\theta,
    \sqrt2\sin n\theta` with eigenvalues the Fourier coefficients (spec Sec. 3(c))

    .. math:: \mu_n = \frac1{2\pi}\int_0^{2\pi} f(t)\cos(nt)\,dt ,

    of multiplicity 2 for :math:`n \ge 1`. They are computed by the trapezoid rule with
    :math:`N` nodes (one real FFT), which returns exactly the aliased sums
    :math:`\sum_{q \in \mathbb Z}\mu_{n + qN}`: spectrally accurate for analytic
    :math:`f`. Coefficients within the FFT's rounding bound of zero are reported as 0
    (and ordered by frequency). :math:`O(N \log N)`.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import circle_eigen
    >>> ef = circle_eigen(lambda t: np.exp(2.0 * (np.cos(t) - 1.0)), 3)  # von Mises, kappa 2
    >>> ef.eigenvalues.round(10).tolist()
    [0.3085083226, 0.2152692892, 0.2152692892]
    """
    k = positive_int(k, "k")
    if not callable(kernel_fn):
        raise TypeError(f"kernel_fn must be a callable f(t); got {type(kernel_fn).__name__}")
    n = max(8 * k, 512) if n_nodes is None else positive_int(n_nodes, "n_nodes")
    n = scipy.fft.next_fast_len(n, real=True)
    t = 2.0 * np.pi * np.arange(n) / n
    values = np.asarray(kernel_fn(t), dtype=np.float64)
    if values.shape != t.shape or not np.all(np.isfinite(values)):
        raise ValueError(f"kernel_fn must return finite values of shape {t.shape}; got "
                         f"shape {values.shape}")
    coefficients = scipy.fft.rfft(values).real / n
    # Coefficients within the FFT's rounding bound (Higham Thm 24.2) of zero carry no
    # ordering information: report them as 0, so that they are ordered by frequency.
    noise = FFT_CONSTANT * np.log2(n) * EPS * float(np.max(np.abs(values)))
    coefficients[np.abs(coefficients) <= noise] = 0.0
    top = (n - 1) // 2  # drop the Nyquist frequency of even n (it has multiplicity one)
    return _fourier_eigen(coefficients[: top + 1], k, "circle (trapezoid rule + FFT)",
                          {"n_nodes": n})


def von_mises_eigen(k, *, kappa) -> Eigenfunctions:
    r"""Eigenpairs of the von Mises kernel :math:`\exp(\kappa(\cos(\theta - \theta') - 1))`.

    Parameters
    ----------
    k : int
        Number of eigenpairs (with multiplicity).
    kappa : float
        :math:`\kappa \ge 0`.

    Returns
    -------
    Eigenfunctions

    Notes
    -----
    :math:`\mu_n = e^{-\kappa} I_n(\kappa)` (``scipy.special.ive``), multiplicity 2 for
    :math:`n \ge 1` (spec Sec. 3(c)); :math:`\sum_{n \in \mathbb Z}\mu_n = 1`.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import von_mises_eigen
    >>> von_mises_eigen(5, kappa=2.0).eigenvalues.round(10).tolist()
    [0.3085083226, 0.2152692892, 0.2152692892, 0.0932390333, 0.0932390333]
    """
    k = positive_int(k, "k")
    kappa = real_scalar(kappa, "kappa", low=0.0)
    mu = scipy.special.ive(np.arange(k // 2 + 1), kappa)
    return _fourier_eigen(mu, k, "von_mises (e^-kappa I_n)", {"kappa": kappa})
