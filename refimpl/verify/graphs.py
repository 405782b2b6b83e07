"""Checks of the sparse-graph family (Wang et al., ICML 2022: NIP and the Hypercube Transformer).

* :func:`~refimpl.attention.sparse_graph_attention` against mpmath (50 digits) and against
  the dense :func:`~refimpl.attention.softmax_attention` with the graph's mask, on every
  standard graph;
* the hypercube graph against a port of the official Gray-code loop, and its closed forms
  for ``n = 2^k`` (the k-cube) and its diameter ``ceil(log2 n)`` for every ``n``;
* :func:`~refimpl.graphs.nip` against its closed forms (complete graph, k-cube, zero below
  the diameter), exact rational arithmetic, and relabelling;
* block lifting against the Kronecker product of the block mask, and its NIP against the
  layout's (equal: ``proofs/nip.py``).
"""

from __future__ import annotations

import math
from fractions import Fraction

import networkx as nx
import numpy as np
from scipy.sparse.csgraph import shortest_path

from .. import mp, tolerances
from ..attention import softmax_attention, sparse_graph_attention
from ..graphs import (
    attention_mask,
    attention_pattern,
    complete_graph,
    hypercube_graph,
    lift_blocks,
    nip,
    nip_report,
    standard_graphs,
)
from ._registry import Outcome, check, compare

FAMILY = "graphs"
WANG = "Wang+22"
SEED = 20220517  # any fixed seed makes the checks reproducible


def _rng(offset: int = 0) -> np.random.Generator:
    return np.random.default_rng(SEED + offset)


# -- helpers shared with tests/test_graphs.py ------------------------------------------------

def official_hypercube_mask(n: int) -> np.ndarray:
    """A port of the loop of the official ``TesseractSparsityConfig.get_mask`` (spec 1.3).

    Labels: start from ``[0, 1]``; while too short, append the reverse, shift every label
    left by one bit and set the low bit in the second half. Position ``i`` is joined to the
    positions whose label differs from its own in one bit, if they are ``< n``.
    """
    k = max(n - 1, 0).bit_length()
    labels = [0, 1]
    while len(labels) < 2**k:
        labels = labels + labels[::-1]
        half = len(labels) // 2
        labels = [(t << 1) | (p >= half) for p, t in enumerate(labels)]
    where = {t: p for p, t in enumerate(labels)}
    mask = np.eye(n)
    for i in range(n):
        for bit in range(k):
            p = where[labels[i] ^ (1 << bit)]
            if p < n:
                mask[i, p] = 1.0
    return mask


def logit_size(q, k, mask, scale):
    """a_i of the softmax bound: the largest |scale| sum_c |q_ic k_jc| over allowed keys."""
    size = abs(scale) * (np.abs(q) @ np.swapaxes(np.abs(k), -1, -2))
    return np.where(mask > 0, size, 0.0).max(axis=-1)


def float_weights(q, k, mask, scale):
    """The attention probabilities in float64 (magnitudes for the error bound only)."""
    logits = np.where(mask > 0, scale * (q @ np.swapaxes(k, -1, -2)), -np.inf)
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


def sparse_dense_bound(q, k, v, mask, scale):
    """Twice the softmax bound: both sides are within it of the exact value."""
    size = logit_size(q, k, mask, scale)
    p = float_weights(q, k, mask, scale)
    return 2 * tolerances.softmax_attention_bound(size, q.shape[-1], p, v)


def exact_kcube_min_payload(k: int) -> Fraction:
    """min_ij (P^k)_ij of the k-cube with self-loops, in exact rational arithmetic."""
    n = 2**k
    adjacency = attention_mask(hypercube_graph(n))
    p = [[Fraction(int(a), k + 1) for a in row] for row in adjacency]
    power = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    for _ in range(k):
        power = [[sum(power[i][m] * p[m][j] for m in range(n) if p[m][j])
                  for j in range(n)] for i in range(n)]
    return min(min(row) for row in power)


# -- sparse attention against mpmath and the dense oracle -------------------------------------

def _inputs(n, d, dv, rng, batch=()):
    return (rng.normal(size=batch + (n, d)), rng.normal(size=batch + (n, d)),
            rng.normal(size=batch + (n, dv)))


def _slug(name: str) -> str:
    """``window w=4`` -> ``window_w4``: check names without spaces."""
    return name.replace(" ", "_").replace("=", "")


