"""Benchmarks of the tree-mask family (:class:`~refimpl.masks.TreeMask`).

* ``trees/dp_matmul``: ``TreeMask(tree, decay=a) @ X``, ``X`` of shape ``(L, 16)``, on a
  random weighted tree (random parent array; its labels put parents first, and the same
  kind of tree with shuffled labels, which costs two row permutations) and on a path
  (height ``L``), for ``L = 10^3 .. 10^6``, against the dense product ``M @ X`` where
  ``M`` fits. Goals: time ~ ``L^e`` with ``e <= 1.1`` over ``L >= 10^4``, and
  ``10^6 x 16`` in under 2 s.
* ``trees/centroid_fft_matmul``: ``TreeMask(tree, f) @ X`` for a general ``f`` (the
  centroid decomposition with FFT correlations) on random unweighted trees and on paths,
  ``L = 10^3 .. 10^5``, against the dense product; the fitted exponent (O(L log^2 L)).

Construction (networkx graph, validation, BFS, factorisation or decomposition) is not
timed; it is reported in the ``init`` columns.
"""

from __future__ import annotations

import math
import os
import time

import networkx as nx
import numpy as np
from scipy.sparse.csgraph import dijkstra

from .. import tolerances
from ..masks import TreeMask
from ..masks._trees import adjacency
from ._timing import Table, benchmark, best_times, fit_exponent

FAMILY = "trees"
SEED = 20220718  # any fixed seed: the same inputs on every run
COLUMNS = 16
DECAY = 0.3
EXPONENT_GOAL = 1.1  # the DP's fitted exponent over L >= 10^4
MILLION_GOAL = 2.0  # seconds for 10^6 x 16
DENSE_MAX_L = 10**4  # the dense matrix: 800 MB at 10^4
CHECK_MAX_L = 3000  # fast vs dense error check: the bound needs |M||X|, kept cheap


def _verdict(met: bool, quick: bool) -> str:
    # At --quick sizes fixed overheads dominate: a verdict would mean nothing.
    return "not judged (--quick)" if quick else ("met" if met else "NOT met")


def _dense_fits(L: int) -> bool:
    need = 3 * 8 * L * L  # the distances, overwritten by M, and a temporary
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        free = math.inf
    return L <= DENSE_MAX_L and need <= free / 2


def _random_tree(rng, L: int, *, weighted: bool, shuffle: bool = False) -> nx.Graph:
    """Random recursive tree: node i's parent uniform below i (height ~ e ln L).

    Its labels put parents first, so ``TreeMask`` needs no permutation; ``shuffle``
    relabels the nodes at random, which costs the DP two row permutations of ``X``.
    """
    parent = (rng.random(L - 1) * np.arange(1, L)).astype(np.int64)
    label = rng.permutation(L) if shuffle else np.arange(L)
    tree = nx.Graph()
    tree.add_nodes_from(range(L))
    weights = rng.uniform(0.1, 2.0, L - 1) if weighted else np.ones(L - 1)
    tree.add_weighted_edges_from(zip(label[1:].tolist(), label[parent].tolist(),
                                     weights.tolist()))
    return tree


def _dense(tree: nx.Graph, f) -> np.ndarray:
    """``f(D)`` with the distances from compiled Dijkstra (the oracle's row sums)."""
    L = tree.number_of_nodes()
    u, v, w = (np.array(c) for c in zip(*tree.edges(data="weight", default=1.0)))
    return f(dijkstra(adjacency(L, u.astype(np.int64), v.astype(np.int64), w),
                      directed=False))


def _check(mask, dense, X):
    """A check for :func:`best_times`: the fast product is within its bound of ``dense X``."""

    def check(outputs):
        bound = mask.product_error_bound(X) + tolerances.product_bound(dense, X)
        fast = next(out for name, out in outputs.items() if name != "dense")
        ratio = float((np.abs(fast - outputs["dense"]) / bound).max())
        if not ratio <= 1:
            raise RuntimeError(f"TreeMask @ X differs from the dense product by {ratio:.3g} "
                               f"times its bound at L={X.shape[0]}")
        return ratio

    return check


def _row(table, L, quick, series, make_tree, f, mask_kwargs):
    """Time the fast product on each tree of ``series`` (and dense on the first)."""
    rng = np.random.default_rng(SEED + L)
    X = rng.standard_normal((L, COLUMNS))
    times, extras = {}, {}
    for name in series:
        tree = make_tree[name](rng, L)
        start = time.perf_counter()
        mask = TreeMask(tree, **mask_kwargs)
        extras[f"init {name}"] = time.perf_counter() - start
        funcs, check = {name: lambda mask=mask: mask @ X}, None
        if name == series[0] and _dense_fits(L):
            dense = _dense(tree, f)
            funcs["dense"] = lambda dense=dense: dense @ X
            check = _check(mask, dense, X) if L <= CHECK_MAX_L else None
        timing = best_times(funcs, quick=quick, check=check)
        times.update(timing.seconds)
        if timing.checked is not None:
            extras["err/bound"] = timing.checked
        del mask, tree
    table.add(L, times, extras)


