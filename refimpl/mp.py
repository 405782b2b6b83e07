"""High-precision twins of refimpl's oracles, in mpmath, for tiny sizes.

Each function here has the name of the float64 oracle it checks and evaluates the same
definition with ``dps`` significant digits (50 by default), then rounds the result to
float64. The inputs are float64 numbers, which mpmath represents exactly, so the only
error of the twin is its final rounding (half an ulp of each output).
"""

from __future__ import annotations

import mpmath
import numpy as np

from ._validate import as_float_array, as_mask_array, positive_int

__all__ = ["softmax_attention"]


def softmax_attention(q, k, v, *, bias=None, mask=None, causal=False, scale=None, dps=50,
                      return_weights=False):
    r"""Softmax attention evaluated in mpmath at ``dps`` digits (2-D inputs only).

    Parameters
    ----------
    q, k, v : array_like, shapes (L, d), (S, d), (S, dv)
    bias, mask : array_like, shape (L, S), optional
        As in :func:`refimpl.attention.softmax_attention` (no broadcasting here).
    causal : bool
        Keep keys ``j <= i``.
    scale : float, optional
        Logit scale; ``None`` means exactly :math:`1/\sqrt{d}` (not its float64 rounding).
    dps : int
        Decimal digits of the working precision.
    return_weights : bool
        Also return the attention probabilities ``p`` (rounded to float64).

    Returns
    -------
    out : numpy.ndarray, shape (L, dv)
    p : numpy.ndarray, shape (L, S)
        Only with ``return_weights=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl import mp
    >>> mp.softmax_attention(np.zeros((1, 1)), np.zeros((2, 1)), np.array([[0.0], [1.0]]))
    array([[0.5]])
    """
    q = as_float_array(q, "q", ndim=2)
    k = as_float_array(k, "k", ndim=2)
    v = as_float_array(v, "v", ndim=2)
    (L, d), (S, dv) = q.shape, v.shape
    bias = np.zeros((L, S)) if bias is None else as_float_array(bias, "bias", ndim=2)
    mask = np.ones((L, S)) if mask is None else as_mask_array(mask, "mask")
    dps = positive_int(dps, "dps")
    with mpmath.workdps(dps):
        s = 1 / mpmath.sqrt(d) if scale is None else mpmath.mpf(float(scale))
        out = np.empty((L, dv))
        weights = np.zeros((L, S))
        for i in range(L):
            keys = [j for j in range(S) if mask[i, j] > 0 and (not causal or j <= i)]
            if not keys:
                raise ValueError(f"row {i} has no allowed key")
            logits = {
                j: s * mpmath.fsum(mpmath.mpf(q[i, c]) * mpmath.mpf(k[j, c]) for c in range(d))
                + mpmath.mpf(bias[i, j]) + mpmath.log(mpmath.mpf(mask[i, j]))
                for j in keys
            }
            top = max(logits.values())
            w = {j: mpmath.exp(z - top) for j, z in logits.items()}
            total = mpmath.fsum(w.values())
            for e in range(dv):
                out[i, e] = float(mpmath.fsum(w[j] * mpmath.mpf(v[j, e]) for j in keys) / total)
            for j in keys:
                weights[i, j] = float(w[j] / total)
    return (out, weights) if return_weights else out
