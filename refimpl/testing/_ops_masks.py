"""Op records for refimpl.masks: each mask class through ``mask @ X``, and stick_breaking.

A backend's mask class is constructed with the same arguments and checked through
``mask @ X`` against refimpl's ``toarray() @ X`` (the dense oracle), within the mask's
``product_error_bound`` plus the dense product's bound: the first covers a fast product
(FFT, scan, summed-area tables, tree DP), the second a dense one.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
from hypothesis import strategies as st
from scipy.special import log_expit

from .. import masks, tolerances
from . import strategies as rst
from ._case import Case
from ._draw_structures import DistanceDecay, OffsetTable
from ._ops import (
    Invariant,
    Op,
    Problem,
    grown,
    identity,
    layout_invariant,
    poisoned,
    register,
    relation,
    take,
)

#: Argument names of each class's constructor, in order.
_ARG_NAMES = {"ToeplitzMask": ("c", "r"), "CausalMask": ("L",), "GridRPEMask": ("shape", "f"),
              "RippleMask": ("shape", "alpha"), "TreeMask": ("tree", "f"),
              "DiffusionMask": ("W",)}


class _Dense:
    """A refimpl mask whose ``@`` is the dense oracle ``toarray() @ X``."""

    def __init__(self, mask):
        self.mask = mask

    def __matmul__(self, X):
        return self.mask.toarray() @ np.asarray(X, dtype=np.float64)


def _dense_reference(cls):
    def build(*args, **kwargs):
        return _Dense(cls(*args, **kwargs))
    build.__name__ = cls.__name__
    return build


def _mask_cases(strategy):
    @st.composite
    def cases(draw):
        spec = draw(strategy())
        names = _ARG_NAMES[spec.name]
        mask = spec.build()
        X = draw(rst.operands(rows=mask.shape[1]))
        return Case(spec.name, tuple(zip(names, spec.args)), dict(spec.kwargs), operand=X,
                    seed=draw(rst.seeds()))
    return cases


def _mask_features(case: Case) -> set:
    found = set()
    if case.func == "ToeplitzMask":
        if case["r"] is None:
            found.add("r omitted (symmetric)")
        elif np.shape(case["r"]) != np.shape(case["c"]):
            found.add("rectangular (len(c) != len(r))")
    if case.func in ("CausalMask", "DiffusionMask") and case["gamma" if case.func ==
                                                           "CausalMask" else "lam"] is not None:
        found.add("gamma given" if case.func == "CausalMask" else "lam given")
    if case.func == "DiffusionMask":
        W = case["W"]
        found.add("a networkx graph W" if isinstance(W, nx.Graph) else
                  "a dense W" if isinstance(W, np.ndarray) else "a scipy.sparse W")
    if case.operand is not None and np.shape(case.operand)[0] == 1:
        found.add("a 1 x 1 mask")
    return found


def _build(case: Case):
    cls = getattr(masks, case.func)
    return cls(*(v for _, v in case.args), **case.kwargs)


def mask_bound(case: Case, expected):
    """POLICY ``harness_mask_product``: normwise per column of ``M @ X``.

    The elementwise bounds of refimpl's fast product and of a dense product, taken at
    their largest entry of each column (a fast product's error, FFT above all, is
    normwise: it spreads over the column), plus for the decayed causal mask the bound of
    the same Toeplitz product by FFT (``scipy.linalg.matmul_toeplitz``, a causal
    convolution), which refimpl's scan does not use but an honest backend may.
    """
    mask, X = _build(case), np.asarray(case.operand)
    X2 = X[:, None] if X.ndim == 1 else X
    bound = mask.product_error_bound(X2) + tolerances.product_bound(mask.toarray(), X2)
    bound = np.broadcast_to(bound.max(axis=0, initial=0.0), bound.shape)
    if case.func == "CausalMask":
        L, gamma = mask.shape[0], float(case.get("gamma", 1.0))
        kernel_l1 = float(np.sum(gamma ** np.arange(L)))
        bound = bound + tolerances.fft_convolution_bound(2 * L, kernel_l1, X2)
    return (bound[:, 0] if X.ndim == 1 else bound,)


def naive_product(case: Case, dt):
    dense = _build(case.float64()).toarray()
    return (dense.astype(dt) @ np.asarray(case.operand).astype(dt),)


def _vector_operand(case, rng):
    return [(case.replace(X=case.operand[:, 0]), lambda outputs: (outputs[0][:, 0],))]


def _permute_columns(case, rng):
    perm = rng.permutation(case.operand.shape[1])
    return [(case.replace(X=case.operand[:, perm]), take(perm, 1))]


def _linearity():
    label = "the product is linear: M @ (X + Y) = M @ X + M @ Y"

    def check(ctx, case):
        Y = np.random.default_rng(case.seed).standard_normal(case.operand.shape)
        other = ctx.cast(case.replace(X=Y))
        both = ctx.cast(case.replace(X=np.asarray(case.operand, dtype=np.float64) + Y))
        got = ctx.run(both)
        want = (ctx.run(case)[0] + ctx.run(other)[0],)
        tol = (ctx.allowance(both)[0] + ctx.allowance(case)[0] + ctx.allowance(other)[0],)
        return ctx.compare(label, both, got, want, tol)

    return Invariant(label, check)


def _common_errors(case: Case) -> list:
    return [("NaN in X", poisoned(case, "X")),
            ("X has one row too many", grown(case, "X", 0))]


def _class_errors(case: Case) -> list:
    name = case.func
    rows = []
    if name == "ToeplitzMask":
        rows.append(("NaN in c", poisoned(case, "c")))
    elif name == "CausalMask":
        rows += [("L = 0", case.replace(L=0)), ("gamma = 1.5", case.replace(gamma=1.5))]
    elif name == "GridRPEMask":
        rows.append(("a grid side of 0", case.replace(shape=(0,) + tuple(case["shape"][1:]))))
    elif name == "RippleMask":
        H, W = case["shape"]
        R = case["alpha"].shape[-1]
        rows += [("NaN in alpha", poisoned(case, "alpha")),
                 ("alpha with one row per query plus one",
                  case.replace(alpha=np.ones((H * W + 1, R))))]
    elif name == "TreeMask":
        tree = case["tree"]
        if tree.number_of_nodes() >= 3:
            cyclic = tree.copy()
            u, v = next((u, v) for u in sorted(tree) for v in sorted(tree)
                        if u < v and not tree.has_edge(u, v))
            cyclic.add_edge(u, v)
            rows.append(("a graph with a cycle (not a tree)", case.replace(tree=cyclic)))
    elif name == "DiffusionMask" and isinstance(case["W"], np.ndarray):
        rows.append(("NaN in W", poisoned(case, "W")))
    return rows + _common_errors(case)


def _mask_examples(name):
    """Curated masks: rectangular Toeplitz with r[0] != c[0], decays, a non-square grid
    with a non-symmetric f, rings beyond the last weight, a shuffled weighted tree."""
    def examples():
        rng = np.random.default_rng(20220720)
        if name == "ToeplitzMask":
            specs = [((("c", rng.standard_normal(4)), ("r", rng.standard_normal(6))), {}),
                     ((("c", rng.standard_normal(5)), ("r", rng.standard_normal(5))), {})]
        elif name == "CausalMask":
            specs = [((("L", 5),), {"gamma": 0.7}), ((("L", 4),), {"gamma": 1.0})]
        elif name == "GridRPEMask":
            specs = [((("shape", (2, 3)), ("f", OffsetTable(rng.standard_normal((3, 5))))), {})]
        elif name == "RippleMask":
            specs = [((("shape", (3, 4)), ("alpha", np.array([1.0, 0.5, 0.2]))), {}),
                     ((("shape", (2, 3)), ("alpha", rng.uniform(0.1, 2.0, (6, 2)))), {})]
        elif name == "TreeMask":
            tree = nx.Graph()
            tree.add_nodes_from([4, 1, 0, 5, 2, 3])
            tree.add_weighted_edges_from([(4, 1, 2.0), (1, 0, 0.5), (1, 5, 1.5), (5, 2, 3.0),
                                          (4, 3, 1.0)])
            specs = [((("tree", tree),), {"decay": 0.5}),
                     ((("tree", nx.relabel_nodes(nx.path_graph(6), dict(enumerate(
                         [2, 5, 0, 3, 1, 4])))), ("f", DistanceDecay(0.5))), {})]
        else:
            graph = nx.Graph()
            graph.add_nodes_from([2, 0, 4, 1, 3])
            graph.add_weighted_edges_from([(2, 0, 0.5), (0, 4, 1.0), (4, 1, 2.0), (1, 3, 1.0)])
            specs = [((("W", graph),), {"lam": 0.5})]
        cases = []
        for index, (args, kwargs) in enumerate(specs):
            mask = getattr(masks, name)(*(v for _, v in args), **kwargs)
            cases.append(Case(name, args, kwargs, operand=rng.standard_normal(
                (mask.shape[1], 2)), seed=index))
        return cases
    return examples


_MASK_INVARIANTS = (
    relation("a vector operand gives the first column", _vector_operand),
    relation("permuting the columns of X permutes the columns of M @ X", _permute_columns),
    _linearity(),
    layout_invariant,
)

for _cls, _strategy in ((masks.ToeplitzMask, rst.toeplitz_masks),
                        (masks.CausalMask, rst.causal_masks),
                        (masks.GridRPEMask, rst.grid_masks),
                        (masks.RippleMask, rst.ripple_masks),
                        (masks.TreeMask, rst.tree_masks),
                        (masks.DiffusionMask, rst.diffusion_masks)):
    register(Op(
        name=_cls.__name__, family="masks", reference=_dense_reference(_cls),
        cases=_mask_cases(_strategy), bound=mask_bound, naive=naive_product,
        errors=_class_errors, invariants=_MASK_INVARIANTS, is_class=True, checker=_cls,
        examples=_mask_examples(_cls.__name__), features=_mask_features,
        policy="harness_mask_product (normwise per column: product + the mask's own "
               "fft_convolution, summation, tree_dp, ...)",
    ))


# -- stick_breaking -------------------------------------------------------------------------------

@st.composite
def _stick_cases(draw):
    R = draw(st.integers(1, 6))
    batch = draw(rst.batch_shapes())
    size = draw(st.sampled_from([1.0, 5.0, 40.0]))
    logits = np.random.default_rng(draw(rst.seeds())).standard_normal(batch + (R,)) * size
    return Case("stick_breaking", (("logits", logits),), seed=draw(rst.seeds()))


def stick_bound(case: Case, expected):
    logits = case["logits"]
    R = logits.shape[-1]
    keep = np.abs(log_expit(-logits[..., :-1]))
    before = np.concatenate([np.zeros(logits.shape[:-1] + (1,)), np.cumsum(keep, axis=-1)], -1)
    take_ = np.concatenate([np.abs(log_expit(logits[..., :-1])),
                            np.zeros(logits.shape[:-1] + (1,))], axis=-1)
    # exp of a sum of R log terms: each term and the sum round (Higham eq. 4.4), exp adds one
    return (tolerances.summation_bound(R + 2, (1.0 + before + take_) * expected[0]),)


def naive_stick(case: Case, dt):
    logits = np.asarray(case["logits"]).astype(dt)
    one = dt.type(1)
    take_ = one / (one + np.exp(-logits[..., :-1]))
    keep = one / (one + np.exp(logits[..., :-1]))  # 1 - sigma without cancellation
    before = np.cumprod(np.concatenate([np.ones(logits.shape[:-1] + (1,), dt), keep], -1), -1)
    return (before * np.concatenate([take_, np.ones(logits.shape[:-1] + (1,), dt)], -1),)


def _last_logit_ignored(case, rng):
    logits = np.array(case["logits"], copy=True)
    logits[..., -1] = rng.standard_normal(logits.shape[:-1]) * 10.0
    return [(case.replace(logits=logits), identity)]


def _sums_to_one():
    label = "the weights are nonnegative and sum to one"

    def check(ctx, case):
        alpha = ctx.run(case)[0]
        R = alpha.shape[-1]
        if np.any(alpha < 0):
            return ctx.compare(label, case, (alpha,), (np.abs(alpha),), (np.zeros(alpha.shape),))
        total = alpha.sum(axis=-1)
        allow = ctx.allowance(case)[0].sum(axis=-1) + tolerances.harness_allowance(
            tolerances.summation_bound(R, 1.0), ctx.dtype, 1.0)
        if np.all(np.abs(total - 1.0) <= allow):
            return None
        return Problem(label, case, "", "sum(out, axis=-1)", total, np.ones(total.shape),
                       np.broadcast_to(allow, total.shape))

    return Invariant(label, check)


register(Op(
    name="stick_breaking", family="masks", reference=masks.stick_breaking, cases=_stick_cases,
    bound=stick_bound, naive=naive_stick, policy="summation (in log space)",
    errors=lambda case: [("NaN in logits", poisoned(case, "logits")),
                         ("a 0-dimensional logit", case.replace(logits=np.float64(math.e)))],
    invariants=(relation("the last logit is ignored", _last_logit_ignored), _sums_to_one()),
    examples=lambda: [Case("stick_breaking", (("logits", np.array(
        [[0.3, -2.0, 40.0, -40.0, 1.5], [5.0, 12.0, -3.0, 0.5, 2.0]])),), seed=1)],
))
