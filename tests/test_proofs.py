"""Run every sympy proof in ``proofs/`` and check that the checking can fail.

``proofs/`` sits at the repository root and is not an installed package, so its modules
are loaded by file path. Every ``prove_*`` function of every module becomes one test
(id ``module:function``), marked ``proofs``.
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import pytest

pytest.importorskip("sympy")

# Everything here, controls included, belongs to the proofs selection (``-m proofs``).
pytestmark = pytest.mark.proofs

PROOFS_DIR = Path(__file__).resolve().parent.parent / "proofs"


def _load(path: Path):
    """Import one proofs module from its file, under a name that cannot shadow others."""
    spec = importlib.util.spec_from_file_location(f"_refimpl_proofs_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODULES = {
    path.stem: _load(path) for path in sorted(PROOFS_DIR.glob("*.py")) if path.stem != "__init__"
}
PROOFS = [
    pytest.param(func, id=f"{name}:{func_name}", marks=pytest.mark.proofs)
    for name, module in MODULES.items()
    for func_name, func in inspect.getmembers(module, inspect.isfunction)
    if func_name.startswith("prove_") and func.__module__ == module.__name__
]


def test_proofs_were_found():
    # Guards against the parametrisation silently collecting nothing.
    assert "masked_attention" in MODULES
    assert len(PROOFS) >= 7


@pytest.mark.parametrize("name", sorted(MODULES))
def test_all_proofs_lists_every_proof(name):
    module = MODULES[name]
    defined = {f for n, f in vars(module).items() if n.startswith("prove_") and callable(f)}
    assert set(getattr(module, "ALL_PROOFS", ())) == defined


@pytest.mark.parametrize("proof", PROOFS)
def test_proof_holds(proof):
    assert proof() is True


# -- negative controls: the machinery must be able to say "no" -------------------------------

def test_circulant_embedding_with_unreversed_row_fails():
    # e = [c_0..c_{L-1}, r_1..r_{S-1}] puts r_{S-1} where r_1 belongs; with S = 2 the two
    # orders coincide, so the control needs S >= 3.
    ma = MODULES["masked_attention"]
    assert ma._circulant_embedding_holds(3, 4, reverse_row=True) is True
    assert ma._circulant_embedding_holds(3, 4, reverse_row=False) is False
    assert ma._circulant_embedding_holds(3, 4, reverse_row=False, pad=2) is False


def test_key_side_scaling_is_not_an_invariance():
    # Column scaling reweights keys, so the same rational-function check must fail.
    ma = MODULES["masked_attention"]
    assert ma._scaling_invariant(2, 3, 1, 1, side="key") is False


def test_vanishes_rejects_nonzero_differences():
    import sympy as sp

    ma = MODULES["masked_attention"]
    x, y = sp.symbols("x y")
    assert ma._vanishes((x + y) ** 2 - x**2 - 2 * x * y - y**2) is True
    assert ma._vanishes((x + y) ** 2 - x**2 - y**2) is False
    assert ma._vanishes(sp.Matrix([[0, x / (x * y) - 1 / y]])) is True
    assert ma._vanishes(sp.Matrix([[0, 1 / (x + y) - 1 / x]])) is False
