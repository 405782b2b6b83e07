"""Attention: the softmax oracle, kernel attention and masked linear attention.

The module follows Choromanski et al. (ICML 2022), Sec. 2: general masked attention is

.. math:: \\mathrm{Att}(Q, K, V, M) = D^{-1} (M \\odot A) V, \\qquad
          D = \\mathrm{diag}((M \\odot A) \\mathbf{1}),

with ``A_ij = K(q_i, k_j)``. For softmax, ``K(q, k) = exp(q . k / sqrt(d))``; for linear
(low-rank) attention ``A = Phi_Q Phi_K^T`` and the mask can be applied through products
with ``M`` alone (their Algorithm 1), which is what makes structured masks fast.

Shapes follow the contract: ``q (..., L, d)``, ``k (..., S, d)``, ``v (..., S, dv)`` give
``(..., L, dv)``; leading batch dimensions broadcast by NumPy rules.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ._validate import (
    as_float_array,
    as_mask_array,
    batch_shape,
    check_trailing,
    real_scalar,
)

__all__ = [
    "kernel_attention",
    "masked_linear_attention",
    "softmax_attention",
    "sparse_graph_attention",
]


# -- shared argument handling -------------------------------------------------------------

def _qkv(q, k, v, names=("q", "k", "v")):
    """Validate a (query, key, value) triple; return the arrays and L, S, d."""
    nq, nk, nv = names
    q = as_float_array(q, nq, min_ndim=2)
    k = as_float_array(k, nk, min_ndim=2)
    v = as_float_array(v, nv, min_ndim=2)
    if k.shape[-1] != q.shape[-1]:
        raise ValueError(
            f"{nk} must have the same last dimension as {nq} ({q.shape[-1]}); got shape {k.shape}"
        )
    if v.shape[-2] != k.shape[-2]:
        raise ValueError(
            f"{nv} must have as many rows as {nk} ({k.shape[-2]}, one value per key); "
            f"got shape {v.shape}"
        )
    batch_shape({nq: q.shape[:-2], nk: k.shape[:-2], nv: v.shape[:-2]})
    return q, k, v, q.shape[-2], k.shape[-2], q.shape[-1]


def _zero_rows_error(den: np.ndarray, what: str) -> ValueError:
    """A ValueError naming the first row whose normaliser vanishes."""
    where = tuple(int(i) for i in np.argwhere(den == 0)[0])
    batch, row = where[:-1], where[-1]
    place = f"row {row}" + (f" of batch element {batch}" if batch else "")
    return ValueError(
        f"{place} has {what}: the attention weights of that query sum to zero in float64 "
        f"(all zero, or underflowed), so its output is undefined. Every query needs at "
        f"least one allowed key with a representable weight."
    )


def _pair_array(x, name, L, S, batches, *, is_mask, nonnegative=False):
    """A bias or dense mask of shape (..., L, S), size-1 trailing dims allowed.

    ``batches`` maps the other arguments' names to their batch shapes; the batch shape
    of ``x`` must broadcast with them.
    """
    if is_mask:
        a = as_mask_array(x, name, nonnegative=nonnegative)
    else:
        a = as_float_array(x, name, min_ndim=2)
    check_trailing(a, name, (L, S), broadcast=True, what="(queries, keys)")
    batch_shape({**batches, name: a.shape[:-2]})
    return a


def _flag(value, name: str) -> bool:
    """A boolean option; anything else (a string, an array) is a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {type(value).__name__} {value!r}")
    return bool(value)


def _finite_result(out: np.ndarray, names: str) -> np.ndarray:
    """Refuse a result that overflowed float64 (finite inputs, non-finite output)."""
    if not np.all(np.isfinite(out)):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        raise ValueError(
            f"the result overflows float64 at index {where}; rescale {names} "
            f"(their products exceed the float64 range)"
        )
    return out


def _operator_mask(mask, L, S) -> LinearOperator:
    """Check a mask operator's shape and dtype."""
    if mask.shape != (L, S):
        raise ValueError(f"mask must have shape ({L}, {S}); got an operator of shape {mask.shape}")
    if np.dtype(mask.dtype).kind not in "biuf":
        raise TypeError(f"mask must be a real operator; got dtype {mask.dtype}")
    return mask


# -- softmax attention (the oracle) --------------------------------------------------------

