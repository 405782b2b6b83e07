r"""Dot-product kernels on the sphere :math:`S^{d-1}`: Funk--Hecke spectra.

A kernel :math:`k(x, y) = f(x^\top y)` on the unit sphere of :math:`\mathbb R^d`, under
the uniform probability measure, has the spherical harmonics of degree :math:`\ell` as
eigenfunctions (multiplicity :math:`N(d, \ell)`) with the eigenvalue (Funk--Hecke)

.. math::

    \mu_\ell = \frac{\Gamma(d/2)}{\sqrt\pi\,\Gamma(\frac{d-1}2)}
    \int_{-1}^1 f(t)\,P_{\ell,d}(t)\,(1 - t^2)^{\frac{d-3}2}\,dt ,

where :math:`P_{\ell,d} = C^{(d-2)/2}_\ell / C^{(d-2)/2}_\ell(1)` is the Legendre
polynomial of dimension :math:`d` (spec Sec. 3(d); Atkinson & Han, *Spherical Harmonics
and Approximations on the Unit Sphere*, 2012, Sec. 2.2 and Thm. 2.22).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.special

from .._validate import nonnegative_int, positive_int
from ._base import Eigenfunctions

__all__ = [
    "funk_hecke_eigenvalues",
    "legendre_d",
    "sphere_eigen",
    "sphere_multiplicity",
    "sphere_sampler",
]


def sphere_multiplicity(d, ell) -> int:
    r"""Dimension :math:`N(d, \ell)` of the degree-:math:`\ell` harmonics on :math:`S^{d-1}`.

    Notes
    -----
    :math:`N(d, \ell) = \binom{\ell + d - 1}{d - 1} - \binom{\ell + d - 3}{d - 1}`, the
    homogeneous polynomials of degree :math:`\ell` less those divisible by
    :math:`\|x\|^2`; :math:`2\ell + 1` on :math:`S^2`, 2 on the circle. Exact integers.

    Examples
    --------
    >>> from refimpl.eigen import sphere_multiplicity
    >>> [sphere_multiplicity(3, ell) for ell in range(4)]
    [1, 3, 5, 7]
    """
    d = _dimension(d)
    ell = nonnegative_int(ell, "ell")
    below = math.comb(ell + d - 3, d - 1) if ell >= 2 else 0
    return math.comb(ell + d - 1, d - 1) - below


def _dimension(d) -> int:
    d = positive_int(d, "d")
    if d < 2:
        raise ValueError(f"d must be at least 2 (the sphere S^(d-1) in R^d); got {d}")
    return d


def legendre_d(ell_max, d, t) -> np.ndarray:
    r"""Legendre polynomials of dimension :math:`d`, :math:`P_{\ell,d}(t)`, normalised at 1.

    Returns shape ``(len(t), ell_max + 1)``.

    Notes
    -----
    :math:`P_0 = 1`, :math:`P_1 = t`, :math:`(\ell + d - 2)P_{\ell+1} = (2\ell + d - 2)\,t\,
    P_\ell - \ell P_{\ell-1}` (Atkinson & Han, Eq. 2.89): stable, since
    :math:`|P_{\ell,d}| \le 1` on :math:`[-1, 1]`. :math:`d = 2` gives Chebyshev
    :math:`T_\ell`, :math:`d = 3` Legendre :math:`P_\ell`. :math:`O(n\,\ell_{\max})`.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import legendre_d
    >>> legendre_d(2, 3, np.array([0.5]))  # 1, t, (3t^2 - 1)/2
    array([[ 1.   ,  0.5  , -0.125]])
    """
    ell_max = nonnegative_int(ell_max, "ell_max")
    d = _dimension(d)
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    out = np.empty((t.size, ell_max + 1))
    out[:, 0] = 1.0
    if ell_max >= 1:
        out[:, 1] = t
    for ell in range(1, ell_max):
        out[:, ell + 1] = ((2 * ell + d - 2) * t * out[:, ell]
                           - ell * out[:, ell - 1]) / (ell + d - 2)
    return out


def _rule(d: int, n: int, angle: bool) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (values of t, or of theta) and weights summing to one for the measure of t."""
    alpha = (d - 3) / 2
    if angle:
        theta, w = scipy.special.roots_legendre(n)
        theta = (theta + 1) * (np.pi / 2)
        w = w * np.sin(theta) ** (d - 2)
    else:
        theta, w = scipy.special.roots_jacobi(n, alpha, alpha)
    # Normalising by the discrete sum is the constant Gamma(d/2)/(sqrt(pi) Gamma((d-1)/2)).
    return theta, w / w.sum()