def _sizes(quick: bool, full: list[int], short: list[int]) -> list[int]:
    return short if quick else full


@benchmark("trees/dp_matmul", family=FAMILY,
           description=f"TreeMask(decay={DECAY}) @ X, X of shape (L, {COLUMNS}): two sparse "
                       f"triangular solves, on a random weighted tree (labels parents-first, "
                       f"and shuffled) and on a path, vs the dense M @ X")
def dp_matmul(quick: bool) -> Table:
    """Time the tree DP against the dense product, on random trees and paths."""
    series = ["DP random", "DP shuffled", "DP path"]
    table = Table("L", [*series, "dense"], ratios={"dense/DP": ("dense", "DP random")},
                  extras={f"init {name}": ".2f" for name in series}
                  | {"ns/entry": ".1f", "err/bound": ".2g"})
    make = {"DP random": lambda rng, L: _random_tree(rng, L, weighted=True),
            "DP shuffled": lambda rng, L: _random_tree(rng, L, weighted=True, shuffle=True),
            "DP path": lambda rng, L: nx.path_graph(L)}
    sizes = _sizes(quick, [10**3, 3 * 10**3, 10**4, 3 * 10**4, 10**5, 3 * 10**5, 10**6],
                   [300, 10**3, 3 * 10**3])
    for L in sizes:
        _row(table, L, quick, series, make, lambda D: np.exp(-DECAY * D), {"decay": DECAY})
        table.extras["ns/entry"][-1] = table.times["DP random"][-1] / (L * COLUMNS) * 1e9
    sizes_np = np.asarray(table.sizes)
    large = sizes_np >= 10**4
    for name in series:
        e = fit_exponent(sizes_np[large], np.asarray(table.times[name])[large])
        table.note(f"goal: {name} time ~ L^e with e <= {EXPONENT_GOAL} over L >= 10^4: "
                   f"e = {e:.2f}, {_verdict(e <= EXPONENT_GOAL, quick)}")
    if table.sizes[-1] == 10**6:
        worst = max(table.times[name][-1] for name in series)
        table.note(f"goal: 10^6 x {COLUMNS} in under {MILLION_GOAL} s: {worst:.2f} s, "
                   f"{_verdict(worst <= MILLION_GOAL, quick)}")
    table.note("ns/entry: DP random time per entry of X; the work per entry is fixed (two "
               "multiply-adds per solve), so its growth with L is the memory hierarchy")
    table.note(f"dense: exp(-a D) @ X (D by csgraph.dijkstra, not timed) up to L = "
               f"{DENSE_MAX_L}; err/bound: max |DP - dense| over the tree_dp + product bound, "
               f"checked up to L = {CHECK_MAX_L}; init: construction, not timed in the series")
    return table


@benchmark("trees/centroid_fft_matmul", family=FAMILY,
           description=f"TreeMask(f = 1/(1+x)) @ X, X of shape (L, {COLUMNS}): centroid "
                       f"decomposition + FFT on random unweighted trees and paths, vs dense")
def centroid_fft_matmul(quick: bool) -> Table:
    """Time the general-f centroid + FFT product against the dense product."""
    series = ["FFT random", "FFT path"]
    table = Table("L", [*series, "dense"], ratios={"dense/FFT": ("dense", "FFT random")},
                  extras={"init FFT random": ".2f", "init FFT path": ".2f", "err/bound": ".2g"})
    make = {"FFT random": lambda rng, L: _random_tree(rng, L, weighted=False),
            "FFT path": lambda rng, L: nx.path_graph(L)}

    def f(x):
        return 1.0 / (1.0 + x)

    sizes = _sizes(quick, [10**3, 3 * 10**3, 10**4, 3 * 10**4, 10**5], [300, 10**3, 3 * 10**3])
    for L in sizes:
        _row(table, L, quick, series, make, f, {"f": f})
    for name in series:
        e = table.exponents()[name]
        table.note(f"{name}: time ~ L^{e:.2f} (O(L log^2 L) predicts about 1.2-1.3 here)")
    table.note(f"dense: f(D) @ X up to L = {DENSE_MAX_L}; err/bound checked up to L = "
               f"{CHECK_MAX_L} (tree_centroid_fft + product bound)")
    return table
