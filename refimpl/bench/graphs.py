"""Benchmarks of the sparse-graph family (Wang et al., ICML 2022: the Hypercube Transformer).

* ``graphs/sparse_attention/hypercube``: :func:`~refimpl.attention.sparse_graph_attention`
  on the hypercube graph (about ``N (log2 N + 1)`` pattern entries), ``d = dv = 64``, for
  ``N = 2^10 .. 2^16``, against the dense masked
  :func:`~refimpl.attention.softmax_attention` where it fits. Goal: time ~ ``N^e`` with
  ``e <= 1.2`` (N log N); the peak memory of one call (``tracemalloc``) grows like the
  number of pattern entries, not like ``N^2``.
* ``graphs/nip_cost``: :func:`~refimpl.graphs.nip` (dense matrix powers, O(n^3 log h)) up
  to ``NIP_MAX_NODES = 2048``, the documented limit above which it refuses.
"""

from __future__ import annotations

import math
import os
import tracemalloc

import numpy as np

from ..attention import _EDGE_CHUNK, softmax_attention, sparse_graph_attention
from ..graphs import (
    NIP_MAX_NODES,
    attention_mask,
    attention_pattern,
    bigbird_graph,
    hypercube_graph,
    nip,
)
from ..verify.graphs import sparse_dense_bound
from ._timing import Table, benchmark, best_times, fit_exponent

FAMILY = "graphs"
SEED = 20220517  # any fixed seed: the same inputs on every run
D = DV = 64
EXPONENT_GOAL = 1.2  # N log N over 2^10 .. 2^16 fits an exponent of about 1.1
DENSE_MAX_N = 2**13  # masked softmax holds ~6 (N, N) float64 temporaries
CHECK_MAX_N = 2**11  # the error bound needs the dense weights: O(N^2), kept cheap
# sparse_graph_attention gathers q and k rows for at most this many pattern entries at once.
_CHUNK_MB = 2 * _EDGE_CHUNK * D * 8 / 1e6


def _verdict(met: bool, quick: bool) -> str:
    # At --quick sizes fixed overheads dominate: a verdict would mean nothing.
    return "not judged (--quick)" if quick else ("met" if met else "NOT met")


def _dense_fits(n: int) -> bool:
    need = 8 * 8 * n * n
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        free = math.inf  # not POSIX: trust DENSE_MAX_N alone
    return n <= DENSE_MAX_N and need <= free / 2


