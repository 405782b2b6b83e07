r"""Closed-form spectra of kernel integral operators: the oracles of :mod:`refimpl.eigen`.

* the Gaussian kernel under a Gaussian measure (GPML Sec. 4.3.1; Zhu et al. 1998), with
  Hermite functions from their normalised three-term recurrence (stable for large k);
* Brownian motion and the Brownian bridge on :math:`U[0, 1]` (sine bases), and the exact
  spectra of their equispaced Nyström matrices;
* the polynomial kernel :math:`(xx' + c)^p` on an interval, through an orthonormal
  Legendre basis (rank :math:`p + 1`).

Stationary kernels on the circle are in :mod:`refimpl.eigen.circle`, dot-product kernels
on spheres (Funk--Hecke) in :mod:`refimpl.eigen.sphere`.
Formulas, pitfalls and golden values: ``spec/neuralef.md`` Sec. 3 and 5.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.polynomial import legendre as npleg
from numpy.polynomial import polynomial as nppoly

from .._validate import nonnegative_int, positive_int, real_scalar
from ._base import Eigenfunctions

__all__ = [
    "DiscreteSpectrum",
    "brownian_bridge_discrete",
    "brownian_bridge_eigen",
    "brownian_discrete",
    "brownian_eigen",
    "hermite_functions",
    "polynomial_eigen_1d",
    "rbf_gaussian_eigen",
]

#: Rescale the Hermite recurrence when a value exceeds this (far from overflow).
_RESCALE = 2.0**500


# -- Gaussian kernel, Gaussian measure --------------------------------------------------------

def hermite_functions(m_max: int, u, log_weight) -> np.ndarray:
    r"""Normalised Hermite polynomials times a weight, by the three-term recurrence.

    Returns :math:`g_m(u) = e^{w}\,H_m(u) / \sqrt{2^m m!}` for :math:`m = 0..m_{\max}`,
    shape ``(len(u), m_max + 1)``, where ``log_weight`` is :math:`w` (one per point).

    Notes
    -----
    :math:`g_{m+1} = \sqrt{2/(m+1)}\,u\,g_m - \sqrt{m/(m+1)}\,g_{m-1}`, the recurrence of
    the orthonormal Hermite functions, run on unscaled values with a per-point logarithmic
    scale (rescaled by powers of two above :math:`2^{500}`): neither :math:`2^m m!` (which
    overflows near :math:`m = 170`) nor :math:`H_m` is ever formed, and the weight
    :math:`e^w` is applied last, so nothing underflows before it has to. :math:`O(n\,m)`.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import hermite_functions
    >>> hermite_functions(2, np.array([1.0]), np.array([0.0]))  # 1, 2u/sqrt2, (4u^2-2)/sqrt8
    array([[1.        , 1.41421356, 0.70710678]])
    """
    u = np.asarray(u, dtype=np.float64)
    log_scale = np.array(log_weight, dtype=np.float64, copy=True)
    out = np.empty((u.size, m_max + 1))
    prev, cur = np.zeros_like(u), np.ones_like(u)
    out[:, 0] = np.exp(log_scale)
    for m in range(m_max):
        prev, cur = cur, np.sqrt(2.0 / (m + 1)) * u * cur - np.sqrt(m / (m + 1.0)) * prev
        big = np.maximum(np.abs(cur), np.abs(prev))
        hit = big > _RESCALE
        if np.any(hit):
            exponent = np.where(hit, np.floor(np.log2(np.where(hit, big, 1.0))), 0.0)
            cur, prev = np.ldexp(cur, -exponent.astype(int)), np.ldexp(prev, -exponent.astype(int))
            log_scale = log_scale + exponent * np.log(2.0)
        with np.errstate(divide="ignore"):
            out[:, m + 1] = np.sign(cur) * np.exp(np.log(np.abs(cur)) + log_scale)
    return out


def _rbf_constants(lengthscale, sigma):
    ell = real_scalar(lengthscale, "lengthscale", low=0.0, low_open=True)
    s = real_scalar(sigma, "sigma", low=0.0, low_open=True)
    a, b = 1.0 / (4.0 * s * s), 1.0 / (2.0 * ell * ell)
    c = a * math.sqrt(1.0 + 2.0 * b / a)
    big_a = a + b + c
    # sqrt(2a/A) = 2a/(a + c) because (a + c)^2 = 2aA: no cancellation.
    return a, b, c, 2.0 * a / (a + c), b / big_a


def _multi_indices(k: int, dim: int) -> np.ndarray:
    """The first ``k`` multi-indices of ``dim`` entries by total degree, then lexicographic."""
    rows, total = [], 0
    while len(rows) < k:
        level = [m for m in np.ndindex(*(total + 1,) * dim) if sum(m) == total]
        rows.extend(sorted(level, reverse=True))
        total += 1
    return np.array(rows[:k], dtype=np.int64).reshape(k, dim)


def rbf_gaussian_eigen(k, *, lengthscale=1.0, sigma=1.0, dim=1) -> Eigenfunctions:
    r"""Eigenpairs of :math:`\exp(-\|x - x'\|^2/2\ell^2)` under :math:`\mathcal N(0, \sigma^2 I)`.

    Parameters
    ----------
    k : int
        Number of eigenpairs.
    lengthscale, sigma : float
        :math:`\ell > 0` and :math:`\sigma > 0`.
    dim : int
        Input dimension :math:`d`; the spectrum is the tensor product of the 1-D one.

    Returns
    -------
    Eigenfunctions
        Multi-indices in ``info["multi_indices"]`` ``(k, dim)``.

    Notes
    -----
    GPML Sec. 4.3.1 (Zhu et al. 1998), normalised in :math:`L^2(p)` (spec Sec. 3(a)):
    :math:`a = 1/4\sigma^2`, :math:`b = 1/2\ell^2`, :math:`c = \sqrt{a^2 + 2ab}`,
    :math:`A = a + b + c`, :math:`B = b/A`,

    .. math::

        \mu_m = \sqrt{2a/A}\,B^m, \qquad
        \psi_m(x) = (c/a)^{1/4}\,\frac{e^{-(c - a)x^2} H_m(\sqrt{2c}\,x)}{\sqrt{2^m m!}},

    and in :math:`d` dimensions :math:`\mu_{\mathbf m} = (2a/A)^{d/2} B^{|\mathbf m|}`,
    :math:`\psi_{\mathbf m} = \prod_i \psi_{m_i}(x_i)`. :math:`\sum_m \mu_m = 1 = k(x, x)`.
    Hermite functions come from :func:`hermite_functions`; :math:`O(nk)` per evaluation.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import rbf_gaussian_eigen
    >>> rbf_gaussian_eigen(3).eigenvalues.round(10).tolist()  # B^(m + 1/2), B = (3-sqrt5)/2
    [0.6180339887, 0.2360679775, 0.0901699437]
    """
    k = positive_int(k, "k")
    dim = positive_int(dim, "dim")
    a, _, c, root, B = _rbf_constants(lengthscale, sigma)
    index = _multi_indices(k, dim)
    order = index.sum(axis=1)
    mu = root**dim * B ** order.astype(float)
    m_max = int(index.max())

    def evaluate(x):
        values = np.ones((x.shape[0], k))
        for axis in range(dim):
            t = x[:, axis]
            g = hermite_functions(m_max, math.sqrt(2.0 * c) * t, -(c - a) * t * t)
            values *= (c / a) ** 0.25 * g[:, index[:, axis]]
        return values

    return Eigenfunctions(mu, evaluate, dim=dim, method="rbf_gaussian (GPML 4.3.1)",
                          info={"multi_indices": index, "B": B, "a": a, "c": c})


# -- Brownian motion and bridge -------------------------------------------------------------

def _sine_eigen(k, shift: float, name: str) -> Eigenfunctions:
    k = positive_int(k, "k")
    freq = (np.arange(1, k + 1) - shift) * np.pi
    return Eigenfunctions(1.0 / freq**2, lambda x: np.sqrt(2.0) * np.sin(x * freq), dim=1,
                          method=name)


def brownian_eigen(k) -> Eigenfunctions:
    r"""Eigenpairs of :math:`\min(x, y)` under :math:`U[0, 1]` (Brownian motion).

    Parameters
    ----------
    k : int

    Returns
    -------
    Eigenfunctions

    Notes
    -----
    :math:`\mu_j = ((j - \tfrac12)\pi)^{-2}`, :math:`\psi_j = \sqrt2\sin((j - \tfrac12)\pi x)`
    (spec Sec. 3(b)); :math:`\sum\mu_j = 1/2`, :math:`\sum\mu_j^2 = 1/6`.

    Examples
    --------
    >>> from refimpl.eigen import brownian_eigen
    >>> round(float(brownian_eigen(1).eigenvalues[0]), 10)  # 4 / pi^2
    0.4052847346
    """
    return _sine_eigen(k, 0.5, "brownian (sine basis)")


def brownian_bridge_eigen(k) -> Eigenfunctions:
    r"""Eigenpairs of :math:`\min(x, y) - xy` under :math:`U[0, 1]` (Brownian bridge).

    Parameters
    ----------
    k : int

    Returns
    -------
    Eigenfunctions

    Notes
    -----
    :math:`\mu_j = (j\pi)^{-2}`, :math:`\psi_j = \sqrt2\sin(j\pi x)` (spec Sec. 3(e));
    :math:`\sum\mu_j = 1/6`, :math:`\sum\mu_j^2 = 1/90`.

    Examples
    --------
    >>> from refimpl.eigen import brownian_bridge_eigen
    >>> round(float(brownian_bridge_eigen(1).eigenvalues[0]), 10)  # 1 / pi^2
    0.1013211836
    """
    return _sine_eigen(k, 0.0, "brownian_bridge (sine basis)")


class DiscreteSpectrum(NamedTuple):
    """A quadrature rule and the exact eigenpairs of its Nyström matrix.

    ``values[i, j]`` is :math:`\\psi_j(x_i)`, normalised so that
    :math:`\\sum_i w_i\\psi_j(x_i)^2 = 1`.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import brownian_discrete
    >>> s = brownian_discrete(4)
    >>> s.nodes, round(float(s.weights @ s.values[:, 0] ** 2), 14)
    (array([0.25, 0.5 , 0.75, 1.  ]), 1.0)
    """

    nodes: np.ndarray
    weights: np.ndarray
    eigenvalues: np.ndarray
    values: np.ndarray


def brownian_discrete(n) -> DiscreteSpectrum:
    r"""Exact Nyström spectrum of :math:`\min(x, y)` on the rule :math:`x_i = i/n, w_i = 1/n`.

    Parameters
    ----------
    n : int
        Number of nodes.

    Returns
    -------
    DiscreteSpectrum
        ``n`` nodes, eigenvalues ``(n,)`` decreasing, values ``(n, n)``.

    Notes
    -----
    :math:`K/n = M/n^2` with :math:`M_{ij} = \min(i, j) = LL^\top` (:math:`L` the lower
    triangle of ones); :math:`M^{-1}` is the second-difference matrix with a free end, so

    .. math::

        \hat\mu_j = \frac{1}{4n^2\sin^2\frac{(2j - 1)\pi}{4n + 2}}, \qquad
        \hat\psi_j(x_i) = \frac{2\sqrt n}{\sqrt{2n + 1}}\,\sin\frac{i(2j - 1)\pi}{2n + 1},

    which tend to :func:`brownian_eigen` with error :math:`O(j^2/n)`. This makes
    Nyström's rounding-level check possible (the rule is not symmetric, so the
    discretisation error is first order).

    Examples
    --------
    >>> from refimpl.eigen import brownian_discrete
    >>> round(float(brownian_discrete(1000).eigenvalues[0]), 6)  # -> 4/pi^2 = 0.405285
    0.40569
    """
    n = positive_int(n, "n")
    i, j = np.arange(1, n + 1), np.arange(1, n + 1)
    angle = (2 * j - 1) * np.pi / (4 * n + 2)
    values = 2.0 * math.sqrt(n / (2 * n + 1)) * np.sin(np.outer(i, 2 * angle))
    return DiscreteSpectrum(i / n, np.full(n, 1.0 / n), 1.0 / (2 * n * np.sin(angle)) ** 2,
                            values)


def brownian_bridge_discrete(n) -> DiscreteSpectrum:
    r"""Exact Nyström spectrum of the bridge on the trapezoid rule with ``n`` interior nodes.

    Parameters
    ----------
    n : int
        Number of interior nodes; the rule has nodes :math:`x_i = i/(n + 1)`,
        :math:`i = 0..n + 1`, weights :math:`1/(n + 1)` inside and half that at the ends.

    Returns
    -------
    DiscreteSpectrum
        ``n + 2`` nodes, the ``n`` nonzero eigenvalues (the end nodes add two zeros),
        values ``(n + 2, n)``.

    Notes
    -----
    The kernel vanishes at both ends, and :math:`(n + 1)[\min(i, j) - ij/(n + 1)]` is the
    inverse of the second-difference matrix :math:`\mathrm{tridiag}(-1, 2, -1)`:

    .. math::

        \hat\mu_j = \frac{1}{4(n + 1)^2\sin^2\frac{j\pi}{2n + 2}}, \qquad
        \hat\psi_j(x_i) = \sqrt2\,\sin\frac{ij\pi}{n + 1}.

    Examples
    --------
    >>> from refimpl.eigen import brownian_bridge_discrete
    >>> round(float(brownian_bridge_discrete(1000).eigenvalues[0]), 8)  # -> 1/pi^2
    0.10132127
    """
    n = positive_int(n, "n")
    i, j = np.arange(n + 2), np.arange(1, n + 1)
    weights = np.full(n + 2, 1.0 / (n + 1))
    weights[[0, -1]] = 0.5 / (n + 1)
    values = np.sqrt(2.0) * np.sin(np.outer(i, j) * np.pi / (n + 1))
    values[[0, -1]] = 0.0
    mu = 1.0 / (2 * (n + 1) * np.sin(j * np.pi / (2 * n + 2))) ** 2
    return DiscreteSpectrum(i / (n + 1), weights, mu, values)


# -- the polynomial kernel on an interval -----------------------------------------------------

def polynomial_eigen_1d(degree, *, c=1.0, low=-1.0, high=1.0) -> Eigenfunctions:
    r"""All nonzero eigenpairs of :math:`(xx' + c)^p` under :math:`U[\mathrm{low}, \mathrm{high}]`.

    Parameters
    ----------
    degree : int
        :math:`p \ge 0`.
    c : float
        :math:`c > 0` (then the rank is exactly :math:`p + 1`).
    low, high : float
        The interval.

    Returns
    -------
    Eigenfunctions
        :math:`p + 1` pairs; every further eigenvalue is exactly zero.

    Notes
    -----
    :math:`k(x, x') = \phi(x)^\top D\phi(x')` with :math:`\phi = (1, x, \dots, x^p)`,
    :math:`D = \mathrm{diag}\binom pm c^{p - m}` (spec Sec. 3(d)). Writing
    :math:`\phi = C^\top q` in the orthonormal Legendre basis :math:`q_j(s) =
    \sqrt{2j + 1}P_j(s)` of the interval (``numpy.polynomial``) turns the operator into
    the :math:`(p + 1) \times (p + 1)` matrix :math:`S = CDC^\top`, whose eigenpairs
    :math:`(\mu_j, v_j)` give :math:`\psi_j = q^\top v_j`. An independent route from
    :func:`~refimpl.eigen.nystrom` (no quadrature). :math:`O(p^3)`.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import polynomial_eigen_1d
    >>> polynomial_eigen_1d(4, c=1.5).eigenvalues.round(8).tolist()  # spec Sec. 5
    [6.94413437, 5.23935296, 0.92398048, 0.1177899, 0.00549625]
    """
    p = nonnegative_int(degree, "degree")
    c = real_scalar(c, "c", low=0.0, low_open=True)
    low = real_scalar(low, "low")
    high = real_scalar(high, "high")
    if not high > low:
        raise ValueError(f"high must be > low; got low={low}, high={high}")
    mid, half = (low + high) / 2, (high - low) / 2
    scale = np.sqrt(2 * np.arange(p + 1) + 1.0)
    C = np.zeros((p + 1, p + 1))  # row m: x^m = sum_j C[m, j] q_j(s), x = mid + half s
    for m in range(p + 1):
        coef = npleg.poly2leg(nppoly.polypow([mid, half], m))
        C[m, : coef.size] = coef / scale[: coef.size]
    D = np.array([math.comb(p, m) * c ** (p - m) for m in range(p + 1)])
    S = C.T @ (D[:, None] * C)
    mu, V = np.linalg.eigh((S + S.T) / 2)
    mu, V = mu[::-1], V[:, ::-1]

    def evaluate(x):
        s = (x[:, 0] - mid) / half
        return npleg.legvander(s, p) * scale @ V

    return Eigenfunctions(mu, evaluate, dim=1, method="polynomial (Legendre basis)",
                          info={"low": low, "high": high})
