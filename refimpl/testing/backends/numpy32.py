"""A float32 NumPy backend: an example of certifying low-precision code.

Every function computes in float32 (single-precision BLAS, float32 FFTs) and returns
float32, validating its arguments as refimpl does. Certify it with::

    refimpl certify refimpl.testing.backends.numpy32 --dtype float32

It passes under the baseline rule (``docs/tolerances.md``) and fails under
``--dtype float64``, as any float32 code must: float64 certification asks for float64
accuracy.

Examples
--------
>>> import numpy as np
>>> from refimpl.testing.backends import numpy32
>>> numpy32.softmax_attention(np.zeros((1, 2)), np.zeros((3, 2)), np.ones((3, 1))).dtype
dtype('float32')
"""

from __future__ import annotations

import numpy as np
import scipy.fft

__all__ = ["CausalMask", "ToeplitzMask", "fourier_features", "hyperbolic_features",
           "kernel_attention", "masked_linear_attention", "positive_features", "rbf_kernel",
           "softmax_attention", "stick_breaking", "trig_features"]

F32 = np.float32


def _array(x, name, min_ndim=1):
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real array; got dtype {a.dtype}")
    a = a.astype(F32)
    if a.ndim < min_ndim or a.size == 0:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions and no empty "
                         f"axis; got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a


def _pair(x, name, L, S, *, mask=False):
    a = _array(x, name, 2)
    if a.shape[-2] not in (1, L) or a.shape[-1] not in (1, S):
        raise ValueError(f"{name} must have trailing dimensions ({L}, {S}); got {a.shape}")
    if mask and np.any(a < 0):
        raise ValueError(f"{name} must be nonnegative")
    return a


def _check_rows(q, k, v):
    if k.shape[-1] != q.shape[-1] or v.shape[-2] != k.shape[-2]:
        raise ValueError(f"inconsistent shapes {q.shape}, {k.shape}, {v.shape}")
    np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])


def softmax_attention(q, k, v, *, bias=None, mask=None, causal=False, scale=None):
    """Softmax attention in float32 by log-sum-exp (not the max-shifted quotient)."""
    q, k, v = _array(q, "q", 2), _array(k, "k", 2), _array(v, "v", 2)
    _check_rows(q, k, v)
    L, S = q.shape[-2], k.shape[-2]
    if causal and L != S:
        raise ValueError("causal=True needs L == S")
    s = F32(1.0 / np.sqrt(q.shape[-1]) if scale is None else scale)
    logits = np.einsum("...ld,...sd->...ls", q * s, k)
    if bias is not None:
        logits = logits + _pair(bias, "bias", L, S)
    allowed = np.ones((L, S), bool) if not causal else np.tri(L, S, dtype=bool)
    if mask is not None:
        m = _pair(mask, "mask", L, S, mask=True)
        allowed = allowed & (m > 0)
        with np.errstate(divide="ignore"):
            logits = logits + np.log(m)
    logits = np.where(allowed, logits, F32(-np.inf))
    top = logits.max(axis=-1, keepdims=True)
    if np.any(np.isneginf(top)):
        raise ValueError("a row has no allowed key")
    lse = top + np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))
    return np.exp(logits - lse) @ v


def _linear(phi_q, phi_k, v, mask, causal):
    phi_q, phi_k, v = _array(phi_q, "phi_q", 2), _array(phi_k, "phi_k", 2), _array(v, "v", 2)
    _check_rows(phi_q, phi_k, v)
    L, S = phi_q.shape[-2], phi_k.shape[-2]
    if causal and L != S:
        raise ValueError("causal=True needs L == S")
    scores = np.einsum("...lm,...sm->...ls", phi_q, phi_k)
    if mask is not None:
        scores = scores * _pair(mask, "mask", L, S)
    if causal:
        scores = scores * np.tri(L, S, dtype=F32)
    den = scores.sum(axis=-1, keepdims=True)
    if np.any(den == 0):
        raise ValueError("a row has a zero normaliser")
    return np.einsum("...ls,...sd->...ld", scores, v) / den


def kernel_attention(phi_q, phi_k, v, *, mask=None, causal=False):
    """Kernel attention in float32 (dense)."""
    return _linear(phi_q, phi_k, v, mask, causal)


