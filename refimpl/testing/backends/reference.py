"""refimpl itself as a backend: every public name in one flat namespace.

``refimpl certify refimpl.testing.backends.reference`` certifies refimpl against itself
(the harness's own positive control, as array-api-tests runs against array-api-strict).

Examples
--------
>>> from refimpl.testing.backends import reference
>>> reference.softmax_attention.__module__
'refimpl.attention'
"""

from refimpl.attention import (  # noqa: F401
    kernel_attention,
    masked_linear_attention,
    softmax_attention,
    sparse_graph_attention,
)
from refimpl.eigen import (  # noqa: F401
    arccos_kernel,
    brownian_bridge_kernel,
    brownian_kernel,
    neuralef_loss,
    nngp_relu_kernel,
    ntk_relu_kernel,
    polynomial_kernel,
    rbf_kernel,
)
from refimpl.estimators import (  # noqa: F401
    lara_attention,
    ra_target,
    randomized_attention,
    rfa_attention,
    softmax_mixture,
)
from refimpl.features import (  # noqa: F401
    fourier_features,
    gaussian_omega,
    hyperbolic_features,
    positive_features,
    trig_features,
)
from refimpl.graphs import (  # noqa: F401
    attention_mask,
    bigbird_graph,
    complete_graph,
    hypercube_graph,
    information_payload,
    longformer_graph,
    nip,
    sliding_window_graph,
    star_graph,
)
from refimpl.masks import (  # noqa: F401
    CausalMask,
    DiffusionMask,
    GridRPEMask,
    RippleMask,
    ToeplitzMask,
    TreeMask,
    stick_breaking,
)
from refimpl.walks import (  # noqa: F401
    WalkMask,
    graph_random_features,
    heat_kernel_action,
    walk_frequency_features,
)
