"""Structured attention masks with fast products (Choromanski et al. 2022, Sec. 3).

Every mask is a :class:`scipy.sparse.linalg.LinearOperator` of shape ``(L, S)`` whose
``@`` is the fast algorithm and whose :meth:`~refimpl.masks.Mask.toarray` is the dense
oracle built entry by entry from the definition.
"""

from ._base import Mask
from .diffusion import DiffusionMask, RegularizedLaplacianMask
from .grid import GridRPEMask
from .lowrank import LowRankMask
from .ripple import RippleMask, stick_breaking
from .toeplitz import CausalMask, ToeplitzMask
from .tree import TreeMask

__all__ = [
    "CausalMask",
    "DiffusionMask",
    "GridRPEMask",
    "LowRankMask",
    "Mask",
    "RegularizedLaplacianMask",
    "RippleMask",
    "ToeplitzMask",
    "TreeMask",
    "stick_breaking",
]
