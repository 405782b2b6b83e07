"""Keras as it is: ``keras.ops.dot_product_attention``.

``refimpl certify refimpl.testing.backends.keras``; needs the ``keras`` extra (``python -m
pip install "refimpl[keras]"``). Keras runs on the backend named by ``KERAS_BACKEND``;
this adapter sets it to ``numpy`` when it is unset (no TensorFlow, JAX or PyTorch needed).

``softmax_attention(q, k, v)`` is ``keras.ops.dot_product_attention`` on
``(B, L, 1, d)`` arrays (one head; Keras wants four dimensions): refimpl's multiplicative
mask goes in as the bias ``log M`` (a boolean one as ``mask``), ``causal`` as
``is_causal``, ``scale`` as ``scale``.

Examples
--------
>>> import numpy as np
>>> from refimpl.testing.backends import keras as kb  # doctest: +SKIP
>>> kb.softmax_attention(np.zeros((1, 2)), np.zeros((3, 2)), np.ones((3, 2)))  # doctest: +SKIP
array([[1., 1.]], dtype=float32)
"""

from __future__ import annotations

import os

import numpy as np

from . import one_head, require

os.environ.setdefault("KERAS_BACKEND", "numpy")
keras = require("keras", "keras")

__all__ = ["softmax_attention"]


def softmax_attention(q, k, v, *, bias=None, mask=None, causal=False, scale=None):
    """``keras.ops.dot_product_attention`` with one head."""
    unbatched = np.ndim(q) == 2
    q, k, v, bias, mask = one_head(q, k, v, bias, mask, np)
    if unbatched:
        q, k, v = q[None], k[None], v[None]
    out = keras.ops.dot_product_attention(q, k, v, bias=bias, mask=mask, scale=scale,
                                          is_causal=causal)
    out = keras.ops.convert_to_numpy(out)[..., 0, :]
    return out[0] if unbatched else out
