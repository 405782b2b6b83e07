"""One call of the harness: its inputs, rounded to the target dtype, and how to show it.

A :class:`Case` holds the positional and keyword arguments of one call of a public name
(for a mask class: its constructor's arguments and the operand ``X`` of ``mask @ X``).
It is rounded to the target dtype *before* either side sees it (:meth:`Case.cast`), so
the backend and the float64 reference get the same numbers and the tolerance only has
to cover arithmetic, not input rounding (flash-attention and PyTorch SDPA do the same).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import networkx as nx
import numpy as np

from ._draw_structures import DistanceDecay, OffsetTable

__all__ = ["Case", "describe_value"]


def _round(value, dtype):
    """``value`` with its floating-point numbers rounded to ``dtype`` (containers kept)."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(dtype)
    if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
        return float(np.dtype(dtype).type(value))
    if isinstance(value, (OffsetTable, DistanceDecay)):
        return value.astype(dtype)
    if isinstance(value, nx.Graph):
        return _round_graph(value, dtype)
    return value


def _round_graph(graph: nx.Graph, dtype) -> nx.Graph:
    if not any("weight" in data for *_, data in graph.edges(data=True)):
        return graph
    rounded = graph.copy()
    for *_, data in rounded.edges(data=True):
        if "weight" in data:
            data["weight"] = float(np.dtype(dtype).type(data["weight"]))
    return rounded


def describe_value(value) -> str:
    """A short description of an argument for a call shown as code."""
    if isinstance(value, np.ndarray):
        return str(value.shape) if value.dtype.kind == "f" else f"{value.shape} {value.dtype}"
    if isinstance(value, nx.Graph):
        return f"Graph(n={value.number_of_nodes()}, edges={value.number_of_edges()})"
    if isinstance(value, float):
        return f"{value:.17g}"
    return repr(value)


@dataclasses.dataclass(frozen=True, repr=False)
class Case:
    """The inputs of one call.

    Attributes
    ----------
    func : str
        The public name (``"softmax_attention"``, ``"ToeplitzMask"``).
    args : tuple of (str, object)
        Positional arguments with their names.
    kwargs : dict
        Keyword arguments (only those that differ from the defaults).
    operand : numpy.ndarray or None
        For a mask class, the ``X`` of ``mask @ X``.
    seed : int
        Seeds the random choices of invariants (permutations), so a case replays exactly.
    """

    func: str
    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)
    operand: Any = None
    seed: int = 0

    def __repr__(self) -> str:
        return f"Case({self.describe()}, seed={self.seed})"

    # -- access --------------------------------------------------------------------------
    def __getitem__(self, name: str):
        for key, value in self.args:
            if key == name:
                return value
        if name == "X" and self.operand is not None:
            return self.operand
        return self.kwargs.get(name)

    def get(self, name: str, default=None):
        value = self[name]
        return default if value is None else value

    def replace(self, **changes) -> Case:
        """A copy with some arguments replaced (``None`` removes a keyword argument)."""
        args = tuple((k, changes.pop(k) if k in changes else v) for k, v in self.args)
        operand = changes.pop("X", self.operand)
        kwargs = {**self.kwargs, **changes}
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        return dataclasses.replace(self, args=args, kwargs=kwargs, operand=operand)

    def values(self) -> dict:
        """All arguments by name (the operand as ``X``)."""
        out = dict(self.args)
        out.update(self.kwargs)
        if self.operand is not None:
            out["X"] = self.operand
        return out

    # -- calling ---------------------------------------------------------------------------
    def call(self, fn):
        """Call ``fn`` (a function, or a class followed by ``@ X``) with these arguments."""
        result = fn(*(v for _, v in self.args), **self.kwargs)
        if self.operand is not None:
            result = result @ self.operand
        return result

    def cast(self, dtype) -> Case:
        """Every floating-point input rounded to ``dtype`` (the numbers both sides see)."""
        return dataclasses.replace(
            self,
            args=tuple((k, _round(v, dtype)) for k, v in self.args),
            kwargs={k: _round(v, dtype) for k, v in self.kwargs.items()},
            operand=_round(self.operand, dtype),
        )

    def float64(self) -> Case:
        """The same numbers in float64 (exact: every narrower float is a float64)."""
        return self.cast(np.float64)

    # -- showing ---------------------------------------------------------------------------
    def describe(self) -> str:
        """The call as code, e.g. ``softmax_attention(q: (2, 3), k: (4, 3), v: (4, 1))``."""
        parts = [f"{k}: {describe_value(v)}" for k, v in self.args]
        for k, v in self.kwargs.items():
            shown = describe_value(v)
            parts.append(f"{k}: {shown}" if isinstance(v, np.ndarray) else f"{k}={shown}")
        text = f"{self.func}({', '.join(parts)})"
        if self.operand is not None:
            text += f" @ X: {describe_value(self.operand)}"
        return text

    def arrays(self) -> dict:
        """The inputs as NumPy arrays, for a replay file (graphs as edge lists)."""
        out = {}
        for name, value in self.values().items():
            out.update(_flatten(name, value))
        return out


def _flatten(name: str, value) -> dict:
    if isinstance(value, nx.Graph):
        edges = np.array([(u, v) for u, v in value.edges()], dtype=np.int64).reshape(-1, 2)
        weights = np.array([d.get("weight", 1.0) for *_, d in value.edges(data=True)])
        return {f"{name}.nodes": np.array(list(value.nodes), dtype=np.int64),
                f"{name}.edges": edges, f"{name}.weights": weights}
    if isinstance(value, OffsetTable):
        return {f"{name}.table": value.values, f"{name}.flat": np.array(value.flat)}
    if isinstance(value, DistanceDecay):
        return {f"{name}.decay_a": np.array(value.a)}
    if value is None:
        return {}
    return {name: np.asarray(value)}


def unflatten(arrays: dict) -> dict:
    """Inverse of :meth:`Case.arrays`: rebuild graphs and function tables."""
    out, groups = {}, {}
    for key, value in arrays.items():
        base, _, part = key.partition(".")
        if part:
            groups.setdefault(base, {})[part] = value
        else:
            out[key] = value[()] if value.ndim == 0 else value
    for base, parts in groups.items():
        if "edges" in parts:
            graph = nx.Graph()
            graph.add_nodes_from(int(v) for v in parts["nodes"])
            for (u, v), w in zip(parts["edges"], parts["weights"]):
                graph.add_edge(int(u), int(v), weight=float(w))
            out[base] = graph
        elif "table" in parts:
            out[base] = OffsetTable(parts["table"], bool(parts["flat"]))
        elif "decay_a" in parts:
            out[base] = DistanceDecay(float(parts["decay_a"]))
    return out
