"""Helpers shared by the eigen checks."""

from __future__ import annotations

import numpy as np

from ... import tolerances
from ...eigen._golden import GOLDEN

FAMILY = "eigen"
SEED = 20220717  # ICML 2022
EPS = tolerances.EPS


def _rng(offset: int = 0) -> np.random.Generator:
    return np.random.default_rng(SEED + offset)


def golden(name: str) -> np.ndarray:
    return np.array([float(v) for v in GOLDEN[name][1]])


