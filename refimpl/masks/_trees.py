"""Rooted forests and the centroid decomposition behind :class:`refimpl.masks.TreeMask`.

Everything here is vectorised: a Python loop runs per decomposition level or per block
of histograms (O(log L) of them), never per node. The per-node work is done by compiled
code: breadth-first search (:mod:`scipy.sparse.csgraph`), sparse triangular solves
(:func:`scipy.sparse.linalg.splu` of a unit triangular matrix), sparse products and FFTs.

Rooted forests are stored in *breadth-first positions*: position ``i`` holds node
``order[i]``, and a parent always comes before its children, so the parent-indicator
matrix ``P`` (``P[i, position of parent] = 1``) is strictly lower triangular.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.sparse as sparse
from scipy.sparse.csgraph import breadth_first_order, connected_components, dijkstra
from scipy.sparse.linalg import splu

from .. import tolerances

__all__ = [
    "Block",
    "adjacency",
    "apply_blocks",
    "blocks_error_bound",
    "centroid_blocks",
    "centroid_entries",
    "parent_factor",
    "rooted_forest",
]

#: Histograms per batched FFT call are capped at this many rows (bounds the memory).
CHUNK_ROWS = 1 << 17
#: Hankel blocks up to this length are applied as dense matrix products, not FFTs:
#: below it a small matmul is faster and its error bound is componentwise.
DIRECT_MAX = 32


def adjacency(n: int, u: np.ndarray, v: np.ndarray, data=None) -> sparse.csr_array:
    """Symmetric ``(n, n)`` CSR adjacency of the edges ``(u, v)`` (explicit zeros kept)."""
    data = np.ones(u.size) if data is None else np.asarray(data, dtype=np.float64)
    rows, cols = np.concatenate([u, v]), np.concatenate([v, u])
    return sparse.csr_array((np.concatenate([data, data]), (rows, cols)), shape=(n, n))


def rooted_forest(adj: sparse.csr_array, roots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Breadth-first order and parents of the forest ``adj`` rooted at ``roots``.

    Returns ``order`` (the nodes reachable from the roots, parents first) and
    ``parent`` of length ``n`` (``-1`` at the roots and at unreachable nodes).
    """
    n = adj.shape[0]
    roots = np.asarray(roots, dtype=np.int64)
    if roots.size == 1:
        order, pred = breadth_first_order(adj, int(roots[0]), directed=False)
        return order.astype(np.int64), np.where(pred >= 0, pred, -1).astype(np.int64)
    # One virtual node joined to every root lets a single compiled BFS root the forest.
    coo = adj.tocoo()
    hub = np.full(roots.size, n)
    rows = np.concatenate([coo.row, hub, roots])
    cols = np.concatenate([coo.col, roots, hub])
    joined = sparse.csr_array((np.ones(rows.size), (rows, cols)), shape=(n + 1, n + 1))
    order, pred = breadth_first_order(joined, n, directed=False, return_predecessors=True)
    parent = pred[:n].astype(np.int64)
    parent[(parent < 0) | (parent == n)] = -1
    return order[1:].astype(np.int64), parent


def parent_factor(order: np.ndarray, parent: np.ndarray, coeff: np.ndarray):
    """``splu`` of ``A = I - diag(coeff) P`` in breadth-first positions.

    ``coeff`` is indexed by position. ``A`` is unit lower triangular, so with the natural
    column order and ``diag_pivot_thresh=0`` SuperLU's factors are ``L = A`` and
    ``U = I``: ``lu.solve(b)`` is forward substitution down the tree (each position adds
    ``coeff`` times its parent's value) and ``lu.solve(b, trans="T")`` is back
    substitution up the tree (each position adds ``coeff`` times its children's values).
    """
    n = order.size
    position = np.empty(parent.size, dtype=np.int64)
    position[order] = np.arange(n)
    child = np.flatnonzero(parent[order] >= 0)
    rows = np.concatenate([np.arange(n), child])
    cols = np.concatenate([np.arange(n), position[parent[order[child]]]])
    data = np.concatenate([np.ones(n), -np.asarray(coeff, dtype=np.float64)[child]])
    lu = splu(sparse.csc_matrix((data, (rows, cols)), shape=(n, n)),
              permc_spec="NATURAL", diag_pivot_thresh=0.0)
    identity = np.arange(n)
    if not (np.array_equal(lu.perm_r, identity) and np.array_equal(lu.perm_c, identity)
            and lu.U.nnz == n):
        raise RuntimeError("SuperLU permuted a unit triangular matrix; the tree solve is invalid")
    return lu


