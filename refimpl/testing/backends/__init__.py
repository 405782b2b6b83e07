"""Backends for ``refimpl certify``: thin adapters of real libraries, one small module each.

Each adapter is written the way a user would write it: tensors in and out, the library's
own functions, no argument checks and no hand broadcasting (the harness reports what a
library refuses as unsupported features, and what it computes wrongly as failures).
Nothing here is imported by refimpl's core; an adapter imports its framework when it is
imported itself, and says which package is missing otherwise.

============================================  =================================================
module                                        what
============================================  =================================================
``refimpl.testing.backends.reference``        refimpl itself, all public names in one namespace
                                              (the harness's positive control)
``refimpl.testing.backends.numpy32``          a float32 NumPy implementation (``--dtype
                                              float32``)
``refimpl.testing.backends.scipy``            ``scipy.linalg.matmul_toeplitz``,
                                              ``scipy.signal.fftconvolve``,
                                              ``scipy.sparse.linalg.expm_multiply``
``refimpl.testing.backends.torch``            ``scaled_dot_product_attention``, ``matrix_exp``,
                                              ``StickBreakingTransform``; ``:mha`` for the
                                              ``multi_head_attention_forward`` core (extra
                                              ``torch``)
``refimpl.testing.backends.jax``              ``jax.nn.dot_product_attention`` (extra ``jax``)
``refimpl.testing.backends.flax``             ``flax.linen.dot_product_attention`` (``flax``)
``refimpl.testing.backends.keras``            ``keras.ops.dot_product_attention`` (``keras``)
``refimpl.testing.backends.sklearn``          ``sklearn.metrics.pairwise`` kernels and
                                              ``RBFSampler`` (extra ``sklearn``)
``refimpl.testing.backends.performer``        performer-pytorch's orthogonal random features
                                              (extra ``performer``)
``refimpl.testing.backends.neural_tangents``  the ReLU NNGP and NTK of ``neural_tangents.stax``
                                              (extra ``neural-tangents``, JAX < 0.5)
============================================  =================================================

Examples
--------
>>> from refimpl.testing import backends
>>> backends.ADAPTERS["scipy"]
'refimpl.testing.backends.scipy'
"""

from __future__ import annotations

import importlib

import numpy as np

#: Adapter names and their module paths (for ``refimpl certify MODULE``).
ADAPTERS = {
    "reference": "refimpl.testing.backends.reference",
    "numpy32": "refimpl.testing.backends.numpy32",
    "scipy": "refimpl.testing.backends.scipy",
    "torch": "refimpl.testing.backends.torch",
    "torch-mha": "refimpl.testing.backends.torch:mha",
    "jax": "refimpl.testing.backends.jax",
    "flax": "refimpl.testing.backends.flax",
    "keras": "refimpl.testing.backends.keras",
    "sklearn": "refimpl.testing.backends.sklearn",
    "performer": "refimpl.testing.backends.performer",
    "neural-tangents": "refimpl.testing.backends.neural_tangents",
}

#: The pip extra that installs each adapter's framework.
EXTRAS = {"torch": "torch", "jax": "jax", "flax": "flax", "keras": "keras",
          "performer": "performer", "sklearn": "sklearn",
          "neural_tangents": "neural-tangents"}


def require(module: str, adapter: str):
    """Import ``module`` for the adapter ``adapter``, or raise ImportError saying what to
    install (``python -m pip install "refimpl[EXTRA]"``)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = EXTRAS.get(adapter, adapter)
        raise ImportError(f"refimpl.testing.backends.{adapter} needs the package "
                          f"{module.split('.')[0]!r}, which is not installed: python -m pip "
                          f"install \"refimpl[{extra}]\" ({exc})") from exc


def one_head(q, k, v, bias, mask, xp):
    """refimpl's attention arguments for a ``(..., L, heads, d)`` API with one head.

    ``xp`` is the array namespace (``jax.numpy``, ``numpy``). A weighted mask ``M`` is
    folded into the bias as ``log M``; a boolean one stays a mask; both get a head axis.
    """
    q, k, v = (xp.asarray(a)[..., None, :] for a in (q, k, v))
    if mask is not None and np.asarray(mask).dtype != bool:
        log_m = xp.log(xp.asarray(mask, dtype=q.dtype))
        bias = log_m if bias is None else xp.asarray(bias, dtype=q.dtype) + log_m
        mask = None
    bias = None if bias is None else xp.asarray(bias, dtype=q.dtype)[..., None, :, :]
    mask = None if mask is None else xp.asarray(mask)[..., None, :, :]
    return q, k, v, bias, mask
