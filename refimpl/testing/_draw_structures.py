"""Strategies for structured masks, trees, graphs, operands and kernel points.

The implementation behind :mod:`refimpl.testing.strategies` (the documented public module).
"""

from __future__ import annotations

import dataclasses
import math

import networkx as nx
import numpy as np
from hypothesis import strategies as st

from ._draw_attention import _rng, sizes

# -- deterministic functions that masks take ----------------------------------------------------

class OffsetTable:
    """A deterministic offset function ``f(t)`` given by its table of values.

    Callable on an integer array of offsets of shape ``(..., k)`` (``k`` grid axes, as
    :class:`~refimpl.masks.GridRPEMask` calls it) or ``(...)`` for ``k = 1`` with
    ``flat=True`` (as :meth:`~refimpl.masks.ToeplitzMask.from_function` calls it).

    Parameters
    ----------
    values : numpy.ndarray, shape (2 n_1 - 1, ..., 2 n_k - 1)
        ``values[t + n - 1] = f(t)`` for every offset in the box.
    flat : bool
        Offsets come without the trailing axis (one-dimensional functions).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.testing.strategies import OffsetTable
    >>> f = OffsetTable(np.array([0.25, 1.0, 0.5]))  # f(-1), f(0), f(1)
    >>> f(np.array([[1], [-1]]))
    array([0.5 , 0.25])
    """

    def __init__(self, values, flat: bool = False):
        self.values = np.asarray(values)
        self.flat = bool(flat)
        self.origin = tuple((n - 1) // 2 for n in self.values.shape)

    def __call__(self, offsets):
        t = np.asarray(offsets)
        if self.flat:
            t = t[..., None]
        index = tuple(t[..., a].astype(np.int64) + o for a, o in enumerate(self.origin))
        return self.values[index]

    def astype(self, dtype) -> OffsetTable:
        return OffsetTable(self.values.astype(dtype), self.flat)

    def __repr__(self) -> str:
        return f"OffsetTable{self.values.shape}"


class DistanceDecay:
    """``f(x) = 1 / (1 + a x)`` on distances: a general (non-exponential) tree-mask function.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.testing.strategies import DistanceDecay
    >>> DistanceDecay(0.5)(np.array([0.0, 2.0]))
    array([1. , 0.5])
    """

    def __init__(self, a: float):
        self.a = float(a)

    def __call__(self, x):
        x = np.asarray(x)
        return 1.0 / (1.0 + self.a * x)

    def astype(self, dtype) -> DistanceDecay:
        return DistanceDecay(float(np.dtype(dtype).type(self.a)))

    def __repr__(self) -> str:
        return f"DistanceDecay(a={self.a:g})"


# -- structured masks ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class MaskArgs:
    """The constructor arguments of a refimpl mask class, e.g. ``ToeplitzMask(c, r)``.

    Attributes
    ----------
    name : str
        The class name in :mod:`refimpl.masks`.
    args : tuple
        Positional arguments.
    kwargs : dict
        Keyword arguments.

    Examples
    --------
    >>> import numpy as np
    >>> MaskArgs("ToeplitzMask", (np.array([1.0, 0.5]), np.array([1.0, 2.0]))).build().toarray()
    array([[1. , 2. ],
           [0.5, 1. ]])
    """

    name: str
    args: tuple
    kwargs: dict = dataclasses.field(default_factory=dict)

    def build(self, namespace=None):
        """The mask, from ``namespace`` (a backend module; default :mod:`refimpl.masks`)."""
        if namespace is None:
            import refimpl.masks as namespace
        return getattr(namespace, self.name)(*self.args, **self.kwargs)


def _coefficients(draw, rng, n: int) -> np.ndarray:
    kind = draw(st.sampled_from(["normal", "decay", "sparse"]))
    if kind == "decay":
        return np.exp(-rng.uniform(0.05, 2.0) * np.arange(n)) * rng.uniform(0.5, 2.0)
    values = rng.standard_normal(n) * draw(st.sampled_from([1.0, 10.0]))
    return values * (rng.random(n) < 0.5) if kind == "sparse" else values


@st.composite
def toeplitz_masks(draw, *, max_length=12):
    """``ToeplitzMask(c, r)`` arguments; ``r`` differs from ``c`` (also at ``r[0]``) or is absent.

    Examples
    --------
    >>> from hypothesis import find
    >>> a = find(toeplitz_masks(), lambda a: len(a.args) == 2 and a.args[0][0] != a.args[1][0])
    >>> a.name
    'ToeplitzMask'
    """
    L = draw(sizes(max_size=max_length))
    S = draw(st.one_of(st.just(L), sizes(max_size=max_length)))
    rng = _rng(draw)
    c = _coefficients(draw, rng, L)
    if draw(st.integers(0, 3)) == 0:
        return MaskArgs("ToeplitzMask", (c,))
    return MaskArgs("ToeplitzMask", (c, _coefficients(draw, rng, S)))


@st.composite
def causal_masks(draw, *, max_length=12):
    """``CausalMask(L, gamma)`` arguments, ``gamma`` in {1, 0, 0.5, 0.9, uniform(0, 1)}.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(causal_masks(), lambda a: a.kwargs["gamma"] == 0.0).args
    (1,)
    """
    L = draw(sizes(max_size=max_length))
    gamma = draw(st.one_of(st.sampled_from([1.0, 0.0, 0.5, 0.9]),
                           st.floats(0.0, 1.0, allow_subnormal=False)))
    return MaskArgs("CausalMask", (L,), {"gamma": gamma})


def grid_shapes(*, max_dims=3, max_tokens=24):
    """Grid shapes ``(n_1, ..., n_k)`` with ``k <= max_dims`` and at most ``max_tokens`` tokens.

    Not square in general; sides of 1 occur.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(grid_shapes(), lambda s: len(s) == 2 and s[0] != s[1])
    (1, 2)
    """
    shapes = st.lists(sizes(max_size=6), min_size=1, max_size=max_dims).map(tuple)
    return shapes.filter(lambda s: math.prod(s) <= max_tokens)


@st.composite
def grid_masks(draw, *, max_dims=3, max_tokens=24):
    """``GridRPEMask(shape, f)`` arguments; ``f`` an ``OffsetTable`` (not symmetric).

    Examples
    --------
    >>> from hypothesis import find
    >>> find(grid_masks(), lambda a: len(a.args[0]) == 3).name
    'GridRPEMask'
    """
    shape = draw(grid_shapes(max_dims=max_dims, max_tokens=max_tokens))
    rng = _rng(draw)
    box = tuple(2 * n - 1 for n in shape)
    if draw(st.booleans()):
        values = rng.standard_normal(box)
    else:
        offsets = np.indices(box) - np.array([n - 1 for n in shape]).reshape(-1, *[1] * len(box))
        rates = rng.uniform(0.1, 1.0, size=len(shape))
        values = np.exp(-np.tensordot(rates, np.abs(offsets) + 0.5 * offsets, axes=1))
    return MaskArgs("GridRPEMask", (shape, OffsetTable(values)))


@st.composite
def ripple_masks(draw, *, max_side=5, max_rings=5):
    """``RippleMask((H, W), alpha)`` arguments, ``alpha`` of shape ``(R,)`` or ``(H W, R)``.

    Examples
    --------
    >>> from hypothesis import find
    >>> a = find(ripple_masks(), lambda a: a.args[1].ndim == 2)
    >>> a.args[1].shape[0] == a.args[0][0] * a.args[0][1]
    True
    """
    H, W = draw(sizes(max_size=max_side)), draw(sizes(max_size=max_side))
    R = draw(st.integers(1, max_rings))
    rng = _rng(draw)
    per_query = draw(st.booleans())
    shape = (H * W, R) if per_query else (R,)
    if draw(st.booleans()):
        from refimpl.masks import stick_breaking
        alpha = stick_breaking(rng.standard_normal(shape) * 2.0)
    else:
        alpha = rng.uniform(0.0, 2.0, size=shape)
    return MaskArgs("RippleMask", ((H, W), alpha))


def _shuffled(graph: nx.Graph, rng, weights=None) -> nx.Graph:
    """``graph`` relabelled by a random permutation, nodes inserted in a random order."""
    n = graph.number_of_nodes()
    perm = rng.permutation(n)
    out = nx.Graph()
    out.add_nodes_from(int(perm[i]) for i in rng.permutation(n))
    for index, (u, v) in enumerate(graph.edges()):
        attrs = {} if weights is None else {"weight": float(weights[index])}
        out.add_edge(int(perm[u]), int(perm[v]), **attrs)
    return out


@st.composite
def trees(draw, *, max_nodes=12, weighted=None):
    """Trees on the nodes ``0..n-1``: paths, stars, caterpillars, random; labels shuffled.

    Parameters
    ----------
    max_nodes : int
    weighted : bool, optional
        Edge attribute ``weight`` in {0.5, 1, 1.5, 2, 3} (exact in every float dtype);
        drawn when None.

    Examples
    --------
    >>> from hypothesis import find
    >>> import networkx as nx
    >>> t = find(trees(), lambda t: t.number_of_nodes() == 5)
    >>> nx.is_tree(t)
    True
    """
    n = draw(sizes(max_size=max_nodes))
    kind = draw(st.sampled_from(["path", "star", "random", "caterpillar"]))
    rng = _rng(draw)
    if kind == "path" or n <= 2:
        base = nx.path_graph(n)
    elif kind == "star":
        base = nx.star_graph(n - 1)
    elif kind == "caterpillar":
        spine = max(1, n // 2)
        base = nx.path_graph(spine)
        base.add_edges_from((int(rng.integers(spine)), j) for j in range(spine, n))
    else:
        base = nx.Graph()
        base.add_node(0)
        base.add_edges_from((int(rng.integers(j)), j) for j in range(1, n))
    is_weighted = draw(st.booleans()) if weighted is None else weighted
    weights = rng.choice([0.5, 1.0, 1.5, 2.0, 3.0], size=max(n - 1, 0)) if is_weighted else None
    return _shuffled(base, rng, weights)


@st.composite
def graphs(draw, *, min_nodes=1, max_nodes=10, connected=True):
    """Undirected graphs on ``0..n-1`` (no self-loops), labels and insertion order shuffled.

    Kinds: path, star, cycle, complete, empty (no edges), and a random tree plus random
    edges. With ``connected=True`` the empty kind is drawn only for ``n = 1``.

    Examples
    --------
    >>> from hypothesis import find
    >>> import networkx as nx
    >>> g = find(graphs(), lambda g: g.number_of_nodes() == 4 and g.number_of_edges() == 6)
    >>> nx.density(g)
    1.0
    """
    n = draw(sizes(min_size=min_nodes, max_size=max_nodes))
    kinds = ["path", "star", "cycle", "complete", "random", "random"]
    if not connected:
        kinds.append("empty")
    kind = draw(st.sampled_from(kinds))
    rng = _rng(draw)
    if n <= 2 or kind == "path":
        base = nx.path_graph(n)
    elif kind == "star":
        base = nx.star_graph(n - 1)
    elif kind == "cycle":
        base = nx.cycle_graph(n)
    elif kind == "complete":
        base = nx.complete_graph(n)
    elif kind == "empty":
        base = nx.empty_graph(n)
    else:
        base = nx.Graph()
        base.add_node(0)
        if connected:
            base.add_edges_from((int(rng.integers(j)), j) for j in range(1, n))
        i, j = np.triu_indices(n, 1)
        extra = rng.random(i.size) < 0.3
        base.add_edges_from(zip(i[extra].tolist(), j[extra].tolist()))
        base.add_nodes_from(range(n))
    return _shuffled(base, rng)


@st.composite
def tree_masks(draw, *, max_nodes=12):
    """``TreeMask(tree, decay=a)`` or ``TreeMask(tree, f)`` with ``f = 1 / (1 + a x)``.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(tree_masks(), lambda a: "decay" not in a.kwargs).name
    'TreeMask'
    """
    tree = draw(trees(max_nodes=max_nodes))
    a = draw(st.sampled_from([0.125, 0.5, 1.0, 2.0]))
    if draw(st.booleans()):
        return MaskArgs("TreeMask", (tree,), {"decay": a})
    return MaskArgs("TreeMask", (tree, DistanceDecay(a)))


@st.composite
def diffusion_masks(draw, *, max_nodes=7):
    """``DiffusionMask(W, lam)`` arguments: ``W`` a graph or its dense adjacency.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(diffusion_masks(), lambda a: a.kwargs["lam"] < 0).kwargs["lam"]
    -0.5
    """
    graph = draw(graphs(max_nodes=max_nodes, connected=False))
    lam = draw(st.sampled_from([1.0, 0.5, -0.5, 2.0]))
    W = graph
    if draw(st.booleans()):
        W = nx.to_numpy_array(graph, nodelist=range(graph.number_of_nodes()))
    return MaskArgs("DiffusionMask", (W,), {"lam": lam})


@st.composite
def operands(draw, *, rows, max_columns=3):
    """Right operands ``X`` of ``mask @ X``: ``(rows, k)``, normal times 1, 1e-3 or 1e3.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(operands(rows=4), lambda x: x.shape[1] == 2).shape
    (4, 2)
    """
    columns = draw(st.integers(1, max_columns))
    size = draw(st.sampled_from([1.0, 1.0, 1e-3, 1e3]))
    return _rng(draw).standard_normal((rows, columns)) * size


# -- points for kernels -----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Points:
    """Two point sets ``x (n, d)`` and ``y (p, d)`` for kernels (``y`` may be None).

    Examples
    --------
    >>> Points(x=np.zeros((2, 1)), y=None).y is None
    True
    """

    x: np.ndarray
    y: np.ndarray | None


@st.composite
def points(draw, *, max_points=5, max_dim=4, unit_interval=False, allow_none=True):
    """Kernel inputs: normal points times 0.1, 1 or 4; ``y`` near-duplicates ``x`` sometimes.

    Numerically hard forms: ``y`` within 1e-9 of ``x`` (the distances vanish), and ``y``
    close to ``x`` (offsets of 1e-5 to 1e-2 relative) at norms up to 30, where
    ``|x|^2 + |y|^2 - 2 x.y`` cancels: a kernel computed that way loses digits that the
    value check then sees.

    Parameters
    ----------
    unit_interval : bool
        One-dimensional points of ``[0, 1]`` (shape ``(n,)``), including 0 and 1.
    allow_none : bool
        Draw ``y = None`` (meaning ``y = x``) sometimes.

    Examples
    --------
    >>> from hypothesis import find
    >>> p = find(points(), lambda p: p.y is not None and p.y.shape == p.x.shape
    ...          and abs(p.y - p.x).max() < 1e-6)
    >>> p.x.shape == p.y.shape
    True
    """
    n, p = draw(sizes(max_size=max_points)), draw(sizes(max_size=max_points))
    rng = _rng(draw)
    if unit_interval:
        x = rng.random(n)
        ends = draw(st.integers(0, min(n, 2)))
        x[:ends] = [0.0, 1.0][:ends]
        y = rng.random(p)
        return Points(x, None if allow_none and draw(st.booleans()) else y)
    d = draw(sizes(max_size=max_dim))
    size = draw(st.sampled_from([0.1, 1.0, 4.0]))
    x = rng.standard_normal((n, d)) * size
    forms = ["other", "near", "close"] + (["none"] if allow_none else [])
    form = draw(st.sampled_from(forms))
    if form == "none":
        return Points(x, None)
    if form == "close":
        x = x * (30.0 / size)
        offset = 10.0 ** rng.uniform(-5, -2, size=(n, 1)) * 30.0
        return Points(x, x + offset * rng.standard_normal(x.shape))
    if form == "near":
        return Points(x, x + 1e-9 * size * rng.standard_normal(x.shape))
    return Points(x, rng.standard_normal((p, d)) * size)
