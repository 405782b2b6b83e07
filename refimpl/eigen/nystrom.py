r"""The Nyström method: kernel eigenfunctions from samples or a quadrature rule.

Replace the integral of :math:`(T\psi)(x) = \int k(x, x')\psi(x')p(x')\,dx'` by a rule
:math:`\sum_i w_i k(x, x_i)\psi(x_i)` (samples: :math:`w_i = 1/n`), solve the discrete
problem at the nodes, and extend it to every :math:`x` by the same formula (spec Sec. 2;
Williams & Seeger, NeurIPS 2001; the official code's ``utils.nystrom``).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.special

from .._validate import as_float_array, positive_int, real_scalar
from ..tolerances import eigenvalue_bound, summation_bound
from ._base import Eigenfunctions
from .kernels import as_points

__all__ = [
    "gauss_hermite_rule",
    "gauss_legendre_rule",
    "gaussian_sampler",
    "nystrom",
    "uniform_sampler",
]


def gauss_legendre_rule(n, low=0.0, high=1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Gauss--Legendre nodes and weights for :math:`U[\mathrm{low}, \mathrm{high}]`.

    Weights sum to one (a probability measure). Exact for polynomials of degree
    :math:`2n - 1`.

    Examples
    --------
    >>> from refimpl.eigen import gauss_legendre_rule
    >>> x, w = gauss_legendre_rule(2, -1.0, 1.0)
    >>> x.round(6), w
    (array([-0.57735,  0.57735]), array([0.5, 0.5]))
    """
    n = positive_int(n, "n")
    low, high = real_scalar(low, "low"), real_scalar(high, "high")
    if not high > low:
        raise ValueError(f"high must be > low; got low={low}, high={high}")
    s, w = scipy.special.roots_legendre(n)
    return (low + high) / 2 + (high - low) / 2 * s, w / 2


