"""Op records for refimpl.features and the deterministic parts of refimpl.estimators.

The feature maps are deterministic given ``omega``; ``gaussian_omega`` is random and is
checked statistically (its moments, at a stated false-failure rate) and for "same seed,
same result". ``softmax_mixture`` and ``ra_target`` are the exact ingredients of the RA
identity.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from scipy.special import softmax

from .. import estimators, features, tolerances
from . import strategies as rst
from ._case import Case
from ._ops import (
    Invariant,
    Op,
    Problem,
    batch_pairs,
    call_quietly,
    grown,
    identity,
    layout_invariant,
    poisoned,
    register,
    relation,
    seed_invariants,
)

_T = np.swapaxes
EPS, SAFETY = tolerances.EPS, tolerances.SAFETY

# -- the four feature maps -------------------------------------------------------------------------


def _feature_cases(name):
    @st.composite
    def cases(draw):
        d, m = draw(rst.sizes(max_size=4)), draw(rst.sizes(max_size=6))
        size = draw(st.sampled_from([0.1, 0.5, 1.5]))
        rng = np.random.default_rng(draw(rst.seeds()))
        form = draw(st.sampled_from(["points", "vector", "batched omega"]))
        if form == "batched omega":
            B = draw(st.integers(1, 3))
            x, omega = rng.standard_normal((B, d)), rng.standard_normal((B, m, d))
        else:
            n = draw(rst.sizes(max_size=5))
            x = rng.standard_normal((n, d) if form == "points" else (d,))
            omega = rng.standard_normal((m, d))
        return Case(name, (("x", x * size), ("omega", omega)), seed=draw(rst.seeds()))
    return cases


def _feature_features(case: Case) -> set:
    found = set()
    if np.ndim(case["omega"]) > 2:
        found.add("batched omega (one per point)")
    if np.ndim(case["x"]) == 1:
        found.add("a single point x (d,)")
    return found


def _projection_error(x, omega):
    """(|Omega x| error bound, |x|^2 / 2, |Omega||x|) for x (..., d), omega (..., m, d)."""
    ax, ao = np.abs(x)[..., None, :], np.abs(omega)
    size = (ax @ _T(ao, -1, -2))[..., 0, :]
    d = x.shape[-1]
    return SAFETY * (d + 2) * EPS * size, 0.5 * np.sum(x * x, axis=-1, keepdims=True), size


def _feature_bound(name):
    def bound(case: Case, expected):
        x, omega, out = case["x"], case["omega"], expected[0]
        err_p, half_sq, _ = _projection_error(x, omega)
        d = x.shape[-1]
        err_sq = SAFETY * (d + 2) * EPS * half_sq
        if name in ("positive_features", "hyperbolic_features"):
            delta = err_p + err_sq  # POLICY ["log_sum_exp"]: the log of each feature
            if name == "hyperbolic_features":
                delta = np.concatenate([delta, delta], axis=-1)
            return (np.abs(out) * (np.expm1(delta) + 4 * SAFETY * EPS),)
        m = omega.shape[-2]
        scale = (np.exp(half_sq) if name == "trig_features" else 1.0) / math.sqrt(m)
        err_scale = (err_sq + 3 * SAFETY * EPS) if name == "trig_features" else 3 * SAFETY * EPS
        err_trig = np.concatenate([err_p + EPS, err_p + EPS], axis=-1)  # |sin'|, |cos'| <= 1
        return (err_trig * scale + np.abs(out) * err_scale,)
    return bound


def _naive_features(name):
    def naive(case: Case, dt):
        x, omega = np.asarray(case["x"]).astype(dt), np.asarray(case["omega"]).astype(dt)
        proj = (x[..., None, :] @ _T(omega, -1, -2))[..., 0, :]
        half = np.sum(x * x, axis=-1, keepdims=True) / dt.type(2)
        m = dt.type(omega.shape[-2])
        if name == "positive_features":
            return (np.exp(proj - half) / np.sqrt(m),)
        if name == "hyperbolic_features":
            return (np.concatenate([np.exp(proj - half), np.exp(-proj - half)], -1)
                    / np.sqrt(dt.type(2) * m),)
        trig = np.concatenate([np.sin(proj), np.cos(proj)], axis=-1) / np.sqrt(m)
        return (trig * np.exp(half),) if name == "trig_features" else (trig,)
    return naive


def _permute_omega(doubled):
    def transform(case, rng):
        m = case["omega"].shape[-2]
        perm = rng.permutation(m)
        index = np.concatenate([perm, perm + m]) if doubled else perm
        return [(case.replace(omega=np.take(case["omega"], perm, axis=-2)),
                 lambda outputs: (np.take(outputs[0], index, axis=-1),))]
    return transform


def _positive():
    label = "every feature is positive"

    def check(ctx, case):
        out = ctx.run(case)[0]
        if np.all(out > 0):
            return None
        return ctx.compare(label, case, (out,), (np.abs(out) + 1.0,), (np.ones(out.shape),))

    return Invariant(label, check)


def _feature_examples(name):
    def examples():
        rng = np.random.default_rng(20220721)
        cases = [Case(name, (("x", rng.standard_normal((3, 2)) * 1.2),
                            ("omega", rng.standard_normal((4, 2)))), seed=1),
                Case(name, (("x", rng.standard_normal((2, 3)) * 0.7),
                            ("omega", rng.standard_normal((2, 5, 3)))), seed=2)]
        if name != "trig_features":  # exp(|x|^2 / 2) overflows there
            # |x|^2 / 2 = 741 > log(max float): exp(omega x) * exp(-|x|^2 / 2) is inf * 0,
            # while the features exp(omega x - |x|^2 / 2), with omega along x, are e^-40..e^36
            x = np.array([[22.0, -21.5, 22.5], [1.0, -0.5, 0.25]])
            along = x[0] / np.linalg.norm(x[0])
            omega = np.array([17.0, 18.0, 19.0, 20.0])[:, None] * along
            omega = omega + 0.01 * rng.standard_normal((4, 3))
            cases.append(Case(name, (("x", x), ("omega", omega)), seed=3))
        return cases
    return examples


for _name in ("positive_features", "hyperbolic_features", "trig_features", "fourier_features"):
    _doubled = _name != "positive_features"
    _invariants = [relation("permuting the rows of omega permutes the features",
                            _permute_omega(_doubled)),
                   relation("each point equals the call on that point alone",
                            lambda case, rng: batch_pairs(case, {"x": 1, "omega": 2})),
                   layout_invariant]
    if _name in ("positive_features", "hyperbolic_features"):
        _invariants.append(_positive())
    register(Op(
        name=_name, family="features", reference=getattr(features, _name),
        cases=_feature_cases(_name), bound=_feature_bound(_name), naive=_naive_features(_name),
        policy="log_sum_exp (the log of each feature) + product", invariants=tuple(_invariants),
        examples=_feature_examples(_name), features=_feature_features,
        errors=lambda case: [("NaN in x", poisoned(case, "x")),
                             ("inf in omega", poisoned(case, "omega", np.inf)),
                             ("omega's dimension differs from x's", grown(case, "omega", -1))],
    ))


# -- gaussian_omega: moments at a stated false-failure rate ------------------------------------

#: (d, m) pairs of the statistical check: full and partial orthogonal blocks.
OMEGA_SHAPES = ((2, 5), (3, 7), (5, 11))
#: Rows drawn per (d, orthogonal) configuration.
OMEGA_ROWS = 6000


def _moments(rows: np.ndarray):
    """(statistic, expected, standard error, name) of each moment of iid N(0, I) rows."""
    N, d = rows.shape
    out = [(rows[:, a].mean(), 0.0, 1.0 / math.sqrt(N), f"mean of coordinate {a}")
           for a in range(d)]
    for a in range(d):
        for b in range(a, d):
            sd = math.sqrt(2.0) if a == b else 1.0
            out.append(((rows[:, a] * rows[:, b]).mean(), float(a == b), sd / math.sqrt(N),
                        f"E[w_{a} w_{b}]"))
    sq = np.sum(rows * rows, axis=1)
    fourth = d * (d + 2.0) * (d + 4.0) * (d + 6.0) - (d * (d + 2.0)) ** 2
    out.append((sq.mean(), float(d), math.sqrt(2.0 * d / N), "E|w|^2 (chi^2_d mean)"))
    out.append(((sq * sq).mean(), d * (d + 2.0), math.sqrt(fourth / N), "E|w|^4"))
    return out


def _block_rows(draws, d):
    """The moments of each position i < d of the first orthogonal block: a Haar block's
    rows are each N(0, I) (signs symmetric, chi_d norms), whatever their position."""
    out = []
    for i in range(d):
        rows = np.stack([draw[i] for draw in draws])
        N = rows.shape[0]
        out += [(rows[:, a].mean(), 0.0, 1.0 / math.sqrt(N),
                 f"mean of coordinate {a} of block row {i}") for a in range(d)]
        sq = np.sum(rows * rows, axis=1)
        out.append((sq.mean(), float(d), math.sqrt(2.0 * d / N),
                    f"E|w|^2 of block row {i} (chi^2_d mean)"))
    return out


def omega_statistics(fn, dtype) -> Problem | None:
    """POLICY ``["harness_statistical"]``: shape, orthogonality and moments of the draws,
    and for orthogonal blocks the law of each row position (the Haar property)."""
    from ._ops_stochastic import DEFAULT_CALLS, calls_per_case, name_false_failure_rate

    configs = [(d, m, orth) for d, m in OMEGA_SHAPES for orth in (False, True)]
    total = sum(d * (d + 3) // 2 + 2 + (d * (d + 1) if orth else 0) for d, _, orth in configs)
    z_max = tolerances.estimator_z_threshold(total, name_false_failure_rate())
    eps = tolerances.dtype_eps(dtype)
    n_rows = OMEGA_ROWS * calls_per_case() // DEFAULT_CALLS
    for d, m, orth in configs:
        case = Case("gaussian_omega", (("m", m), ("d", d)), {"orthogonal": orth, "rng": 0})
        draws = []
        for seed in range(-(-n_rows // m)):
            case = case.replace(rng=seed)
            out = np.asarray(call_quietly(fn, case), dtype=np.float64)
            if out.shape != (m, d) or not np.all(np.isfinite(out)):
                return Problem("the draws have shape (m, d) and are finite", case,
                               f"returned shape {out.shape}" + ("" if np.all(np.isfinite(out))
                                                                else " with non-finite values"))
            draws.append(out)
        rows = np.concatenate(draws)
        if orth:
            for block in draws[0][:d], draws[1][d: 2 * d]:
                gram = block @ block.T
                norms = np.sqrt(np.diag(gram))
                off = np.abs(gram - np.diag(np.diag(gram)))
                tol = SAFETY * (d + 4) * eps * np.outer(norms, norms)
                if np.any(off > tol):
                    i, j = np.unravel_index(np.argmax(off / tol), off.shape)
                    return Problem("rows of one orthogonal block are orthogonal", case,
                                   f"rows {i} and {j} of a block have inner product "
                                   f"{gram[i, j]:.3e} (tolerance {tol[i, j]:.3e})")
        moments = _moments(rows) + (_block_rows(draws, d) if orth else [])
        for stat, want, se, what in moments:
            z = (stat - want) / se
            if abs(z) > z_max:
                return Problem("moments of N(0, I) rows", case,
                               f"{what} over {rows.shape[0]} rows is {stat:.5g}, expected "
                               f"{want:.5g}: z = {z:.2f} beyond +-{z_max:.2f} (false-failure "
                               f"rate {name_false_failure_rate():.2g} for this name, "
                               f"Bonferroni over {total} moments)")
    return None


@st.composite
def _omega_cases(draw):
    m, d = draw(st.integers(1, 7)), draw(st.integers(1, 4))
    return Case("gaussian_omega", (("m", m), ("d", d)),
                {"orthogonal": draw(st.booleans()), "rng": draw(st.integers(0, 2**31))},
                seed=draw(rst.seeds()))


register(Op(
    name="gaussian_omega", family="features", reference=features.gaussian_omega,
    cases=_omega_cases, bound=None, value=False, statistical=omega_statistics,
    policy="harness_statistical",
    errors=lambda case: [("m = 0", case.replace(m=0)), ("d = 0", case.replace(d=0)),
                         ("m = 2.5", case.replace(m=2.5))],
    invariants=seed_invariants("draws", "draws"),
))


# -- the RA identity: softmax_mixture and ra_target ----------------------------------------------

def _roots(case: Case):
    d = case["q" if case["q"] is not None else "k"].shape[-1]
    s = 1.0 / math.sqrt(d) if case["scale"] is None else float(case["scale"])
    root = math.sqrt(abs(s))
    return (root if s >= 0 else -root), root


@st.composite
def _mixture_cases(draw):
    base = draw(rst.qkv(max_logit=1e3))
    kwargs = {} if base.scale is None else {"scale": base.scale}
    return Case("softmax_mixture", (("q", base.q), ("k", base.k)), kwargs,
                seed=draw(rst.seeds()))


def mixture_bound(case: Case, expected):
    q, k = case["q"], case["k"]
    rq, rk = _roots(case)
    size = abs(rq * rk) * (np.abs(q) @ _T(np.abs(k), -1, -2)).max(axis=-1)
    pi = tolerances.softmax_attention_bound(size, q.shape[-1] + 2, expected[0],
                                            np.eye(k.shape[-2]))
    means = tolerances.summation_bound(3, abs(rq) * np.abs(q)[..., :, None, :]
                                       + rk * np.abs(k)[..., None, :, :])
    return pi, means


def naive_mixture(case: Case, dt):
    rq, rk = _roots(case)
    qt = np.asarray(case["q"]).astype(dt) * dt.type(rq)
    kt = np.asarray(case["k"]).astype(dt) * dt.type(rk)
    logits = qt @ _T(kt, -1, -2)
    w = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return w / w.sum(axis=-1, keepdims=True), qt[..., :, None, :] + kt[..., None, :, :]


def _permute_mixture_keys(case, rng):
    perm = rng.permutation(case["k"].shape[-2])
    return [(case.replace(k=np.take(case["k"], perm, axis=-2)),
             lambda o: (np.take(o[0], perm, axis=-1), np.take(o[1], perm, axis=-2)))]


def _rows_sum_to_one():
    label = "the mixture weights of each query sum to one"

    def check(ctx, case):
        pi = ctx.run(case)[0]
        total = pi.sum(axis=-1)
        allow = ctx.allowance(case)[0].sum(axis=-1)
        if np.all(np.abs(total - 1.0) <= allow):
            return None
        return Problem(label, case, "", "sum(pi, axis=-1)", total, np.ones(total.shape),
                       np.broadcast_to(allow, total.shape))

    return Invariant(label, check)


register(Op(
    name="softmax_mixture", family="estimators", reference=estimators.softmax_mixture,
    cases=_mixture_cases, bound=mixture_bound, naive=naive_mixture, outputs=("pi", "means"),
    convert=lambda result: (np.asarray(result[0]), np.asarray(result[1])),
    policy="softmax_attention (pi), summation (means)",
    errors=lambda case: [("NaN in q", poisoned(case, "q")),
                         ("k's last dimension differs from q's", grown(case, "k", -1))],
    invariants=(relation("permuting keys permutes the mixture components",
                         _permute_mixture_keys), _rows_sum_to_one()),
    examples=lambda: [Case("softmax_mixture", (("q", np.array([[1.0, -2.0], [0.5, 3.0],
                                                              [-1.5, 0.25]])),
                                               ("k", np.array([[2.0, 1.0], [-1.0, 0.5],
                                                              [0.0, -2.5], [3.0, 3.0]]))),
                           seed=1)],
))


@st.composite
def _target_cases(draw):
    base = draw(rst.qkv(batch=False, max_logit=30.0))
    rng = np.random.default_rng(draw(rst.seeds()))
    d = base.k.shape[-1]
    n = draw(st.one_of(st.none(), rst.sizes(max_size=4)))
    omega = rng.standard_normal((d,) if n is None else (n, d)) * draw(
        st.sampled_from([0.5, 2.0]))
    kwargs = {} if base.scale is None else {"scale": base.scale}
    return Case("ra_target", (("omega", omega), ("k", base.k), ("v", base.v)), kwargs,
                seed=draw(rst.seeds()))


def target_bound(case: Case, expected):
    omega, k, v = case["omega"], case["k"], case["v"]
    flat = omega[None, :] if omega.ndim == 1 else omega
    kt = _roots(case)[1] * k
    delta = _T(tolerances.log_feature_bound(kt, flat), -1, -2)  # (n, S)
    delta = delta + SAFETY * 2 * EPS * (np.abs(flat) @ np.abs(kt).T + np.sum(kt * kt, -1))
    t = flat @ kt.T - 0.5 * np.sum(kt * kt, axis=-1)
    w = softmax(t, axis=-1)
    out = tolerances.weighted_average_bound(w, np.expm1(delta) * w, v)
    return (out[0] if omega.ndim == 1 else out,)


def naive_target(case: Case, dt):
    omega, k, v = (np.asarray(case[n]).astype(dt) for n in ("omega", "k", "v"))
    kt = k * dt.type(_roots(case)[1])
    t = omega @ kt.T - np.sum(kt * kt, axis=-1) / dt.type(2)
    w = np.exp(t - t.max(axis=-1, keepdims=True))
    return ((w @ v) / w.sum(axis=-1, keepdims=True),)


def _permute_target_keys(case, rng):
    perm = rng.permutation(case["k"].shape[-2])
    return [(case.replace(k=case["k"][perm], v=case["v"][perm]), identity)]


def _constant_targets():
    label = "constant values are reproduced"

    def check(ctx, case):
        new = ctx.cast(case.replace(v=np.full(case["v"].shape, 1.5)))
        got = ctx.run(new)
        return ctx.compare(label, new, got, (np.full(got[0].shape, 1.5),), ctx.allowance(new))

    return Invariant(label, check)


register(Op(
    name="ra_target", family="estimators", reference=estimators.ra_target, cases=_target_cases,
    bound=target_bound, naive=naive_target, policy="log_sum_exp + weighted_average",
    errors=lambda case: [("NaN in omega", poisoned(case, "omega")),
                         ("v has a row per key plus one", grown(case, "v", -2)),
                         ("omega's dimension differs from k's", grown(case, "omega", -1))],
    invariants=(relation("permuting keys and values together changes nothing",
                         _permute_target_keys), _constant_targets()),
    examples=lambda: [Case("ra_target", (("omega", np.array([[0.5, -1.0], [2.0, 0.0],
                                                            [-1.0, 1.5]])),
                                         ("k", np.array([[2.0, 1.0], [-1.0, 0.5], [0.0, -2.5],
                                                         [1.5, 1.5]])),
                                         ("v", np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0],
                                                         [3.0, -2.0]]))), seed=1)],
))
