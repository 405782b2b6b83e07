"""Checks shared by every mask family: the fast product and Algorithm 1 against oracles."""

from __future__ import annotations

import numpy as np

from .. import tolerances
from ..attention import kernel_attention, masked_linear_attention
from ._registry import Outcome, compare

__all__ = ["alg1_outcome", "mask_product_outcome"]


def mask_product_outcome(mask, rng: np.random.Generator, *, columns: int = 5) -> Outcome:
    """``mask @ X`` against ``mask.toarray() @ X`` within the fast and dense product bounds."""
    X = rng.normal(size=(mask.shape[1], columns))
    dense = mask.toarray()
    bound = mask.product_error_bound(X) + tolerances.product_bound(dense, X)
    return compare(mask @ X, dense @ X, bound)


def alg1_outcome(mask, rng: np.random.Generator, *, m: int = 4, dv: int = 3) -> Outcome:
    """Algorithm 1 against the dense ``kernel_attention`` on positive random features."""
    L, S = mask.shape
    phi_q, phi_k = rng.random((L, m)) + 0.05, rng.random((S, m)) + 0.05
    v = rng.normal(size=(S, dv))
    bound = tolerances.masked_linear_attention_bound(phi_q, phi_k, v, mask)
    return compare(masked_linear_attention(phi_q, phi_k, v, mask),
                   kernel_attention(phi_q, phi_k, v, mask=mask), bound)