def gauss_hermite_rule(n, sigma=1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Gauss--Hermite nodes and weights for :math:`\mathcal N(0, \sigma^2)`.

    Probabilists' rule (``scipy.special.roots_hermitenorm``) scaled by :math:`\sigma`;
    weights sum to one. Exact for polynomials of degree :math:`2n - 1`. Nodes whose
    weight underflows to zero (far tails, :math:`n \gtrsim 360`) are dropped: they carry
    no mass in float64, so fewer than ``n`` nodes may come back.

    Examples
    --------
    >>> from refimpl.eigen import gauss_hermite_rule
    >>> x, w = gauss_hermite_rule(2, sigma=2.0)
    >>> x, w
    (array([-2.,  2.]), array([0.5, 0.5]))
    """
    n = positive_int(n, "n")
    sigma = real_scalar(sigma, "sigma", low=0.0, low_open=True)
    x, w = scipy.special.roots_hermitenorm(n)
    keep = w > 0
    return sigma * x[keep], w[keep] / np.sqrt(2.0 * np.pi)


def uniform_sampler(low=0.0, high=1.0):
    """A sampler ``(n, rng) -> (n, 1)`` of :math:`U[\\mathrm{low}, \\mathrm{high}]`.

    Examples
    --------
    >>> from refimpl.eigen import uniform_sampler
    >>> uniform_sampler(-2.0, 2.0)(3, 0).shape
    (3, 1)
    """
    low, high = real_scalar(low, "low"), real_scalar(high, "high")
    if not high > low:
        raise ValueError(f"high must be > low; got low={low}, high={high}")

    def sample(n, rng):
        from .._validate import as_rng

        return as_rng(rng).uniform(low, high, size=(positive_int(n, "n"), 1))

    return sample


def gaussian_sampler(sigma=1.0, dim=1):
    r"""A sampler ``(n, rng) -> (n, dim)`` of :math:`\mathcal N(0, \sigma^2 I)`.

    Examples
    --------
    >>> from refimpl.eigen import gaussian_sampler
    >>> gaussian_sampler(2.0, dim=3)(5, 0).shape
    (5, 3)
    """
    sigma = real_scalar(sigma, "sigma", low=0.0, low_open=True)
    dim = positive_int(dim, "dim")

    def sample(n, rng):
        from .._validate import as_rng

        return sigma * as_rng(rng).standard_normal((positive_int(n, "n"), dim))

    return sample


def _weights(weights, n: int) -> np.ndarray:
    if weights is None:
        return np.full(n, 1.0 / n)
    w = as_float_array(weights, "weights", ndim=1)
    if w.shape != (n,):
        raise ValueError(f"weights must have shape ({n},), one per node of x; got {w.shape}")
    if np.any(w <= 0):
        i = int(np.argmax(w <= 0))
        raise ValueError(f"weights must be positive; found {w[i]} at index {i}")
    total = float(w.sum())
    if abs(total - 1.0) > float(summation_bound(n, total)):
        raise ValueError(f"weights must sum to 1 (a probability measure); got {total!r}")
    return w


def _kernel_matrix(kernel, x: np.ndarray) -> np.ndarray:
    if not callable(kernel):
        raise TypeError(f"kernel must be a callable kernel(x, y); got {type(kernel).__name__}")
    K = np.asarray(kernel(x, x), dtype=np.float64)
    n = x.shape[0]
    if K.shape != (n, n):
        raise ValueError(f"kernel(x, x) must return an ({n}, {n}) matrix; got shape {K.shape}")
    if not np.all(np.isfinite(K)):
        raise ValueError("kernel(x, x) must be finite; it returned NaN or infinity")
    return K


def nystrom(kernel, x, k, *, weights=None) -> Eigenfunctions:
    r"""Nyström eigenfunctions of ``kernel`` from samples or a quadrature rule.

    Parameters
    ----------
    kernel : callable
        ``kernel(x (n, d), y (p, d)) -> (n, p)``, e.g. :func:`~refimpl.eigen.rbf_kernel`
        or ``functools.partial(rbf_kernel, lengthscale=2.0)``.
    x : array_like, shape (n, d) or (n,)
        Samples of the input measure, or quadrature nodes.
    k : int
        Number of eigenpairs, :math:`1 \le k \le n`.
    weights : array_like, shape (n,), optional
        Positive quadrature weights summing to one; default :math:`1/n` (samples).

    Returns
    -------
    Eigenfunctions
        ``info["values_at_nodes"]`` is :math:`\psi_j(x_i)` ``(n, k)`` and
        ``info["nodes"]``, ``info["weights"]`` the rule. Extending a component whose
        eigenvalue is not above the eigensolver's rounding bound (beyond the numerical
        rank) raises ``ValueError``; its eigenvalue is still reported.

    Raises
    ------
    ValueError
        If one of the top-``k`` eigenvalues is negative beyond rounding (the kernel matrix
        is not positive semi-definite).

    Notes
    -----
    With :math:`W = \mathrm{diag}(w)`, eigendecompose :math:`W^{1/2}KW^{1/2} =
    V\mathrm{diag}(\mu)V^\top` (``scipy.linalg.eigh`` with ``subset_by_index``: the top
    ``k`` only) and set :math:`\psi_j(x_i) = v_{ij}/\sqrt{w_i}`,

    .. math::

        \psi_j(x) = \frac{1}{\mu_j}\sum_i w_i\,k(x, x_i)\,\psi_j(x_i),

    which for :math:`w_i = 1/n` is :math:`\hat\mu_j = \lambda_j/n`,
    :math:`\psi_j(x) = \frac{\sqrt n}{\lambda_j}\sum_i k(x, x_i)u_{ij}` with
    :math:`K = U\Lambda U^\top` (spec Sec. 2). The extension reproduces the node values
    exactly, and :math:`\sum_i w_i\psi_j(x_i)^2 = 1`. Signs: the largest
    :math:`|v_{ij}|` is positive. :math:`O(n^2 d + n^3)` time (the tridiagonal reduction
    of ``eigh`` is cubic even for small ``k``), :math:`O(npk)` to evaluate at ``p`` points.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import brownian_kernel, brownian_eigen, gauss_legendre_rule, nystrom
    >>> x, w = gauss_legendre_rule(400)
    >>> ef = nystrom(brownian_kernel, x, 3, weights=w)
    >>> np.round(ef.eigenvalues, 4), np.round(brownian_eigen(3).eigenvalues, 4)
    (array([0.4053, 0.045 , 0.0162]), array([0.4053, 0.045 , 0.0162]))
    """
    x = as_points(x, "x")
    n = x.shape[0]
    k = positive_int(k, "k")
    if k > n:
        raise ValueError(f"k must be at most the number of nodes n={n}; got {k}")
    w = _weights(weights, n)
    root = np.sqrt(w)
    K = _kernel_matrix(kernel, x)
    A = root[:, None] * ((K + K.T) / 2) * root[None, :]
    mu, V = scipy.linalg.eigh(A, subset_by_index=[n - k, n - 1])
    mu, V = mu[::-1], V[:, ::-1]
    V = V * np.where(V[np.argmax(np.abs(V), axis=0), np.arange(k)] < 0, -1.0, 1.0)
    rank_tol = float(eigenvalue_bound(n, np.linalg.norm(A)))
    if mu[-1] < -rank_tol:
        raise ValueError(f"kernel(x, x) must be positive semi-definite; its eigenvalue "
                         f"{mu[-1]:.6g} is below -{rank_tol:.3g} (the rounding bound)")
    values = V / root[:, None]
    extendable = mu > rank_tol

    def evaluate(points):
        if not np.all(extendable):
            raise ValueError(f"components {np.flatnonzero(~extendable).tolist()} have "
                             f"eigenvalues within rounding of zero (beyond the numerical rank); "
                             f"their Nyström extension is undefined")
        Kx = _cross(kernel, points, x)
        return (Kx * w) @ values / mu

    info = {"values_at_nodes": values, "nodes": x, "weights": w, "rank_tolerance": rank_tol}
    return Eigenfunctions(mu, evaluate, dim=x.shape[1], method="nystrom", info=info)


def _cross(kernel, points: np.ndarray, x: np.ndarray) -> np.ndarray:
    Kx = np.asarray(kernel(points, x), dtype=np.float64)
    if Kx.shape != (points.shape[0], x.shape[0]):
        raise ValueError(f"kernel(points, x) must return shape {(points.shape[0], x.shape[0])}; "
                         f"got {Kx.shape}")
    return Kx