def _sparse_mp_check(name):
    @check(f"graphs/sparse_vs_mpmath/{_slug(name)}", family=FAMILY,
           paper=f"{WANG} sparse softmax (mpmath)", policy="softmax_attention")
    def _run(quick: bool) -> Outcome:
        n, d, dv = (8, 3, 2) if quick else (13, 4, 3)
        graph = standard_graphs(n, rng=_rng(1))[name]
        q, k, v = _inputs(n, d, dv, _rng(2))
        mask = attention_mask(graph)
        exact, p = mp.softmax_attention(q, k, v, mask=mask, return_weights=True)
        scale = 1 / np.sqrt(d)
        bound = tolerances.softmax_attention_bound(logit_size(q, k, mask, scale), d, p, v)
        return compare(sparse_graph_attention(q, k, v, graph), exact, bound)

    return _run


def _sparse_dense_check(name):
    @check(f"graphs/sparse_vs_dense/{_slug(name)}", family=FAMILY,
           paper=f"{WANG} sparse = masked dense", policy="softmax_attention")
    def _run(quick: bool) -> Outcome:
        n, d, dv = (61, 8, 3) if quick else (257, 16, 8)
        graph = standard_graphs(n, rng=_rng(3))[name]
        q, k, v = _inputs(n, d, dv, _rng(4), batch=(2,))
        mask = attention_mask(graph)
        dense = softmax_attention(q, k, v, mask=mask)
        bound = sparse_dense_bound(q, k, v, mask, 1 / np.sqrt(d))
        return compare(sparse_graph_attention(q, k, v, graph), dense, bound)

    return _run


for _name in standard_graphs(8, rng=0):
    _sparse_mp_check(_name)
    _sparse_dense_check(_name)


@check("graphs/sparse_logits_1e4_exact_inputs", family=FAMILY,
       paper=f"{WANG} sparse softmax, |z| ~ 1e4", policy="softmax_attention")
def _huge_logits(quick: bool) -> Outcome:
    n = 16 if quick else 32
    rng = _rng(5)
    q = rng.integers(-70, 71, size=(n, 2)).astype(float)  # exact logits up to ~1e4
    k = rng.integers(-70, 71, size=(n, 2)).astype(float)
    v = rng.normal(size=(n, 2))
    graph = hypercube_graph(n)
    mask = attention_mask(graph)
    exact, p = mp.softmax_attention(q, k, v, mask=mask, scale=1.0, return_weights=True)
    bound = tolerances.softmax_attention_bound(logit_size(q, k, mask, 1.0), 2, p, v)
    return compare(sparse_graph_attention(q, k, v, graph, scale=1.0), exact, bound)


# -- the hypercube graph ------------------------------------------------------------------------

@check("graphs/hypercube/official_gray_code_rule", family=FAMILY,
       paper=f"{WANG} code: get_mask, n=1..256", policy="exact")
def _official_rule(quick: bool) -> Outcome:
    sizes = range(1, (64 if quick else 256) + 1)
    wrong = [np.count_nonzero(attention_mask(hypercube_graph(n)) != official_hypercube_mask(n))
             for n in sizes]
    return compare(wrong, np.zeros(len(wrong)), 0.0, detail="mismatched mask entries per n")


@check("graphs/hypercube/k_cube", family=FAMILY,
       paper="Q_k: k-regular, k 2^(k-1) edges", policy="exact")
def _k_cube(quick: bool) -> Outcome:
    failures = []
    for k in range(1, (6 if quick else 10) + 1):
        g = hypercube_graph(2**k)
        degrees = {d for _, d in g.degree()}
        flags = [nx.vf2pp_is_isomorphic(g, nx.hypercube_graph(k)), degrees == {k},
                 g.number_of_edges() == k * 2 ** (k - 1), nx.is_bipartite(g),
                 shortest_path(attention_pattern(g), unweighted=True).max() == k]
        failures.append(len(flags) - sum(flags))
    return compare(failures, np.zeros(len(failures)), 0.0,
                   detail="failed facts per k: isomorphic, regular, edges, bipartite, diameter")


@check("graphs/hypercube/diameter_ceil_log2", family=FAMILY,
       paper="diam = ceil(log2 n), i ~ i+1", policy="exact")
def _diameter(quick: bool) -> Outcome:
    sizes = range(2, (64 if quick else 300) + 1)
    errors = []
    for n in sizes:
        graph = hypercube_graph(n)
        diameter = shortest_path(attention_pattern(graph), unweighted=True).max()
        consecutive = attention_mask(graph)[np.arange(n - 1), np.arange(1, n)]
        errors.append(abs(diameter - math.ceil(math.log2(n))) + np.count_nonzero(consecutive == 0))
    return compare(errors, np.zeros(len(errors)), 0.0)


