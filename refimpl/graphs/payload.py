"""The information payload P^h of uniform attention on a graph, and NIP (spec Sec. 7).

The paper's NIP formula could not be checked against any available source; :func:`nip`
implements the reconstruction fixed in ``spec/nip_mra_flash.md`` Sec. 7 (see its Notes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import nonnegative_int, positive_int
from ._common import _check_graph
from .constructors import (
    attention_mask,
    bigbird_graph,
    complete_graph,
    hypercube_graph,
    lift_blocks,
    longformer_graph,
    sliding_window_graph,
    star_graph,
)

__all__ = [
    "NIP_MAX_NODES",
    "NIPReport",
    "format_nip_table",
    "information_payload",
    "nip",
    "nip_report",
    "nip_table",
    "standard_graphs",
]

#: Largest graph :func:`information_payload` and :func:`nip` accept: they form the dense
#: ``n x n`` matrix power, O(n^3 log h) time (about 5 s at n = 2048 on two cores).
NIP_MAX_NODES = 2048

# Payloads below this are not resolved: products of subnormals lose their relative accuracy
# (each product may add n * tiny absolutely), so the bound of tolerances.payload_bound fails.
_PAYLOAD_FLOOR = float(np.finfo(np.float64).tiny / np.finfo(np.float64).eps)


def _check_size(n: int, what: str) -> None:
    if n > NIP_MAX_NODES:
        raise ValueError(f"graph has {n} nodes; {what} forms dense n x n matrix powers, "
                         f"O(n^3 log h) time, and accepts at most NIP_MAX_NODES = "
                         f"{NIP_MAX_NODES} nodes")


def _reach_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Clipped to 0/1 after each product, the counts stay <= n < 2^24: exact in float32.
    return np.minimum(a @ b, np.float32(1.0))


def _reach_power(reach: np.ndarray, h: int) -> np.ndarray:
    """[dist(i, j) <= h] from [dist(i, j) <= 1] by binary powering."""
    result, base = np.eye(reach.shape[0], dtype=np.float32), reach
    while h:
        if h & 1:
            result = _reach_product(result, base)
        h >>= 1
        if h:
            base = _reach_product(base, base)
    return result


def _diameter(mask: np.ndarray) -> int | None:
    """The diameter by doubling the reach matrix, then bisecting; None if disconnected."""
    powers = [mask.astype(np.float32)]  # powers[j] = [dist <= 2^j]
    while not powers[-1].all():
        doubled = _reach_product(powers[-1], powers[-1])
        if np.array_equal(doubled, powers[-1]):
            return None
        powers.append(doubled)
    if mask.shape[0] == 1:
        return 0
    # Largest h with [dist <= h] not full, built from the powers below the first full one.
    h, reach = 0, None
    for j in range(len(powers) - 2, -1, -1):
        trial = powers[j] if reach is None else _reach_product(reach, powers[j])
        if not trial.all():
            h, reach = h + 2**j, trial
    return h + 1


def _payload(graph, hops, what: str):
    """(P^h, h, diameter, mask) of ``graph``, with the documented checks."""
    n = _check_graph(graph)
    _check_size(n, what)
    mask = attention_mask(graph)
    diameter = _diameter(mask)
    if hops is None:
        if diameter is None:
            raise ValueError("graph is disconnected, so its diameter (the default hops) is "
                             "infinite; pass hops explicitly")
        hops = diameter
    hops = nonnegative_int(hops, "hops")
    transition = mask / mask.sum(axis=1, keepdims=True)
    return np.linalg.matrix_power(transition, hops), hops, diameter, mask


def information_payload(graph, hops=None):
    r"""The information payload :math:`P^h` of uniform attention on ``graph``.

    Parameters
    ----------
    graph : networkx.Graph
        Undirected, on the nodes ``0 .. n-1``, ``n <= NIP_MAX_NODES``.
    hops : int, optional
        The number of layers ``h >= 0``; defaults to the diameter of ``graph`` (a
        disconnected graph then is a ``ValueError``).

    Returns
    -------
    numpy.ndarray, shape (n, n)
        Row-stochastic; entry ``(i, j)`` is the share of token ``j`` in token ``i`` after
        ``h`` layers of uniform attention on the graph.

    Notes
    -----
    .. math:: P = D^{-1} (A + I), \qquad D = \mathrm{diag}((A + I)\mathbf 1), \qquad
              \mathrm{IP}_h = P^h.

    ``spec/nip_mra_flash.md`` Sec. 7 (a reconstruction: the formula of Wang et al. 2022
    could not be checked). Dense, by binary powering: O(n^3 log h) time, O(n^2)
    memory. Entries are exactly 0 when ``dist(i, j) > h``; a positive entry below
    ~1e-292 (long paths, e.g. a window ``w = 1`` beyond ~600 tokens) underflows.

    Examples
    --------
    >>> from refimpl.graphs import information_payload, sliding_window_graph
    >>> information_payload(sliding_window_graph(2, 1))
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    return _payload(graph, hops, "information_payload")[0]