def softmax_attention(q, k, v, *, bias=None, mask=None, causal=False, scale=None):
    r"""Softmax attention, computed densely and stably from the definition.

    Parameters
    ----------
    q : array_like, shape (..., L, d)
        Queries.
    k : array_like, shape (..., S, d)
        Keys.
    v : array_like, shape (..., S, dv)
        Values.
    bias : array_like, shape (..., L, S), optional
        Additive logits ``B`` (trailing dimensions may be 1 to broadcast).
    mask : array_like, shape (..., L, S), optional
        Multiplicative weights ``M >= 0`` or booleans (``False`` removes a key).
    causal : bool, default False
        Keep only keys ``j <= i``; requires ``L == S``.
    scale : float, optional
        Logit scale; defaults to ``1 / sqrt(d)``.

    Returns
    -------
    numpy.ndarray, shape (..., L, dv)

    Raises
    ------
    ValueError
        For inconsistent shapes, NaN or infinite inputs, a negative mask, logits that
        overflow float64, or a row whose weights are all zero (naming the row).

    Notes
    -----
    .. math:: \mathrm{out}_i = \frac{\sum_j w_{ij} v_j}{\sum_j w_{ij}}, \qquad
              w_{ij} = M_{ij} \exp(s\, q_i \cdot k_j + B_{ij}).

    The mask is folded into the logits as :math:`\log M_{ij}` (``-inf`` where
    :math:`M_{ij} = 0`) and each row is shifted by its maximum before exponentiation,
    so no weight overflows and the largest weight of every row is exactly 1; logits up
    to :math:`\pm 10^4` (and beyond) are handled. Time O(L S (d + dv)), memory O(L S)
    per batch element. Vaswani et al. (2017), Eq. 1; a multiplicative mask is an
    additive bias :math:`\log M` (Choromanski et al. 2022, Sec. 2).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.attention import softmax_attention
    >>> q = k = np.zeros((3, 2)); v = np.arange(3.0)[:, None]
    >>> softmax_attention(q, k, v, causal=True).ravel()
    array([0. , 0.5, 1. ])
    """
    q, k, v, L, S, d = _qkv(q, k, v)
    batches = {"q": q.shape[:-2], "k": k.shape[:-2], "v": v.shape[:-2]}
    s = 1.0 / np.sqrt(d) if scale is None else real_scalar(scale, "scale")
    if _flag(causal, "causal") and L != S:
        raise ValueError(f"causal=True needs as many queries as keys; got L={L}, S={S}")
    b = None if bias is None else _pair_array(bias, "bias", L, S, batches, is_mask=False)
    m = None if mask is None else _pair_array(mask, "mask", L, S, batches, is_mask=True,
                                              nonnegative=True)
    with np.errstate(over="ignore", invalid="ignore"):
        logits = s * (q @ np.swapaxes(k, -1, -2))
        if b is not None:
            logits = logits + b
    if not np.all(np.isfinite(logits)):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(logits))[0])
        raise ValueError(
            f"scale * q @ k^T + bias overflows float64 at index {where}; rescale q, k or bias"
        )
    if m is not None:
        with np.errstate(divide="ignore"):
            logits = logits + np.log(m)
    if causal:
        logits = np.where(np.tri(L, S, dtype=bool), logits, -np.inf)
    row_max = logits.max(axis=-1, keepdims=True)
    if np.any(row_max == -np.inf):
        raise _zero_rows_error(np.where(row_max[..., 0] == -np.inf, 0.0, 1.0), "no allowed key")
    weights = np.exp(logits - row_max)
    with np.errstate(over="ignore", invalid="ignore"):
        out = (weights @ v) / weights.sum(axis=-1)[..., None]
    return _finite_result(out, "v")


# -- kernel attention (dense oracle) -------------------------------------------------------

def _dense_mask(mask, L, S, batches):
    """A dense (..., L, S) mask from an array or a mask operator (its toarray())."""
    if not isinstance(mask, LinearOperator):
        return _pair_array(mask, "mask", L, S, batches, is_mask=True)
    _operator_mask(mask, L, S)
    # A refimpl mask's toarray() is its oracle; a plain operator is defined by its product.
    with np.errstate(over="ignore", invalid="ignore"):
        dense = mask.toarray() if hasattr(mask, "toarray") else mask @ np.eye(S)
    return as_mask_array(dense, "mask", nonnegative=False)


