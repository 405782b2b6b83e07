r"""Random-walk estimators of graph kernels and graph masks.

Three Monte-Carlo estimators, each with the exact quantity it is unbiased for:

* **graph random features** (:func:`graph_random_features`): a sparse :math:`\Phi` with
  :math:`\mathbb{E}\Phi = \sum_k \alpha_k W^k` from load-weighted walks with halting
  (Reid et al. 2024, "General graph random features"), with the exact mean and variance
  (:func:`grf_mean`, :func:`grf_variance`) and an exhaustive path enumeration that
  checks both (:func:`grf_moments_by_enumeration`). Two independent feature matrices
  give the linear-time estimate :math:`\Phi_1\Phi_2^\top` of the diffusion mask
  :math:`\exp(\lambda W)` (:class:`WalkMask`, :func:`walk_mask_attention`);
* the **GKAT walk-frequency matrix** (:func:`walk_frequency_features`,
  :func:`walk_frequency_mean`) and its cosine mask (:func:`gkat_mask`,
  :func:`gkat_features`), after the official GKAT code (HL-hanlin/GKAT);
* the **Feynman--Kac** estimate of :math:`\exp(tW)x` by continuous-time walks
  (:func:`heat_kernel_action`).

What Choromanski et al. (ICML 2022, arXiv 2107.07999) state about their own
random-walk / Markov-process estimator is **[recall only]** in this project's spec
(``spec/masked_attention.md`` Sec. 2.8): the abstract mentions random walks and "Markov
processes on graphs", but the statement could not be checked against the paper. The
estimators here follow the GRF paper, the official GKAT code and standard probability.

Graphs are dense arrays, ``scipy.sparse`` matrices or ``networkx`` graphs on nodes
``0..L-1`` (weighted adjacency, attribute ``weight``, default 1). The neighbours of ``u``
are the nonzeros of row ``u`` (a nonzero diagonal entry is a self-loop); a walk at a node
without neighbours stops. Every estimator takes ``rng`` (a Generator, an int seed or
None) and vectorises over all walks.
"""

from ..masks.lowrank import LowRankMask
from .gkat import (
    gkat_features,
    gkat_mask,
    transition_matrix,
    walk_frequency_features,
    walk_frequency_mean,
)
from .grf import (
    MAX_ENUMERATED_PATHS,
    graph_random_features,
    grf_mean,
    grf_moments_by_enumeration,
    grf_second_moment,
    grf_variance,
)
from .heat import heat_kernel_action
from .walkmask import WalkAttention, WalkMask, half_exponential_coefficients, walk_mask_attention

__all__ = [
    "MAX_ENUMERATED_PATHS",
    "LowRankMask",
    "WalkAttention",
    "WalkMask",
    "gkat_features",
    "gkat_mask",
    "graph_random_features",
    "grf_mean",
    "grf_moments_by_enumeration",
    "grf_second_moment",
    "grf_variance",
    "half_exponential_coefficients",
    "heat_kernel_action",
    "transition_matrix",
    "walk_frequency_features",
    "walk_frequency_mean",
    "walk_mask_attention",
]
