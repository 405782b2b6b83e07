"""Sparse attention graphs, NIP and sparse graph attention (Wang et al., ICML 2022).

* ``sparse_graph_attention`` equals the dense masked ``softmax_attention`` on every
  standard graph (Hypothesis-drawn n, d and graph parameters; sizes 1, 2, odd and prime;
  rows with only a self-loop), both within ``softmax_attention_bound`` of mpmath;
* the hypercube graph is the official Gray-code rule for n = 1..256, the k-cube for
  n = 2^k, and has diameter ceil(log2 n);
* NIP: the complete graph scores 1, the k-cube n^2 k!/(k+1)^(k+1) (exact rationals), 0
  below the diameter, and relabelling changes nothing;
* block lifting is the Kronecker product with a block of ones;
* bad input is refused by name.
"""

from __future__ import annotations

import importlib.util
import io
import math
from fractions import Fraction
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse
from hypothesis import given
from hypothesis import strategies as st
from test_masks import SIZES, assert_within, seeds

from refimpl import mp, tolerances, verify
from refimpl.attention import softmax_attention, sparse_graph_attention
from refimpl.graphs import (
    NIP_MAX_NODES,
    attention_mask,
    attention_pattern,
    bigbird_graph,
    complete_graph,
    format_nip_table,
    hypercube_graph,
    information_payload,
    lift_blocks,
    longformer_graph,
    nip,
    nip_report,
    nip_table,
    sliding_window_graph,
    standard_graphs,
    star_graph,
)
from refimpl.verify import graphs as vg

KINDS = ["complete", "window", "star", "longformer", "bigbird", "hypercube", "empty", "gnp"]


@st.composite
def graphs(draw, sizes=SIZES, kinds=KINDS):
    """One attention graph of a drawn kind, with drawn parameters."""
    kind = draw(st.sampled_from(kinds), label="kind")
    n = draw(sizes, label="n")
    w = draw(st.integers(0, n + 1), label="w")
    if kind == "complete":
        return complete_graph(n)
    if kind == "window":
        return sliding_window_graph(n, w)
    if kind == "star":
        return star_graph(n)
    if kind == "longformer":
        hubs = draw(st.one_of(st.integers(0, n), st.sets(st.integers(0, n - 1)).map(sorted)),
                    label="global_nodes")
        return longformer_graph(n, w, hubs)
    if kind == "bigbird":
        return bigbird_graph(n, w, draw(st.integers(0, n), label="n_global"),
                             draw(st.integers(0, n - 1), label="n_random"),
                             rng=draw(st.integers(0, 2**32 - 1), label="seed"))
    if kind == "hypercube":
        return hypercube_graph(n)
    if kind == "empty":  # every row holds only its self-loop
        return nx.empty_graph(n)
    return nx.gnp_random_graph(n, draw(st.floats(0, 1), label="p"),
                               seed=draw(st.integers(0, 2**32 - 1), label="seed"))


def _connected(graph) -> bool:
    return nx.is_connected(graph)


# -- sparse graph attention ------------------------------------------------------------------

@given(graph=graphs(sizes=st.integers(1, 9)), d=st.integers(1, 3), dv=st.integers(1, 2),
       spread=st.sampled_from([0.1, 1.0, 5.0]), rng=seeds())
def test_sparse_attention_matches_mpmath(graph, d, dv, spread, rng):
    n = graph.number_of_nodes()
    q, k, v = rng.normal(size=(n, d)) * spread, rng.normal(size=(n, d)), rng.normal(size=(n, dv))
    mask = attention_mask(graph)
    exact, p = mp.softmax_attention(q, k, v, mask=mask, return_weights=True)
    scale = 1 / np.sqrt(d)
    bound = tolerances.softmax_attention_bound(vg.logit_size(q, k, mask, scale), d, p, v)
    assert_within(sparse_graph_attention(q, k, v, graph), exact, bound, f"sparse {graph.name}")
    assert_within(softmax_attention(q, k, v, mask=mask), exact, bound, f"dense {graph.name}")


