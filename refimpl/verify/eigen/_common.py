"""Helpers shared by the eigen checks."""

from __future__ import annotations

import numpy as np

from ... import tolerances
from ...eigen._golden import GOLDEN
from .._registry import Outcome

FAMILY = "eigen"
SEED = 20220717  # ICML 2022
EPS = tolerances.EPS


def _rng(offset: int = 0) -> np.random.Generator:
    return np.random.default_rng(SEED + offset)


def worst(outcomes) -> Outcome:
    """The outcome with the largest error / tolerance."""
    def ratio(o):
        if o.tolerance > 0:
            return o.error / o.tolerance
        return np.inf if o.error > 0 or not np.isfinite(o.error) else 0.0

    return max(outcomes, key=ratio)


def golden(name: str) -> np.ndarray:
    return np.array([float(v) for v in GOLDEN[name][1]])


