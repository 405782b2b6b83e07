"""Test other backends against refimpl: the conformance harness, ``assert_close`` and strategies.

refimpl's users write attention in PyTorch, JAX, CUDA or another NumPy library; this
package tells them whether their code computes what refimpl computes, function by
function, with a reproducible report when it does not.

* :func:`certify` checks every refimpl name that a backend (a module or object with
  functions and classes of the same names and arguments) provides: value agreement on
  generated inputs, the documented error on invalid inputs, and the invariants that need
  no oracle. ``refimpl certify MODULE[:ATTR]`` runs it from the shell and
  ``pytest --pyargs refimpl.conformance --refimpl-backend MODULE`` as a pytest suite.
* :func:`assert_close` compares one result with its reference by the documented tolerance
  policy (:mod:`refimpl.tolerances`, ``POLICY["harness_float64"]`` and
  ``["harness_baseline"]``) and says where and by how much it fails.
* :mod:`refimpl.testing.strategies`: the Hypothesis strategies behind the harness, for a
  backend's own property tests.
* :func:`load_replay` reads the ``.npz`` file written for every failure.

Everything is imported on first use, so that ``import refimpl.testing`` (done by the pytest
plugin in every pytest run) stays cheap.

Examples
--------
>>> import refimpl.testing
>>> sorted(refimpl.testing.__all__)
['Report', 'assert_close', 'certify', 'load_replay', 'strategies']
"""

from __future__ import annotations

import importlib

__all__ = ["Report", "assert_close", "certify", "load_replay", "strategies"]

_LAZY = {
    "assert_close": ("refimpl.testing._compare", "assert_close"),
    "certify": ("refimpl.testing._certify", "certify"),
    "Report": ("refimpl.testing._report", "Report"),
    "load_replay": ("refimpl.testing._report", "load_replay"),
    "strategies": ("refimpl.testing.strategies", None),
}


def __getattr__(name: str):
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'refimpl.testing' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
