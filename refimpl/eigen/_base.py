r"""The result type of every eigen-solver in :mod:`refimpl.eigen`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._validate import as_float_array
from .kernels import as_points

__all__ = ["Eigenfunctions"]


class Eigenfunctions:
    r"""The top eigenpairs :math:`(\mu_j, \psi_j)` of a kernel integral operator.

    The operator is :math:`(Tf)(x) = \int k(x, x') f(x')\,p(x')\,dx'` on
    :math:`L^2(p)`; the eigenfunctions are orthonormal under the input measure
    :math:`p`, :math:`\langle\psi_i, \psi_j\rangle_p = \delta_{ij}`, and
    :math:`k(x, x') = \sum_j \mu_j \psi_j(x)\psi_j(x')` (Mercer).

    Parameters
    ----------
    eigenvalues : array_like, shape (k,)
        :math:`\mu_1 \ge \mu_2 \ge \dots` (nonincreasing).
    evaluate : callable
        ``evaluate(x (n, d)) -> (n, k)``: the eigenfunctions at validated points.
    dim : int
        The input dimension ``d``.
    method : str
        Where the pairs come from (for ``repr``).
    degrees : array_like of int, shape (k,), optional
        For harmonic bases (circle, sphere): the degree (frequency) of each function.
    info : dict, optional
        Anything else the solver reports (training history, node values, ...).

    Attributes
    ----------
    eigenvalues : numpy.ndarray, shape (k,)
    dim : int
    degrees : numpy.ndarray or None
    info : dict

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import brownian_eigen
    >>> ef = brownian_eigen(3)
    >>> np.round(ef.eigenvalues, 6)
    array([0.405285, 0.045032, 0.016211])
    >>> ef(np.array([0.5])).shape
    (1, 3)
    """

    def __init__(self, eigenvalues, evaluate: Callable[[np.ndarray], np.ndarray], *, dim: int,
                 method: str, degrees=None, info: dict | None = None):
        mu = as_float_array(eigenvalues, "eigenvalues", ndim=1)
        if np.any(np.diff(mu) > 0):
            raise ValueError(f"eigenvalues must be nonincreasing; got {mu}")
        self.eigenvalues = mu
        self._evaluate = evaluate
        self.dim = int(dim)
        self.method = method
        self.degrees = None if degrees is None else np.asarray(degrees, dtype=np.int64)
        self.info = dict(info or {})

    @property
    def k(self) -> int:
        """The number of eigenpairs."""
        return int(self.eigenvalues.size)

    def __len__(self) -> int:
        return self.k

    def __repr__(self) -> str:
        shown = np.array2string(self.eigenvalues[:4], precision=4)
        more = ", ..." if self.k > 4 else ""
        return f"Eigenfunctions(k={self.k}, dim={self.dim}, method={self.method!r}, " \
               f"eigenvalues={shown}{more})"

    def __call__(self, x) -> np.ndarray:
        """The eigenfunctions at ``x`` (``(n, d)``, or ``(n,)`` when ``d = 1``): ``(n, k)``."""
        x = as_points(x, "x", self.dim)
        return np.asarray(self._evaluate(x), dtype=np.float64)

    def reconstruct(self, x, y=None) -> np.ndarray:
        r"""The Mercer partial sum :math:`\sum_{j \le k} \mu_j\psi_j(x)\psi_j(y)`, ``(n, p)``.

        Examples
        --------
        >>> import numpy as np
        >>> from refimpl.eigen import brownian_eigen
        >>> partial = brownian_eigen(400).reconstruct([0.3], [0.6])
        >>> bool(abs(partial[0, 0] - 0.3) < 1e-3)  # min(0.3, 0.6), tail ~ 1/(pi^2 k)
        True
        """
        fx = self(x)
        fy = fx if y is None else self(y)
        return (fx * self.eigenvalues) @ fy.T

    def truncate(self, k: int) -> Eigenfunctions:
        """The first ``k`` eigenpairs, as a new :class:`Eigenfunctions`.

        Examples
        --------
        >>> from refimpl.eigen import brownian_eigen
        >>> brownian_eigen(5).truncate(2).k
        2
        """
        from .._validate import positive_int

        k = positive_int(k, "k")
        if k > self.k:
            raise ValueError(f"k must be at most {self.k} (the number of pairs); got {k}")
        evaluate = self._evaluate
        degrees = None if self.degrees is None else self.degrees[:k]
        return Eigenfunctions(self.eigenvalues[:k], lambda x: evaluate(x)[:, :k], dim=self.dim,
                              method=self.method, degrees=degrees, info=self.info)