def kernel_attention(phi_q, phi_k, v, *, mask=None, causal=False):
    r"""Masked kernel (linear) attention, computed densely: the oracle of Algorithm 1.

    Parameters
    ----------
    phi_q : array_like, shape (..., L, m)
        Query features :math:`\Phi_Q`.
    phi_k : array_like, shape (..., S, m)
        Key features :math:`\Phi_K`.
    v : array_like, shape (..., S, dv)
        Values.
    mask : array_like or LinearOperator, optional
        The mask ``M``: a dense ``(..., L, S)`` array (trailing dimensions may be 1), or
        a mask operator, whose ``toarray()`` is used.
    causal : bool, default False
        Multiply the mask by the lower-triangular ones; requires ``L == S``.

    Returns
    -------
    numpy.ndarray, shape (..., L, dv)

    Raises
    ------
    ValueError
        For inconsistent shapes, NaN or infinite inputs, or a row whose normaliser
        :math:`((M \odot \Phi_Q \Phi_K^\top) \mathbf{1})_i` is zero (naming the row).

    Notes
    -----
    .. math:: \mathrm{out} = D^{-1} (M \odot \Phi_Q \Phi_K^\top) V, \qquad
              D = \mathrm{diag}\big((M \odot \Phi_Q \Phi_K^\top)\mathbf{1}\big).

    Forms the ``L x S`` matrix: O(L S (m + dv)) time, O(L S) memory. Choromanski et al.
    (2022), Sec. 2, the general masked attention with kernel
    :math:`K(q, k) = \phi(q)^\top \phi(k)`.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.attention import kernel_attention
    >>> phi = np.ones((3, 1)); v = np.array([[1.0], [0.0], [0.0]])
    >>> kernel_attention(phi, phi, v, causal=True).ravel()
    array([1.        , 0.5       , 0.33333333])
    """
    phi_q, phi_k, v, L, S, _ = _qkv(phi_q, phi_k, v, names=("phi_q", "phi_k", "v"))
    batches = {"phi_q": phi_q.shape[:-2], "phi_k": phi_k.shape[:-2], "v": v.shape[:-2]}
    if _flag(causal, "causal") and L != S:
        raise ValueError(f"causal=True needs as many queries as keys; got L={L}, S={S}")
    dense = None if mask is None else _dense_mask(mask, L, S, batches)
    with np.errstate(over="ignore", invalid="ignore"):
        scores = phi_q @ np.swapaxes(phi_k, -1, -2)
        if dense is not None:
            scores = scores * dense
        if causal:
            scores = scores * np.tri(L, S)
        num = scores @ v
        den = np.broadcast_to(scores.sum(axis=-1), num.shape[:-1])
    _finite_result(np.concatenate([num, den[..., None]], axis=-1), "phi_q, phi_k, v or mask")
    if np.any(den == 0):
        raise _zero_rows_error(den, "a zero normaliser")
    return _finite_result(num / den[..., None], "phi_q, phi_k, v or mask")


# -- masked linear attention through mask products (Algorithm 1) ----------------------------

#: Size of the feature slab multiplied by the mask at once (fits in a last-level cache).
_BLOCK_BYTES = 2**22


