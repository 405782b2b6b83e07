"""Graphs as CSR arrays, and the vectorised walk engine shared by the walk estimators.

All ``L * n_walks`` walks advance together: one vectorised step per time step, no
Python loop per walk. The neighbours of ``u`` are the stored nonzeros of row ``u`` of
the CSR array (sorted column indices); a walk at a node without neighbours stops.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from .._validate import as_float_array, check_finite, real_scalar

__all__ = ["as_graph", "degrees", "deposits_to_csr", "halting", "powers", "step", "walks"]


def _is_networkx(W) -> bool:
    return type(W).__module__.startswith("networkx.")


def _from_networkx(G, name: str) -> scipy.sparse.csr_array:
    import networkx as nx

    L = G.number_of_nodes()
    if L == 0:
        raise ValueError(f"{name} must be a non-empty graph; got a graph with no nodes")
    if set(G.nodes) != set(range(L)):
        extra = sorted(map(repr, set(G.nodes) - set(range(L))))[:3]
        raise ValueError(
            f"{name} must have nodes 0..{L - 1}; found nodes {', '.join(extra)}")
    return nx.to_scipy_sparse_array(G, nodelist=range(L), weight="weight",
                                    dtype=np.float64, format="csr")


def as_sparse(F, name: str) -> scipy.sparse.csr_array:
    """A finite float64 CSR array from a real ``scipy.sparse`` matrix (any shape)."""
    if F.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real sparse matrix; got dtype {F.dtype}")
    F = scipy.sparse.csr_array(F, dtype=np.float64)
    if F.ndim != 2 or 0 in F.shape:
        raise ValueError(f"{name} must be a non-empty 2-dimensional matrix; got shape {F.shape}")
    check_finite(F.data, f"{name} (stored entries)")
    return F


def as_graph(W, name: str) -> scipy.sparse.csr_array:
    """A square finite float64 CSR array (sorted indices, no stored zeros) from ``W``.

    ``W`` is a dense array_like, a ``scipy.sparse`` matrix or a ``networkx`` graph on
    nodes ``0..L-1`` (its weighted adjacency; attribute ``weight``, default 1).
    """
    if _is_networkx(W):
        csr = _from_networkx(W, name)
    elif scipy.sparse.issparse(W):
        csr = as_sparse(W, name)
    else:
        csr = scipy.sparse.csr_array(as_float_array(W, name, ndim=2))
    if csr.shape[0] != csr.shape[1]:
        raise ValueError(f"{name} must be a square matrix; got shape {csr.shape}")
    csr.sum_duplicates()
    csr.eliminate_zeros()
    csr.sort_indices()
    return csr


def halting(p, name: str) -> float:
    """A probability in ``[0, 1)``."""
    p = real_scalar(p, name, low=0.0)
    if p >= 1.0:
        raise ValueError(f"{name} must be in [0, 1); got {p}")
    return p


def degrees(csr) -> np.ndarray:
    """Number of neighbours (stored nonzeros) of every row."""
    return np.diff(csr.indptr)


def powers(W: np.ndarray, K: int) -> list[np.ndarray]:
    """``[I, W, W^2, ..., W^K]`` by repeated dense products."""
    out = [np.eye(W.shape[0])]
    for _ in range(K):
        out.append(out[-1] @ W)
    return out


def step(csr, node, load, offset, p_halt):
    """Move walks at ``node`` to their ``offset``-th neighbour and update their loads.

    The importance weight ``W_uw deg(u) / (1 - p_halt)`` is ``W_uw`` over the
    probability ``(1 - p_halt) / deg(u)`` of the move. The sampler and the exhaustive
    enumeration both call this, so the enumeration checks these weights.
    """
    first = csr.indptr[node]
    index = first + offset
    if load is None:
        return csr.indices[index], None
    deg = csr.indptr[node + 1] - first
    return csr.indices[index], load * (csr.data[index] * deg / (1.0 - p_halt))


def walks(csr, n_walks, n_steps, p_halt, rng, *, weighted=True):
    """Advance all ``L * n_walks`` walks together; yield ``(k, start, node, load)``.

    Step ``k`` lists the walks still alive after ``k`` moves (``load`` is None when
    ``weighted`` is false). Before each move a walk halts with probability ``p_halt``;
    a walk at a node without neighbours stops.
    """
    L = csr.shape[0]
    deg = degrees(csr)
    start = np.repeat(np.arange(L), n_walks)
    node = start.copy()
    load = np.ones(start.size) if weighted else None
    yield 0, start, node, load
    for k in range(1, n_steps + 1):
        moving = (deg[node] > 0) & (rng.random(node.size) >= p_halt)
        start, node = start[moving], node[moving]
        load = None if load is None else load[moving]
        if node.size == 0:
            return
        node, load = step(csr, node, load, rng.integers(0, deg[node]), p_halt)
        yield k, start, node, load


def deposits_to_csr(rows, cols, vals, L, n_walks) -> scipy.sparse.csr_array:
    """Sum the deposits of all walks per (start, node) and divide by ``n_walks``."""
    if not rows:
        return scipy.sparse.csr_array((L, L), dtype=np.float64)
    coo = scipy.sparse.coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(L, L))
    out = coo.tocsr()
    out.data /= n_walks
    out.eliminate_zeros()  # loads of opposite signs can cancel exactly
    out.sort_indices()
    return out
