"""Argument checks shared by the graph constructors and the payload code."""

from __future__ import annotations

import networkx as nx
import numpy as np

from .._validate import nonnegative_int


def _check_graph(graph, name: str = "graph") -> int:
    """Require a simple undirected networkx graph on the nodes 0..n-1; return n."""
    if not isinstance(graph, nx.Graph):
        raise TypeError(f"{name} must be a networkx.Graph; got {type(graph).__name__}")
    if graph.is_directed():
        raise ValueError(f"{name} must be undirected (attention graphs are symmetric); "
                         f"got a {type(graph).__name__}; use graph.to_undirected()")
    if graph.is_multigraph():
        raise ValueError(f"{name} must be a simple graph; got a {type(graph).__name__}")
    n = graph.number_of_nodes()
    if n == 0:
        raise ValueError(f"{name} must have at least one node; got an empty graph")
    labels = set(graph.nodes)
    if labels != set(range(n)) or any(isinstance(v, (bool, np.bool_)) for v in labels):
        extra = sorted(map(repr, labels - set(range(n))))[:3]
        raise ValueError(f"{name} must have the nodes 0..{n - 1} (token positions); "
                         f"got nodes such as {', '.join(extra)}; use "
                         f"networkx.convert_node_labels_to_integers")
    return n


def _edges(graph) -> tuple[np.ndarray, np.ndarray]:
    """The edges ``(i, j)``, ``i < j``, without self-loops, as two int arrays."""
    pairs = np.array([(i, j) for i, j in graph.edges() if i != j], dtype=np.int64)
    pairs = pairs.reshape(-1, 2)
    return pairs.min(axis=1), pairs.max(axis=1)


def _from_edges(n: int, rows, cols, name: str) -> nx.Graph:
    graph = nx.Graph(name=name)
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(np.asarray(rows).tolist(), np.asarray(cols).tolist()))
    return graph


def _window_edges(n: int, w: int):
    i = np.arange(n)
    pairs = [(i[: n - s], i[s:]) for s in range(1, min(w, n - 1) + 1)]
    return (np.concatenate([p[0] for p in pairs]) if pairs else np.zeros(0, np.int64),
            np.concatenate([p[1] for p in pairs]) if pairs else np.zeros(0, np.int64))


def _global_nodes(global_nodes, n: int, name: str = "global_nodes") -> np.ndarray:
    """An int (the first that many tokens) or a list of distinct token indices."""
    if np.ndim(global_nodes) == 0:
        count = nonnegative_int(global_nodes, name)
        if count > n:
            raise ValueError(f"{name} must be at most n = {n} (more global tokens than "
                             f"tokens); got {count}")
        return np.arange(count)
    nodes = [nonnegative_int(g, f"{name} entry") for g in global_nodes]
    if any(g >= n for g in nodes) or len(set(nodes)) != len(nodes):
        raise ValueError(f"{name} must be distinct token indices in 0..{n - 1}; "
                         f"got {sorted(nodes)}")
    return np.array(nodes, dtype=np.int64)


