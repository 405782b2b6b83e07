r"""Checks of kernel eigenfunctions (:mod:`refimpl.eigen`; spec ``neuralef.md`` Sec. 4-5).

Deterministic (rounding bounds of :mod:`refimpl.tolerances`):

* kernels and the NNGP/NTK recursions against mpmath and the arc-cosine closed forms;
* closed forms: orthonormality on exact quadrature rules, eigen-equation residuals,
  trace and Hilbert--Schmidt identities, Mercer tails (Cauchy--Schwarz bound);
* Nyström on quadrature rules against closed forms (Brownian and bridge discrete
  spectra, Gauss--Hermite RBF, Gauss--Legendre polynomial kernel, circulant aliasing);
* Funk--Hecke spectra: exact values, zero patterns, the trace identity, decay slopes;
* golden values of spec Sec. 5 (``refimpl/eigen/_golden.py``, mpmath at 40 digits);
* NeuralEF: the loss gradient against exact central differences; population NeuralEF
  with linear features against the exact eigenpairs.

Statistical (false-failure rate 1e-6 each, :data:`~refimpl.tolerances.EIGEN_FALSE_FAILURE_RATE`):
Monte-Carlo Nyström (Hoffman--Wielandt bound, :math:`1/n` slope), random-network NNGP/NTK
for one hidden layer, the batch-eigenvalue formula of :mod:`refimpl.eigen.minibatch`, and
minibatch NeuralEF recovering the components that formula says it can.
"""

from . import closed_forms, statistical  # noqa: F401  (importing registers the checks)
