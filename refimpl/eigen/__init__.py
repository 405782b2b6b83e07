r"""Kernels and their eigenfunctions: closed forms, Nyström and NeuralEF.

The integral operator of a kernel :math:`k` under an input measure :math:`p`,

.. math::

    (T f)(x) = \int k(x, x')\,f(x')\,p(x')\,dx', \qquad T\psi_j = \mu_j\psi_j, \quad
    \langle\psi_i, \psi_j\rangle_p = \delta_{ij},

and three ways to its top eigenpairs, each returning an :class:`Eigenfunctions`:

* closed forms (the oracles): :func:`rbf_gaussian_eigen`, :func:`brownian_eigen`,
  :func:`brownian_bridge_eigen`, :func:`circle_eigen`, :func:`von_mises_eigen`,
  :func:`sphere_eigen` (Funk--Hecke), :func:`polynomial_eigen_1d`;
* :func:`nystrom` from samples or a quadrature rule;
* :func:`neuralef_fit`: NeuralEF (Deng, Shi & Zhu, "NeuralEF: Deconstructing Kernels by
  Deep Neural Networks", ICML 2022) in NumPy, with :func:`neuralef_loss`, and what
  minibatch training can recover (:func:`neuralef_minibatch_prediction`,
  :func:`neuralef_batch_eigenvalues`).

Kernels: :func:`rbf_kernel`, :func:`polynomial_kernel`, :func:`arccos_kernel`, the
NNGP/NTK recursions (:func:`nngp_kernel`, :func:`ntk_kernel` and the ``_relu`` / ``_erf``
shorthands) with Monte-Carlo estimates from random networks
(:func:`nngp_monte_carlo`, :func:`ntk_monte_carlo`), :func:`brownian_kernel`,
:func:`brownian_bridge_kernel`, :func:`von_mises_kernel`; :func:`check_psd`.

Mathematics, pitfalls and golden values: ``spec/neuralef.md``.

Examples
--------
>>> import numpy as np
>>> from refimpl.eigen import gauss_hermite_rule, nystrom, rbf_gaussian_eigen, rbf_kernel
>>> x, w = gauss_hermite_rule(100)
>>> nystrom(rbf_kernel, x, 3, weights=w).eigenvalues.round(12).tolist()
[0.61803398875, 0.2360679775, 0.090169943749]
>>> rbf_gaussian_eigen(3).eigenvalues.round(12).tolist()
[0.61803398875, 0.2360679775, 0.090169943749]
"""

from ._base import Eigenfunctions
from .circle import circle_eigen, von_mises_eigen
from .closed_forms import (
    DiscreteSpectrum,
    brownian_bridge_discrete,
    brownian_bridge_eigen,
    brownian_discrete,
    brownian_eigen,
    hermite_functions,
    polynomial_eigen_1d,
    rbf_gaussian_eigen,
)
from .kernels import (
    arccos_kernel,
    brownian_bridge_kernel,
    brownian_kernel,
    check_psd,
    polynomial_kernel,
    rbf_kernel,
    von_mises_kernel,
)
from .minibatch import (
    MinibatchPrediction,
    neuralef_batch_eigenvalues,
    neuralef_minibatch_prediction,
)
from .neuralef import NeuralEFLoss, l2_batch_norm, neuralef_fit, neuralef_loss
from .nngp import (
    nngp_erf_kernel,
    nngp_kernel,
    nngp_relu_kernel,
    ntk_erf_kernel,
    ntk_kernel,
    ntk_relu_kernel,
)
from .nystrom import (
    gauss_hermite_rule,
    gauss_legendre_rule,
    gaussian_sampler,
    nystrom,
    uniform_sampler,
)
from .random_networks import RandomMLP, nngp_monte_carlo, ntk_monte_carlo
from .sphere import (
    funk_hecke_eigenvalues,
    legendre_d,
    sphere_eigen,
    sphere_multiplicity,
    sphere_sampler,
)

__all__ = [
    "DiscreteSpectrum",
    "Eigenfunctions",
    "MinibatchPrediction",
    "NeuralEFLoss",
    "RandomMLP",
    "arccos_kernel",
    "brownian_bridge_discrete",
    "brownian_bridge_eigen",
    "brownian_bridge_kernel",
    "brownian_discrete",
    "brownian_eigen",
    "brownian_kernel",
    "check_psd",
    "circle_eigen",
    "funk_hecke_eigenvalues",
    "gauss_hermite_rule",
    "gauss_legendre_rule",
    "gaussian_sampler",
    "hermite_functions",
    "l2_batch_norm",
    "legendre_d",
    "neuralef_batch_eigenvalues",
    "neuralef_fit",
    "neuralef_loss",
    "neuralef_minibatch_prediction",
    "nngp_erf_kernel",
    "nngp_kernel",
    "nngp_monte_carlo",
    "nngp_relu_kernel",
    "ntk_erf_kernel",
    "ntk_kernel",
    "ntk_monte_carlo",
    "ntk_relu_kernel",
    "nystrom",
    "polynomial_eigen_1d",
    "polynomial_kernel",
    "rbf_gaussian_eigen",
    "rbf_kernel",
    "sphere_eigen",
    "sphere_multiplicity",
    "sphere_sampler",
    "uniform_sampler",
    "von_mises_eigen",
    "von_mises_kernel",
]