@given(graph=graphs(), d=st.integers(1, 6), dv=st.integers(1, 4),
       batch=st.sampled_from([(), (1,), (2,), (2, 3)]), rng=seeds())
def test_sparse_attention_equals_dense_masked_softmax(graph, d, dv, batch, rng):
    n = graph.number_of_nodes()
    q, k = rng.normal(size=batch + (n, d)), rng.normal(size=batch + (n, d))
    v = rng.normal(size=batch + (n, dv))
    mask = attention_mask(graph)
    out = sparse_graph_attention(q, k, v, graph)
    assert out.shape == batch + (n, dv) and out.dtype == np.float64
    bound = vg.sparse_dense_bound(q, k, v, mask, 1 / np.sqrt(d))
    assert_within(out, softmax_attention(q, k, v, mask=mask), bound, f"{graph.name}")


@given(graph=graphs(sizes=st.integers(1, 12)), rng=seeds())
def test_batches_broadcast_and_equal_the_loop(graph, rng):
    n = graph.number_of_nodes()
    q, k, v = rng.normal(size=(2, 1, n, 3)), rng.normal(size=(3, n, 3)), rng.normal(size=(n, 2))
    out = sparse_graph_attention(q, k, v, graph)
    assert out.shape == (2, 3, n, 2)
    for a in range(2):
        for b in range(3):
            np.testing.assert_array_equal(out[a, b], sparse_graph_attention(q[a, 0], k[b], v,
                                                                            graph))


@given(graph=graphs(), rng=seeds())
def test_a_precomputed_pattern_gives_the_same_result(graph, rng):
    n = graph.number_of_nodes()
    q, k, v = rng.normal(size=(3, n, 2))
    pattern = attention_pattern(graph)
    np.testing.assert_array_equal(pattern.toarray(), attention_mask(graph))
    np.testing.assert_array_equal(sparse_graph_attention(q, k, v, pattern),
                                  sparse_graph_attention(q, k, v, graph))
    # Any sparse format and any nonzero values describe the same pattern.
    weighted = scipy.sparse.coo_matrix(2.5 * (attention_mask(graph) - np.eye(n)))
    np.testing.assert_array_equal(sparse_graph_attention(q, k, v, weighted),
                                  sparse_graph_attention(q, k, v, graph))


@pytest.mark.parametrize("n", [1, 2, 5, 13])
def test_rows_with_only_a_self_loop_return_their_value(n):
    rng = np.random.default_rng(n)
    q, k, v = rng.normal(size=(3, n, 2)) * 100
    np.testing.assert_array_equal(sparse_graph_attention(q, k, v, nx.empty_graph(n)), v)


@given(rng=seeds(), n=st.sampled_from([2, 7, 16, 31]))
def test_logits_of_size_1e4_are_exact_and_finite(rng, n):
    q = rng.integers(-70, 71, size=(n, 2)).astype(float)
    k = rng.integers(-70, 71, size=(n, 2)).astype(float)
    v = rng.normal(size=(n, 2))
    graph = hypercube_graph(n)
    mask = attention_mask(graph)
    out = sparse_graph_attention(q, k, v, graph, scale=1.0)
    exact, p = mp.softmax_attention(q, k, v, mask=mask, scale=1.0, return_weights=True)
    bound = tolerances.softmax_attention_bound(vg.logit_size(q, k, mask, 1.0), 2, p, v)
    assert np.all(np.isfinite(out))
    assert_within(out, exact, bound, "logits ~1e4")


# -- the graphs ----------------------------------------------------------------------------------

def test_hypercube_is_the_official_gray_code_rule_for_n_up_to_256():
    for n in range(1, 257):
        np.testing.assert_array_equal(attention_mask(hypercube_graph(n)),
                                      vg.official_hypercube_mask(n), err_msg=f"n = {n}")


def test_official_port_reproduces_the_published_labels():
    # spec 1.3: n = 8 gives labels [0, 4, 6, 2, 3, 7, 5, 1], so 0 ~ {1, 3, 7}.
    assert sorted(np.flatnonzero(vg.official_hypercube_mask(8)[0])) == [0, 1, 3, 7]
    assert sorted(np.flatnonzero(vg.official_hypercube_mask(4)[0])) == [0, 1, 3]