def funk_hecke_eigenvalues(f, d, ell_max, *, n_nodes=None, angle=False) -> np.ndarray:
    r"""Funk--Hecke eigenvalues :math:`\mu_0, \dots, \mu_{\ell_{\max}}` of :math:`f(x^\top y)`.

    Parameters
    ----------
    f : callable
        The profile, vectorised: ``f(t)`` for :math:`t = x^\top y \in [-1, 1]`, or, with
        ``angle=True``, ``f(theta)`` for the angle :math:`\theta \in [0, \pi]`.
    d : int
        Ambient dimension (the sphere :math:`S^{d-1}`), :math:`d \ge 2`.
    ell_max : int
    n_nodes : int, optional
        Quadrature nodes (default ``2 ell_max + 400``).
    angle : bool
        Integrate in :math:`\theta = \arccos t` by Gauss--Legendre with weight
        :math:`\sin^{d-2}\theta`: spectrally accurate for profiles analytic in the angle
        (arc-cosine, ReLU NNGP/NTK), whose :math:`\sqrt{1 - t^2}` singularities slow
        Gauss--Jacobi in :math:`t` down to an algebraic rate.

    Returns
    -------
    numpy.ndarray, shape (ell_max + 1,)

    Notes
    -----
    Gauss--Jacobi (``scipy.special.roots_jacobi`` with :math:`\alpha = \beta = (d-3)/2`)
    in :math:`t`, exact for a polynomial :math:`f` of degree :math:`q` when
    :math:`2\,n_{\text{nodes}} \ge q + \ell_{\max} + 1`. :math:`O(n_{\text{nodes}}\,
    \ell_{\max})`. See the module docstring for the formula.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import funk_hecke_eigenvalues
    >>> mu = funk_hecke_eigenvalues(lambda t: (t + 1.0) ** 3, 3, 4)
    >>> np.round(mu * 35, 10)  # (2, 6/5, 2/5, 2/35, 0) * 35, spec Sec. 5
    array([70., 42., 14.,  2.,  0.])
    """
    d = _dimension(d)
    ell_max = nonnegative_int(ell_max, "ell_max")
    n = 2 * ell_max + 400 if n_nodes is None else positive_int(n_nodes, "n_nodes")
    if not callable(f):
        raise TypeError(f"f must be a callable profile; got {type(f).__name__}")
    nodes, w = _rule(d, n, bool(angle))
    values = np.asarray(f(nodes), dtype=np.float64)
    if values.shape != nodes.shape or not np.all(np.isfinite(values)):
        raise ValueError(f"f must return finite values of shape {nodes.shape}; got shape "
                         f"{values.shape}")
    t = np.cos(nodes) if angle else nodes
    return (w * values) @ legendre_d(ell_max, d, t)


class _ZonalBasis:
    """Orthonormal degree-ell harmonics built from zonal functions (lazily, per degree)."""

    def __init__(self, d: int):
        self.d = d
        self.cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _build(self, ell: int):
        # N(d, ell) zonal functions Z(x . y_m) at generic points span the degree-ell
        # harmonics; 2N of them give a rank-N Gram matrix Z(y_m . y_n) (the reproducing
        # property), whose top-N eigenvectors orthonormalise them.
        n = sphere_multiplicity(self.d, ell)
        rng = np.random.default_rng([self.d, ell])
        y = rng.standard_normal((2 * n + 2, self.d))
        y /= np.linalg.norm(y, axis=1, keepdims=True)
        gram = n * legendre_d(ell, self.d, np.clip(y @ y.T, -1, 1))[:, ell]
        gram = gram.reshape(y.shape[0], y.shape[0])
        lam, vec = scipy.linalg.eigh((gram + gram.T) / 2,
                                     subset_by_index=[y.shape[0] - n, y.shape[0] - 1])
        self.cache[ell] = (y, vec / np.sqrt(lam))

    def __call__(self, x: np.ndarray, ell: int) -> np.ndarray:
        if ell not in self.cache:
            self._build(ell)
        y, coef = self.cache[ell]
        n = sphere_multiplicity(self.d, ell)
        zonal = n * legendre_d(ell, self.d, np.clip(x @ y.T, -1, 1).reshape(-1))[:, ell]
        return zonal.reshape(x.shape[0], y.shape[0]) @ coef