@dataclass(frozen=True)
class NIPReport:
    """The NIP of one graph and what explains it (see :func:`nip_report`).

    Attributes
    ----------
    name : str
        The graph's name.
    n, edges : int
        Tokens and undirected edges (self-loops not counted).
    density : float
        :math:`\\rho = \\mathrm{nnz}(A + I) / n^2`, the cost of the pattern.
    diameter : int or None
        None for a disconnected graph.
    hops : int
        The ``h`` of :math:`P^h`.
    nip : float
        :math:`n \\min_{ij} (P^h)_{ij} / \\rho`.
    min_payload : float
        :math:`\\min_{ij} (P^h)_{ij}`.
    worst_pair : tuple of int
        The first ``(i, j)`` (row-major) where the minimum is attained.
    mean_payload : float
        :math:`n` times the mean of :math:`(P^h)_{ij}` over ``i != j`` (over all pairs
        it is exactly 1, as the rows sum to 1); 1 for ``n = 1``.
    reach : float
        The fraction of ordered pairs with ``dist(i, j) <= hops``.

    Examples
    --------
    >>> from refimpl.graphs import nip_report, star_graph
    >>> r = nip_report(star_graph(4), hops=1)
    >>> r.nip, r.reach, r.diameter
    (0.0, 0.625, 2)
    """

    name: str
    n: int
    edges: int
    density: float
    diameter: int | None
    hops: int
    nip: float
    min_payload: float
    worst_pair: tuple[int, int]
    mean_payload: float
    reach: float


def nip_report(graph, hops=None, *, name=None):
    """The NIP of ``graph`` with its diameter, hops, worst pair and mean payload.

    Parameters
    ----------
    graph : networkx.Graph
        As in :func:`nip`.
    hops : int, optional
        As in :func:`nip`.
    name : str, optional
        Defaults to ``graph.name``.

    Returns
    -------
    NIPReport

    Raises
    ------
    ValueError
        As :func:`nip`.

    Examples
    --------
    >>> from refimpl.graphs import hypercube_graph, nip_report
    >>> r = nip_report(hypercube_graph(8))
    >>> r.diameter, r.edges, r.worst_pair
    (3, 12, (0, 2))
    """
    payload, hops, diameter, mask = _payload(graph, hops, "nip")
    n, nnz = mask.shape[0], int(np.count_nonzero(mask))
    worst = np.unravel_index(np.argmin(payload), payload.shape)
    low = float(payload[worst])
    reachable = diameter is not None and hops >= diameter
    if (low == 0.0 and reachable) or 0.0 < low < _PAYLOAD_FLOOR:
        raise ValueError(f"the payload of pair {tuple(map(int, worst))} is positive but "
                         f"below the float64 range resolved here ({_PAYLOAD_FLOOR:.1e}): "
                         f"the NIP of this graph at hops = {hops} is not representable; "
                         f"use fewer tokens, fewer hops or a denser graph")
    reached = n**2 if reachable else np.count_nonzero(_reach_power(mask.astype(np.float32),
                                                                   hops))
    off = (n - np.trace(payload)) / (n - 1) if n > 1 else 1.0
    return NIPReport(name=graph.name if name is None else str(name), n=n,
                     edges=(nnz - n) // 2, density=nnz / n**2, diameter=diameter, hops=hops,
                     nip=float(n**3 * low / nnz), min_payload=low,
                     worst_pair=(int(worst[0]), int(worst[1])), mean_payload=float(off),
                     reach=float(reached / n**2))