@pytest.mark.parametrize("k", range(1, 9))
def test_power_of_two_hypercube_is_the_k_cube(k):
    n = 2**k
    g = hypercube_graph(n)
    assert nx.vf2pp_is_isomorphic(g, nx.hypercube_graph(k))
    assert {d for _, d in g.degree()} == {k}
    assert g.number_of_edges() == k * 2 ** (k - 1)
    assert nx.is_bipartite(g)
    assert nx.diameter(g) == k
    flip = {i: n - 1 - i for i in range(n)}  # the automorphism i -> n - 1 - i
    assert set(map(frozenset, nx.relabel_nodes(g, flip).edges())) == set(
        map(frozenset, g.edges()))


@given(n=st.integers(2, 200))
def test_hypercube_diameter_is_ceil_log2_and_consecutive_tokens_are_adjacent(n):
    g = hypercube_graph(n)
    k = math.ceil(math.log2(n))
    assert nx.diameter(g) == k
    assert all(g.has_edge(i, i + 1) for i in range(n - 1))
    assert all(g.has_edge(0, 2**j - 1) for j in range(2, k + 1) if 2**j - 1 < n)
    assert {d for _, d in g.degree()} <= set(range(1, k + 1))


def test_hypercube_neighbour_lists_and_edge_counts():
    assert {i: sorted(hypercube_graph(8).neighbors(i)) for i in range(8)} == {
        0: [1, 3, 7], 1: [0, 2, 6], 2: [1, 3, 5], 3: [0, 2, 4],
        4: [3, 5, 7], 5: [2, 4, 6], 6: [1, 5, 7], 7: [0, 4, 6]}
    assert sorted(hypercube_graph(4).edges()) == [(0, 1), (0, 3), (1, 2), (2, 3)]
    counts = {3: 2, 5: 5, 6: 7, 7: 9, 12: 20, 20: 40, 31: 75, 33: 81, 100: 316}
    assert {n: hypercube_graph(n).number_of_edges() for n in counts} == counts
    g33 = hypercube_graph(33)
    assert sorted(g33.neighbors(0)) == [1, 3, 7, 15, 31] and list(g33.neighbors(32)) == [31]
    assert hypercube_graph(1).number_of_nodes() == 1


@given(n=SIZES, w=st.integers(0, 45))
def test_sliding_window_is_the_band(n, w):
    i, j = np.indices((n, n))
    np.testing.assert_array_equal(attention_mask(sliding_window_graph(n, w)),
                                  (np.abs(i - j) <= w).astype(float))


@given(n=SIZES, w=st.integers(0, 5), data=st.data())
def test_longformer_and_bigbird_contain_window_and_globals(n, w, data):
    hubs = data.draw(st.sets(st.integers(0, n - 1)).map(sorted), label="global_nodes")
    g = longformer_graph(n, w, hubs)
    window = attention_mask(sliding_window_graph(n, w))
    mask = attention_mask(g)
    expected = np.maximum(window, np.zeros((n, n)))
    expected[hubs, :] = expected[:, hubs] = 1.0
    np.testing.assert_array_equal(mask, expected)
    n_global = data.draw(st.integers(0, n), label="n_global")
    n_random = data.draw(st.integers(0, n - 1), label="n_random")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    bb = bigbird_graph(n, w, n_global, n_random, rng=seed)
    assert np.all(attention_mask(bb) >= attention_mask(longformer_graph(n, w, n_global)))
    assert min(d for _, d in bb.degree()) >= n_random  # distinct partners per token
    np.testing.assert_array_equal(attention_mask(bigbird_graph(n, w, n_global, n_random,
                                                               rng=seed)), attention_mask(bb))


def test_star_and_complete():
    assert sorted(star_graph(5).edges()) == [(0, 1), (0, 2), (0, 3), (0, 4)]
    np.testing.assert_array_equal(attention_mask(complete_graph(4)), np.ones((4, 4)))