def _feature_blocks(m: int, values_per_feature: int) -> list[slice]:
    """Blocks of the m features; each feature adds values_per_feature float64 to the slab."""
    per_block = max(1, _BLOCK_BYTES // (8 * max(values_per_feature, 1)))
    return [slice(p, min(p + per_block, m)) for p in range(0, m, per_block)]


def masked_linear_attention(phi_q, phi_k, v, mask):
    r"""Masked linear attention through products with the mask only (Algorithm 1).

    Parameters
    ----------
    phi_q : array_like, shape (..., L, m)
        Query features :math:`\Phi_Q`.
    phi_k : array_like, shape (..., S, m)
        Key features :math:`\Phi_K`.
    v : array_like, shape (..., S, dv)
        Values.
    mask : Mask, LinearOperator or array_like
        The mask ``M``: a refimpl mask or any :class:`scipy.sparse.linalg.LinearOperator`
        of shape ``(L, S)`` (shared by the batch), or a dense ``(..., L, S)`` array.

    Returns
    -------
    numpy.ndarray, shape (..., L, dv)
        Equal to :func:`kernel_attention` ``(phi_q, phi_k, v, mask=mask)``.

    Raises
    ------
    ValueError
        For inconsistent shapes, NaN or infinite inputs, or a zero normaliser (naming
        the row).

    Notes
    -----
    For any mask and any factorisation :math:`A = \Phi_Q \Phi_K^\top`,

    .. math:: (M \odot \Phi_Q \Phi_K^\top)[V, \mathbf{1}]
              = \sum_{p=1}^{m} \mathrm{diag}(\Phi_Q^{:,p})\, M\,
                \mathrm{diag}(\Phi_K^{:,p}) [V, \mathbf{1}],

    so one product of ``M`` with the ``(S, m (dv + 1))`` matrix
    :math:`F_{j,(p,e)} = \Phi_K^{jp} [V, \mathbf{1}]_{je}` gives numerator and
    normaliser: :math:`\mathrm{out}_i = \sum_p \Phi_Q^{ip} (MF)_{i,(p,:dv)} / \sum_p
    \Phi_Q^{ip} (MF)_{i,(p,dv)}`. No ``L x S`` matrix is formed. Time
    O(m (dv + 1) T_M + L m dv), where T_M is the cost of one product with ``M``
    (O(L log L) for Toeplitz and grid masks, O(L) for causal masks); memory
    O((L + S) m dv). Choromanski et al. (2022), Algorithm 1 and Eq. (4)-(5).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.attention import masked_linear_attention
    >>> from refimpl.masks import CausalMask
    >>> phi = np.ones((3, 1)); v = np.array([[1.0], [0.0], [0.0]])
    >>> masked_linear_attention(phi, phi, v, CausalMask(3)).ravel()
    array([1.        , 0.5       , 0.33333333])
    """
    phi_q, phi_k, v, L, S, m = _qkv(phi_q, phi_k, v, names=("phi_q", "phi_k", "v"))
    batches = {"phi_q": phi_q.shape[:-2], "phi_k": phi_k.shape[:-2], "v": v.shape[:-2]}
    if isinstance(mask, LinearOperator):
        _operator_mask(mask, L, S)
    else:
        dense = _pair_array(mask, "mask", L, S, batches, is_mask=True)
        dense = np.broadcast_to(dense, dense.shape[:-2] + (L, S))
    names = "phi_q, phi_k, v or mask"
    with np.errstate(over="ignore", invalid="ignore"):
        v1 = np.concatenate([v, np.ones(v.shape[:-1] + (1,))], axis=-1)  # (..., S, dv + 1)
        dv1 = v1.shape[-1]
        batch = np.broadcast_shapes(phi_k.shape[:-2], v.shape[:-2])
        numden = 0.0
        # The sum over features p is split into blocks so that each product works on a
        # slab of about _BLOCK_BYTES: the same arithmetic, but cache-sized at large L.
        for block in _feature_blocks(m, S * math.prod(batch) * dv1):
            features = phi_k[..., :, block, None] * v1[..., :, None, :]  # (..., S, mb, dv + 1)
            mb = features.shape[-2]
            if isinstance(mask, LinearOperator):
                columns = np.moveaxis(features, -3, 0).reshape(S, -1)
                product = np.asarray(mask @ _finite_result(columns, names))
                product = np.moveaxis(product.reshape((L,) + batch + (mb, dv1)), 0, -3)
            else:
                flat = features.reshape(features.shape[:-2] + (mb * dv1,))
                product = (dense @ flat).reshape(
                    np.broadcast_shapes(dense.shape[:-2], batch) + (L, mb, dv1))
            numden = numden + np.einsum("...lp,...lpe->...le", phi_q[..., block], product)
        numden = _finite_result(numden, names)
    num, den = numden[..., :-1], numden[..., -1]
    if np.any(den == 0):
        raise _zero_rows_error(den, "a zero normaliser")
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite_result(num / den[..., None], names)


# -- softmax attention on a sparse graph (Wang et al. 2022) ----------------------------------

#: Pattern entries whose logits are gathered at once: O(chunk d) scratch, not O(|E| d).
_EDGE_CHUNK = 2**14


def _segment_softmax(q, k, v, pattern, rows, scale):
    """Softmax attention of one batch element over the CSR rows of ``pattern``."""
    from scipy.sparse import csr_array  # imported here: this section was added last

    indptr, cols = pattern.indptr, pattern.indices
    logits = np.empty(cols.size)
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, cols.size, _EDGE_CHUNK):
            part = slice(start, start + _EDGE_CHUNK)
            logits[part] = np.einsum("ed,ed->e", q[rows[part]], k[cols[part]])
        logits *= scale
    if not np.all(np.isfinite(logits)):
        e = int(np.argmax(~np.isfinite(logits)))
        raise ValueError(f"scale * q @ k^T overflows float64 at index ({rows[e]}, {cols[e]}); "
                         f"rescale q or k")
    # Every row holds its self-loop, so no CSR segment is empty (reduceat misreads those).
    row_max = np.maximum.reduceat(logits, indptr[:-1])
    weights = np.exp(logits - row_max[rows])
    den = np.add.reduceat(weights, indptr[:-1])
    num = csr_array((weights, cols, indptr), shape=pattern.shape) @ v
    num /= den[:, None]
    return num