def masked_linear_attention(phi_q, phi_k, v, mask):
    """Masked linear attention in float32 (dense masks only)."""
    return _linear(phi_q, phi_k, v, mask, False)


def _project(x, omega):
    x, omega = _array(x, "x", 1), _array(omega, "omega", 2)
    if omega.shape[-1] != x.shape[-1]:
        raise ValueError(f"omega must have {x.shape[-1]} columns; got {omega.shape}")
    proj = np.einsum("...d,...md->...m", x, omega)
    return proj, F32(0.5) * np.einsum("...d,...d->...", x, x)[..., None], omega.shape[-2]


def positive_features(x, omega):
    proj, half, m = _project(x, omega)
    return np.exp(proj - half) / np.sqrt(F32(m))


def hyperbolic_features(x, omega):
    proj, half, m = _project(x, omega)
    return np.exp(np.concatenate([proj, -proj], axis=-1) - half) / np.sqrt(F32(2 * m))


def trig_features(x, omega):
    proj, half, m = _project(x, omega)
    return np.concatenate([np.sin(proj), np.cos(proj)], axis=-1) * (np.exp(half)
                                                                     / np.sqrt(F32(m)))


def fourier_features(x, omega):
    proj, _, m = _project(x, omega)
    return np.concatenate([np.sin(proj), np.cos(proj)], axis=-1) / np.sqrt(F32(m))


def stick_breaking(logits):
    """Stick-breaking weights in float32, in log space."""
    x = _array(logits, "logits", 1)
    log_keep = -np.logaddexp(F32(0), x[..., :-1])  # log(1 - sigma) = log sigma(-x)
    log_take = -np.logaddexp(F32(0), -x[..., :-1])
    before = np.concatenate([np.zeros(x.shape[:-1] + (1,), F32),
                             np.cumsum(log_keep, axis=-1)], axis=-1)
    take = np.concatenate([log_take, np.zeros(x.shape[:-1] + (1,), F32)], axis=-1)
    return np.exp(before + take)


def rbf_kernel(x, y=None, *, lengthscale=1.0):
    x = _array(x, "x", 1)
    y = x if y is None else _array(y, "y", 1)
    x, y = (a[:, None] if a.ndim == 1 else a for a in (x, y))
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must be (n, d) and (p, d); got {x.shape}, {y.shape}")
    if not lengthscale > 0:
        raise ValueError("lengthscale must be positive")
    diff = x[:, None, :] - y[None, :, :]
    return np.exp(-np.einsum("npd,npd->np", diff, diff) / F32(2 * lengthscale**2))


class _Mask:
    shape: tuple

    def _operand(self, X):
        X = _array(X, "X", 1)
        if X.ndim > 2 or X.shape[0] != self.shape[1]:
            raise ValueError(f"X must have {self.shape[1]} rows; got shape {X.shape}")
        return X

    def __matmul__(self, X):
        X = self._operand(X)
        out = self._apply(X.reshape(X.shape[0], -1))
        return out.reshape((self.shape[0],) + X.shape[1:])


class ToeplitzMask(_Mask):
    """Toeplitz mask with a float32 FFT product."""

    def __init__(self, c, r=None):
        c = _array(c, "c")
        r = c if r is None else _array(r, "r")
        self.shape = (c.size, r.size)
        n = scipy.fft.next_fast_len(c.size + r.size - 1)
        e = np.zeros(n, F32)
        e[: c.size] = c
        if r.size > 1:
            e[n - r.size + 1:] = r[:0:-1]
        self._n, self._spectrum = n, scipy.fft.rfft(e)

    def _apply(self, X):
        spectrum = scipy.fft.rfft(X, n=self._n, axis=0) * self._spectrum[:, None]
        return scipy.fft.irfft(spectrum, n=self._n, axis=0)[: self.shape[0]].astype(F32)


class CausalMask(_Mask):
    """Decayed causal mask with a float32 scan."""

    def __init__(self, L, gamma=1.0):
        if not isinstance(L, (int, np.integer)) or L < 1:
            raise ValueError(f"L must be a positive integer; got {L!r}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1]; got {gamma}")
        self.shape, self.gamma = (int(L), int(L)), F32(gamma)

    def _apply(self, X):
        out = np.empty_like(X)
        state = np.zeros(X.shape[1], F32)
        for i in range(X.shape[0]):
            state = self.gamma * state + X[i]
            out[i] = state
        return out
