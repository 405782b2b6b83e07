r"""Sparse attention graphs and their Normalised Information Payload (NIP).

Wang et al., "What Dense Graph Do You Need for Self-Attention?" (ICML 2022,
arXiv:2205.14014) read a sparse attention pattern as a graph on the ``n`` tokens, score it
by how well uniform attention on the graph mixes information within a few layers (NIP),
and propose the Hypercube Transformer, whose graph has ``O(n log n)`` edges and diameter
``ceil(log2 n)``. The module reads in that order:

1. the graphs: complete, sliding window, star, Longformer, BigBird and hypercube, and the
   lifting of a block-level layout to tokens (the official runs use 16-token blocks);
2. the attention mask of a graph, dense (:func:`attention_mask`, the oracle) and as a
   ``scipy.sparse`` pattern (:func:`attention_pattern`, used by
   :func:`refimpl.attention.sparse_graph_attention`);
3. the information payload :math:`P^h` and :func:`nip`, with a report and a table.

Conventions: a graph is an undirected :class:`networkx.Graph` on the nodes ``0 .. n-1``.
Edge weights are ignored (an attention graph is a pattern), and so are self-loops: every
token attends to itself whether or not the graph says so (:func:`attention_mask` adds the
diagonal). Directed graphs and multigraphs are refused.

The NIP formula of the paper could not be checked against any available source; :func:`nip`
implements the reconstruction fixed in ``spec/nip_mra_flash.md`` Sec. 7 (see its Notes).
"""

from .constructors import (
    attention_mask,
    attention_pattern,
    bigbird_graph,
    complete_graph,
    hypercube_graph,
    lift_blocks,
    longformer_graph,
    sliding_window_graph,
    star_graph,
)
from .payload import NIP_MAX_NODES as NIP_MAX_NODES  # documented constant, not in __all__
from .payload import (
    NIPReport,
    format_nip_table,
    information_payload,
    nip,
    nip_report,
    nip_table,
    standard_graphs,
)

__all__ = [
    "NIPReport",
    "attention_mask",
    "attention_pattern",
    "bigbird_graph",
    "complete_graph",
    "format_nip_table",
    "hypercube_graph",
    "information_payload",
    "lift_blocks",
    "longformer_graph",
    "nip",
    "nip_report",
    "nip_table",
    "sliding_window_graph",
    "standard_graphs",
    "star_graph",
]