def _peak_bytes(func) -> int:
    """Peak traced allocation of one call (NumPy reports its buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _error_check(q, k, v, mask):
    """A check for :func:`best_times`: sparse and dense agree within twice the bound."""

    def check(outputs):
        bound = sparse_dense_bound(q, k, v, mask, 1 / math.sqrt(D))
        ratio = float((np.abs(outputs["sparse"] - outputs["dense"]) / bound).max())
        if not ratio <= 1:
            raise RuntimeError(f"sparse_graph_attention differs from masked softmax_attention "
                               f"by {ratio:.3g} times the bound at N={q.shape[0]}")
        return ratio

    return check


def _hypercube_row(n: int, quick: bool) -> tuple[dict, dict]:
    """Times and extras of one size: sparse (pattern, and from the graph), dense if it fits."""
    rng = np.random.default_rng(SEED + n)
    q, k, v = rng.standard_normal((3, n, D))
    graph = hypercube_graph(n)
    pattern = attention_pattern(graph)
    funcs = {"sparse": lambda: sparse_graph_attention(q, k, v, pattern),
             "sparse+convert": lambda: sparse_graph_attention(q, k, v, graph)}
    extras, check = {"entries": pattern.nnz}, None
    if _dense_fits(n):
        mask = attention_mask(graph)
        funcs["dense"] = lambda: softmax_attention(q, k, v, mask=mask)
        check = _error_check(q, k, v, mask) if n <= CHECK_MAX_N else None
        extras["dense peak MB"] = _peak_bytes(funcs["dense"]) / 1e6
    timing = best_times(funcs, quick=quick, check=check)
    peak = _peak_bytes(funcs["sparse"])
    extras.update({"peak MB": peak / 1e6, "B/entry": peak / pattern.nnz,
                   "err/bound": timing.checked})
    return timing.seconds, extras


@benchmark("graphs/sparse_attention/hypercube", family=FAMILY,
           description=f"sparse_graph_attention on the hypercube graph (CSR pattern built "
                       f"once; +convert: from the networkx graph) vs dense softmax_attention "
                       f"with its mask, d = dv = {D}")
def sparse_hypercube(quick: bool) -> Table:
    """Time and peak memory of sparse attention on the hypercube against dense."""
    table = Table("N", ["sparse", "sparse+convert", "dense"],
                  ratios={"dense/sparse": ("dense", "sparse")},
                  extras={"entries": "d", "peak MB": ".1f", "B/entry": ".0f",
                          "dense peak MB": ".0f", "err/bound": ".2g"})
    for p in range(8, 11) if quick else range(10, 17):
        times, extras = _hypercube_row(2**p, quick)
        table.add(2**p, times, extras)
    peaks = [m * 1e6 for m in table.extras["peak MB"]]
    entries = table.extras["entries"]
    fits = table.exponents()["sparse"], table.exponents(upper_half=True)["sparse"]
    table.note(f"goal: sparse time ~ N^e with e <= {EXPONENT_GOAL}: e = {fits[0]:.2f} over all "
               f"sizes ({fits[1]:.2f} over the upper half), "
               f"{_verdict(fits[0] <= EXPONENT_GOAL, quick)}")
    upper = slice(len(peaks) // 2, None)
    table.note(f"peak memory of one sparse call ~ N^{fit_exponent(table.sizes, peaks):.2f} "
               f"(N^{fit_exponent(table.sizes[upper], peaks[upper]):.2f} over the upper half: "
               f"a fixed {_CHUNK_MB:.0f} MB of gather scratch flattens small N); pattern "
               f"entries ~ N^{fit_exponent(table.sizes, entries):.2f} (|E| + N = "
               f"N (log2 N + 1)); dense holds N^2 floats")
    table.note(f"dense: up to N = {DENSE_MAX_N} where memory allows; err/bound: max "
               f"|sparse - dense| over twice refimpl.tolerances.softmax_attention_bound, "
               f"checked up to N = {CHECK_MAX_N}")
    return table


@benchmark("graphs/nip_cost", family=FAMILY,
           description=f"nip(graph) by dense matrix powers, O(n^3 log h), up to "
                       f"NIP_MAX_NODES = {NIP_MAX_NODES}: hypercube and BigBird graphs")
def nip_cost(quick: bool) -> Table:
    """Time of :func:`nip` against the number of nodes."""
    table = Table("n", ["hypercube", "bigbird"], extras={"NIP hypercube": ".4g",
                                                         "NIP bigbird": ".4g"})
    top = 7 if quick else int(math.log2(NIP_MAX_NODES))
    for p in range(5 if quick else 6, top + 1):
        n = 2**p
        graphs = {"hypercube": hypercube_graph(n),
                  "bigbird": bigbird_graph(n, 1, 1, 4, rng=SEED)}
        timing = best_times({name: (lambda g=g: nip(g)) for name, g in graphs.items()},
                            quick=quick)
        table.add(n, timing.seconds, {f"NIP {name}": nip(g) for name, g in graphs.items()})
    fit = table.exponents(upper_half=True)["hypercube"]
    table.note(f"nip includes the graph's dense mask, its diameter and P^h: time ~ n^"
               f"{fit:.2f} over the upper half (dense products are n^3); nip refuses "
               f"n > NIP_MAX_NODES = {NIP_MAX_NODES}")
    return table