# -- the centroid decomposition ------------------------------------------------------------

def _centroids(adj, nodes, label_of_node):
    """One centroid per component of the forest ``adj`` restricted to ``nodes``."""
    _, first, comp, counts = np.unique(label_of_node, return_index=True,
                                       return_inverse=True, return_counts=True)
    order, parent = rooted_forest(adj, nodes[first])
    lu = parent_factor(order, parent, np.ones(order.size))
    size = np.zeros(parent.size)
    size[order] = lu.solve(np.ones(order.size), trans="T")  # subtree sizes
    biggest_child = np.zeros(parent.size)
    has_parent = order[parent[order] >= 0]
    np.maximum.at(biggest_child, parent[has_parent], size[has_parent])
    # A centroid leaves no part larger than half its component when removed.
    largest_part = np.maximum(biggest_child[nodes], counts[comp] - size[nodes])
    ranked = np.lexsort((largest_part, comp))
    first_of_comp = np.unique(comp[ranked], return_index=True)[1]
    return nodes[ranked[first_of_comp]], comp


def centroid_entries(n: int, u: np.ndarray, v: np.ndarray):
    """Histogram memberships of the centroid decomposition of an unweighted tree.

    Returns ``(node, bin, position, sign, n_levels)``: node ``node[e]`` adds its value to
    cell ``position[e]`` of histogram ``bin[e]``, and receives that histogram's
    correlation with ``f`` at the same cell, times ``sign[e]``. Per component ``C`` with
    centroid ``c`` there is a ``+`` histogram by depth from ``c`` and, below the top
    level, a ``-`` histogram by depth from the parent centroid (the pairs inside ``C``
    that the parent's histogram counted with the wrong distance).
    """
    alive = np.ones(n, dtype=bool)
    previous_depth = np.zeros(n, dtype=np.int64)
    parts, n_bins, level = [], 0, 0
    while alive.any():
        keep = alive[u] & alive[v]
        adj = adjacency(n, u[keep], v[keep])
        nodes = np.flatnonzero(alive)
        label = connected_components(adj, directed=False)[1][nodes]
        centres, comp = _centroids(adj, nodes, label)
        depth = dijkstra(adj, directed=False, indices=centres, unweighted=True, min_only=True)
        depth = np.rint(depth[nodes]).astype(np.int64)
        parts.append((nodes, n_bins + comp, depth, np.ones(nodes.size)))
        n_bins += centres.size
        if level:
            parts.append((nodes, n_bins + comp, previous_depth[nodes], -np.ones(nodes.size)))
            n_bins += centres.size
        previous_depth[nodes] = depth
        alive[centres] = False
        level += 1
    node, bins, position, sign = (np.concatenate(p) for p in zip(*parts))
    return node, bins, position, sign, level


@dataclass(frozen=True)
class Block:
    """A batch of ``count`` histograms of length ``N`` correlated with one kernel.

    ``gather`` ``(count N, n)`` sums node values into the histograms; ``scatter``
    ``(n, count N)`` returns the signed correlations to the nodes; ``members`` is the
    number of nodes in each histogram. Direct blocks carry the ``N x N`` Hankel matrix
    ``hankel[s, t] = F[s + t]``; FFT blocks carry the kernel's spectrum.
    """

    N: int
    gather: sparse.csr_array
    scatter: sparse.csr_array
    members: np.ndarray
    hankel: np.ndarray | None
    n_fft: int
    spectrum: np.ndarray | None
    kernel: np.ndarray


def _kernel(table: np.ndarray, N: int) -> np.ndarray:
    """``F[0 .. 2N-2]``: ``f`` at the distances, zero beyond the largest one."""
    kernel = np.zeros(2 * N - 1)
    m = min(kernel.size, table.size)
    kernel[:m] = table[:m]
    return kernel