@given(layout=graphs(sizes=st.integers(1, 8)), block=st.sampled_from([1, 2, 3, 16]))
def test_block_lifting_is_the_kronecker_product(layout, block):
    mask = attention_mask(layout)
    tokens = attention_mask(lift_blocks(layout, block))
    np.testing.assert_array_equal(tokens, np.kron(mask, np.ones((block, block))))
    np.testing.assert_array_equal(tokens.sum(axis=1), block * np.repeat(mask.sum(axis=1), block))


@given(layout=graphs(sizes=st.integers(1, 8)), block=st.sampled_from([2, 3]),
       hops=st.integers(1, 4))
def test_block_lifting_preserves_nip(layout, block, hops):
    """P^h of the lifted graph is P_G^h (x) J / b (proofs/nip.py), so the NIP is unchanged."""
    n = layout.number_of_nodes()
    value = nip(layout, hops)
    lifted = nip(lift_blocks(layout, block), hops)
    assert abs(lifted - value) <= (tolerances.payload_bound(hops, n, value)
                                   + tolerances.payload_bound(hops, n * block, value))


# -- the information payload and NIP ------------------------------------------------------------

@given(n=SIZES, hops=st.integers(1, 4))
def test_complete_graph_scores_one(n, hops):
    assert abs(nip(complete_graph(n), hops) - 1.0) <= tolerances.payload_bound(hops, n, 1.0)


@pytest.mark.parametrize("k", range(1, 5))
def test_k_cube_closed_form_in_exact_rationals_and_float(k):
    n = 2**k
    exact_min = vg.exact_kcube_min_payload(k)
    assert exact_min == Fraction(math.factorial(k), (k + 1) ** k)
    exact_nip = n * exact_min / Fraction(n * (k + 1), n * n)
    assert exact_nip == Fraction(n * n * math.factorial(k), (k + 1) ** (k + 1))
    report = nip_report(hypercube_graph(n))
    assert report.hops == report.diameter == k
    assert abs(report.nip - float(exact_nip)) <= tolerances.payload_bound(k, n, exact_nip)
    assert abs(report.min_payload - float(exact_min)) <= tolerances.payload_bound(k, n,
                                                                                   exact_min)


@given(graph=graphs(sizes=st.integers(1, 24)))
def test_nip_is_zero_below_the_diameter_and_positive_at_it(graph):
    if not _connected(graph):
        return
    report = nip_report(graph)
    assert report.diameter == (nx.diameter(graph) if graph.number_of_nodes() > 1 else 0)
    assert report.nip > 0 and report.reach == 1.0
    for h in range(report.diameter):
        assert nip(graph, h) == 0.0


@given(graph=graphs(sizes=st.integers(1, 24)), hops=st.integers(0, 6), rng=seeds())
def test_nip_is_invariant_under_relabelling(graph, hops, rng):
    n = graph.number_of_nodes()
    perm = dict(enumerate(rng.permutation(n).tolist()))
    value, relabelled = nip(graph, hops), nip(nx.relabel_nodes(graph, perm), hops)
    assert abs(value - relabelled) <= 2 * tolerances.payload_bound(hops, n, value)


@given(graph=graphs(sizes=st.integers(1, 24)), hops=st.integers(0, 6))
def test_payload_is_the_h_step_uniform_attention(graph, hops):
    """P^h against h explicit products; rows sum to one; zeros exactly beyond distance h."""
    payload = information_payload(graph, hops)
    mask = attention_mask(graph)
    n = mask.shape[0]
    step, naive = mask / mask.sum(axis=1, keepdims=True), np.eye(n)
    for _ in range(hops):
        naive = naive @ step
    bound = 2 * tolerances.payload_bound(hops, n, naive)
    assert_within(payload, naive, bound, "P^h")
    assert_within(payload.sum(axis=1), np.ones(n), tolerances.payload_bound(hops, n, 1.0) * n,
                  "row sums")
    distance = dict(nx.all_pairs_shortest_path_length(graph))
    within = np.array([[distance[i].get(j, n + 7) <= hops for j in range(n)] for i in range(n)])
    np.testing.assert_array_equal(payload > 0, within)
    assert nip_report(graph, hops).reach == within.mean()


