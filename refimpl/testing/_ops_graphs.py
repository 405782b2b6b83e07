"""Op records for refimpl.graphs: exact graph constructors, masks, information payload, NIP.

Graph constructors are compared exactly (POLICY ``exact``): a backend's graph, as a
networkx graph or a dense adjacency matrix, must have the same nodes ``0..n-1`` and the
same edges, and no self-loops. ``bigbird_graph`` is random: only its structure is checked
(it contains the window and global edges, every token has its random partners, same seed
same graph).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import strategies as st

from .. import graphs, tolerances
from . import strategies as rst
from ._case import Case
from ._ops import Invariant, Op, Problem, identity, register, relation

# -- converting a backend's graph ------------------------------------------------------------------


def adjacency(result) -> tuple:
    """A graph (networkx or anything with ``edges()`` and ``nodes``) or a dense adjacency
    as a 0/1 float64 ``(n, n)`` matrix (self-loops on the diagonal, so they show)."""
    if hasattr(result, "edges") and hasattr(result, "nodes"):
        nodes = sorted(result.nodes)
        n = len(nodes)
        if nodes != list(range(n)):
            raise ValueError(f"the graph's nodes must be 0..{n - 1}; got {nodes[:6]}...")
        A = np.zeros((n, n))
        for u, v in result.edges():
            A[u, v] = 1.0
            if not result.is_directed():
                A[v, u] = 1.0
        return (A,)
    return (np.asarray(result, dtype=np.float64),)


def _exact_op(name, cases, errors, invariants=(), examples=()):
    register(Op(name=name, family="graphs", reference=getattr(graphs, name), cases=cases,
                bound=None, convert=adjacency, errors=errors, invariants=tuple(invariants),
                policy="exact", examples=lambda: [Case(name, args) for args in examples]))


def _node_counts():
    return st.one_of(rst.sizes(max_size=17), st.sampled_from([1, 2, 4, 8, 16, 32, 6, 12]))


def _size_errors(case: Case) -> list:
    return [("n = 0", case.replace(n=0)), ("n = -3", case.replace(n=-3)),
            ("n = 2.5", case.replace(n=2.5))]


@st.composite
def _n_cases(draw, name):
    return Case(name, (("n", draw(_node_counts())),))


@st.composite
def _window_cases(draw, name):
    n = draw(_node_counts())
    w = draw(st.integers(0, n + 1))
    args = (("n", n), ("w", w))
    if name == "longformer_graph":
        if draw(st.booleans()):
            hubs = draw(st.integers(0, n))
        else:
            hubs = sorted(draw(st.sets(st.integers(0, n - 1), max_size=min(n, 3))))
        args += (("global_nodes", hubs),)
    return Case(name, args)


for _name in ("complete_graph", "star_graph", "hypercube_graph"):
    _exact_op(_name, lambda name=_name: _n_cases(name), _size_errors,
              examples=[(("n", 6),), (("n", 8),)])

_exact_op("sliding_window_graph", lambda: _window_cases("sliding_window_graph"),
          lambda case: _size_errors(case) + [("w = -1", case.replace(w=-1))],
          examples=[(("n", 7), ("w", 2)), (("n", 5), ("w", 0))])
_exact_op("longformer_graph", lambda: _window_cases("longformer_graph"),
          examples=[(("n", 8), ("w", 1), ("global_nodes", [1, 5])),
                    (("n", 6), ("w", 2), ("global_nodes", 1))],
          errors=lambda case: _size_errors(case)[:1] + [
              ("w = -1", case.replace(w=-1)),
              ("more global tokens than tokens", case.replace(global_nodes=case["n"] + 1)),
              ("a global token out of range", case.replace(global_nodes=[case["n"]]))])


# -- bigbird: structure only -------------------------------------------------------------------

@st.composite
def _bigbird_cases(draw):
    n = draw(_node_counts())
    return Case("bigbird_graph", (("n", n), ("w", draw(st.integers(0, 3))),
                                  ("n_global", draw(st.integers(0, min(n, 2)))),
                                  ("n_random", draw(st.integers(0, min(n - 1, 3))))),
                {"rng": draw(st.integers(0, 2**31))})


def _bigbird_structure():
    label = "undirected, no self-loops, window and global edges present, random degree"

    def check(ctx, case):
        A = ctx.run(case)[0]
        n = case["n"]
        base = adjacency(graphs.longformer_graph(n, case["w"], case["n_global"]))[0]
        problems = [(A.shape != (n, n), f"shape {A.shape}, but n = {n}")]
        if not problems[0][0]:
            problems += [
                (not np.array_equal(A, A.T), "the adjacency is not symmetric"),
                (bool(np.any(np.diag(A))), "the graph has self-loops"),
                (bool(np.any(base > A)), "a window or global edge is missing"),
                (bool(np.any(A.sum(axis=1) < case["n_random"])),
                 "a token has fewer neighbours than n_random"),
            ]
        for failed, message in problems:
            if failed:
                return Problem(label, case, message)
        return None

    return Invariant(label, check)


register(Op(
    name="bigbird_graph", family="graphs", reference=graphs.bigbird_graph,
    cases=_bigbird_cases, bound=None, convert=adjacency, value=False, policy="exact",
    errors=lambda case: [("n_random > n - 1", case.replace(n_random=case["n"])),
                         ("n_global > n", case.replace(n_global=case["n"] + 1)),
                         ("n = 0", case.replace(n=0))],
    invariants=(_bigbird_structure(),
                relation("same seed, same graph", lambda case, rng: [(case, identity)])),
    examples=lambda: [Case("bigbird_graph", (("n", 10), ("w", 1), ("n_global", 2),
                                             ("n_random", 2)), {"rng": 3})],
))


# -- attention_mask, information_payload, nip ------------------------------------------------------

def _relabelled(case: Case, rng):
    graph = case["graph"]
    n = graph.number_of_nodes()
    sigma = rng.permutation(n)
    return nx.relabel_nodes(graph, {i: int(sigma[i]) for i in range(n)}), np.argsort(sigma)


def _permute_both(case, rng):
    graph, inverse = _relabelled(case, rng)
    return [(case.replace(graph=graph),
             lambda o: tuple(x[np.ix_(inverse, inverse)] for x in o))]


def _graph_errors(case: Case) -> list:
    graph = case["graph"]
    n = graph.number_of_nodes()
    shifted = nx.relabel_nodes(graph, {i: i + 1 for i in range(n)})
    return [("a directed graph", case.replace(graph=nx.DiGraph(graph))),
            ("nodes 1..n instead of 0..n-1", case.replace(graph=shifted)),
            ("a list instead of a graph", case.replace(graph=[[0, 1]]))]


def _shuffled_graph():
    graph = nx.Graph()
    graph.add_nodes_from([3, 0, 5, 1, 4, 2, 6])
    graph.add_edges_from([(3, 0), (0, 5), (1, 4), (4, 2), (2, 3), (6, 2)])
    return graph


@st.composite
def _mask_cases(draw):
    return Case("attention_mask", (("graph", draw(rst.graphs(connected=False))),),
                seed=draw(rst.seeds()))


_exact_op("attention_mask", _mask_cases, _graph_errors,
          [relation("relabelling the nodes permutes rows and columns", _permute_both)],
          examples=[(("graph", _shuffled_graph()),)])


@st.composite
def _payload_cases(draw, name):
    connected = draw(st.booleans())
    graph = draw(rst.graphs(max_nodes=9, connected=connected))
    hops = draw(st.integers(0, 4)) if not connected or draw(st.booleans()) else None
    return Case(name, (("graph", graph),), {} if hops is None else {"hops": hops},
                seed=draw(rst.seeds()))


def _hops(case: Case) -> int:
    if case["hops"] is not None:
        return int(case["hops"])
    return nx.diameter(case["graph"]) if case["graph"].number_of_nodes() > 1 else 0


def payload_bound(case: Case, expected):
    n = case["graph"].number_of_nodes()
    return (tolerances.payload_bound(_hops(case), n, expected[0]),)


def naive_payload(case: Case, dt):
    mask = graphs.attention_mask(case["graph"]).astype(dt)
    power = np.linalg.matrix_power(mask / mask.sum(axis=1, keepdims=True), _hops(case))
    if case.func == "information_payload":
        return (power,)
    n = dt.type(mask.shape[0])
    return (n**3 * power.min() / dt.type(np.count_nonzero(mask)),)


def _payload_errors(case: Case) -> list:
    graph = case["graph"]
    apart = nx.disjoint_union(graph, nx.empty_graph(1))
    rows = [("hops = -1", case.replace(hops=-1))]
    if case["hops"] is None:
        rows.append(("a disconnected graph without hops", case.replace(graph=apart)))
    return rows + _graph_errors(case)[:1]


def _rows_are_stochastic():
    label = "every row of the payload sums to one"

    def check(ctx, case):
        P = ctx.run(case)[0]
        total = P.sum(axis=-1)
        allow = ctx.allowance(case)[0].sum(axis=-1) + tolerances.harness_allowance(
            tolerances.summation_bound(P.shape[-1], 1.0), ctx.dtype, 1.0)
        if P.ndim == 2 and np.all(np.abs(total - 1.0) <= allow):
            return None
        return Problem(label, case, "", "sum(out, axis=-1)", total, np.ones(total.shape),
                       np.broadcast_to(allow, total.shape))

    return Invariant(label, check)


register(Op(
    name="information_payload", family="graphs", reference=graphs.information_payload,
    cases=lambda: _payload_cases("information_payload"), bound=payload_bound,
    naive=naive_payload, errors=_payload_errors, policy="information_payload",
    examples=lambda: [Case("information_payload", (("graph", _shuffled_graph()),), seed=1)],
    invariants=(_rows_are_stochastic(),
                relation("relabelling the nodes permutes rows and columns", _permute_both)),
))

register(Op(
    name="nip", family="graphs", reference=graphs.nip, cases=lambda: _payload_cases("nip"),
    bound=payload_bound, naive=naive_payload, errors=_payload_errors,
    policy="information_payload",
    examples=lambda: [Case("nip", (("graph", _shuffled_graph()),), seed=1)],
    invariants=(relation("relabelling the nodes changes nothing",
                         lambda case, rng: [(case.replace(graph=_relabelled(case, rng)[0]),
                                             identity)]),),
))
