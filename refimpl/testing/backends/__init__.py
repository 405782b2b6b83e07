"""Example backends for ``refimpl certify``, one small module each, imported lazily.

========================================  ==================================================
module                                    what
========================================  ==================================================
``refimpl.testing.backends.reference``    refimpl itself, all public names in one namespace
                                          (the harness's positive control)
``refimpl.testing.backends.numpy32``      a float32 NumPy implementation of the attention
                                          functions, features, two masks and the RBF kernel
                                          (certify with ``--dtype float32``)
``refimpl.testing.backends.torch``        a PyTorch (CPU) adapter: needs the ``torch`` extra,
                                          ``pip install "refimpl[torch]"``
========================================  ==================================================

Nothing here is imported by refimpl's core; import an adapter by its module path.

Examples
--------
>>> from refimpl.testing import backends
>>> backends.ADAPTERS["numpy32"]
'refimpl.testing.backends.numpy32'
"""

#: Adapter names and their module paths (for ``refimpl certify MODULE``).
ADAPTERS = {
    "reference": "refimpl.testing.backends.reference",
    "numpy32": "refimpl.testing.backends.numpy32",
    "torch": "refimpl.testing.backends.torch",
}