def sphere_eigen(f, d, ell_max, *, n_nodes=None, angle=False) -> Eigenfunctions:
    r"""Eigenpairs of :math:`f(x^\top y)` on :math:`S^{d-1}` up to degree :math:`\ell_{\max}`.

    Parameters
    ----------
    f, d, ell_max, n_nodes, angle
        As :func:`funk_hecke_eigenvalues`.

    Returns
    -------
    Eigenfunctions
        All :math:`\sum_{\ell \le \ell_{\max}} N(d, \ell)` pairs, eigenvalues sorted
        decreasingly (ties by degree), ``.degrees`` the degree of each;
        ``info["degree_eigenvalues"]`` holds :math:`\mu_\ell` and
        ``info["multiplicities"]`` :math:`N(d, \ell)`. They are the top pairs of the
        operator when no eigenvalue of a degree above :math:`\ell_{\max}` is larger.

    Notes
    -----
    Eigenvalues by :func:`funk_hecke_eigenvalues`. The eigenfunctions of degree
    :math:`\ell` are an orthonormal basis of the harmonics, built from the zonal
    functions :math:`Z_\ell(x^\top y_m) = N(d,\ell)P_{\ell,d}(x^\top y_m)` at fixed generic
    points :math:`y_m` (addition theorem: :math:`\sum_m Y_{\ell m}(x)Y_{\ell m}(y) =
    Z_\ell(x^\top y)`), so any basis is as good as another (degenerate eigenvalues: compare
    eigenspaces, not functions). Points off the sphere are projected radially.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import sphere_eigen
    >>> ef = sphere_eigen(lambda t: (t + 1.0) ** 3, 3, 3)  # rank 1 + 3 + 5 + 7 = 16
    >>> ef.k, ef.eigenvalues[[0, 1, 4, 9]].round(10).tolist()
    (16, [2.0, 1.2, 0.4, 0.0571428571])
    """
    d = _dimension(d)
    mu = funk_hecke_eigenvalues(f, d, ell_max, n_nodes=n_nodes, angle=angle)
    counts = np.array([sphere_multiplicity(d, ell) for ell in range(mu.size)])
    degrees = np.repeat(np.arange(mu.size), counts)
    position = np.concatenate([np.arange(c) for c in counts])
    order = np.argsort(-mu[degrees], kind="stable")
    degrees, position = degrees[order], position[order]
    basis = _ZonalBasis(d)

    def evaluate(x):
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        if np.any(norm == 0):
            raise ValueError("x must be nonzero points (they are projected onto the sphere)")
        u = x / norm
        out = np.empty((x.shape[0], degrees.size))
        for ell in np.unique(degrees):
            cols = np.flatnonzero(degrees == ell)
            out[:, cols] = basis(u, int(ell))[:, position[cols]]
        return out

    return Eigenfunctions(mu[degrees], evaluate, dim=d, method="sphere (Funk-Hecke)",
                          degrees=degrees,
                          info={"degree_eigenvalues": mu, "multiplicities": counts})


def sphere_sampler(d):
    r"""A sampler ``(n, rng) -> (n, d)`` of the uniform measure on :math:`S^{d-1}`.

    Normalised standard Gaussians (rotation invariance), for
    :func:`~refimpl.eigen.neuralef_fit` and Monte-Carlo Nyström.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import sphere_sampler
    >>> x = sphere_sampler(3)(4, np.random.default_rng(0))
    >>> x.shape, bool(np.allclose(np.linalg.norm(x, axis=1), 1.0))
    ((4, 3), True)
    """
    d = _dimension(d)

    def sample(n, rng):
        from .._validate import as_rng

        g = as_rng(rng).standard_normal((positive_int(n, "n"), d))
        return g / np.linalg.norm(g, axis=1, keepdims=True)

    return sample
