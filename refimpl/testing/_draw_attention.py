"""Strategies for attention inputs: sizes, queries/keys/values, masks, biases, cases.

The implementation behind :mod:`refimpl.testing.strategies` (the documented public module).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math

import numpy as np
from hypothesis import strategies as st

PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23)

#: The kinds of dense mask drawn by :func:`attention_masks` (not exported).
MASK_KINDS = ("bool", "weights", "single", "key_padding", "banded")


#: The sizes drawn while :func:`few_shapes` is active (JIT frameworks compile per shape).
FEW_SIZES = (1, 2, 3, 5)
#: ``(L, S, d, dv, batch)`` of the attention cases while :func:`few_shapes` is active: sizes
#: 1, odd and prime, L != S, dv != d, one and two batch dimensions whose elements share the
#: unbatched shapes (so that batch-equals-loop invariants compile nothing new).
FEW_TEMPLATES = ((1, 1, 1, 1, ()), (3, 5, 2, 2, ()), (3, 5, 2, 2, (2,)), (5, 5, 3, 3, ()),
                 (5, 5, 3, 3, (2, 3)), (5, 5, 3, 1, ()))
_FEW = contextvars.ContextVar("refimpl_few_shapes", default=False)


@contextlib.contextmanager
def few_shapes(active: bool = True):
    """Draw sizes from :data:`FEW_SIZES`, batches from ``()``, ``(2,)``, ``(2, 3)`` and the
    shapes of attention cases from :data:`FEW_TEMPLATES` (full-shape masks and biases,
    no broadcast batch forms) inside the block, so that a JIT-compiling backend (JAX,
    Flax, XLA: about a second per new shape) compiles a few dozen shapes instead of
    hundreds; sizes 1, 2, odd and prime are still drawn.

    Examples
    --------
    >>> from hypothesis import find
    >>> with few_shapes():
    ...     find(sizes(max_size=8), lambda n: n > 3)
    5
    """
    token = _FEW.set(bool(active))
    try:
        yield
    finally:
        _FEW.reset(token)


def seeds():
    """Seeds of NumPy generators (``numpy.random.default_rng(seed)``).

    Examples
    --------
    >>> from hypothesis import find
    >>> find(seeds(), lambda s: s > 10) > 10
    True
    """
    return st.integers(0, 2**32 - 1)


def _rng(draw) -> np.random.Generator:
    return np.random.default_rng(draw(seeds()))


def sizes(*, min_size=1, max_size=8):
    """Sizes in ``[min_size, max_size]``: 1 to 3 often, odd and prime sizes, anything.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(sizes(max_size=8), lambda n: n == 7)
    7
    """
    if _FEW.get():
        few = [n for n in FEW_SIZES if min_size <= n <= max_size] or [min_size]
        return st.sampled_from(few)
    small = st.integers(min_size, max(min_size, min(max_size, 3)))
    primes = [p for p in PRIMES if min_size <= p <= max_size]
    odd = [n for n in range(min_size, max_size + 1) if n % 2]
    choices = [small, st.integers(min_size, max_size)]
    choices += [st.sampled_from(primes)] if primes else []
    choices += [st.sampled_from(odd)] if odd else []
    return st.one_of(*choices)


def batch_shapes(*, max_dims=2, max_side=3):
    """Batch shapes ``()``, ``(2,)``, ``(2, 3)``, ... (empty half of the time).

    Examples
    --------
    >>> from hypothesis import find
    >>> find(batch_shapes(), lambda b: len(b) == 2)
    (1, 1)
    """
    if _FEW.get():
        return st.sampled_from([(), (2,), (2, 3)][: max_dims + 1])
    return st.one_of(st.just(()), st.lists(st.integers(1, max_side), min_size=1,
                                           max_size=max_dims).map(tuple))


def _broadcast_form(draw, batch: tuple) -> tuple:
    """``batch`` itself, with some dimensions set to 1, or with leading ones dropped."""
    if _FEW.get():
        return batch
    form = draw(st.sampled_from(["full", "full", "ones", "drop"]))
    if form == "drop":
        return batch[draw(st.integers(0, len(batch))):]
    if form == "ones":
        return tuple(1 if draw(st.booleans()) else n for n in batch)
    return batch


def _sub_batch(batch: tuple):
    """Batch shapes that broadcast with ``batch``: none, its last dimension, or all of it."""
    if _FEW.get():
        return st.sampled_from([(), tuple(batch)])
    return st.sampled_from([(), tuple(batch[-1:]), tuple(batch)])


# -- queries, keys and values -------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class QKV:
    """Queries ``(..., L, d)``, keys ``(..., S, d)``, values ``(..., S, dv)`` and a scale.

    Examples
    --------
    >>> from hypothesis import find
    >>> c = find(qkv(), lambda c: c.scale is None)
    >>> c.q.shape[-1] == c.k.shape[-1] and c.k.shape[-2] == c.v.shape[-2]
    True
    """

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    scale: float | None


def _logit_sizes(max_logit: float):
    choices = [t for t in (0.0, 0.5, 3.0, 30.0, 1e3, 1e4) if t <= max_logit]
    if max_logit not in choices:
        choices.append(float(max_logit))
    return st.sampled_from(choices)


@st.composite
def qkv(draw, *, length=None, same_length=False, batch=True, max_length=8, max_dim=4,
        max_value_dim=3, max_logit=1e4, scales=True, same_depth=None):
    """Queries, keys and values whose largest logit ``|scale q . k|`` is drawn.

    Parameters
    ----------
    length : int, optional
        Fix ``L = S = length`` (e.g. the nodes of a graph).
    same_length : bool
        ``L == S`` (for ``causal=True``).
    batch : bool
        Draw broadcasting batch dimensions.
    max_length, max_dim, max_value_dim : int
        Largest ``L``/``S``, ``d`` and ``dv``.
    max_logit : float
        Largest ``max |scale q_i . k_j|``; drawn among 0, 0.5, 3, 30, 1e3 and 1e4 (up
        to this cap): ``q`` and ``k`` are rescaled so that the largest logit is exactly
        the drawn size (before rounding).
    scales : bool
        Also draw explicit scales (1, 0.5, 2, 0.125, -1); else ``scale`` is None
        (the default ``1/sqrt(d)``).
    same_depth : bool, optional
        ``dv == d`` (True), any ``dv`` (False), or either, half of the time (None): JAX,
        Flax and Keras attention need equal depths.

    Returns
    -------
    SearchStrategy of QKV

    Examples
    --------
    >>> from hypothesis import find
    >>> c = find(qkv(), lambda c: abs(c.q @ c.k.swapaxes(-1, -2)).max() > 5e3)
    >>> c.q.shape[-1] == c.k.shape[-1]
    True
    """
    few = _FEW.get() and length is None
    if few:
        templates = [t for t in FEW_TEMPLATES if (t[0] == t[1] or not same_length)
                     and (t[3] == t[2] or not same_depth) and (not t[4] or batch)
                     and max(t[:2]) <= max_length and t[2] <= max_dim]
        L, S, d, dv, full = draw(st.sampled_from(templates or FEW_TEMPLATES[:1]))
    elif length is not None:
        L = S = int(length)
    else:
        L = draw(sizes(max_size=max_length))
        S = L if same_length else draw(sizes(max_size=max_length))
    if not few:
        d = draw(sizes(max_size=max_dim))
        if same_depth is None:
            same_depth = draw(st.booleans())
        dv = d if same_depth else draw(st.integers(1, max_value_dim))
        full = draw(batch_shapes()) if batch else ()
    qb, kb, vb = (_broadcast_form(draw, full) for _ in range(3))
    scale = draw(st.one_of(st.none(), st.sampled_from([1.0, 0.5, 2.0, 0.125, -1.0]))) \
        if scales else None
    target = draw(_logit_sizes(max_logit))
    value_scale = draw(st.sampled_from([1.0, 1.0, 1e-3, 1e3]))
    rng = _rng(draw)
    q, k = rng.standard_normal(qb + (L, d)), rng.standard_normal(kb + (S, d))
    v = rng.standard_normal(vb + (S, dv)) * value_scale
    s = 1.0 / math.sqrt(d) if scale is None else scale
    raw = abs(s) * float(np.abs(q @ np.swapaxes(k, -1, -2)).max())
    if target == 0.0:
        q = np.zeros_like(q)
    elif raw > 0:
        factor = math.sqrt(target / raw)
        q, k = q * factor, k * factor
    return QKV(q, k, v, scale)


# -- masks and biases ----------------------------------------------------------------------------

def _ensure_rows(allowed: np.ndarray, rng) -> np.ndarray:
    """Give every row without an allowed key one, at a random column."""
    empty = ~allowed.any(axis=-1)
    if empty.any():
        cols = rng.integers(0, allowed.shape[-1], size=empty.shape)
        chosen = np.arange(allowed.shape[-1]) == cols[..., None]
        allowed = allowed | (empty[..., None] & chosen)
    return allowed


@st.composite
def attention_masks(draw, *, L, S, batch=(), kinds=MASK_KINDS):
    """Dense multiplicative masks ``(..., L, S)`` (or ``(..., 1, S)``), every row alive.

    Parameters
    ----------
    L, S : int
        Queries and keys.
    batch : tuple of int
        Batch shape of the mask.
    kinds : sequence of str
        Among ``MASK_KINDS``: ``"bool"`` (random booleans), ``"weights"``
        (nonnegative reals over six decades, with zeros), ``"single"`` (exactly one allowed
        key per row), ``"key_padding"`` (shape ``(..., 1, S)``, booleans), ``"banded"``
        (keys ``i - w <= j <= i``: lower-triangular, not symmetric).

    Returns
    -------
    SearchStrategy of numpy.ndarray
        Booleans or float64 weights; every query row has at least one positive entry.

    Examples
    --------
    >>> from hypothesis import find
    >>> m = find(attention_masks(L=3, S=3), lambda m: m.shape == (3, 3) and m.sum() == 3)
    >>> (m > 0).sum(axis=1).tolist()
    [1, 1, 1]
    """
    if _FEW.get():
        kinds = [k for k in kinds if k != "key_padding"] or list(kinds)
    kind = draw(st.sampled_from(tuple(kinds)))
    as_bool = draw(st.booleans())
    rng = _rng(draw)
    shape = tuple(batch) + (L, S)
    if kind == "key_padding":
        shape = tuple(batch) + (1, S)
        allowed = _ensure_rows(rng.random(shape) < 0.6, rng)
        return allowed
    if kind == "single":
        cols = rng.integers(0, S, size=shape[:-1])
        allowed = np.arange(S) == cols[..., None]
    elif kind == "banded":
        width = draw(st.integers(0, 2))
        i, j = np.indices((L, S))
        allowed = np.broadcast_to((j <= i) & (j >= i - width), shape)
        allowed = _ensure_rows(allowed.copy(), rng)
    else:
        keep = draw(st.sampled_from([0.25, 0.6, 0.9]))
        allowed = _ensure_rows(rng.random(shape) < keep, rng)
    if as_bool and kind != "weights":
        return allowed
    weights = 10.0 ** rng.uniform(-3, 3 if kind == "weights" else 0.5, size=shape)
    return np.where(allowed, weights, 0.0)


@st.composite
def biases(draw, *, L, S, batch=()):
    """Additive biases of shapes ``(..., L, S)``, ``(..., 1, S)`` or ``(..., L, 1)``.

    Values are normal times 0.5, 5, 50 or 1e4 (ALiBi-like biases at long range, which
    push every allowed logit of a row far below zero); never symmetric by construction.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(biases(L=2, S=3), lambda b: b.shape == (2, 1)).shape
    (2, 1)
    """
    form = "full" if _FEW.get() else draw(st.sampled_from(["full", "full", "rows", "columns"]))
    trailing = {"full": (L, S), "rows": (1, S), "columns": (L, 1)}[form]
    size = draw(st.sampled_from([0.5, 5.0, 50.0, 1e4]))
    return _rng(draw).standard_normal(tuple(batch) + trailing) * size


@dataclasses.dataclass(frozen=True)
class SoftmaxCase:
    """Arguments of ``softmax_attention(q, k, v, *, bias, mask, causal, scale)``.

    Examples
    --------
    >>> from hypothesis import find
    >>> from refimpl.attention import softmax_attention
    >>> c = find(softmax_cases(), lambda c: c.causal)
    >>> softmax_attention(c.q, c.k, c.v, bias=c.bias, mask=c.mask, causal=c.causal,
    ...                   scale=c.scale).shape[-2] == c.q.shape[-2]
    True
    """

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    bias: np.ndarray | None
    mask: np.ndarray | None
    causal: bool
    scale: float | None


@st.composite
def softmax_cases(draw, *, max_length=8, max_dim=4, max_logit=1e4):
    """Full ``softmax_attention`` inputs: q, k, v, optional bias and mask, causal, scale.

    With ``causal=True`` (then ``L == S``) the diagonal is always allowed by the mask, so
    no row is fully masked; use :func:`attention_masks` for the masks alone. Half of the
    cases push some rows far below zero through the bias (-3e4 on every logit of the
    row): the row-max shift makes that harmless, a finite mask fill value does not.

    Examples
    --------
    >>> from hypothesis import find
    >>> c = find(softmax_cases(), lambda c: c.mask is not None and c.bias is not None)
    >>> c.mask.shape[-1] == c.bias.shape[-1] == c.k.shape[-2]
    True
    """
    causal = draw(st.booleans())
    base = draw(qkv(same_length=causal, max_length=max_length, max_dim=max_dim,
                    max_logit=max_logit))
    L, S = base.q.shape[-2], base.k.shape[-2]
    full = np.broadcast_shapes(base.q.shape[:-2], base.k.shape[:-2], base.v.shape[:-2])
    mask = draw(st.one_of(st.none(), attention_masks(L=L, S=S, batch=draw(_sub_batch(full)))))
    bias = draw(st.one_of(st.none(), biases(L=L, S=S, batch=draw(_sub_batch(full)))))
    if draw(st.booleans()):
        # Rows whose every logit lies far below zero (-3e4): harmless with the row-max
        # shift, fatal for a finite "masked_fill" value such as -1e4.
        rows = np.random.default_rng(draw(seeds())).random((L, 1)) < 0.5
        far = np.where(rows, -3e4, 0.0)
        bias = far if bias is None else bias + far
    if causal and mask is not None:
        mask = mask.copy()
        if mask.shape[-2] == 1:
            mask[..., 0, 0] = True if mask.dtype == bool else 1.0
        else:
            diagonal = np.arange(L)
            mask[..., diagonal, diagonal] = True if mask.dtype == bool else 1.0
    return SoftmaxCase(base.q, base.k, base.v, bias, mask, causal, base.scale)


@dataclasses.dataclass(frozen=True)
class LinearCase:
    """Arguments of ``kernel_attention`` / ``masked_linear_attention``.

    Examples
    --------
    >>> from hypothesis import find
    >>> c = find(linear_cases(mask="required"), lambda c: True)
    >>> c.mask is not None and c.phi_q.shape[-1] == c.phi_k.shape[-1]
    True
    """

    phi_q: np.ndarray
    phi_k: np.ndarray
    v: np.ndarray
    mask: np.ndarray | None
    causal: bool


@st.composite
def linear_cases(draw, *, mask="optional", causal=True, max_length=8, max_features=4):
    """Features, values and a mask for kernel (linear) attention.

    Parameters
    ----------
    mask : {"optional", "required"}
        ``"required"`` for ``masked_linear_attention``.
    causal : bool
        Also draw ``causal=True`` (then ``L == S``).

    Notes
    -----
    Features are positive (uniform on [0.05, 2], or log-uniform over eight decades) or,
    in one case out of four, signed (normal): signed features make the normaliser
    cancel, which the tolerance accounts for.

    Examples
    --------
    >>> from hypothesis import find
    >>> c = find(linear_cases(mask="required"), lambda c: c.phi_q.min() < 0)
    >>> c.mask is not None
    True
    """
    is_causal = draw(st.booleans()) if causal else False
    L = draw(sizes(max_size=max_length))
    S = L if is_causal else draw(sizes(max_size=max_length))
    m = draw(sizes(max_size=max_features))
    dv = draw(st.integers(1, 3))
    full = draw(batch_shapes())
    qb, kb, vb = (_broadcast_form(draw, full) for _ in range(3))
    kind = draw(st.sampled_from(["uniform", "uniform", "decades", "signed"]))
    rng = _rng(draw)
    if kind == "uniform":
        phi_q, phi_k = rng.uniform(0.05, 2, qb + (L, m)), rng.uniform(0.05, 2, kb + (S, m))
    elif kind == "decades":
        phi_q, phi_k = (10.0 ** rng.uniform(-4, 4, b + (n, m)) for b, n in ((qb, L), (kb, S)))
    else:
        phi_q, phi_k = rng.standard_normal(qb + (L, m)), rng.standard_normal(kb + (S, m))
    v = rng.standard_normal(vb + (S, dv))
    want_mask = mask == "required" or draw(st.booleans())
    full = np.broadcast_shapes(qb, kb, vb)
    dense = draw(attention_masks(L=L, S=S, batch=draw(_sub_batch(full)))) if want_mask else None
    if dense is not None and is_causal:
        dense = dense.copy()
        rows = np.arange(dense.shape[-2])
        dense[..., rows, rows if dense.shape[-2] > 1 else 0] = 1.0
    return LinearCase(phi_q, phi_k, v, dense, is_causal)
