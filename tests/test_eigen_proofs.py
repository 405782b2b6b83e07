"""Negative controls for ``proofs/eigen.py``: its checks can say "no".

The proofs themselves run in ``tests/test_proofs.py`` (every ``prove_*`` of every module);
here the same helpers are fed wrong statements and must return ``False``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

sp = pytest.importorskip("sympy")
pytestmark = pytest.mark.proofs

_PATH = Path(__file__).resolve().parent.parent / "proofs" / "eigen.py"
_SPEC = importlib.util.spec_from_file_location("_refimpl_proofs_eigen_controls", _PATH)
eigen = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(eigen)


@pytest.mark.parametrize("k", [1, 2])
def test_wrong_brownian_eigenvalue_is_refused(k):
    x, y = eigen.x, eigen.y
    freq = (k - sp.Rational(1, 2)) * sp.pi
    psi = sp.sqrt(2) * sp.sin(freq * x)
    assert eigen._eigen_equation_holds(y, x, psi, 1 / freq**2) is True
    assert eigen._eigen_equation_holds(y, x, psi, 1 / (k * sp.pi) ** 2) is False
    # The bridge's eigenfunctions are not the Brownian kernel's.
    assert eigen._eigen_equation_holds(y, x, sp.sqrt(2) * sp.sin(k * sp.pi * x),
                                       1 / (k * sp.pi) ** 2) is False


def test_objective_without_the_penalty_is_not_the_residual_spectrum():
    mu = sp.symbols("mu1:4", positive=True)
    c = sp.symbols("c1:4", real=True)
    C = sp.Matrix([[1, c[0]], [0, c[1]], [0, c[2]]])
    R = C.T * sp.diag(*mu) * C
    residual = mu[1] * c[1] ** 2 + mu[2] * c[2] ** 2
    assert eigen._vanishes(eigen._objective(R, 1) - residual) is True
    assert eigen._vanishes(R[1, 1] - residual) is False  # R_jj alone keeps mu_1 c_1^2


def test_gradient_without_the_stop_gradient_mask_is_refused():
    psi = sp.Matrix(2, 2, lambda a, b: sp.Symbol(f"p_{a}_{b}", real=True))
    K = sp.Matrix(2, 2, lambda a, b: sp.Symbol(f"K_{min(a, b)}_{max(a, b)}", real=True))
    R = psi.T * K * psi
    value = eigen._objective(R, 1)
    wrong = 2 * K * psi  # drops (I - U): the gradient of R_jj alone
    assert eigen._vanishes(sp.together(sp.diff(value, psi[0, 1]) - wrong[0, 1])) is False
