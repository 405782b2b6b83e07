r"""Kernels whose integral operators :mod:`refimpl.eigen` decomposes.

Every kernel maps ``(x (n, d), y (p, d))`` to the ``(n, p)`` matrix
:math:`K_{ij} = k(x_i, y_j)`; 1-D inputs ``(n,)`` are ``n`` points of dimension 1 and
``y=None`` means ``y = x``. Inputs are validated by :mod:`refimpl._validate` (finite,
real, matching dimension). Distances are formed from differences (``scipy.spatial``),
never from :math:`\|x\|^2 + \|y\|^2 - 2x^\top y`, and angles from Kahan's formula
:math:`\theta = 2\,\mathrm{atan2}(\|\hat x - \hat y\|, \|\hat x + \hat y\|)`, which is
accurate for all angles, so that the oracles stay accurate near the diagonal.

References
----------
.. [1] C. E. Rasmussen, C. K. I. Williams, *Gaussian Processes for Machine Learning*,
   MIT Press, 2006, Sec. 4.2.
.. [2] Y. Cho, L. K. Saul, "Kernel methods for deep learning", NeurIPS 2009, Eq. (2)-(4).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from .._validate import as_float_array, nonnegative_int, real_scalar
from ..tolerances import eigenvalue_bound

__all__ = [
    "arccos_kernel",
    "brownian_bridge_kernel",
    "brownian_kernel",
    "check_psd",
    "polynomial_kernel",
    "rbf_kernel",
    "von_mises_kernel",
]

# -- validation ------------------------------------------------------------------------------

def as_points(x, name: str, dim: int | None = None) -> np.ndarray:
    """``x`` as a finite ``(n, d)`` float64 array; ``(n,)`` is ``n`` points in 1-D."""
    a = as_float_array(x, name)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be (n, d) points or an (n,) array of 1-D points; "
                         f"got shape {a.shape}")
    if dim is not None and a.shape[1] != dim:
        raise ValueError(f"{name} must have dimension d={dim}; got shape {a.shape}")
    return a


def point_pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``x`` and ``y`` (``None`` means ``x``) with the same dimension ``d``."""
    x = as_points(x, "x")
    if y is None:
        return x, x
    y = as_points(y, "y")
    if y.shape[1] != x.shape[1]:
        raise ValueError(f"y must have the same dimension d={x.shape[1]} as x; "
                         f"got shape {y.shape}")
    return x, y


def _interval(x, name: str, low: float, high: float | None) -> None:
    bad = (x < low) | (x > high) if high is not None else (x < low)
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        span = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must lie in {span}; found {x[where]} at index {where}")


# -- stationary and dot-product kernels ---------------------------------------------------------

def rbf_kernel(x, y=None, *, lengthscale=1.0) -> np.ndarray:
    r"""Gaussian (RBF) kernel :math:`k(x, y) = \exp(-\|x - y\|^2 / (2\ell^2))`.

    Parameters
    ----------
    x : array_like, shape (n, d) or (n,)
    y : array_like, shape (p, d) or (p,), optional
        Defaults to ``x``.
    lengthscale : float
        :math:`\ell > 0`.

    Returns
    -------
    numpy.ndarray, shape (n, p)

    Notes
    -----
    GPML (Rasmussen & Williams 2006) Eq. (4.9) with unit signal variance. Each entry has
    relative error at most
    :math:`(d + 4)\,\epsilon\,(1 + \|x - y\|^2 / 2\ell^2)`; :math:`O(npd)` time. The
    official NeuralEF code's ``rbf_kernel(1, l)`` divides by :math:`2l`, so its ``l`` is
    :math:`\ell^2` (spec Sec. 1.6).

    Examples
    --------
    >>> from refimpl.eigen import rbf_kernel
    >>> rbf_kernel([0.0, 1.0], [0.0])
    array([[1.        ],
           [0.60653066]])
    """
    x, y = point_pair(x, y)
    ell = real_scalar(lengthscale, "lengthscale", low=0.0, low_open=True)
    return np.exp(-cdist(x, y, "sqeuclidean") / (2.0 * ell * ell))


def polynomial_kernel(x, y=None, *, degree, c=1.0) -> np.ndarray:
    r"""Polynomial kernel :math:`k(x, y) = (x^\top y + c)^p`.

    Parameters
    ----------
    x, y : array_like, shapes (n, d), (p, d) (or 1-D)
    degree : int
        :math:`p \ge 0`.
    c : float
        :math:`c \ge 0` (a negative offset is not positive semi-definite in general).

    Returns
    -------
    numpy.ndarray, shape (n, p)

    Notes
    -----
    The paper's classic test (Deng et al. 2022, Sec. 5.1) is :math:`(xx' + 1.5)^4` on
    :math:`U[-1, 1]`; its rank is 5 (spec Sec. 3(d)). The power is taken by binary
    powering (:math:`\le 2\log_2 p` roundings). :math:`O(np(d + \log p))` time.

    Examples
    --------
    >>> from refimpl.eigen import polynomial_kernel
    >>> polynomial_kernel([1.0, -1.0], [1.0], degree=4, c=1.5)
    array([[39.0625],
           [ 0.0625]])
    """
    x, y = point_pair(x, y)
    p = nonnegative_int(degree, "degree")
    c = real_scalar(c, "c", low=0.0)
    return _integer_power(x @ y.T + c, p)


