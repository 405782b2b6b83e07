"""Op records for refimpl.eigen: the kernels (deterministic) and the NeuralEF loss."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .. import eigen, tolerances
from . import strategies as rst
from ._case import Case
from ._ops import Op, grown, identity, layout_invariant, poisoned, register, relation, take

TINY = float(np.finfo(np.float64).tiny)


def _points(case: Case):
    x = np.asarray(case["x"], dtype=np.float64)
    y = x if case["y"] is None else np.asarray(case["y"], dtype=np.float64)
    x, y = (a[:, None] if a.ndim == 1 else a for a in (x, y))
    return x, y


def _kernel_cases(name, params, unit_interval=False):
    @st.composite
    def cases(draw):
        p = draw(rst.points(unit_interval=unit_interval))
        args = (("x", p.x),) if p.y is None else (("x", p.x), ("y", p.y))
        kwargs = {k: draw(s) for k, s in params.items()}
        return Case(name, args, kwargs, seed=draw(rst.seeds()))
    return cases


def _rbf_bound(case, expected):
    d = _points(case)[0].shape[1]
    exponent = -np.log(np.maximum(expected[0], TINY))
    return (tolerances.kernel_entry_bound((d + 8) * (1 + exponent), expected[0]) + TINY,)


def _polynomial_bound(case, expected):
    x, y = _points(case)
    magnitude = (np.abs(x) @ np.abs(y).T + case["c"]) ** case["degree"]
    return (tolerances.kernel_entry_bound(case["degree"] * (x.shape[1] + 4) + 1, magnitude),)


def _arccos_bound(case, expected):
    x, y = _points(case)
    norms = np.linalg.norm(x, axis=1)[:, None] * np.linalg.norm(y, axis=1)[None, :]
    order = case["order"]
    return (tolerances.kernel_entry_bound(10 * (x.shape[1] + 8) * (order + 1), norms**order),)


def _recursion_bound(name):
    def bound(case, expected):
        x, y = _points(case)
        kernel = getattr(eigen, name)
        kw = case.kwargs
        kx = np.array([kernel(p[None], **kw)[0, 0] for p in x])
        ky = np.array([kernel(p[None], **kw)[0, 0] for p in y])
        magnitude = np.sqrt(np.abs(np.outer(kx, ky)))
        return (tolerances.nngp_recursion_bound(kw["depth"], x.shape[1], magnitude)
                + tolerances.kernel_entry_bound(16, np.abs(expected[0])),)
    return bound


def _bridge_bound(case, expected):
    x, y = _points(case)
    return (tolerances.kernel_entry_bound(3, np.minimum(x, y.T)),)


def _naive_rbf(case, dt):
    x, y = (a.astype(dt) for a in _points(case))
    sq = np.sum((x[:, None, :] - y[None, :, :]) ** 2, axis=-1)
    ell = dt.type(case.get("lengthscale", 1.0))
    return (np.exp(-sq / (dt.type(2) * ell * ell)),)


def _naive_polynomial(case, dt):
    x, y = (a.astype(dt) for a in _points(case))
    return ((x @ y.T + dt.type(case["c"])) ** case["degree"],)


def _naive_bridge(case, dt):
    x, y = (a.astype(dt) for a in _points(case))
    return (np.minimum(x, y.T) * (dt.type(1) - np.maximum(x, y.T)),)


def _kernel_errors(extra):
    def errors(case: Case):
        y = case["y"]
        wide = np.concatenate([_points(case)[0], _points(case)[0][:, :1]], axis=1)
        rows = [("NaN in x", poisoned(case, "x"))]
        if y is None or np.ndim(y) == 2:
            rows.append(("y has one dimension more than x",
                         case.replace(y=wide) if y is None else grown(case, "y", -1)))
        return rows + [(label, case.replace(**change)) for label, change in extra]
    return errors


def _swap(case, rng):
    if case["y"] is None:
        return []
    return [(case.replace(x=case["y"], y=case["x"]), lambda o: tuple(a.T for a in o))]


def _explicit_y(case, rng):
    if case["y"] is not None:
        return []
    return [(case.replace(y=case["x"]), identity)]


def _permute_points(case, rng):
    perm = rng.permutation(np.shape(case["x"])[0])
    new = case.replace(x=np.take(case["x"], perm, axis=0))
    if case["y"] is None:  # y defaults to x: rows and columns move together
        return [(new, lambda o: tuple(a[np.ix_(perm, perm)] for a in o))]
    return [(new, take(perm, 0))]


def _kernel_features(case: Case) -> set:
    found = set()
    if np.ndim(case["x"]) == 1 or (case["y"] is not None and np.ndim(case["y"]) == 1):
        found.add("1-D points (n,)")
    if case["y"] is None:
        found.add("y omitted (y = x)")
    if case["degree"] == 0 or case["depth"] == 0:
        found.add("degree = 0" if case["degree"] == 0 else "depth = 0")
    return found


_KERNEL_INVARIANTS = (
    relation("k(y, x) is the transpose of k(x, y)", _swap),
    relation("y = None means y = x", _explicit_y),
    relation("permuting the points of x permutes the rows (and columns if y = x)",
             _permute_points),
    layout_invariant,
)

_KERNELS = {
    "rbf_kernel": ({"lengthscale": st.sampled_from([0.3, 1.0, 2.5])}, _rbf_bound, _naive_rbf,
                   [("lengthscale = 0", {"lengthscale": 0.0})], False),
    "polynomial_kernel": ({"degree": st.integers(0, 5), "c": st.sampled_from([0.0, 0.5, 1.5])},
                          _polynomial_bound, _naive_polynomial,
                          [("degree = -1", {"degree": -1}), ("c = -1", {"c": -1.0})], False),
    "arccos_kernel": ({"order": st.sampled_from([0, 1, 2])}, _arccos_bound, None,
                      [("order = 3", {"order": 3})], False),
    "nngp_relu_kernel": ({"depth": st.integers(0, 3), "sigma_w2": st.sampled_from([2.0, 1.0]),
                          "sigma_b2": st.sampled_from([0.0, 0.1])},
                         _recursion_bound("nngp_relu_kernel"), None,
                         [("depth = -1", {"depth": -1})], False),
    "ntk_relu_kernel": ({"depth": st.integers(0, 3), "sigma_w2": st.sampled_from([2.0, 1.0]),
                         "sigma_b2": st.sampled_from([0.0, 0.1])},
                        _recursion_bound("ntk_relu_kernel"), None,
                        [("depth = -1", {"depth": -1})], False),
    "brownian_kernel": ({}, None, lambda case, dt: (np.minimum(*(
        a.astype(dt) for a in (_points(case)[0], _points(case)[1].T))),),
        [("a negative point", {"x": np.array([0.5, -0.25])})], True),
    "brownian_bridge_kernel": ({}, _bridge_bound, _naive_bridge,
                               [("a point above 1", {"x": np.array([0.5, 1.5])})], True),
}

def _kernel_examples(name, unit):
    """Curated points: near-duplicates of norm ~4, close points of norm ~50 (where
    ``|x|^2 + |y|^2 - 2 x.y`` cancels), and the interval's ends."""
    def examples():
        rng = np.random.default_rng(20220722)
        if unit:
            return [Case(name, (("x", np.array([0.0, 0.3, 0.97, 1.0])),
                                ("y", np.array([0.99, 0.5, 0.02]))), seed=1)]
        x = rng.standard_normal((4, 3)) * 4.0
        kwargs = {"rbf_kernel": {"lengthscale": 0.3}, "polynomial_kernel": {"degree": 3, "c": 0.5},
                  "arccos_kernel": {"order": 1}}.get(name, {"depth": 2, "sigma_w2": 2.0,
                                                            "sigma_b2": 0.1})
        far = rng.standard_normal((3, 3)) * 30.0
        return [Case(name, (("x", x), ("y", x + 1e-9 * rng.standard_normal(x.shape))), kwargs,
                     seed=1),
                Case(name, (("x", far), ("y", far + 1e-3 * rng.standard_normal(far.shape))),
                     kwargs, seed=3),
                Case(name, (("x", x), ("y", rng.standard_normal((5, 3)))), kwargs, seed=2)]
    return examples