def sparse_graph_attention(q, k, v, graph, *, scale=None):
    r"""Softmax attention restricted to the edges of a graph plus self-loops, sparsely.

    Parameters
    ----------
    q, k : array_like, shape (..., n, d)
        Queries and keys, one per node of ``graph``.
    v : array_like, shape (..., n, dv)
        Values. Batch dimensions of ``q``, ``k``, ``v`` broadcast.
    graph : networkx.Graph or scipy.sparse array
        Undirected attention graph on the nodes ``0 .. n-1``, or its pattern from
        :func:`refimpl.graphs.attention_pattern` (convert once, attend many times).
    scale : float, optional
        Logit scale; defaults to ``1 / sqrt(d)``.

    Returns
    -------
    numpy.ndarray, shape (..., n, dv)
        Equal (within rounding) to ``softmax_attention(q, k, v,
        mask=refimpl.graphs.attention_mask(graph))``.

    Raises
    ------
    ValueError
        For a bad graph, shapes that do not match it, NaN or infinite inputs, or logits
        or outputs that overflow float64.

    Notes
    -----
    With :math:`\mathcal N(i) = \{i\} \cup \{j : i \sim j\}`,

    .. math:: \mathrm{out}_i = \frac{\sum_{j \in \mathcal N(i)} e^{s\, q_i \cdot k_j - m_i}
              v_j}{\sum_{j \in \mathcal N(i)} e^{s\, q_i \cdot k_j - m_i}}, \qquad
              m_i = \max_{j \in \mathcal N(i)} s\, q_i \cdot k_j .

    The logits are formed only on the CSR pattern of :math:`A + I` (row-wise dot products
    of gathered rows), the row maxima and sums by ``reduceat`` over the row pointers, and
    the weighted sums by one sparse-dense product. Shifting each row by its maximum makes
    the largest weight exactly 1, so logits of :math:`\pm 10^4` are handled as in
    :func:`softmax_attention`. Time ``O(|E| (d + dv))``, memory ``O(|E| + n (d + dv))``
    per batch element, where ``|E|`` counts the pattern's entries; for the hypercube graph
    (Wang et al., ICML 2022, the Hypercube Transformer) ``|E| <= n (log2 n + 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.attention import sparse_graph_attention
    >>> from refimpl.graphs import star_graph
    >>> q = k = np.zeros((3, 1)); v = np.array([[0.0], [3.0], [6.0]])
    >>> sparse_graph_attention(q, k, v, star_graph(3)).ravel()
    array([3. , 1.5, 3. ])
    """
    from .graphs import attention_pattern  # graphs does not import attention: no cycle

    q, k, v, L, S, d = _qkv(q, k, v)
    s = 1.0 / np.sqrt(d) if scale is None else real_scalar(scale, "scale")
    pattern = attention_pattern(graph)
    n = pattern.shape[0]
    if L != n or S != n:
        raise ValueError(f"q and k must have one row per node of graph ({n} nodes); got q of "
                         f"shape {q.shape} and k of shape {k.shape}")
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    qs, ks, vs = (np.broadcast_to(a, batch + a.shape[-2:]) for a in (q, k, v))
    rows = np.repeat(np.arange(n), np.diff(pattern.indptr))
    out = np.empty(batch + (n, v.shape[-1]))
    for index in np.ndindex(batch):
        out[index] = _segment_softmax(qs[index], ks[index], vs[index], pattern, rows, s)
    return _finite_result(out, "v")