def nip(graph, hops=None):
    r"""Normalised Information Payload of an attention graph (refimpl's reconstruction).

    Parameters
    ----------
    graph : networkx.Graph
        Undirected, on the nodes ``0 .. n-1``, ``n <= NIP_MAX_NODES`` (2048).
    hops : int, optional
        Layers ``h >= 0``; defaults to the diameter (the fewest layers after which every
        token has received something from every other).

    Returns
    -------
    float
        0 when ``hops`` is below the diameter; 1 for the complete graph (any ``h >= 1``).

    Raises
    ------
    ValueError
        For a bad graph, more than ``NIP_MAX_NODES`` nodes, a disconnected graph without
        ``hops``, or a positive payload too small for float64 (about 1e-292).

    Notes
    -----
    With :math:`P = D^{-1}(A + I)` (uniform attention on the graph, see
    :func:`information_payload`),

    .. math:: \mathrm{NIP}_h(G) = \frac{n \min_{ij} (P^h)_{ij}}{\rho(G)}, \qquad
              \rho(G) = \frac{\mathrm{nnz}(A + I)}{n^2}.

    :math:`n \min (P^h)_{ij}` compares the worst-served pair with perfect mixing (1/n);
    dividing by the density charges the graph for its attention cost. For the k-cube
    (``n = 2^k``, ``h = k``) the minimum is :math:`k!/(k+1)^k` (at distances k and k-1),
    so :math:`\mathrm{NIP} = n^2 k! / (k+1)^{k+1}` (``proofs/nip.py``).

    **This is not necessarily the paper's formula.** Wang et al. (ICML 2022,
    arXiv:2205.14014) define NIP, but no available source shows their formula; refimpl
    implements the reconstruction fixed in ``spec/nip_mra_flash.md`` Sec. 7 and keeps
    the name ``nip`` for it. Values are not comparable with the paper's numbers.
    Cost: O(n^3 log h) time, O(n^2) memory (dense powers; see ``NIP_MAX_NODES``).

    Examples
    --------
    >>> from refimpl.graphs import complete_graph, hypercube_graph, nip
    >>> nip(complete_graph(5))
    1.0
    >>> round(nip(hypercube_graph(4)), 12)  # 16 * 2! / 3^3
    1.185185185185
    """
    return nip_report(graph, hops).nip


# -- the standard graphs and the table -------------------------------------------------------

def standard_graphs(n, *, block=1, rng=None):
    """The attention graphs compared by NIP, on ``n`` tokens.

    Parameters
    ----------
    n : int
        Number of tokens (a multiple of ``block``).
    block : int, default 1
        Build each layout on ``n / block`` blocks and lift it with :func:`lift_blocks`
        (16 in the official runs of Wang et al.).
    rng : numpy.random.Generator, int or None
        For the random part of BigBird.

    Returns
    -------
    dict of str to networkx.Graph
        complete; sliding window ``w = 1, 4, 16``; star; Longformer (``w = 1``, one
        global); BigBird (``w = 1``, one global, 4 random); hypercube. Longformer and
        BigBird take the official LRA block settings (1 global, 4 random, a window three
        blocks wide) at block size ``block``.

    Examples
    --------
    >>> from refimpl.graphs import standard_graphs
    >>> list(standard_graphs(16, rng=0))[:3]
    ['complete', 'window w=1', 'window w=4']
    """
    n, block = positive_int(n, "n"), positive_int(block, "block")
    if n % block:
        raise ValueError(f"n must be a multiple of block = {block}; got n = {n}")
    m = n // block
    layouts = [complete_graph(m), *(sliding_window_graph(m, w) for w in (1, 4, 16)),
               star_graph(m), longformer_graph(m, 1, 1),
               bigbird_graph(m, 1, 1, min(4, m - 1), rng=rng), hypercube_graph(m)]
    names = ["complete", "window w=1", "window w=4", "window w=16", "star",
             "longformer", "bigbird", "hypercube"]
    if block > 1:
        layouts = [lift_blocks(g, block) for g in layouts]
    return dict(zip(names, layouts))


def nip_table(n, *, hops=None, block=1, rng=None):
    """:func:`nip_report` of each of :func:`standard_graphs` ``(n, block=block, rng=rng)``.

    Returns
    -------
    list of NIPReport

    Examples
    --------
    >>> from refimpl.graphs import nip_table
    >>> [r.name for r in nip_table(8, rng=0)][-1]
    'hypercube'
    """
    graphs = standard_graphs(n, block=block, rng=rng)
    return [nip_report(g, hops, name=name) for name, g in graphs.items()]


def format_nip_table(reports):
    """A Markdown table of :class:`NIPReport` s.

    Examples
    --------
    >>> from refimpl.graphs import complete_graph, format_nip_table, nip_report
    >>> print(format_nip_table([nip_report(complete_graph(4))]).splitlines()[2])
    | complete | 4 | 6 | 1 | 1 | 1 | 1 | 0.25 | (0, 0) | 1 |
    """
    lines = ["| graph | n | edges | density | diameter | hops | NIP | min P^h | worst pair "
             "| mean payload |", "|---" * 10 + "|"]
    for r in reports:
        lines.append(f"| {r.name} | {r.n} | {r.edges} | {r.density:.4g} | {r.diameter} | "
                     f"{r.hops} | {r.nip:.4g} | {r.min_payload:.4g} | {r.worst_pair} | "
                     f"{r.mean_payload:.4g} |")
    return "\n".join(lines)