def test_report_fields_and_table():
    report = nip_report(hypercube_graph(16))
    assert (report.n, report.edges, report.diameter, report.hops) == (16, 32, 4, 4)
    assert report.density == 80 / 256
    assert report.worst_pair[0] == 0  # the first row already attains the minimum
    reports = nip_table(16, rng=0)
    assert [r.name for r in reports] == list(standard_graphs(16, rng=0))
    assert all(r.n == 16 for r in reports)
    text = format_nip_table(reports)
    assert text.count("\n") == len(reports) + 1 and "| hypercube | 16 | 32 |" in text
    lifted = nip_table(32, block=16, rng=0)
    assert all(r.n == 32 for r in lifted)


def test_nip_refuses_underflow_and_large_graphs():
    # A window of half-width 1 on 700 tokens: the corner payload is ~3^-699 < 1e-292.
    with pytest.raises(ValueError, match="below the float64 range"):
        nip(sliding_window_graph(700, 1))
    with pytest.raises(ValueError, match="NIP_MAX_NODES"):
        nip(hypercube_graph(NIP_MAX_NODES + 1))
    with pytest.raises(ValueError, match="disconnected"):
        information_payload(nx.empty_graph(3))
    assert nip(nx.empty_graph(3), hops=2) == 0.0


# -- negative controls: the checks can fail ------------------------------------------------------

def test_a_wrong_sparse_attention_fails_its_checks(monkeypatch):
    original = vg.sparse_graph_attention
    monkeypatch.setattr(vg, "sparse_graph_attention",
                        lambda *a, **kw: original(*a, **kw) * (1 + 1e-10))
    results = {r.name: r for r in verify.run(quick=True, families=["graphs"],
                                             stream=io.StringIO())}
    assert results["graphs/sparse_vs_mpmath/hypercube"].verdict == "FAIL"
    assert results["graphs/sparse_vs_dense/star"].verdict == "FAIL"
    assert results["graphs/nip/k_cube_closed_form"].verdict == "pass"


def test_the_nip_proofs_can_fail():
    path = Path(__file__).resolve().parents[1] / "proofs" / "nip.py"
    spec = importlib.util.spec_from_file_location("_refimpl_proofs_nip_control", path)
    proofs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(proofs)
    assert proofs._egf_count(3, 3) == 6 and proofs._egf_count(3, 1) == 10
    value, _ = proofs._nip_exact(proofs._cube_plus_identity(3), 2)
    assert value == 0  # one hop short of the diameter
    assert proofs._nip_exact(proofs._cube_plus_identity(3), 3)[0] != Fraction(64 * 6, 3**4)


# -- bad input ------------------------------------------------------------------------------------

def _digraph():
    return nx.DiGraph([(0, 1), (1, 2)])


def _lettered():
    return nx.relabel_nodes(nx.path_graph(3), {0: "a", 1: "b", 2: "c"})


def _shifted():
    return nx.relabel_nodes(nx.path_graph(3), {0: 1, 1: 2, 2: 3})


