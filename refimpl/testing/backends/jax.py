"""JAX as it is: ``jax.nn.dot_product_attention`` (float64 enabled).

``refimpl certify refimpl.testing.backends.jax`` or ``--dtype float32``; needs the ``jax``
extra (``python -m pip install "refimpl[jax]"``). Importing this adapter turns on
``jax_enable_x64`` so that float64 inputs stay float64.

``softmax_attention(q, k, v)`` is ``jax.nn.dot_product_attention`` on ``(..., L, 1, d)``
arrays (one head): refimpl's multiplicative mask goes in as the additive bias ``log M``
(a boolean mask as ``mask``), ``causal`` as ``is_causal``, ``scale`` as ``scale``. JAX
accepts 3-D ``(T, N, H)`` or 4-D ``(B, T, N, H)`` arrays with equal key and value depths;
what it refuses, the harness reports as unsupported.

Examples
--------
>>> import numpy as np
>>> from refimpl.testing.backends import jax as jb  # doctest: +SKIP
>>> jb.softmax_attention(np.zeros((1, 2)), np.zeros((3, 2)), np.ones((3, 2)))  # doctest: +SKIP
array([[1., 1.]])
"""

from __future__ import annotations

import numpy as np

from . import one_head, require

jax = require("jax", "jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

__all__ = ["REFIMPL_SHAPES", "softmax_attention"]

#: XLA compiles once per shape: ask ``certify`` for a few shapes (``shapes="few"``).
REFIMPL_SHAPES = "few"


def softmax_attention(q, k, v, *, bias=None, mask=None, causal=False, scale=None):
    """``jax.nn.dot_product_attention`` with one head."""
    q, k, v, bias, mask = one_head(q, k, v, bias, mask, jnp)
    out = jax.nn.dot_product_attention(q, k, v, bias=bias, mask=mask, scale=scale,
                                       is_causal=causal)
    return np.asarray(out)[..., 0, :]