for _name, (_params, _bound, _naive, _extra, _unit) in _KERNELS.items():
    register(Op(
        name=_name, family="eigen", reference=getattr(eigen, _name),
        cases=_kernel_cases(_name, _params, _unit),
        bound=_bound if _bound is not None else (lambda case, e: (np.zeros_like(e[0]),)),
        naive=_naive, errors=_kernel_errors(_extra), invariants=_KERNEL_INVARIANTS,
        examples=_kernel_examples(_name, _unit), features=_kernel_features,
        policy="kernel_entry" if "relu" not in _name else "nngp_recursion",
    ))


# -- the NeuralEF loss -----------------------------------------------------------------------------

@st.composite
def _loss_cases(draw):
    B, k = draw(rst.sizes(max_size=8)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(rst.seeds()))
    points = rng.standard_normal((B, draw(st.integers(1, 3))))
    K = eigen.rbf_kernel(points, lengthscale=draw(st.sampled_from([0.5, 2.0])))
    psi = rng.standard_normal((B, k)) * draw(st.sampled_from([1.0, 10.0]))
    return Case("neuralef_loss", (("psi", psi), ("K", K)), seed=draw(rst.seeds()))


def _naive_loss(case, dt):
    psi, K = np.asarray(case["psi"]).astype(dt), np.asarray(case["K"]).astype(dt)
    B = dt.type(psi.shape[0])
    Kpsi = K @ psi / (B * B)
    R = psi.T @ Kpsi
    U = np.triu(R, 1) / np.diag(R)[:, None]
    return np.diag(R) - np.sum(np.triu(R, 1) * U, axis=0), dt.type(2) * (Kpsi - Kpsi @ U)


def _permute_batch(case, rng):
    perm = rng.permutation(case["psi"].shape[0])
    return [(case.replace(psi=case["psi"][perm], K=case["K"][np.ix_(perm, perm)]),
             lambda o: (o[0], o[1][perm]))]


def _loss_outputs(result):
    if hasattr(result, "objective"):
        return np.asarray(result.objective), np.asarray(result.gradient)
    return np.asarray(result[0]), np.asarray(result[1])


register(Op(
    name="neuralef_loss", family="eigen", reference=eigen.neuralef_loss, cases=_loss_cases,
    bound=lambda case, expected: tolerances.neuralef_loss_bounds(case["psi"], case["K"]),
    naive=_naive_loss, outputs=("objective", "gradient"), convert=_loss_outputs,
    policy="neuralef_loss",
    errors=lambda case: [("NaN in psi", poisoned(case, "psi")),
                         ("K has one row too many", grown(case, "K", 0))],
    invariants=(relation("permuting the batch permutes the gradient rows", _permute_batch),
                layout_invariant),
    examples=lambda: [Case("neuralef_loss", (("psi", np.random.default_rng(5).standard_normal(
        (5, 3))), ("K", eigen.rbf_kernel(np.linspace(-1.0, 1.0, 5)))), seed=1)],
))
