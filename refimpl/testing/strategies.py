"""Hypothesis strategies for efficient-attention inputs (public; requires Hypothesis).

These are the strategies behind :func:`refimpl.testing.certify`, offered for a backend's
own property tests. All arguments are keyword-only. Values are float64; round them to
your dtype before your code and the reference see them (as the harness does).

The draws lean on purpose towards the inputs that break attention kernels:

* sizes 1 to 3 often, and odd and prime sizes (:func:`sizes`);
* logits up to :math:`\\pm 10^4` after scaling, which overflow ``exp`` without the
  row-max shift (:func:`qkv`, ``max_logit``), all-zero logits (uniform attention), and
  rows pushed to -3e4 by the bias (:func:`softmax_cases`);
* masks with rows that have a single allowed entry, key-padding masks of shape
  ``(..., 1, S)``, real-valued weights, banded (causal-like) masks, never symmetric by
  construction (:func:`attention_masks`); biases of shapes ``(L, S)``, ``(1, S)`` and
  ``(L, 1)``, not symmetric (:func:`biases`);
* batch dimensions that broadcast (one argument with fewer or size-1 batch dimensions);
* Toeplitz masks whose first row and column differ (also in ``r[0]``, which the
  :func:`scipy.linalg.toeplitz` convention ignores), grids that are not square, trees
  and graphs whose labels are shuffled and whose nodes are inserted out of order.

Array values come from a NumPy generator seeded by a drawn integer: Hypothesis explores
the structure (sizes, flags, magnitudes, mask patterns) and shrinks it, while the
values stay cheap to draw. ``tests/test_testing.py`` checks that each edge case above is
actually produced.

Examples
--------
>>> from hypothesis import find
>>> from refimpl.testing import strategies as rst
>>> case = find(rst.softmax_cases(), lambda c: c.q.shape[-2] == 1 and c.causal)
>>> case.q.shape[-2], case.k.shape[-2]
(1, 1)
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - hypothesis is a dependency of refimpl
    raise ImportError("refimpl.testing.strategies requires Hypothesis: "
                      "python -m pip install hypothesis") from exc

from ._draw_attention import (
    QKV,
    LinearCase,
    SoftmaxCase,
    attention_masks,
    batch_shapes,
    biases,
    linear_cases,
    qkv,
    seeds,
    sizes,
    softmax_cases,
)
from ._draw_structures import (
    DistanceDecay,
    MaskArgs,
    OffsetTable,
    Points,
    causal_masks,
    diffusion_masks,
    graphs,
    grid_masks,
    grid_shapes,
    operands,
    points,
    ripple_masks,
    toeplitz_masks,
    tree_masks,
    trees,
)

__all__ = [
    "QKV",
    "DistanceDecay",
    "LinearCase",
    "MaskArgs",
    "OffsetTable",
    "Points",
    "SoftmaxCase",
    "attention_masks",
    "batch_shapes",
    "biases",
    "causal_masks",
    "diffusion_masks",
    "graphs",
    "grid_masks",
    "grid_shapes",
    "linear_cases",
    "operands",
    "points",
    "qkv",
    "ripple_masks",
    "seeds",
    "sizes",
    "softmax_cases",
    "toeplitz_masks",
    "tree_masks",
    "trees",
]
