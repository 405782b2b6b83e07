"""A PyTorch (CPU) adapter: certify PyTorch's attention against refimpl.

Requires the optional ``torch`` extra (``python -m pip install "refimpl[torch]"``); refimpl
never imports this module itself. Certify with::

    refimpl certify refimpl.testing.backends.torch                   # float64 tensors
    refimpl certify refimpl.testing.backends.torch --dtype float32   # float32 tensors

The adapter is the pattern for any framework: convert NumPy inputs to tensors of the same
dtype, call the framework, convert back with ``.numpy()``, and translate the framework's
errors into refimpl's documented ones. PyTorch raises ``RuntimeError`` for a shape
mismatch and returns NaN for NaN inputs or a fully masked row, where refimpl's contract
says ``ValueError``; the adapter checks those inputs itself and converts the rest.

``softmax_attention`` is :func:`torch.nn.functional.scaled_dot_product_attention` (the
math path on CPU), with refimpl's multiplicative mask passed as the additive mask
``log M`` and ``causal`` folded into it.

Examples
--------
>>> import numpy as np
>>> from refimpl.testing.backends import torch as tb  # doctest: +SKIP
>>> tb.softmax_attention(np.zeros((1, 2)), np.zeros((3, 2)), np.ones((3, 1)))  # doctest: +SKIP
array([[1.]])
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

__all__ = ["CausalMask", "ToeplitzMask", "fourier_features", "hyperbolic_features",
           "kernel_attention", "masked_linear_attention", "positive_features", "rbf_kernel",
           "softmax_attention", "trig_features"]


def _translated(fn):
    """Raise ValueError for PyTorch's RuntimeError (shape mismatches) and IndexError."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (RuntimeError, IndexError) as exc:
            raise ValueError(f"{fn.__name__}: {exc}") from exc
    return wrapper


def _tensor(x, name, min_ndim=1):
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real array; got dtype {a.dtype}")
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    if a.ndim < min_ndim or a.size == 0:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions and no empty "
                         f"axis; got shape {a.shape}")
    t = torch.from_numpy(np.ascontiguousarray(a))
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite (NaN or infinity found)")
    return t


def _pair(x, name, L, S, dtype):
    t = _tensor(x, name, 2).to(dtype)
    if t.shape[-2] not in (1, L) or t.shape[-1] not in (1, S):
        raise ValueError(f"{name} must have trailing dimensions ({L}, {S}); got {tuple(t.shape)}")
    return t


def _common(q, k, v, names=("q", "k", "v")):
    q, k, v = (_tensor(a, n, 2) for a, n in zip((q, k, v), names))
    dtype = torch.promote_types(torch.promote_types(q.dtype, k.dtype), v.dtype)
    q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
    if k.shape[-1] != q.shape[-1] or v.shape[-2] != k.shape[-2]:
        raise ValueError(f"inconsistent shapes {tuple(q.shape)}, {tuple(k.shape)}, "
                         f"{tuple(v.shape)}")
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    return (q.expand(batch + q.shape[-2:]), k.expand(batch + k.shape[-2:]),
            v.expand(batch + v.shape[-2:]))


@_translated
def softmax_attention(q, k, v, *, bias=None, mask=None, causal=False, scale=None):
    """refimpl's ``softmax_attention`` through ``scaled_dot_product_attention``."""
    q, k, v = _common(q, k, v)
    L, S = q.shape[-2], k.shape[-2]
    if causal and L != S:
        raise ValueError(f"causal=True needs L == S; got L={L}, S={S}")
    additive = torch.zeros((L, S), dtype=q.dtype)
    if bias is not None:
        additive = additive + _pair(bias, "bias", L, S, q.dtype)
    allowed = torch.ones((L, S), dtype=torch.bool)
    if causal:
        allowed = torch.tril(allowed)
    if mask is not None:
        m = _pair(mask, "mask", L, S, q.dtype)
        if bool((m < 0).any()):
            raise ValueError("mask must be nonnegative (multiplicative weights)")
        allowed = allowed & (m > 0)
        additive = additive + torch.log(torch.where(m > 0, m, torch.ones_like(m)))
    if bool((~allowed).all(dim=-1).any()):
        raise ValueError("a row of the mask has no allowed key")
    additive = additive.masked_fill(~allowed, float("-inf"))
    batch = q.shape[:-2]
    additive = additive.expand(batch + additive.shape[-2:]) if batch else additive
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=additive,
                                                           scale=s)
    return out.numpy()


def _linear(phi_q, phi_k, v, mask, causal):
    phi_q, phi_k, v = _common(phi_q, phi_k, v, ("phi_q", "phi_k", "v"))
    L, S = phi_q.shape[-2], phi_k.shape[-2]
    if causal and L != S:
        raise ValueError(f"causal=True needs L == S; got L={L}, S={S}")
    scores = phi_q @ phi_k.transpose(-1, -2)
    if mask is not None:
        scores = scores * _pair(mask, "mask", L, S, phi_q.dtype)
    if causal:
        scores = torch.tril(scores)
    den = scores.sum(dim=-1, keepdim=True)
    if bool((den == 0).any()):
        raise ValueError("a row has a zero normaliser")
    return ((scores @ v) / den).numpy()


