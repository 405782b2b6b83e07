r"""What minibatch NeuralEF can recover: first-order (in :math:`1/B`) predictions.

spec Sec. 1.8 names two biases of minibatch training, both :math:`O(1/B)`:

1. **V-statistic and normaliser bias of the eigenvalue estimate.** At the exact
   eigenfunction, with :math:`\hat\psi = h/\mathrm{rms}_B(h)`,

   .. math::

       \mathbb E[\hat R_{jj}] = \mu_j + \frac{\mathbb E[k(x,x)\psi_j^2] - \mu_j -
       \mu_j\mathrm{Var}(\psi_j^2)}{B} + O(B^{-2})

   (the diagonal terms of :math:`\Psi^\top K\Psi/B^2`, and the covariance of numerator and
   denominator of the ratio :math:`N/D`: :math:`\mathbb E[N/D] \approx \mathbb E N -
   \mathrm{Cov}(N, D) + \mu\mathrm{Var}(D)` with :math:`\mathrm{Cov}(N, D) =
   2\mu_j\mathrm{Var}(\psi_j^2)/B`). Checked by Monte Carlo in the tests.
2. **Penalty noise.** :math:`\mathbb E[\hat R_{ij}^2] = R_{ij}^2 + \mathrm{Var}(\hat R_{ij})`,
   and :math:`\mathrm{Var}(\hat R_{ij}) = \frac1B\mathrm{Var}_x(a_i(x)^\top c)` to first
   order, with :math:`a_i(x) = \psi_i(x)(T\phi)(x) + (T\psi_i)(x)\phi(x)` for
   :math:`\psi = \phi^\top c` (Hoeffding's decomposition of a V-statistic), which pushes
   player :math:`j` away from directions where the earlier players' estimates are noisy.

For a linear model :math:`\psi = \phi^\top c`, player :math:`j` then maximises the
*effective* quadratic form

.. math::

    E_j = (1 - \tfrac1B)A + \tfrac1B D - \sum_{i<j}\frac{(Ac_i)(Ac_i)^\top +
    \mathrm{Cov}_x(a_i)/B}{\rho_i}, \qquad c^\top Mc = 1,

(:math:`A = \mathbb E[\phi k\phi^\top]`, :math:`M = \mathbb E[\phi\phi^\top]`,
:math:`D = \mathbb E[k(x,x)\phi\phi^\top]`, :math:`\rho_i = c_i^\top Ac_i`), solved in
turn for :math:`j = 1, \dots, k`. Its maximiser's distance to the Ritz vector is the
predicted bias of component :math:`j`; the batch normaliser's own (quartic) correction
is neglected.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg

from .._validate import as_float_array, positive_int
from .kernels import as_points

__all__ = ["MinibatchPrediction", "neuralef_batch_eigenvalues", "neuralef_minibatch_prediction"]


def _rule(nodes, weights):
    x = as_points(nodes, "nodes")
    w = as_float_array(weights, "weights", ndim=1)
    if w.shape != (x.shape[0],) or np.any(w <= 0):
        raise ValueError(f"weights must be {x.shape[0]} positive numbers; got shape {w.shape}")
    return x, w / w.sum()


def neuralef_batch_eigenvalues(kernel, eigenfunctions, nodes, weights, batch_size) -> np.ndarray:
    r"""NeuralEF's expected batch eigenvalue :math:`\mathbb E[\hat R_{jj}]` at the true eigenpairs.

    Parameters
    ----------
    kernel : callable
        ``kernel(x, y)``.
    eigenfunctions : Eigenfunctions
        The exact eigenpairs (a closed form or a converged quadrature Nyström).
    nodes, weights : array_like
        A quadrature rule of the input measure, accurate for the integrands
        :math:`k(x,x)\psi^2` and :math:`\psi^4`.
    batch_size : int

    Returns
    -------
    numpy.ndarray, shape (k,)
        :math:`\mu_j + (\mathbb E[k(x,x)\psi_j^2] - \mu_j - \mu_j\mathrm{Var}(\psi_j^2))/B`,
        the value NeuralEF's eigenvalue EMA fluctuates around (module docstring, item 1).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import (gauss_legendre_rule, neuralef_batch_eigenvalues,
    ...                            polynomial_eigen_1d, polynomial_kernel)
    >>> ef = polynomial_eigen_1d(4, c=1.5)
    >>> x, w = gauss_legendre_rule(40, -1.0, 1.0)
    >>> kern = lambda a, b: polynomial_kernel(a, b, degree=4, c=1.5)
    >>> shift = neuralef_batch_eigenvalues(kern, ef, x, w, 1024) / ef.eigenvalues - 1
    >>> shift.round(4).tolist()  # the small eigenvalues are inflated (spec Sec. 1.8)
    [0.0013, 0.0022, 0.0154, 0.1513, 3.3848]
    """
    x, w = _rule(nodes, weights)
    B = positive_int(batch_size, "batch_size")
    F = eigenfunctions(x)
    mu = eigenfunctions.eigenvalues
    diag = np.array([float(kernel(x[i:i + 1], x[i:i + 1])[0, 0]) for i in range(x.shape[0])])
    second = w @ (F * F)
    ek = (w * diag) @ (F * F)
    var = w @ F**4 - second**2
    return mu + (ek - mu - mu * var) / B


class MinibatchPrediction(NamedTuple):
    """What :func:`neuralef_minibatch_prediction` returns.

    Attributes
    ----------
    coefficients : numpy.ndarray, shape (p, k)
        The predicted limit of each player, :math:`M`-normalised.
    ritz : numpy.ndarray, shape (p, k)
        The Ritz vectors (the population optimum), signs aligned with ``coefficients``.
    ritz_values : numpy.ndarray, shape (k,)
    bias : numpy.ndarray, shape (k,)
        :math:`L^2(p)` distance between predicted and Ritz functions (at most
        :math:`\\sqrt2` after sign alignment).

    Examples
    --------
    >>> from refimpl.eigen import MinibatchPrediction
    >>> MinibatchPrediction._fields
    ('coefficients', 'ritz', 'ritz_values', 'bias')
    """

    coefficients: np.ndarray
    ritz: np.ndarray
    ritz_values: np.ndarray
    bias: np.ndarray


def neuralef_minibatch_prediction(kernel, features, nodes, weights, k,
                                  batch_size) -> MinibatchPrediction:
    r"""First-order prediction of what minibatch NeuralEF with a linear model converges to.

    Parameters
    ----------
    kernel : callable
        ``kernel(x, y)``.
    features : callable
        ``phi(x (n, d)) -> (n, p)``, as given to :func:`~refimpl.eigen.neuralef_fit`.
    nodes, weights : array_like
        A quadrature rule of the input measure (accurate for products of four features
        and two kernel factors).
    k, batch_size : int

    Returns
    -------
    MinibatchPrediction

    Notes
    -----
    The sequential effective problem of the module docstring, solved with
    ``scipy.linalg.eigh(E_j, M)``. A component whose predicted bias is small is
    recoverable at this batch size; the rest are not, whatever the number of steps.
    :math:`O(nkp^2 + n^2p)`.

    Examples
    --------
    >>> from numpy.polynomial import legendre
    >>> from refimpl.eigen import (gauss_legendre_rule, neuralef_minibatch_prediction,
    ...                            polynomial_kernel)
    >>> x, w = gauss_legendre_rule(40, -1.0, 1.0)
    >>> kern = lambda a, b: polynomial_kernel(a, b, degree=4, c=1.5)
    >>> pred = neuralef_minibatch_prediction(kern, lambda t: legendre.legvander(t[:, 0], 4),
    ...                                      x, w, 5, 1024)
    >>> pred.bias.round(3).tolist()  # components 4 and 5 are not recoverable at B = 1024
    [0.002, 0.001, 0.016, 0.059, 1.414]
    """
    x, w = _rule(nodes, weights)
    k, B = positive_int(k, "k"), positive_int(batch_size, "batch_size")
    Phi = np.asarray(features(x), dtype=np.float64)
    K = np.asarray(kernel(x, x), dtype=np.float64)
    WPhi = w[:, None] * Phi
    TPhi = K @ WPhi  # (T phi)(x_q)
    A = WPhi.T @ TPhi
    A = (A + A.T) / 2
    M = Phi.T @ WPhi
    D = (WPhi * np.diag(K)[:, None]).T @ Phi
    ritz_values, ritz = scipy.linalg.eigh(A, M)
    ritz_values, ritz = ritz_values[::-1][:k], ritz[:, ::-1][:, :k]
    coefficients = np.empty_like(ritz)
    E = (1 - 1 / B) * A + D / B
    for j in range(k):
        ej = (E + E.T) / 2
        _, vec = scipy.linalg.eigh(ej, M, subset_by_index=[A.shape[0] - 1, A.shape[0] - 1])
        c = vec[:, 0] * np.sign(vec[:, 0] @ M @ ritz[:, j] or 1.0)
        coefficients[:, j] = c
        psi, t_psi = Phi @ c, TPhi @ c
        a = psi[:, None] * TPhi + t_psi[:, None] * Phi
        mean = w @ a
        cov = (w[:, None] * a).T @ a - np.outer(mean, mean)
        rho = c @ A @ c
        E = E - (np.outer(A @ c, A @ c) + cov / B) / rho
    diff = coefficients - ritz
    bias = np.sqrt(np.einsum("pk,pq,qk->k", diff, M, diff))
    return MinibatchPrediction(coefficients, ritz, ritz_values, bias)