def centroid_blocks(n: int, u: np.ndarray, v: np.ndarray, table: np.ndarray):
    """Precompute the blocks of the centroid + FFT product; returns ``(blocks, n_levels)``."""
    node, bins, position, sign, n_levels = centroid_entries(n, u, v)
    n_bins = int(bins.max()) + 1
    length = np.zeros(n_bins, dtype=np.int64)
    np.maximum.at(length, bins, position + 1)
    size_class = 1 << np.ceil(np.log2(np.maximum(length, 1))).astype(np.int64)  # powers of 2
    members = np.bincount(bins, minlength=n_bins)
    blocks = []
    for N in np.unique(size_class):
        N = int(N)
        in_class = np.flatnonzero(size_class == N)
        local = np.full(n_bins, -1)
        local[in_class] = np.arange(in_class.size)
        per_chunk = max(1, CHUNK_ROWS // N)
        kernel = _kernel(table, N)
        direct = N <= DIRECT_MAX
        hankel = kernel[np.add.outer(np.arange(N), np.arange(N))] if direct else None
        n_fft = scipy.fft.next_fast_len(2 * N - 1, real=True)
        spectrum = None if direct else scipy.fft.rfft(kernel, n_fft)
        entries = np.flatnonzero(local[bins] >= 0)
        chunk_of = local[bins[entries]] // per_chunk
        for chunk in range(int(chunk_of.max()) + 1):
            e = entries[chunk_of == chunk]
            chunk_bins = in_class[chunk * per_chunk:(chunk + 1) * per_chunk]
            rows = (local[bins[e]] - chunk * per_chunk) * N + position[e]
            shape = (chunk_bins.size * N, n)
            gather = sparse.csr_array((np.ones(e.size), (rows, node[e])), shape=shape)
            scatter = sparse.csr_array((sign[e], (node[e], rows)), shape=shape[::-1])
            blocks.append(Block(N, gather, scatter, members[chunk_bins], hankel, n_fft,
                                spectrum, kernel))
    return blocks, n_levels


def _correlate(block: Block, hist: np.ndarray) -> np.ndarray:
    """``out[b, s] = sum_t F[s + t] hist[b, t]`` for a ``(count, N, k)`` stack."""
    if block.hankel is not None:
        return np.matmul(block.hankel, hist)
    N = block.N
    # Reversing h turns the correlation into a convolution; entries N-1 .. 2N-2 of a
    # cyclic convolution of length >= 2N - 1 are free of wrap-around.
    spectrum = scipy.fft.rfft(hist[:, ::-1], n=block.n_fft, axis=1)
    spectrum *= block.spectrum[None, :, None]
    return scipy.fft.irfft(spectrum, n=block.n_fft, axis=1)[:, N - 1:2 * N - 1]


def apply_blocks(blocks: list[Block], X: np.ndarray) -> np.ndarray:
    """``sum_b scatter_b (F-correlation of gather_b X)``: the mask product."""
    Y = np.zeros(X.shape)
    k = X.shape[1]
    for block in blocks:
        hist = (block.gather @ X).reshape(-1, block.N, k)
        Y += block.scatter @ _correlate(block, hist).reshape(-1, k)
    return Y


def blocks_error_bound(blocks: list[Block], abs_X: np.ndarray, n_levels: int) -> np.ndarray:
    """Componentwise bound (policy ``tree_centroid_fft``) on the error of :func:`apply_blocks`."""
    bound = np.zeros(abs_X.shape)
    k = abs_X.shape[1]
    terms = 2 * n_levels  # histograms per node: the sum that collects them has this many
    eps, safety = tolerances.EPS, tolerances.SAFETY
    for block in blocks:
        hist = (block.gather @ abs_X).reshape(-1, block.N, k)  # h_b(|X|) >= |h_b(X)|
        sums = block.members[:, None, None] + terms  # gather and scatter summation lengths
        if block.hankel is not None:
            err = safety * eps * (block.N + sums) * np.matmul(np.abs(block.hankel), hist)
        else:
            columns = hist.transpose(1, 0, 2).reshape(block.N, -1)
            fft = tolerances.fft_convolution_bound(block.n_fft, np.abs(block.kernel).sum(),
                                                   columns).reshape(-1, 1, k)
            l1 = hist.sum(axis=1, keepdims=True)
            err = np.broadcast_to(
                fft + safety * eps * sums * np.abs(block.kernel).max() * l1, hist.shape)
        bound += np.abs(block.scatter) @ err.reshape(-1, k)
    return bound
