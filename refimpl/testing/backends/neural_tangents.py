"""neural-tangents as it is: the infinite-width NNGP and NTK of a ReLU network.

``refimpl certify refimpl.testing.backends.neural_tangents``; needs the
``neural-tangents`` extra (``python -m pip install "refimpl[neural-tangents]"``), whose
release 0.6.5 imports only with JAX up to 0.4.x (``jax.core.Jaxpr`` is gone from later
releases). Importing this adapter turns on ``jax_enable_x64``.

``nngp_relu_kernel(x, y, depth=L, sigma_w2, sigma_b2)`` and ``ntk_relu_kernel`` are the
``kernel_fn`` of ``stax.serial`` of L blocks ``Dense(W_std=sigma_w, b_std=sigma_b), Relu()``
and a last ``Dense``, in the NTK parametrisation (neural-tangents' default), which is
refimpl's.

Examples
--------
>>> import numpy as np
>>> from refimpl.testing.backends import neural_tangents as ntb  # doctest: +SKIP
>>> ntb.ntk_relu_kernel(np.ones((1, 2)), depth=1)  # doctest: +SKIP
array([[2.]])
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import require

jax = require("jax", "neural_tangents")
jax.config.update("jax_enable_x64", True)
stax = require("neural_tangents.stax", "neural_tangents")

__all__ = ["nngp_relu_kernel", "ntk_relu_kernel"]


@functools.lru_cache(maxsize=64)
def _kernel_fn(depth, sigma_w2, sigma_b2):
    dense = functools.partial(stax.Dense, 1, W_std=math.sqrt(sigma_w2), b_std=math.sqrt(sigma_b2))
    layers = [layer for _ in range(depth) for layer in (dense(), stax.Relu())]
    return stax.serial(*layers, dense())[2]


def _points(x):
    x = np.asarray(x)
    return x[:, None] if x.ndim == 1 else x


def nngp_relu_kernel(x, y=None, *, depth, sigma_w2=2.0, sigma_b2=0.0):
    """``kernel_fn(x, y, "nngp")`` of the ReLU network of ``depth`` hidden layers."""
    y = None if y is None else _points(y)
    return np.asarray(_kernel_fn(depth, sigma_w2, sigma_b2)(_points(x), y, "nngp"))


def ntk_relu_kernel(x, y=None, *, depth, sigma_w2=2.0, sigma_b2=0.0):
    """``kernel_fn(x, y, "ntk")`` of the ReLU network of ``depth`` hidden layers."""
    y = None if y is None else _points(y)
    return np.asarray(_kernel_fn(depth, sigma_w2, sigma_b2)(_points(x), y, "ntk"))