# -- NIP -------------------------------------------------------------------------------------

@check("graphs/nip/complete_is_one", family=FAMILY, paper="NIP(K_n) = 1 (spec 7)",
       policy="information_payload")
def _complete(quick: bool) -> Outcome:
    cases = [(n, h) for n in (1, 2, 3, 7, 16, 31) + (() if quick else (64, 127))
             for h in (1, 2, 3)]
    values = [nip(complete_graph(n), h) for n, h in cases]
    bound = [tolerances.payload_bound(h, n, 1.0) for n, h in cases]
    return compare(values, np.ones(len(cases)), bound)


@check("graphs/nip/k_cube_closed_form", family=FAMILY, paper="NIP(Q_k) = n^2 k!/(k+1)^(k+1)",
       policy="information_payload")
def _k_cube_nip(quick: bool) -> Outcome:
    ks = range(1, (7 if quick else 10) + 1)
    closed = [4**k * math.factorial(k) / (k + 1) ** (k + 1) for k in ks]
    bound = [tolerances.payload_bound(k, 2**k, c) for k, c in zip(ks, closed)]
    return compare([nip(hypercube_graph(2**k)) for k in ks], closed, bound)


@check("graphs/nip/k_cube_exact_rational", family=FAMILY, paper="min P^k = k!/(k+1)^k (exact)",
       policy="exact")
def _k_cube_rational(quick: bool) -> Outcome:
    ks = range(1, (3 if quick else 4) + 1)
    wrong = [exact_kcube_min_payload(k) != Fraction(math.factorial(k), (k + 1) ** k) for k in ks]
    return compare(wrong, np.zeros(len(wrong)), 0.0, detail="k with a wrong exact minimum")


@check("graphs/nip/zero_below_diameter", family=FAMILY, paper="NIP_h = 0 for h < diameter",
       policy="exact")
def _zero_below(quick: bool) -> Outcome:
    n = 24 if quick else 64
    values = []
    for graph in standard_graphs(n, rng=_rng(6)).values():
        diameter = nip_report(graph).diameter
        values += [nip(graph, h) for h in range(diameter)]
    return compare(values, np.zeros(len(values)), 0.0)


@check("graphs/nip/relabel_invariance", family=FAMILY, paper="NIP(pi G) = NIP(G)",
       policy="information_payload")
def _relabel(quick: bool) -> Outcome:
    n = 40 if quick else 160
    rng = _rng(7)
    values, relabelled, bounds = [], [], []
    for graph in standard_graphs(n, rng=rng).values():
        perm = rng.permutation(n)
        report = nip_report(graph)
        values.append(report.nip)
        relabelled.append(nip(nx.relabel_nodes(graph, dict(enumerate(perm.tolist())))))
        bounds.append(2 * tolerances.payload_bound(report.hops, n, report.nip))
    return compare(relabelled, values, bounds)


# -- block lifting ------------------------------------------------------------------------------

@check("graphs/block_lifting", family=FAMILY, paper=f"{WANG} code: kron(layout, 1_bxb)",
       policy="exact")
def _lifting(quick: bool) -> Outcome:
    errors = []
    for block in (1, 2, 3, 16):
        for layout in standard_graphs(8 if quick else 16, rng=_rng(8)).values():
            layout_mask = attention_mask(layout)
            tokens = attention_mask(lift_blocks(layout, block))
            expected = np.kron(layout_mask, np.ones((block, block)))
            row_sums = block * np.repeat(layout_mask.sum(axis=1), block)
            errors.append(np.count_nonzero(tokens != expected)
                          + np.count_nonzero(tokens.sum(axis=1) != row_sums))
    return compare(errors, np.zeros(len(errors)), 0.0)


@check("graphs/nip/block_lifting_invariance", family=FAMILY, paper="NIP(G x J_b) = NIP(G)",
       policy="information_payload")
def _lifting_nip(quick: bool) -> Outcome:
    n = 8 if quick else 16
    values, lifted, bounds = [], [], []
    for layout in standard_graphs(n, rng=_rng(9)).values():
        report = nip_report(layout)
        for block in (2, 3):
            values.append(report.nip)
            lifted.append(nip(lift_blocks(layout, block), report.hops))
            bounds.append(tolerances.payload_bound(report.hops, n, report.nip)
                          + tolerances.payload_bound(report.hops, n * block, report.nip))
    return compare(lifted, values, bounds)
