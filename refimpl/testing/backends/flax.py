"""Flax as it is: ``flax.linen.dot_product_attention`` (float64 enabled).

``refimpl certify refimpl.testing.backends.flax``; needs the ``flax`` extra (``python -m
pip install "refimpl[flax]"``). Importing it turns on ``jax_enable_x64``.

``softmax_attention(q, k, v)`` is ``flax.linen.dot_product_attention`` on
``(..., L, 1, d)`` arrays (one head; any batch dimensions). Flax has no scale argument and
divides by ``sqrt(d)`` itself, so an explicit ``scale`` multiplies ``q`` by
``scale * sqrt(d)``; a multiplicative mask goes in as the bias ``log M`` (a boolean one
as ``mask``); ``causal`` as the boolean mask of :func:`flax.linen.make_causal_mask`.

Examples
--------
>>> import numpy as np
>>> from refimpl.testing.backends import flax as fb  # doctest: +SKIP
>>> fb.softmax_attention(np.zeros((1, 2)), np.zeros((3, 2)), np.ones((3, 2)))  # doctest: +SKIP
array([[1., 1.]])
"""

from __future__ import annotations

import math

import numpy as np

from . import one_head, require

jax = require("jax", "flax")
jax.config.update("jax_enable_x64", True)
nn = require("flax.linen", "flax")
jnp = jax.numpy

__all__ = ["REFIMPL_SHAPES", "softmax_attention"]

#: XLA compiles once per shape: ask ``certify`` for a few shapes (``shapes="few"``).
REFIMPL_SHAPES = "few"


def softmax_attention(q, k, v, *, bias=None, mask=None, causal=False, scale=None):
    """``flax.linen.dot_product_attention`` with one head."""
    q, k, v, bias, mask = one_head(q, k, v, bias, mask, jnp)
    if scale is not None:
        q = q * (scale * math.sqrt(q.shape[-1]))
    if causal:
        tri = jnp.tril(jnp.ones((q.shape[-3], k.shape[-3]), dtype=bool))
        mask = tri if mask is None else mask & tri
    out = nn.dot_product_attention(q, k, v, bias=bias, mask=mask)
    return np.asarray(out)[..., 0, :]
