"""Run the docstring examples of every refimpl module (they are part of the documentation).

Every public function documents itself with a small example; this makes each of those
examples a test, as mpmath and SciPy do.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import refimpl

# Adapters for optional frameworks are imported only when those frameworks exist.
OPTIONAL = tuple(f"refimpl.testing.backends.{n}"
                 for n in ("torch", "jax", "flax", "keras", "sklearn", "performer",
                           "neural_tangents"))


def _modules():
    names = ["refimpl"]
    for info in pkgutil.walk_packages(refimpl.__path__, prefix="refimpl."):
        if not info.name.startswith(OPTIONAL) and not info.name.endswith("__main__"):
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    with np.printoptions(legacy=False):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


PUBLIC_MODULES = ["refimpl.attention", "refimpl.estimators", "refimpl.features",
                  "refimpl.graphs", "refimpl.masks", "refimpl.mp", "refimpl.eigen",
                  "refimpl.testing", "refimpl.testing.strategies"]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_has_a_docstring_with_an_example(module_name):
    module = importlib.import_module(module_name)
    missing = []
    for name in module.__all__:
        doc = getattr(module, name).__doc__ or ""
        if name != "Mask" and ">>>" not in doc:
            missing.append(name)
    assert not missing, f"public names of {module_name} without a docstring example: {missing}"