_Q = np.random.default_rng(0).normal(size=(4, 2))
_G4 = hypercube_graph(4)
BAD = [
    (complete_graph, {"n": 0}, ValueError, r"\bn\b.*0"),
    (complete_graph, {"n": -3}, ValueError, r"\bn\b.*-3"),
    (complete_graph, {"n": 2.5}, TypeError, r"\bn\b"),
    (star_graph, {"n": True}, TypeError, r"\bn\b"),
    (hypercube_graph, {"n": 0}, ValueError, r"\bn\b"),
    (sliding_window_graph, {"n": 4, "w": -1}, ValueError, r"\bw\b.*-1"),
    (longformer_graph, {"n": 4, "w": 1, "global_nodes": 5}, ValueError,
     r"global_nodes.*more global tokens than tokens"),
    (longformer_graph, {"n": 4, "w": 1, "global_nodes": [4]}, ValueError, r"global_nodes"),
    (longformer_graph, {"n": 4, "w": 1, "global_nodes": [1, 1]}, ValueError, r"distinct"),
    (bigbird_graph, {"n": 4, "w": 1, "n_global": 5, "n_random": 0}, ValueError, r"n_global"),
    (bigbird_graph, {"n": 4, "w": 1, "n_global": 1, "n_random": 4}, ValueError, r"n_random"),
    (bigbird_graph, {"n": 4, "w": 1, "n_global": 1, "n_random": 1, "rng": "x"}, TypeError,
     r"\brng\b"),
    (attention_mask, {"graph": _digraph()}, ValueError, r"graph must be undirected"),
    (attention_mask, {"graph": nx.MultiGraph([(0, 1)])}, ValueError, r"graph.*simple"),
    (attention_mask, {"graph": _lettered()}, ValueError, r"graph.*nodes 0\.\.2"),
    (attention_mask, {"graph": _shifted()}, ValueError, r"graph.*nodes 0\.\.2.*3"),
    (attention_mask, {"graph": nx.Graph()}, ValueError, r"graph.*at least one node"),
    (attention_mask, {"graph": np.eye(3)}, TypeError, r"graph must be a networkx"),
    (attention_pattern, {"graph": scipy.sparse.csr_array(np.ones((2, 3)))}, ValueError,
     r"graph.*square"),
    (attention_pattern, {"graph": scipy.sparse.csr_array(np.triu(np.ones((3, 3))))},
     ValueError, r"graph.*symmetric"),
    (lift_blocks, {"layout": _G4, "block": 0}, ValueError, r"\bblock\b"),
    (lift_blocks, {"layout": _digraph(), "block": 2}, ValueError, r"layout must be undirected"),
    (standard_graphs, {"n": 10, "block": 3}, ValueError, r"\bn\b.*multiple of block"),
    (nip, {"graph": _G4, "hops": -1}, ValueError, r"\bhops\b"),
    (nip, {"graph": _digraph()}, ValueError, r"undirected"),
    (nip, {"graph": nx.empty_graph(2)}, ValueError, r"disconnected.*hops"),
    (information_payload, {"graph": _G4, "hops": 1.5}, TypeError, r"\bhops\b"),
    (sparse_graph_attention, {"q": _Q[:3], "k": _Q[:3], "v": _Q[:3], "graph": _G4},
     ValueError, r"q and k.*4 nodes"),
    (sparse_graph_attention, {"q": np.where(_Q > 1, np.nan, _Q), "k": _Q, "v": _Q,
                              "graph": _G4}, ValueError, r"\bq\b.*nan"),
    (sparse_graph_attention, {"q": _Q, "k": _Q[:, :1], "v": _Q, "graph": _G4}, ValueError,
     r"\bk\b.*last dimension"),
    (sparse_graph_attention, {"q": _Q, "k": _Q, "v": _Q[:3], "graph": _G4}, ValueError,
     r"\bv\b.*rows"),
    (sparse_graph_attention, {"q": _Q, "k": _Q, "v": _Q, "graph": _G4, "scale": np.nan},
     ValueError, r"\bscale\b"),
    (sparse_graph_attention, {"q": _Q, "k": _Q, "v": _Q, "graph": _digraph()}, ValueError,
     r"undirected"),
    (sparse_graph_attention, {"q": _Q * 1e160, "k": _Q * 1e160, "v": _Q, "graph": _G4},
     ValueError, r"overflows float64"),
    (sparse_graph_attention, {"q": _Q, "k": _Q, "v": _Q * 1e308, "graph": _G4}, ValueError,
     r"overflows float64.*\bv\b"),
]


@pytest.mark.parametrize(("func", "kwargs", "exc", "match"), BAD,
                         ids=[f"{b[0].__name__}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_is_refused_by_name(func, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        func(**kwargs)


@pytest.mark.parametrize("call", [
    lambda: complete_graph(1), lambda: sliding_window_graph(4, 0),
    lambda: longformer_graph(4, 1, 4), lambda: bigbird_graph(4, 1, 4, 3, rng=1),
    lambda: lift_blocks(_G4, 1), lambda: nip(_G4, 0),
    lambda: sparse_graph_attention(_Q, _Q, _Q, _G4, scale=2.0),
])
def test_positive_controls_at_the_edges_of_the_valid_range(call):
    assert call() is not None
