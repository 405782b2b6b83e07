"""Op records for refimpl.attention: softmax, kernel, masked linear and sparse-graph attention."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
from hypothesis import strategies as st

from .. import attention, tolerances
from ..graphs import attention_mask
from . import strategies as rst
from ._case import Case
from ._ops import (
    Invariant,
    Op,
    batch_pairs,
    grown,
    identity,
    layout_invariant,
    poisoned,
    register,
    relation,
    take,
    undefined,
)

_T = np.swapaxes


def _scale(case: Case) -> float:
    scale = case["scale"]
    return 1.0 / math.sqrt(case["q"].shape[-1]) if scale is None else float(scale)


def _trailing(a, L, S):
    """``a`` broadcast to trailing dimensions ``(L, S)`` (keeping its batch)."""
    a = np.asarray(a)
    return np.broadcast_to(a, a.shape[:-2] + (L, S))


def _dense_mask(case: Case, L: int, S: int):
    """The multiplicative mask of a case as float64 ``(..., L, S)`` (causal folded in)."""
    mask = case["mask"]
    dense = np.ones((L, S)) if mask is None else _trailing(mask, L, S).astype(np.float64)
    return dense * np.tri(L, S) if case["causal"] else dense


# -- input features (what a backend may not support) ----------------------------------------------

def attention_features(case: Case, same_depth: bool = True) -> set:
    """Labels of the optional features of an attention case (``same_depth``: whether
    ``dv != d`` counts, as for softmax attention, where JAX and Keras need dv == d)."""
    (_, a), (_, b), (_, v) = case.args[:3]
    a, b, v = np.asarray(a), np.asarray(b), np.asarray(v)
    found = set()
    extra = [np.asarray(case[n]) for n in ("bias", "mask") if case[n] is not None]
    if case.func == "masked_linear_attention":
        extra = [np.asarray(case["mask"])]
    batches = [x.shape[:-2] for x in (a, b, v, *extra)]
    full = np.broadcast_shapes(*batches)
    if len(full) == 1:
        found.add("one batch dimension")
    elif len(full) >= 2:
        found.add("two batch dimensions")
    if any(batch != full for batch in batches[:3]):
        found.add("broadcast batch dimensions")
    L, S = a.shape[-2], b.shape[-2]
    if L != S:
        found.add("L != S")
    if same_depth and v.shape[-1] != a.shape[-1]:
        found.add("dv != d")
    if 1 in (L, S, a.shape[-1]):
        found.add("a length-1 axis")
    mask = case["mask"]
    if mask is not None and case.func != "masked_linear_attention":
        mask = np.asarray(mask)
        found.add("boolean mask" if mask.dtype == bool else "weighted mask")
        if mask.shape[-2] != L or mask.shape[-1] != S:
            found.add("mask broadcast over rows or columns")
    if case["bias"] is not None:
        bias = np.asarray(case["bias"])
        found.add("bias")
        if bias.shape[-2] != L or bias.shape[-1] != S:
            found.add("bias broadcast over rows or columns")
    if case["causal"]:
        found.add("causal")
    if case["scale"] is not None:
        found.add("explicit scale")
    return found


# -- softmax attention ---------------------------------------------------------------------------

@st.composite
def _softmax_cases(draw):
    c = draw(rst.softmax_cases())
    kwargs = {"bias": c.bias, "mask": c.mask, "causal": True if c.causal else None,
              "scale": c.scale}
    return Case("softmax_attention", (("q", c.q), ("k", c.k), ("v", c.v)),
                {k: v for k, v in kwargs.items() if v is not None}, seed=draw(rst.seeds()))


@st.composite
def _plain_softmax_cases(draw):
    """The plain domain: unbatched, no bias, mask, causal or scale, dv == d."""
    base = draw(rst.qkv(batch=False, scales=False, same_depth=True))
    return Case("softmax_attention", (("q", base.q), ("k", base.k), ("v", base.v)),
                seed=draw(rst.seeds()))


def _logit_size(q, k, bias, mask, scale):
    """a_i of POLICY ["softmax_attention"]: the largest |term| of an allowed logit of row i."""
    size = abs(scale) * (np.abs(q) @ _T(np.abs(k), -1, -2))
    if bias is not None:
        size = size + np.abs(bias)
    with np.errstate(divide="ignore"):
        size = size + np.abs(np.log(np.where(mask > 0, mask, 1.0)))
    return np.where(mask > 0, size, 0.0).max(axis=-1)


def softmax_bound(case: Case, expected):
    q, k, v = case["q"], case["k"], case["v"]
    L, S = q.shape[-2], k.shape[-2]
    mask = _dense_mask(case, L, S)
    size = _logit_size(q, k, case["bias"], mask, _scale(case))
    weights = attention.softmax_attention(q, k, np.eye(S), bias=case["bias"], mask=case["mask"],
                                          causal=bool(case["causal"]), scale=case["scale"])
    return (tolerances.softmax_attention_bound(size, q.shape[-1], weights, v),)


def naive_softmax(case: Case, dt):
    q, k, v = (np.asarray(case[n]).astype(dt) for n in ("q", "k", "v"))
    L, S = q.shape[-2], k.shape[-2]
    logits = (q @ _T(k, -1, -2)) * dt.type(_scale(case))
    if case["bias"] is not None:
        logits = logits + np.asarray(case["bias"]).astype(dt)
    mask = _dense_mask(case, L, S)
    with np.errstate(divide="ignore"):
        logits = logits + np.log(mask.astype(dt))
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return ((weights @ v) / weights.sum(axis=-1, keepdims=True),)


def _permute_keys(case, rng):
    if case["causal"]:
        return []
    L, S = case["q"].shape[-2], case["k"].shape[-2]
    perm = rng.permutation(S)
    changes = {n: np.take(case[n], perm, axis=-2) for n in ("k", "v")}
    for n in ("bias", "mask"):
        if case[n] is not None:
            changes[n] = np.take(_trailing(case[n], L, S), perm, axis=-1)
    return [(case.replace(**changes), identity)]


def _permute_queries(case, rng):
    if case["causal"]:
        return []
    L, S = case["q"].shape[-2], case["k"].shape[-2]
    perm = rng.permutation(L)
    changes = {"q": np.take(case["q"], perm, axis=-2)}
    for n in ("bias", "mask"):
        if case[n] is not None:
            changes[n] = np.take(_trailing(case[n], L, S), perm, axis=-2)
    return [(case.replace(**changes), take(perm, -2))]


def _shift_bias(case, rng):
    L = case["q"].shape[-2]
    shift = rng.integers(-3, 4, size=(L, 1)).astype(np.float64)
    bias = shift if case["bias"] is None else case["bias"] + shift
    return [(case.replace(bias=bias), identity)]


def _scale_mask_rows(case, rng):
    L, S = case.args[0][1].shape[-2], case.args[1][1].shape[-2]  # (q, k) or (phi_q, phi_k)
    factor = 2.0 ** rng.integers(-2, 3, size=(L, 1))
    mask = factor if case["mask"] is None else _trailing(case["mask"], L, S) * factor
    return [(case.replace(mask=mask), identity)]


def _constant_values(label="constant values are reproduced"):
    def check(ctx, case):
        value = -2.25 if case.seed % 2 else 1.5
        new = ctx.cast(case.replace(v=np.full(np.shape(case["v"]), value)))
        got, allow = ctx.run(new), ctx.allowance(new)
        return ctx.compare(label, new, got, (np.full(got[0].shape, value),), allow)
    return Invariant(label, check)


def _fully_masked(case: Case, L: int, S: int):
    mask = np.array(_trailing(case["mask"], L, S) if case["mask"] is not None
                    else np.ones((L, S)), dtype=np.float64)
    mask[..., np.random.default_rng(case.seed).integers(L), :] = 0.0
    return case.replace(mask=mask)


def _softmax_errors(case: Case):
    L, S = case["q"].shape[-2], case["k"].shape[-2]
    rows = [("NaN in q", poisoned(case, "q")), ("inf in k", poisoned(case, "k", np.inf)),
            ("NaN in v", poisoned(case, "v")),
            ("k's last dimension differs from q's", grown(case, "k", -1)),
            ("v has a row per key plus one", grown(case, "v", -2)),
            undefined("a fully masked row", _fully_masked(case, L, S))]
    plain = case.replace(bias=None, mask=None)
    if not case["causal"]:
        longer = grown(grown(plain, "k", -2), "v", -2) if L == S else plain
        rows.append(("causal=True with L != S", longer.replace(causal=True)))
    bias = np.zeros((L, S + 1)) if case["bias"] is None else grown(
        case.replace(bias=_trailing(case["bias"], L, S)), "bias", -1)["bias"]
    rows.append(("bias with one key too many", case.replace(bias=bias)))
    return rows


def _softmax_examples():
    """Curated cases: broadcasting batches, a weighted non-symmetric mask with a single-key
    row, an asymmetric bias with a row at -3e4, logits of 1e4 whose largest entry of each
    row is masked, causal with mask and bias, explicit scales."""
    rng = np.random.default_rng(20220717)
    S_ = "softmax_attention"
    q, k, v = rng.standard_normal((2, 1, 4, 3)), rng.standard_normal((1, 3, 5, 3)), \
        rng.standard_normal((5, 2))
    bias = rng.standard_normal((4, 5)) * 5.0
    bias[1] -= 3e4
    mask = rng.uniform(0.1, 3.0, (4, 5)) * (rng.random((4, 5)) < 0.6)
    mask[0] = 0.0
    mask[0, 2] = 1.7
    mask[1, :2] = [0.0, 2.5]
    mask[2:, 3] = 0.8
    cases = [Case(S_, (("q", q), ("k", k), ("v", v)), {"bias": bias, "mask": mask}, seed=1)]
    q, k = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    factor = math.sqrt(1e4 / (np.abs(q @ k.T).max() / math.sqrt(2)))
    q, k = q * factor, k * factor
    allowed = np.ones((4, 4), bool)
    allowed[np.arange(4), np.argmax(q @ k.T, axis=1)] = False
    cases.append(Case(S_, (("q", q), ("k", k), ("v", rng.standard_normal((4, 3)))),
                      {"mask": allowed}, seed=2))
    L = 5
    mask = rng.uniform(0.2, 2.0, (L, L)) * (rng.random((L, L)) < 0.7)
    mask[np.arange(L), np.arange(L)] = 1.0
    cases.append(Case(S_, (("q", rng.standard_normal((L, 3))), ("k", rng.standard_normal((L, 3))),
                           ("v", rng.standard_normal((L, 2)))),
                      {"bias": rng.standard_normal((L, L)) * 3.0, "mask": mask, "causal": True,
                       "scale": 0.5}, seed=3))
    cases.append(Case(S_, (("q", rng.standard_normal((3, 4))), ("k", rng.standard_normal((2, 4))),
                           ("v", rng.standard_normal((2, 2)))), {"scale": 2.0}, seed=4))
    # (batch, heads, L, d) with nothing else: the layout fused kernels take (PyTorch's CPU
    # flash kernel maps a NaN query row to 0 here, and only here; pytorch/pytorch#141128)
    cases.append(Case(S_, tuple((n, rng.standard_normal((2, 2, 5, 4))) for n in "qkv"), seed=5))
    return cases


_QKV_CORE = {"q": 2, "k": 2, "v": 2, "bias": 2, "mask": 2}

register(Op(
    name="softmax_attention", family="attention", reference=attention.softmax_attention,
    cases=_softmax_cases, bound=softmax_bound, naive=naive_softmax, errors=_softmax_errors,
    policy="softmax_attention", examples=_softmax_examples, plain=_plain_softmax_cases,
    features=attention_features,
    invariants=(
        relation("permuting keys and values together changes nothing", _permute_keys),
        relation("permuting queries permutes the output rows", _permute_queries),
        relation("adding a constant to a row of the bias changes nothing", _shift_bias),
        relation("scaling a row of the mask changes nothing", _scale_mask_rows),
        _constant_values(),
        relation("each batch element equals the unbatched call",
                 lambda case, rng: batch_pairs(case, _QKV_CORE)),
        layout_invariant,
    ),
))


# -- kernel attention and masked linear attention -------------------------------------------------

def _linear_case(name, mask):
    @st.composite
    def cases(draw):
        c = draw(rst.linear_cases(mask=mask, causal=name == "kernel_attention"))
        args = (("phi_q", c.phi_q), ("phi_k", c.phi_k), ("v", c.v))
        if name == "masked_linear_attention":
            return Case(name, args + (("mask", c.mask),), seed=draw(rst.seeds()))
        kwargs = {"mask": c.mask, "causal": True if c.causal else None}
        return Case(name, args, {k: v for k, v in kwargs.items() if v is not None},
                    seed=draw(rst.seeds()))
    return cases


def linear_bound(case: Case, expected):
    phi_q, phi_k, v = case["phi_q"], case["phi_k"], case["v"]
    L, S = phi_q.shape[-2], phi_k.shape[-2]
    mask = _dense_mask(case, L, S)
    arrays = {"phi_q": phi_q, "phi_k": phi_k, "v": v, "mask": mask}
    batch = np.broadcast_shapes(*(a.shape[:-2] for a in arrays.values()))
    full = {n: np.broadcast_to(a, batch + a.shape[-2:]) for n, a in arrays.items()}
    out = np.empty(batch + (L, v.shape[-1]))
    for idx in np.ndindex(batch):
        out[idx] = tolerances.masked_linear_attention_bound(
            full["phi_q"][idx], full["phi_k"][idx], full["v"][idx], full["mask"][idx])
    return (out,)


def naive_linear(case: Case, dt):
    phi_q, phi_k, v = (np.asarray(case[n]).astype(dt) for n in ("phi_q", "phi_k", "v"))
    mask = _dense_mask(case, phi_q.shape[-2], phi_k.shape[-2]).astype(dt)
    scores = (phi_q @ _T(phi_k, -1, -2)) * mask
    return ((scores @ v) / scores.sum(axis=-1, keepdims=True),)


def _linear_examples(name):
    def examples():
        rng = np.random.default_rng(20220718)
        phi_q, phi_k = rng.uniform(0.1, 2.0, (2, 1, 4, 3)), rng.uniform(0.1, 2.0, (1, 3, 5, 3))
        v = rng.standard_normal((5, 2))
        mask = rng.uniform(0.1, 3.0, (4, 5)) * (rng.random((4, 5)) < 0.6)
        mask[:, 1] = 0.5
        mask[0] = [0.0, 1.5, 0.0, 0.0, 0.0]
        args = (("phi_q", phi_q), ("phi_k", phi_k), ("v", v))
        if name == "masked_linear_attention":
            return [Case(name, args + (("mask", mask),), seed=1)]
        L = 4
        causal_mask = rng.uniform(0.2, 2.0, (L, L))
        return [Case(name, args, {"mask": mask}, seed=1),
                Case(name, (("phi_q", rng.uniform(0.1, 2.0, (L, 2))),
                            ("phi_k", rng.uniform(0.1, 2.0, (L, 2))),
                            ("v", rng.standard_normal((L, 3)))),
                     {"mask": causal_mask, "causal": True}, seed=2),
                # tiny keys before huge ones: a causal prefix must not be formed as
                # (all keys) - (later keys), which cancels the early rows away
                Case(name, (("phi_q", rng.uniform(0.1, 2.0, (12, 3))),
                            ("phi_k", rng.uniform(0.1, 2.0, (12, 3))
                             * np.repeat([1e-4, 1.0, 1e4], 4)[:, None]),
                            ("v", rng.standard_normal((12, 2)))),
                     {"causal": True}, seed=4),
                Case(name, (("phi_q", rng.uniform(0.1, 2.0, (3, 2))),
                            ("phi_k", rng.uniform(0.1, 2.0, (5, 2))),
                            ("v", rng.standard_normal((5, 1)))), seed=3)]
    return examples


def _permute_linear_keys(case, rng):
    if case["causal"]:
        return []
    L, S = case["phi_q"].shape[-2], case["phi_k"].shape[-2]
    perm = rng.permutation(S)
    changes = {n: np.take(case[n], perm, axis=-2) for n in ("phi_k", "v")}
    if case["mask"] is not None:
        changes["mask"] = np.take(_trailing(case["mask"], L, S), perm, axis=-1)
    return [(case.replace(**changes), identity)]


def _scale_query_features(case, rng):
    factor = 2.0 ** rng.integers(-2, 3, size=(case["phi_q"].shape[-2], 1))
    return [(case.replace(phi_q=case["phi_q"] * factor), identity)]


def _linear_errors(name):
    def errors(case: Case):
        L, S = case["phi_q"].shape[-2], case["phi_k"].shape[-2]
        rows = [("NaN in phi_q", poisoned(case, "phi_q")),
                ("inf in phi_k", poisoned(case, "phi_k", np.inf)),
                ("NaN in v", poisoned(case, "v")),
                ("phi_k has one feature more than phi_q", grown(case, "phi_k", -1)),
                ("v has a row per key plus one", grown(case, "v", -2)),
                undefined("a row whose normaliser is zero", _fully_masked(case, L, S))]
        if name == "kernel_attention" and not case["causal"]:
            plain = case.replace(mask=None)
            longer = grown(grown(plain, "phi_k", -2), "v", -2) if L == S else plain
            rows.append(("causal=True with L != S", longer.replace(causal=True)))
        return rows
    return errors


for _name, _mask in (("kernel_attention", "optional"), ("masked_linear_attention", "required")):
    register(Op(
        name=_name, family="attention", reference=getattr(attention, _name),
        cases=_linear_case(_name, _mask), bound=linear_bound, naive=naive_linear,
        errors=_linear_errors(_name), policy="masked_linear_attention",
        examples=_linear_examples(_name),
        features=lambda case: attention_features(case, same_depth=False),
        invariants=(
            relation("scaling a row of the mask changes nothing", _scale_mask_rows),
            relation("scaling a row of phi_q changes nothing", _scale_query_features),
            _constant_values(),
            relation("permuting keys (phi_k, v, mask columns) changes nothing",
                     _permute_linear_keys),
            relation("each batch element equals the unbatched call",
                     lambda case, rng: batch_pairs(
                         case, {"phi_q": 2, "phi_k": 2, "v": 2, "mask": 2})),
            layout_invariant,
        ),
    ))


# -- softmax attention on a sparse graph -------------------------------------------------------

@st.composite
def _graph_cases(draw):
    graph = draw(rst.graphs(max_nodes=9))
    base = draw(rst.qkv(length=graph.number_of_nodes()))
    kwargs = {} if base.scale is None else {"scale": base.scale}
    return Case("sparse_graph_attention", (("q", base.q), ("k", base.k), ("v", base.v),
                                           ("graph", graph)), kwargs, seed=draw(rst.seeds()))


def _graph_examples():
    rng = np.random.default_rng(20220719)
    graph = nx.Graph()
    graph.add_nodes_from([3, 0, 5, 1, 4, 2])  # labels inserted out of order
    graph.add_edges_from([(3, 0), (0, 5), (1, 4), (4, 2), (2, 3)])
    q, k, v = (rng.standard_normal((6, n)) for n in (2, 2, 3))
    return [Case("sparse_graph_attention", (("q", q * 3.0), ("k", k), ("v", v),
                                            ("graph", graph)), seed=1)]


def _as_masked(case: Case) -> Case:
    mask = attention_mask(case["graph"])
    return Case("softmax_attention", (("q", case["q"]), ("k", case["k"]), ("v", case["v"])),
                {"mask": mask, **({"scale": case["scale"]} if case["scale"] is not None
                                  else {})}, seed=case.seed)


def _relabel(case, rng):
    n = case["graph"].number_of_nodes()
    sigma = rng.permutation(n)
    inverse = np.argsort(sigma)
    graph = nx.relabel_nodes(case["graph"], {i: int(sigma[i]) for i in range(n)})
    changes = {name: np.take(case[name], inverse, axis=-2) for name in ("q", "k", "v")}
    return [(case.replace(graph=graph, **changes), take(inverse, -2))]


register(Op(
    name="sparse_graph_attention", family="attention",
    reference=attention.sparse_graph_attention, cases=_graph_cases,
    bound=lambda case, expected: softmax_bound(_as_masked(case), expected),
    naive=lambda case, dt: naive_softmax(_as_masked(case), dt), policy="softmax_attention",
    examples=_graph_examples, features=lambda case: attention_features(case) - {"L != S"},
    errors=lambda case: [("NaN in q", poisoned(case, "q")),
                         ("inf in v", poisoned(case, "v", np.inf)),
                         ("q has one row more than the graph has nodes", grown(case, "q", -2))],
    invariants=(
        relation("relabelling the nodes permutes the output rows", _relabel),
        _constant_values(),
        layout_invariant,
    ),
))
