"""performer-pytorch as it is: its random feature projections.

``refimpl certify refimpl.testing.backends.performer --dtype float32`` (it draws float32
tensors); needs ``performer-pytorch`` (``python -m pip install performer-pytorch``).

``gaussian_omega(m, d, orthogonal=True)`` is
``performer_pytorch.gaussian_orthogonal_random_matrix(m, d, scaling=0)`` (blocks of the Q
of ``torch.linalg.qr``, rows rescaled to chi(d) norms), ``orthogonal=False`` is
``torch.randn(m, d)``; an int ``rng`` seeds ``torch.manual_seed``, as a user would.

Examples
--------
>>> from refimpl.testing.backends import performer  # doctest: +SKIP
>>> performer.gaussian_omega(4, 2, orthogonal=True, rng=0).shape  # doctest: +SKIP
(4, 2)
"""

from __future__ import annotations

import warnings

import numpy as np

from . import require

torch = require("torch", "torch")
with warnings.catch_warnings():  # it compares versions with distutils' LooseVersion
    warnings.simplefilter("ignore", DeprecationWarning)
    performer_pytorch = require("performer_pytorch", "performer")

__all__ = ["gaussian_omega"]


def gaussian_omega(m, d, *, orthogonal=False, rng=None):
    """performer-pytorch's projections, seeded through ``torch.manual_seed``."""
    seed = rng if isinstance(rng, int) else int(np.random.default_rng(rng).integers(2**31))
    torch.manual_seed(seed)
    if orthogonal:
        return performer_pytorch.performer_pytorch.gaussian_orthogonal_random_matrix(
            m, d, scaling=0).numpy()
    return torch.randn(m, d).numpy()
