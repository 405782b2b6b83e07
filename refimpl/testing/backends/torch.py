"""PyTorch as it is: a thin adapter of its attention, matrix exponential and stick-breaking.

``refimpl certify refimpl.testing.backends.torch`` (float64 tensors) or ``--dtype
float32``. Needs the ``torch`` extra (``python -m pip install "refimpl[torch]"``).

=========================  ===================================================================
refimpl name               PyTorch
=========================  ===================================================================
``softmax_attention``      :func:`torch.nn.functional.scaled_dot_product_attention`; a
                           multiplicative mask ``M`` is passed as the additive ``log M`` (a
                           boolean mask as is)
``DiffusionMask``          :func:`torch.linalg.matrix_exp` of ``lam W``, then ``@ X``
``stick_breaking``         :class:`torch.distributions.transforms.StickBreakingTransform` on
                           the first ``R - 1`` logits, shifted by ``log(R - 1 - i)`` (PyTorch
                           centres its logits so that zeros give equal weights)
``mha.softmax_attention``  :func:`torch.nn.functional.multi_head_attention_forward` with one
                           head and identity projections (the core of
                           :class:`torch.nn.MultiheadAttention`): ``refimpl certify
                           refimpl.testing.backends.torch:mha``
=========================  ===================================================================

No argument is checked here: what PyTorch refuses is reported as an unsupported feature,
NaN in gives NaN out, and a fully masked row is PyTorch's convention.

Examples
--------
>>> import numpy as np
>>> from refimpl.testing.backends import torch as tb  # doctest: +SKIP
>>> tb.softmax_attention(np.zeros((1, 2)), np.zeros((3, 2)), np.ones((3, 1)))  # doctest: +SKIP
array([[1.]])
"""

from __future__ import annotations

import types

import networkx as nx
import numpy as np
import scipy.sparse

from . import require

torch = require("torch", "torch")
F = torch.nn.functional

__all__ = ["DiffusionMask", "mha", "softmax_attention", "stick_breaking"]


def _t(x):
    return torch.as_tensor(np.asarray(x))


def _additive(mask, bias, dtype):
    """refimpl's multiplicative mask and additive bias as one SDPA ``attn_mask``."""
    attn = None
    if mask is not None:
        m = _t(mask)
        attn = m if m.dtype == torch.bool else torch.log(m.to(dtype))
    if bias is not None:
        b = _t(bias).to(dtype)
        if attn is None:
            attn = b
        elif attn.dtype == torch.bool:
            attn = b.masked_fill(~attn, float("-inf"))
        else:
            attn = attn + b
    return attn


def softmax_attention(q, k, v, *, bias=None, mask=None, causal=False, scale=None):
    """``scaled_dot_product_attention(q, k, v, attn_mask=log M + B, is_causal, scale)``."""
    q, k, v = _t(q), _t(k), _t(v)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=_additive(mask, bias, q.dtype),
                                         is_causal=causal, scale=scale)
    return out.numpy()


def _dense(W):
    if isinstance(W, nx.Graph):
        return nx.to_numpy_array(W, nodelist=sorted(W))
    return W.toarray() if scipy.sparse.issparse(W) else np.asarray(W)


class DiffusionMask:
    """``torch.linalg.matrix_exp(lam * W) @ X``."""

    def __init__(self, W, lam=1.0):
        self.W, self.lam = _t(_dense(W)), lam

    def __matmul__(self, X):
        return (torch.linalg.matrix_exp(self.lam * self.W) @ _t(X).to(self.W.dtype)).numpy()


def stick_breaking(logits):
    """``StickBreakingTransform()`` of the first R - 1 logits, uncentred."""
    x = _t(logits)[..., :-1]
    offset = torch.arange(x.shape[-1], 0, -1, dtype=x.dtype)
    return torch.distributions.transforms.StickBreakingTransform()(x + offset.log()).numpy()


def _mha_attention(q, k, v, *, bias=None, mask=None, causal=False, scale=None):
    """One head of ``multi_head_attention_forward`` with identity projections."""
    if scale is not None or causal:
        raise NotImplementedError("MultiheadAttention has no scale argument and no causal "
                                  "flag without a mask")
    q, k, v = _t(q), _t(k), _t(v)
    if mask is not None:  # MultiheadAttention's boolean masks mean "ignore": pass log M
        mask = np.asarray(mask, dtype=np.asarray(q).dtype)
    d = q.shape[-1]
    eye, zero = torch.eye(d, dtype=q.dtype), torch.zeros(d, dtype=q.dtype)
    unbatched = q.dim() == 2
    if not unbatched:  # (N, L, E) -> (L, N, E), MultiheadAttention's layout
        q, k, v = (t.transpose(0, 1) for t in (q, k, v))
    out, _ = F.multi_head_attention_forward(
        q, k, v, d, 1, in_proj_weight=None, in_proj_bias=torch.cat([zero, zero, zero]),
        bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0.0,
        out_proj_weight=eye, out_proj_bias=zero, use_separate_proj_weight=True,
        q_proj_weight=eye, k_proj_weight=eye, v_proj_weight=eye,
        attn_mask=_additive(mask, bias, q.dtype), need_weights=False)
    return (out if unbatched else out.transpose(0, 1)).numpy()


#: ``refimpl certify refimpl.testing.backends.torch:mha``
mha = types.SimpleNamespace(softmax_attention=_mha_attention)