@_translated
def kernel_attention(phi_q, phi_k, v, *, mask=None, causal=False):
    """Dense kernel attention with tensors."""
    return _linear(phi_q, phi_k, v, mask, causal)


@_translated
def masked_linear_attention(phi_q, phi_k, v, mask):
    """Masked linear attention with a dense mask tensor."""
    return _linear(phi_q, phi_k, v, mask, False)


def _project(x, omega):
    x, omega = _tensor(x, "x", 1), _tensor(omega, "omega", 2)
    omega = omega.to(x.dtype)
    if omega.shape[-1] != x.shape[-1]:
        raise ValueError(f"omega must have {x.shape[-1]} columns; got {tuple(omega.shape)}")
    proj = torch.einsum("...md,...d->...m", omega, x)
    return proj, 0.5 * (x * x).sum(dim=-1, keepdim=True), omega.shape[-2]


@_translated
def positive_features(x, omega):
    proj, half, m = _project(x, omega)
    return (torch.exp(proj - half) / math.sqrt(m)).numpy()


@_translated
def hyperbolic_features(x, omega):
    proj, half, m = _project(x, omega)
    return (torch.exp(torch.cat([proj, -proj], dim=-1) - half) / math.sqrt(2 * m)).numpy()


@_translated
def trig_features(x, omega):
    proj, half, m = _project(x, omega)
    return (torch.cat([torch.sin(proj), torch.cos(proj)], -1) * torch.exp(half)
            / math.sqrt(m)).numpy()


@_translated
def fourier_features(x, omega):
    proj, _, m = _project(x, omega)
    return (torch.cat([torch.sin(proj), torch.cos(proj)], -1) / math.sqrt(m)).numpy()


@_translated
def rbf_kernel(x, y=None, *, lengthscale=1.0):
    """``torch.cdist`` without its matrix-product shortcut (which cancels near the diagonal)."""
    x = _tensor(x, "x", 1)
    y = x if y is None else _tensor(y, "y", 1).to(x.dtype)
    x, y = (t[:, None] if t.ndim == 1 else t for t in (x, y))
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must be (n, d), (p, d); got {tuple(x.shape)}, "
                         f"{tuple(y.shape)}")
    if not lengthscale > 0:
        raise ValueError(f"lengthscale must be positive; got {lengthscale}")
    dist = torch.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist")
    return torch.exp(-(dist * dist) / (2.0 * lengthscale**2)).numpy()


class _Mask:
    shape: tuple
    dtype = None  # None: compute in the dtype of X

    def __matmul__(self, X):
        X = _tensor(X, "X", 1)
        X = X.to(self.dtype) if self.dtype is not None else X
        if X.ndim > 2 or X.shape[0] != self.shape[1]:
            raise ValueError(f"X must have {self.shape[1]} rows; got shape {tuple(X.shape)}")
        out = self._apply(X.reshape(X.shape[0], -1))
        return out.reshape((self.shape[0],) + tuple(X.shape[1:])).numpy()


class ToeplitzMask(_Mask):
    """Toeplitz mask, product by ``torch.fft`` on the circulant embedding."""

    def __init__(self, c, r=None):
        c = _tensor(c, "c")
        r = c if r is None else _tensor(r, "r").to(c.dtype)
        if c.ndim != 1 or r.ndim != 1:
            raise ValueError("c and r must be one-dimensional")
        self.dtype, self.shape = c.dtype, (c.numel(), r.numel())
        n = c.numel() + r.numel() - 1
        e = torch.zeros(n, dtype=c.dtype)
        e[: c.numel()] = c
        if r.numel() > 1:
            e[n - r.numel() + 1:] = torch.flip(r[1:], dims=(0,))
        self._n, self._spectrum = n, torch.fft.rfft(e)

    def _apply(self, X):
        spectrum = torch.fft.rfft(X, n=self._n, dim=0) * self._spectrum[:, None]
        return torch.fft.irfft(spectrum, n=self._n, dim=0)[: self.shape[0]]


class CausalMask(_Mask):
    """Decayed causal mask; ``cumsum`` for gamma = 1, a scan otherwise."""

    def __init__(self, L, gamma=1.0):
        if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 1:
            raise ValueError(f"L must be a positive integer; got {L!r}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1]; got {gamma}")
        self.shape, self.gamma = (int(L), int(L)), float(gamma)

    def _apply(self, X):
        if self.gamma == 1.0:
            return torch.cumsum(X, dim=0)
        rows, state = [], torch.zeros_like(X[0])
        for i in range(X.shape[0]):
            state = self.gamma * state + X[i]
            rows.append(state)
        return torch.stack(rows)