def _integer_power(base: np.ndarray, p: int) -> np.ndarray:
    """``base ** p`` by binary powering: at most 2 log2(p) multiplications (each one
    rounding), many times faster than the general ``pow`` that NumPy calls for ``p > 2``."""
    result, square = None, base
    while p:
        if p & 1:
            result = square if result is None else result * square
        p >>= 1
        if p:
            square = square * square
    return np.ones_like(base) if result is None else result


def _unit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norm = np.linalg.norm(x, axis=1)
    safe = np.where(norm > 0, norm, 1.0)
    return x / safe[:, None], norm


def angles(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Angles :math:`\theta_{ij} \in [0, \pi]` between the rows of ``x`` and ``y``.

    Kahan's :math:`2\,\mathrm{atan2}(\|\hat x - \hat y\|, \|\hat x + \hat y\|)`: accurate
    to a few ulps of :math:`\pi` for every angle, where :math:`\arccos` of the cosine
    loses half the digits near 0 and :math:`\pi`. A zero vector is at angle
    :math:`\pi/2` from everything (the Heaviside convention :math:`\Theta(0) = 1/2`).
    """
    xh, nx = _unit(x)
    yh, ny = _unit(y)
    theta = 2.0 * np.arctan2(cdist(xh, yh), cdist(xh, -yh))
    zero = (nx == 0)[:, None] | (ny == 0)[None, :]
    return np.where(zero, np.pi / 2, theta)


def _arccos_j(order: int, theta: np.ndarray) -> np.ndarray:
    s, c, rest = np.sin(theta), np.cos(theta), np.pi - theta
    if order == 0:
        return rest
    if order == 1:
        return s + rest * c
    return 3.0 * s * c + rest * (1.0 + 2.0 * c * c)


def arccos_kernel(x, y=None, *, order) -> np.ndarray:
    r"""Arc-cosine kernel of Cho & Saul (2009), with the factor :math:`1/\pi`.

    Parameters
    ----------
    x, y : array_like, shapes (n, d), (p, d) (or 1-D)
    order : {0, 1, 2}

    Returns
    -------
    numpy.ndarray, shape (n, p)

    Notes
    -----
    Cho & Saul (NeurIPS 2009) Eq. (2)-(4):

    .. math::

        k_n(x, y) = 2\,\mathbb E_{w \sim \mathcal N(0, I)}\big[\Theta(w^\top x)
        \Theta(w^\top y) (w^\top x)^n (w^\top y)^n\big]
        = \tfrac1\pi \|x\|^n \|y\|^n J_n(\theta),

    :math:`J_0 = \pi - \theta`, :math:`J_1 = \sin\theta + (\pi - \theta)\cos\theta`,
    :math:`J_2 = 3\sin\theta\cos\theta + (\pi - \theta)(1 + 2\cos^2\theta)`. A ReLU unit
    gives :math:`\mathbb E[\mathrm{relu}(w^\top x)\mathrm{relu}(w^\top y)] = k_1 / 2`.
    :math:`O(npd)` time.

    Examples
    --------
    >>> from refimpl.eigen import arccos_kernel
    >>> arccos_kernel([[1.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]], order=0)
    array([[0.5, 1. ]])
    """
    x, y = point_pair(x, y)
    if isinstance(order, (bool, np.bool_)) or order not in (0, 1, 2):
        raise ValueError(f"order must be 0, 1 or 2; got {order!r}")
    theta = angles(x, y)
    nx, ny = np.linalg.norm(x, axis=1) ** order, np.linalg.norm(y, axis=1) ** order
    return nx[:, None] * ny[None, :] * _arccos_j(int(order), theta) / np.pi


# -- kernels on intervals and on the circle ------------------------------------------------------

def brownian_kernel(x, y=None) -> np.ndarray:
    r"""Brownian-motion covariance :math:`k(x, y) = \min(x, y)` on :math:`x, y \ge 0`.

    Parameters
    ----------
    x, y : array_like, shapes (n,) or (n, 1), (p,) or (p, 1)
        Nonnegative 1-D points.

    Returns
    -------
    numpy.ndarray, shape (n, p)

    Notes
    -----
    Exact (no rounding). On :math:`U[0, 1]` its eigenpairs are
    :math:`((k - \frac12)\pi)^{-2}` and :math:`\sqrt2\sin((k - \frac12)\pi x)`
    (spec Sec. 3(b); :func:`~refimpl.eigen.brownian_eigen`).

    Examples
    --------
    >>> from refimpl.eigen import brownian_kernel
    >>> brownian_kernel([0.25, 0.75], [0.5])
    array([[0.25],
           [0.5 ]])
    """
    x, y = as_points(x, "x", 1), as_points(x if y is None else y, "y", 1)
    _interval(x, "x", 0.0, None)
    _interval(y, "y", 0.0, None)
    return np.minimum(x, y.T)


def brownian_bridge_kernel(x, y=None) -> np.ndarray:
    r"""Brownian-bridge covariance :math:`k(x, y) = \min(x, y) - xy` on :math:`[0, 1]`.

    Parameters
    ----------
    x, y : array_like, shapes (n,) or (n, 1), (p,) or (p, 1)
        Points of :math:`[0, 1]`.

    Returns
    -------
    numpy.ndarray, shape (n, p)

    Notes
    -----
    Formed as :math:`\min(x, y)(1 - \max(x, y))`, which has no cancellation (two
    roundings). Eigenpairs on :math:`U[0, 1]`: :math:`(k\pi)^{-2}`,
    :math:`\sqrt2\sin(k\pi x)` (spec Sec. 3(e)).

    Examples
    --------
    >>> from refimpl.eigen import brownian_bridge_kernel
    >>> brownian_bridge_kernel([0.5], [0.5, 1.0])
    array([[0.25, 0.  ]])
    """
    x, y = as_points(x, "x", 1), as_points(x if y is None else y, "y", 1)
    _interval(x, "x", 0.0, 1.0)
    _interval(y, "y", 0.0, 1.0)
    return np.minimum(x, y.T) * (1.0 - np.maximum(x, y.T))


def von_mises_kernel(x, y=None, *, kappa=1.0) -> np.ndarray:
    r"""Von Mises (periodic) kernel on the circle, :math:`\exp(\kappa(\cos(x - y) - 1))`.

    Parameters
    ----------
    x, y : array_like, shapes (n,) or (n, 1), (p,) or (p, 1)
        Angles in radians.
    kappa : float
        Concentration :math:`\kappa \ge 0` (MacKay's periodic kernel with
        :math:`\kappa = 1/\ell^2`).

    Returns
    -------
    numpy.ndarray, shape (n, p)

    Notes
    -----
    Evaluated as :math:`\exp(-2\kappa\sin^2((x - y)/2))`, accurate near the diagonal.
    Under the uniform measure its eigenvalues are :math:`e^{-\kappa} I_n(\kappa)`
    (spec Sec. 3(c); :func:`~refimpl.eigen.von_mises_eigen`).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import von_mises_kernel
    >>> np.round(von_mises_kernel([0.0], [0.0, np.pi], kappa=1.0), 12)
    array([[1.        , 0.13533528]])
    """
    x, y = as_points(x, "x", 1), as_points(x if y is None else y, "y", 1)
    k = real_scalar(kappa, "kappa", low=0.0)
    return np.exp(-2.0 * k * np.sin((x - y.T) / 2.0) ** 2)


# -- positive semi-definiteness ------------------------------------------------------------------

def check_psd(K, name: str = "K") -> float:
    r"""Check that ``K`` is a symmetric positive semi-definite kernel matrix.

    Parameters
    ----------
    K : array_like, shape (n, n)
    name : str
        The argument's name for error messages.

    Returns
    -------
    float
        The smallest eigenvalue (possibly slightly negative, within rounding).

    Raises
    ------
    ValueError
        If ``K`` is not square, not symmetric, or has an eigenvalue below
        ``-refimpl.tolerances.eigenvalue_bound(n, ||K||_F)``.

    Notes
    -----
    A float64 kernel matrix is the rounding of a PSD matrix, and
    ``scipy.linalg.eigvalsh`` is backward stable, so its smallest computed eigenvalue is
    at least :math:`-c\,n\,\epsilon\,\|K\|_F` (tolerance policy ``eigenvalue``).
    :math:`O(n^3)` time.

    Examples
    --------
    >>> from refimpl.eigen import check_psd, rbf_kernel
    >>> check_psd(rbf_kernel([0.0, 0.5, 2.0])) > 0
    True
    >>> check_psd([[1.0, 2.0], [2.0, 1.0]])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: K must be positive semi-definite; its smallest eigenvalue is -1 ...
    """
    import scipy.linalg

    K = as_float_array(K, name, ndim=2)
    n = K.shape[0]
    if K.shape != (n, n):
        raise ValueError(f"{name} must be a square (n, n) matrix; got shape {K.shape}")
    fro = float(np.linalg.norm(K))
    asym = float(np.max(np.abs(K - K.T)))
    bound = float(eigenvalue_bound(n, fro))
    if asym > bound:
        raise ValueError(f"{name} must be symmetric; max |K - K^T| = {asym:.3g} exceeds the "
                         f"rounding bound {bound:.3g}")
    smallest = float(scipy.linalg.eigvalsh((K + K.T) / 2, subset_by_index=[0, 0])[0])
    if smallest < -bound:
        raise ValueError(f"{name} must be positive semi-definite; its smallest eigenvalue is "
                         f"{smallest:.6g} < -{bound:.3g} (the rounding bound)")
    return smallest
