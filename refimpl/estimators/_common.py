"""Shared pieces of the estimators: the scale convention and the RA target, in one place."""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import logsumexp, softmax

from .._validate import (
    as_float_array,
    batch_shape,
    check_trailing,
    real_scalar,
)
from ..attention import (
    _finite_result,
    _qkv,
)

_T = np.swapaxes  # (..., a, b) -> (..., b, a)


def _finite_outputs(func):
    """Evaluate with floating-point warnings off; refuse non-finite results by argument.

    Finite inputs whose products exceed the float64 range would otherwise give NaN or
    infinity (or a RuntimeWarning, an error in the test suite) instead of the documented
    ``ValueError``.
    """

    @functools.wraps(func)
    def guarded(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out = func(*args, **kwargs)
        for part in out if isinstance(out, tuple) else (out,):
            _finite_result(np.asarray(part), "the inputs (q, k, v, omega, mu)")
        return out

    return guarded


# -- the scale convention, in one place ---------------------------------------------------------

def _roots(scale, d: int) -> tuple[float, float]:
    """Factors (for q, for k) whose product is ``scale`` (default 1/sqrt(d)); k's is >= 0."""
    s = 1.0 / np.sqrt(d) if scale is None else real_scalar(scale, "scale")
    root = np.sqrt(abs(s))
    return (root if s >= 0 else -root), root


def _scaled(q, k, v, scale):
    """Validated ``q, k, v`` and the scaled ``q~ = sqrt(s) q``, ``k~ = sqrt(s) k``."""
    q, k, v, *_ = _qkv(q, k, v)
    rq, rk = _roots(scale, q.shape[-1])
    return rq * q, rk * k, v


def _scaled_qk(q, k, scale):
    """Validated, scaled ``q (..., L, d)`` and ``k (..., S, d)`` (no values)."""
    q = as_float_array(q, "q", min_ndim=2)
    k = as_float_array(k, "k", min_ndim=2)
    check_trailing(k, "k", (q.shape[-1],), what="(the last dimension of q)")
    batch_shape({"q": q.shape[:-2], "k": k.shape[:-2]})
    rq, rk = _roots(scale, q.shape[-1])
    return rq * q, rk * k


def _log_xi(x, omega):
    """log xi(x, omega) = omega . x - |x|^2 / 2: x (..., n, d), omega (..., J, d) -> (..., n, J)."""
    return x @ _T(omega, -1, -2) - 0.5 * np.sum(x * x, axis=-1)[..., None]


def _target(omega, kt, v):
    """f(omega) and log sum_m xi(k_m, omega) for omega (..., J, d): (..., J, dv), (..., J)."""
    log_k = _log_xi(kt, omega)  # (..., S, J)
    return _T(softmax(log_k, axis=-2), -1, -2) @ v, logsumexp(log_k, axis=-2)


