"""Mutant backends: each has one bug a kernel author fears, and ``certify`` must reject it.

Every mutant is a namespace exposing one public name. Apart from its bug it is correct:
the attention mutants validate their arguments through refimpl (so they raise the
documented errors) unless the bug is about validation, and compute the rest straight
from the definition. :data:`MUTANTS` lists them with the checks expected to catch them
(``value``, ``invariant``, ``non-finite``, ``error-contract``); ``test_mutants.py``
certifies each one, under ``strict`` where the bug is only a departure from refimpl's
error contract (an honest library may raise its own errors or return NaN for NaN).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from types import SimpleNamespace

import honest64
import networkx as nx
import numpy as np
import scipy.fft
import scipy.linalg
from scipy.special import expit

import refimpl.attention as ra
from refimpl import eigen, estimators, features, graphs, masks

# -- a softmax attention with switchable bugs ----------------------------------------------------


def _validate_softmax(bug, q, k, v, bias, mask, causal, scale):
    """Raise refimpl's documented errors (the mutants differ in values only)."""
    if bug in ("nan_passthrough", "nan_to_zero"):
        return
    if bug == "causal_rectangular":
        causal = False
    try:
        ra.softmax_attention(q, k, v, bias=bias, mask=mask, causal=causal, scale=scale)
    except ValueError as exc:
        if bug in ("masked_row_nan", "finite_fill") and "no allowed key" in str(exc):
            return
        raise


def buggy_softmax(bug):
    def softmax_attention(q, k, v, *, bias=None, mask=None, causal=False, scale=None):
        _validate_softmax(bug, q, k, v, bias, mask, causal, scale)
        if bug == "assumes_c_order":
            q, k, v = (_c_order_view(a) for a in (q, k, v))
        q = np.asarray(q) if bug == "inplace_scale" else np.array(q, dtype=np.float64)
        k, v = np.array(k, dtype=np.float64), np.array(v, dtype=np.float64)
        if bug == "nan_to_zero":
            q, k, v = (np.nan_to_num(a) for a in (q, k, v))
        L, S, d = q.shape[-2], k.shape[-2], q.shape[-1]
        s = 1.0 / math.sqrt(d) if scale is None else float(scale)
        if (bug == "missing_scale" and scale is None) or bug == "no_scale_at_all":
            s = 1.0
        if bug == "ignores_scale":
            s = 1.0 / math.sqrt(d)
        if bug == "scale_one_over_d" and scale is None:
            s = 1.0 / d
        if bug == "inplace_scale":
            q *= np.asarray(s, dtype=q.dtype)
            s = 1.0
        dt = np.float32 if bug == "float32_as_float64" else np.float64
        q, k, v = q.astype(dt), k.astype(dt), v.astype(dt)
        if bug == "batch_reshape":
            out = _batch_by_reshape(q, k, v, s)
            if out is not None:
                return out
        logits = (q @ np.swapaxes(k, -1, -2)) * dt(s)
        if bias is not None:
            b = np.asarray(bias, dtype=dt)
            logits = logits + (np.swapaxes(b, -1, -2) if bug == "bias_transposed" else b)
        allowed = np.ones((L, S), bool)
        if causal:
            allowed = np.tri(L, S, k=1 if bug == "causal_leak" else 0, dtype=bool)
            if bug == "causal_ignored_with_mask" and mask is not None:
                allowed = np.ones((L, S), bool)
        raw = logits
        if mask is not None:
            m = np.asarray(mask, dtype=dt)
            m = np.swapaxes(m, -1, -2) if bug == "transposed_mask" else m
            if bug == "mask_additive":
                logits = logits + m
            elif bug == "mask_as_bool":
                allowed = allowed & (m > 0)
            elif bug == "bool_mask_inverted" and np.asarray(mask).dtype == bool:
                allowed = allowed & ~np.asarray(mask)  # True = "ignore", as key_padding_mask
            elif bug == "mask_after_exp":
                weights_after = m
            else:
                allowed = allowed & (m > 0)
                with np.errstate(divide="ignore"):
                    logits = logits + np.log(m)
        if bug == "mask_after_exp" and mask is not None:
            logits = np.where(allowed, logits, -np.inf)  # causal only; the mask comes later
            shift = np.where(weights_after > 0, logits, -np.inf).max(axis=-1, keepdims=True)
            with np.errstate(over="ignore", invalid="ignore"):
                w = np.exp(logits - shift) * weights_after  # exp(huge masked logit) * 0 = NaN
                return ((w / w.sum(axis=-1, keepdims=True)) @ v).astype(np.float64)
        fill = -1e4 if bug == "finite_fill" else -np.inf
        logits = np.where(allowed, logits, fill)
        if bug == "no_max":
            shift = 0.0
        elif bug == "global_max":
            shift = logits.max()
        elif bug == "max_before_mask":
            shift = raw.max(axis=-1, keepdims=True)
        else:
            shift = logits.max(axis=-1, keepdims=True)
        with np.errstate(over="ignore", invalid="ignore"):
            w = np.exp(logits - shift)
            axis = -2 if bug == "normalise_queries" else -1
            out = (w / w.sum(axis=axis, keepdims=True)) @ v
        if bug == "returns_float32":
            return out.astype(np.float32)
        if bug == "drops_batch" and out.ndim > 2:
            return out[(0,) * (out.ndim - 2)]
        return out.astype(np.float64)

    return softmax_attention


def _c_order_view(a):
    """Read ``a``'s memory as if it were C-ordered (a compiled kernel ignoring strides)."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim < 2 or a.flags.c_contiguous:
        return a
    flat = np.ravel(a, order="K")  # the buffer as laid out in memory
    return flat.reshape(a.shape)


def _batch_by_reshape(q, k, v, s):
    """Flatten each argument's batch separately and pair them up by index (no broadcasting)."""
    if q.ndim == 2 and k.ndim == 2 and v.ndim == 2:
        return None
    Q, K, V = (a.reshape((-1,) + a.shape[-2:]) for a in (q, k, v))
    n = max(len(Q), len(K), len(V))
    outs = [ra.softmax_attention(Q[i % len(Q)], K[i % len(K)], V[i % len(V)], scale=s)
            for i in range(n)]
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    return np.stack(outs).reshape(batch + outs[0].shape)


# -- kernel / masked linear attention with switchable bugs -----------------------------------------


def buggy_linear(bug, name):
    def linear(phi_q, phi_k, v, mask=None, causal=False):
        ref = getattr(ra, name)
        if name == "masked_linear_attention":
            ref(phi_q, phi_k, v, mask)
        else:
            ref(phi_q, phi_k, v, mask=mask, causal=causal)
        phi_q, phi_k, v = (np.asarray(a, dtype=np.float64) for a in (phi_q, phi_k, v))
        L, S = phi_q.shape[-2], phi_k.shape[-2]
        kernel = phi_q @ np.swapaxes(phi_k, -1, -2)
        M = np.ones((L, S)) if mask is None else np.asarray(mask, dtype=np.float64)
        if causal and bug != "ignores_causal":
            M = M * np.tri(L, S)
        scores = kernel * M
        num = scores @ v
        if bug == "no_denominator":
            return num
        if bug == "causal_total_minus_suffix" and causal and mask is None:
            # the prefix sum S_i = sum_{j<=i} as (all keys) - (keys after i): cancels
            # catastrophically when late keys are much larger than early ones
            batch = np.broadcast_shapes(phi_k.shape[:-2], v.shape[:-2])
            phi_k = np.broadcast_to(phi_k, batch + phi_k.shape[-2:])
            kv = phi_k[..., :, :, None] * v[..., :, None, :]
            state = np.concatenate([kv, phi_k[..., :, :, None]], axis=-1)
            suffix = np.cumsum(state[..., ::-1, :, :], axis=-3)[..., ::-1, :, :]
            after = np.concatenate([suffix[..., 1:, :, :], np.zeros_like(suffix[..., :1, :, :])],
                                   axis=-3)
            prefix = suffix[..., :1, :, :] - after
            both = np.einsum("...lf,...lfe->...le", phi_q, prefix)
            return both[..., :-1] / both[..., -1:]
        den = (kernel if bug == "normaliser_without_mask" else scores).sum(-1, keepdims=True)
        return num / den

    if name == "masked_linear_attention":
        return lambda phi_q, phi_k, v, mask: linear(phi_q, phi_k, v, mask)
    return lambda phi_q, phi_k, v, *, mask=None, causal=False: linear(phi_q, phi_k, v, mask,
                                                                        causal)


# -- mask classes ------------------------------------------------------------------------------


class _Matrix:
    """A dense mask: refimpl's validation of X, then ``matrix @ X``."""

    validate = True

    def __matmul__(self, X):
        if self.validate:
            masks.ToeplitzMask(np.ones(self.matrix.shape[0]), np.ones(self.matrix.shape[1])) @ X
        return self.matrix @ np.asarray(X, dtype=np.float64)


class ToeplitzSwapped(_Matrix):
    """Column and row exchanged: ``toeplitz(r, c)``."""

    def __init__(self, c, r=None):
        c = np.asarray(c, dtype=np.float64)
        r = c if r is None else np.asarray(r, dtype=np.float64)
        self.matrix = scipy.linalg.toeplitz(r, c)


class ToeplitzDiagonalFromR(_Matrix):
    """The diagonal taken from ``r[0]`` (scipy's convention takes ``c[0]``)."""

    def __init__(self, c, r=None):
        c = np.array(c, dtype=np.float64)
        r = c.copy() if r is None else np.asarray(r, dtype=np.float64)
        c[0] = r[0]
        self.matrix = scipy.linalg.toeplitz(c, r)


class ToeplitzShortFFT:
    """Circulant embedding of length max(L, S) instead of >= L + S - 1: wrap-around."""

    def __init__(self, c, r=None):
        masks.ToeplitzMask(c, r)
        self.c = np.asarray(c, dtype=np.float64)
        self.r = self.c if r is None else np.asarray(r, dtype=np.float64)

    def __matmul__(self, X):
        masks.ToeplitzMask(self.c, self.r) @ X
        X = np.asarray(X, dtype=np.float64)
        L, S = self.c.size, self.r.size
        n = max(L, S)
        e = np.zeros(n)
        e[:L] = self.c
        if S > 1:
            e[n - S + 1:] += self.r[:0:-1]
        Xp = X.reshape(S, -1)
        out = np.fft.irfft(np.fft.rfft(e, n)[:, None] * np.fft.rfft(Xp, n, axis=0), n, axis=0)
        return out[:L].reshape((L,) + X.shape[1:])


class ToeplitzNoValidation:
    """A correct FFT product that never checks X: rfft pads or truncates silently."""

    def __init__(self, c, r=None):
        self.inner = masks.ToeplitzMask(c, r)

    def __matmul__(self, X):
        X = np.asarray(X, dtype=np.float64)
        L = self.inner.shape[0]
        Xp = X.reshape(X.shape[0], -1)
        spec = scipy.fft.rfft(Xp, n=self.inner._n_fft, axis=0) * self.inner._spectrum[:, None]
        out = scipy.fft.irfft(spec, n=self.inner._n_fft, axis=0)[:L]
        return out.reshape((L,) + X.shape[1:])


class ToeplitzStaleCache(_Matrix):
    """Caches the matrix by shape: a second mask of the same shape gets the first's values."""

    _cache: typing.ClassVar[dict] = {}

    def __init__(self, c, r=None):
        mask = masks.ToeplitzMask(c, r)
        self.matrix = self._cache.setdefault(mask.shape, mask.toarray())


class CausalDecayOffByOne(_Matrix):
    """``gamma^(i - j + 1)``: the diagonal decayed too."""

    def __init__(self, L, gamma=1.0):
        masks.CausalMask(L, gamma)
        i, j = np.indices((L, L))
        self.matrix = np.where(j <= i, gamma ** (i - j + 1.0), 0.0)


class CausalNoValidation:
    """A correct scan that never checks X (NaN and wrong lengths pass through)."""

    def __init__(self, L, gamma=1.0):
        masks.CausalMask(L, gamma)
        self.gamma = gamma

    def __matmul__(self, X):
        X = np.array(X, dtype=np.float64)
        for i in range(1, X.shape[0]):
            X[i] += self.gamma * X[i - 1]
        return X


class RippleManhattan(_Matrix):
    """Rings by Manhattan instead of Chebyshev distance."""

    def __init__(self, shape, alpha):
        masks.RippleMask(shape, alpha)
        H, W = shape
        alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (H * W, np.shape(alpha)[-1]))
        i, j = np.divmod(np.arange(H * W), W)
        ring = np.abs(i[:, None] - i[None, :]) + np.abs(j[:, None] - j[None, :])
        self.matrix = np.take_along_axis(alpha, np.minimum(ring, alpha.shape[1] - 1), axis=1)


class RippleFarZero(_Matrix):
    """Tokens beyond the last ring get weight 0 instead of sharing alpha[R - 1]."""

    def __init__(self, shape, alpha):
        mask = masks.RippleMask(shape, alpha)
        ring = mask._chebyshev()
        self.matrix = np.where(ring > mask.n_rings - 1, 0.0, mask.toarray())


class GridColumnMajor(_Matrix):
    """Tokens numbered in column-major (Fortran) order."""

    def __init__(self, shape, f):
        mask = masks.GridRPEMask(shape, f)
        k = len(mask.grid_shape)
        pos = np.array(np.unravel_index(np.arange(mask.shape[0]), mask.grid_shape, order="F")).T
        self.matrix = np.asarray(f(pos[:, None, :] - pos[None, :, :]), dtype=np.float64)
        assert pos.shape[1] == k


class DiffusionElementwise(_Matrix):
    """exp(lam W) taken entry by entry instead of as a matrix exponential."""

    def __init__(self, W, lam=1.0):
        mask = masks.DiffusionMask(W, lam)
        W = mask.W.toarray() if hasattr(mask.W, "toarray") else mask.W
        self.matrix = np.exp(lam * W)


class TreeHops(_Matrix):
    """Tree distances in hops, ignoring edge weights."""

    def __init__(self, tree, f=None, *, decay=None):
        masks.TreeMask(tree, f, decay=decay)
        n = tree.number_of_nodes()
        hops = dict(nx.all_pairs_shortest_path_length(tree))
        D = np.array([[hops[i][j] for j in range(n)] for i in range(n)], dtype=float)
        self.matrix = np.exp(-decay * D) if f is None else np.asarray(f(D), dtype=float)


# -- functions ---------------------------------------------------------------------------------


def stick_last_logit(logits):
    x = np.asarray(logits, dtype=np.float64)
    out = masks.stick_breaking(x)
    out[..., -1] *= expit(x[..., -1])  # the last weight should take the rest of the stick
    return out


def stick_subtraction(logits):
    masks.stick_breaking(logits)  # validates
    x = np.asarray(logits, dtype=np.float64)
    keep = np.cumprod(1.0 - expit(x[..., :-1]), axis=-1)  # 1 - sigma(x) cancels for large x
    before = np.concatenate([np.ones(x.shape[:-1] + (1,)), keep], axis=-1)
    take = np.concatenate([expit(x[..., :-1]), np.ones(x.shape[:-1] + (1,))], axis=-1)
    return before * take


def positive_no_norm(x, omega):
    features.positive_features(x, omega)
    proj = np.einsum("...md,...d->...m", np.asarray(omega, float), np.asarray(x, float))
    return np.exp(proj) / math.sqrt(proj.shape[-1])


def positive_split_exp(x, omega):
    """exp(omega x) * exp(-|x|^2/2) / sqrt(m): inf * 0 once |x|^2/2 passes 709."""
    features.positive_features(x, omega)
    x, omega = np.asarray(x, float), np.asarray(omega, float)
    proj = np.einsum("...md,...d->...m", omega, x)
    half = 0.5 * np.sum(x * x, axis=-1, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(proj) * np.exp(-half) / math.sqrt(proj.shape[-1])


def trig_no_exp(x, omega):
    return features.fourier_features(x, omega)


def hyperbolic_sqrt_m(x, omega):
    return features.hyperbolic_features(x, omega) * math.sqrt(2.0)


def omega_scaled(m, d, *, orthogonal=False, rng=None):
    return features.gaussian_omega(m, d, orthogonal=orthogonal, rng=rng) / math.sqrt(d)


def omega_global_rng(m, d, *, orthogonal=False, rng=None):
    features.gaussian_omega(m, d, orthogonal=orthogonal, rng=0)  # validates the arguments
    return features.gaussian_omega(m, d, orthogonal=orthogonal,
                                   rng=int(np.random.default_rng().integers(2**31)))


def omega_raw_qr(m, d, *, orthogonal=False, rng=None):
    """ORF blocks from LAPACK's Q without the sign fix (as the official Performer code)."""
    if not orthogonal:
        return features.gaussian_omega(m, d, rng=rng)
    features.gaussian_omega(m, d, orthogonal=True, rng=0)  # validates
    gen = np.random.default_rng(rng)
    blocks = features.haar_orthogonal(d, rng=gen, sign_fix=False, size=(-(-m // d),))
    rows = np.swapaxes(blocks, -1, -2).reshape(-1, d)[:m]
    return rows * np.sqrt(gen.chisquare(d, size=m))[:, None]


def omega_unit_rows(m, d, *, orthogonal=False, rng=None):
    w = features.gaussian_omega(m, d, orthogonal=orthogonal, rng=rng)
    if not orthogonal:
        return w
    return w / np.linalg.norm(w, axis=1, keepdims=True)  # ORF directions without chi norms


def hypercube_binary(n):
    graphs.hypercube_graph(n)  # validates n
    return honest64._edges(n, ((i, j) for i in range(n) for j in range(i + 1, n)
                               if bin(i ^ j).count("1") == 1))


def window_strict(n, w):
    graphs.sliding_window_graph(n, w)
    return honest64._edges(n, ((i, j) for i in range(n) for j in range(i + 1, min(n, i + w))))


def window_self_loops(n, w):
    g = graphs.sliding_window_graph(n, w)
    g.add_edges_from((i, i) for i in range(n))
    return g


def sparse_no_self_loops(q, k, v, graph, *, scale=None):
    ra.sparse_graph_attention(q, k, v, graph, scale=scale)
    A = graphs.attention_mask(graph) - np.eye(graph.number_of_nodes())
    A[A.sum(axis=1) == 0] = 1.0  # isolated tokens would have no key at all
    return ra.softmax_attention(q, k, v, mask=A, scale=scale)


def sparse_node_order(q, k, v, graph, *, scale=None):
    ra.sparse_graph_attention(q, k, v, graph, scale=scale)
    A = nx.to_numpy_array(graph) + np.eye(graph.number_of_nodes())  # nodes in insertion order
    return ra.softmax_attention(q, k, v, mask=A, scale=scale)


def mask_no_self_loops(graph):
    return graphs.attention_mask(graph) - np.eye(graph.number_of_nodes())


def payload_no_self_loops(graph, hops=None):
    P = graphs.information_payload(graph, hops)
    A = graphs.attention_mask(graph) - np.eye(P.shape[0])
    A[A.sum(axis=1) == 0, :] = np.eye(P.shape[0])[A.sum(axis=1) == 0]
    h = P.shape[0] and (hops if hops is not None else nx.diameter(graph))
    return np.linalg.matrix_power(A / A.sum(axis=1, keepdims=True), h)


def payload_column_stochastic(graph, hops=None):
    P = graphs.information_payload(graph, hops)  # validates; gives the hops
    A = graphs.attention_mask(graph)
    h = hops if hops is not None else (nx.diameter(graph) if P.shape[0] > 1 else 0)
    return np.linalg.matrix_power(A / A.sum(axis=0, keepdims=True), h)  # A D^-1, not D^-1 A


def rbf_lengthscale(x, y=None, *, lengthscale=1.0):
    return eigen.rbf_kernel(x, y, lengthscale=math.sqrt(lengthscale))  # divides by 2 l


def rbf_gemm(x, y=None, *, lengthscale=1.0):
    eigen.rbf_kernel(x, y, lengthscale=lengthscale)
    x = np.asarray(x, float).reshape(len(x), -1)
    y = x if y is None else np.asarray(y, float).reshape(len(y), -1)
    sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T
    return np.exp(-np.maximum(sq, 0) / (2 * lengthscale**2))


def polynomial_offset_outside(x, y=None, *, degree, c=1.0):
    eigen.polynomial_kernel(x, y, degree=degree, c=c)
    x = np.asarray(x, float).reshape(len(x), -1)
    y = x if y is None else np.asarray(y, float).reshape(len(y), -1)
    return (x @ y.T) ** degree + c


def neuralef_half_gradient(psi, K):
    out = eigen.neuralef_loss(psi, K)
    return out.objective, out.gradient / 2


def mixture_q_scaled(q, k, *, scale=None):
    pi, _ = estimators.softmax_mixture(q, k, scale=scale)
    d = np.shape(q)[-1]
    s = 1 / math.sqrt(d) if scale is None else scale
    q, k = np.asarray(q, float), np.asarray(k, float)
    return pi, s * q[..., :, None, :] + k[..., None, :, :]


def target_no_norm(omega, k, v, *, scale=None):
    estimators.ra_target(omega, k, v, scale=scale)
    d = np.shape(k)[-1]
    s = 1 / math.sqrt(d) if scale is None else scale
    kt = math.sqrt(abs(s)) * np.asarray(k, float)
    t = np.atleast_2d(np.asarray(omega, float)) @ kt.T
    w = np.exp(t - t.max(axis=-1, keepdims=True))
    out = (w / w.sum(-1, keepdims=True)) @ np.asarray(v, float)
    return out[0] if np.ndim(omega) == 1 else out


def bigbird_no_global(n, w, n_global, n_random, *, rng=None):
    g = graphs.bigbird_graph(n, w, n_global, n_random, rng=rng)
    for hub in range(n_global):
        for j in range(n):
            if abs(j - hub) > w and g.has_edge(hub, j):
                g.remove_edge(hub, j)
    return g


def float16_softmax(q, k, v, **kwargs):
    out = honest64.softmax_attention(np.asarray(q, np.float16), np.asarray(k, np.float16),
                                     np.asarray(v, np.float16), **kwargs)
    return out.astype(np.float16).astype(np.float32)


def float32_missing_scale(q, k, v, *, scale=None, **kwargs):
    from refimpl.testing.backends import numpy32
    return numpy32.softmax_attention(q, k, v, scale=1.0 if scale is None else scale, **kwargs)


# -- stochastic estimators (certified by their law) ---------------------------------------------


def ra_official_noise(q, k, v, *, num_samples, rng=None):
    """RA with the official code's noise: randn on unscaled q + k, std d^(-1/4) scaled."""
    d = np.shape(q)[-1]
    return estimators.randomized_attention(q, k, v, num_samples=num_samples, rng=rng,
                                           noise_std=d ** -0.25)


def ra_uniform_component(q, k, v, *, num_samples, rng=None):
    """RA drawing the mixture component uniformly instead of from pi_n."""
    from refimpl.estimators.importance import _scaled, _target

    qt, kt, v = _scaled(q, k, v, None)
    gen = np.random.default_rng(rng)
    batch = np.broadcast_shapes(qt.shape[:-2], kt.shape[:-2], v.shape[:-2])
    qt, kt = np.broadcast_to(qt, batch + qt.shape[-2:]), np.broadcast_to(kt, batch + kt.shape[-2:])
    L, S, d = qt.shape[-2], kt.shape[-2], qt.shape[-1]
    index = gen.integers(0, S, size=batch + (L, num_samples))
    keys = np.take_along_axis(kt, index.reshape(batch + (-1, 1)), axis=-2)
    omega = qt[..., :, None, :] + keys.reshape(index.shape + (d,))
    omega = omega + gen.standard_normal(omega.shape)
    f = _target(omega.reshape(batch + (L * num_samples, d)), kt, v)[0]
    return f.reshape(batch + (L, num_samples, -1)).mean(axis=-2)


def rfa_independent_omega(q, k, v, *, num_features, rng=None, orthogonal=False):
    """RFA with separate projections for queries and keys: E[phi(q).phi(k)] = 1."""
    gen = np.random.default_rng(rng)
    d = np.shape(q)[-1]
    root = d ** -0.25
    w_q = features.gaussian_omega(num_features, d, orthogonal=orthogonal, rng=gen)
    w_k = features.gaussian_omega(num_features, d, orthogonal=orthogonal, rng=gen)
    phi_q = features.positive_features(np.asarray(q) * root, w_q)
    phi_k = features.positive_features(np.asarray(k) * root, w_k)
    return ra.kernel_attention(phi_q, phi_k, v)


def lara_correction_over_proposals(q, k, v, *, num_proposals, samples_per_proposal=1,
                                   alpha_coeff=1.0, rng=None):
    """LARA with r_nc normalised over the proposals c instead of over the queries n."""
    from unittest import mock

    from refimpl.estimators import lara

    def over_proposals(qt, q_bar, coeff):
        from scipy.special import softmax

        r = softmax(qt @ np.swapaxes(q_bar, -1, -2), axis=-1)
        return float(coeff) * (r - r.mean(axis=-1, keepdims=True))

    with mock.patch.object(lara, "_query_correction", over_proposals):
        return lara.lara_attention(q, k, v, num_proposals=num_proposals,
                                   samples_per_proposal=samples_per_proposal,
                                   alpha_coeff=alpha_coeff, rng=rng)


def grf_no_halting_correction(W, alpha, *, n_walks, p_halt, rng=None):
    """GRF whose loads are not divided by 1 - p: E = sum_k alpha_k (1 - p)^k W^k."""
    alpha = np.asarray(alpha, dtype=np.float64)
    damped = alpha * (1.0 - p_halt) ** np.arange(alpha.size)
    from refimpl import walks

    return walks.graph_random_features(W, damped, n_walks=n_walks, p_halt=p_halt, rng=rng)


def frequency_start_not_counted(graph, *, n_walks, length, p_stop=0.0, rng=None):
    """Walk frequencies without the start node (t = 0 not counted)."""
    from refimpl import walks

    F = walks.walk_frequency_features(graph, n_walks=n_walks, length=length, p_stop=p_stop,
                                      rng=rng)
    return F.toarray() - np.eye(F.shape[0])


def heat_without_potential(W, x, t, *, n_walks, rng=None):
    """Feynman-Kac without the weight exp(int g): exp(t (A - D)) x whatever the diagonal."""
    from refimpl import walks

    W = np.asarray(W, dtype=np.float64)
    A = W - np.diag(np.diag(W))
    return walks.heat_kernel_action(A - np.diag(A.sum(axis=1)), x, t, n_walks=n_walks, rng=rng)


class WalkMaskSharedWalks:
    """Phi_2 = Phi_1 (one set of walks for both factors): E[Phi Phi^T] != E Phi E Phi^T."""

    def __init__(self, W, lam=1.0, *, n_walks, p_halt, max_steps=None, rng=None):
        from refimpl import walks

        self._mask = walks.WalkMask(W, lam, n_walks=n_walks, p_halt=p_halt,
                                    max_steps=max_steps, rng=rng)
        self._mask.right = self._mask.left

    def __matmul__(self, X):
        return self._mask @ X


# -- the table ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Mutant:
    """A mutant: its namespace, the name it provides, the dtype, and the expected catchers."""

    backend: SimpleNamespace
    name: str
    catches: tuple
    dtype: str = "float64"
    why: str = ""
    strict: bool = False


def _m(name, obj, catches, why, dtype="float64"):
    strict = tuple(catches) == (E,)
    return Mutant(SimpleNamespace(**{name: obj}), name, tuple(catches), dtype, why, strict)


S, V, E, NF, INV = "softmax_attention", "value", "error-contract", "non-finite", "invariant"

MUTANTS = {
    # the list
    "missing 1/sqrt(d)": _m(S, buggy_softmax("missing_scale"), [V], "scale None -> 1"),
    "causal off by one": _m(S, buggy_softmax("causal_leak"), [V], "keeps j <= i + 1"),
    "no max-subtraction": _m(S, buggy_softmax("no_max"), [V], "exp overflows at 1e4"),
    "float32 arithmetic as float64": _m(S, buggy_softmax("float32_as_float64"), [V],
                                        "computes in float32, returns float64"),
    "mask applied additively": _m(S, buggy_softmax("mask_additive"), [V], "exp(l + M)"),
    "linear attention without denominator": _m(
        "masked_linear_attention", buggy_linear("no_denominator", "masked_linear_attention"),
        [V, INV], "returns (M o QK^T) V"),
    "transposed mask": _m(S, buggy_softmax("transposed_mask"), [V], "uses M^T"),
    "Toeplitz column/row swapped": _m("ToeplitzMask", ToeplitzSwapped, [V], "toeplitz(r, c)"),
    "positive features without -|x|^2/2": _m("positive_features", positive_no_norm, [V],
                                             "exp(Wx)/sqrt(m)"),
    "fully masked row returns NaN": _m(S, buggy_softmax("masked_row_nan"), [E],
                                       "no error for an empty row"),
    # softmax kernels
    "scale 1/d instead of 1/sqrt(d)": _m(S, buggy_softmax("scale_one_over_d"), [V], ""),
    "scale argument ignored": _m(S, buggy_softmax("ignores_scale"), [V], ""),
    "bias transposed": _m(S, buggy_softmax("bias_transposed"), [V], "B^T when square"),
    "normalised over queries": _m(S, buggy_softmax("normalise_queries"), [V], "wrong axis"),
    "global max shift": _m(S, buggy_softmax("global_max"), [V], "one max for all rows"),
    "max taken before masking": _m(S, buggy_softmax("max_before_mask"), [V],
                                   "row max includes masked logits"),
    "masked_fill(-1e4)": _m(S, buggy_softmax("finite_fill"), [V],
                            "finite fill leaks at large logits"),
    "float mask read as boolean": _m(S, buggy_softmax("mask_as_bool"), [V], "ignores weights"),
    "causal ignored when a mask is given": _m(S, buggy_softmax("causal_ignored_with_mask"), [V],
                                              ""),
    "batch flattened without broadcasting": _m(S, buggy_softmax("batch_reshape"), [V, INV], ""),
    "batch dimensions dropped": _m(S, buggy_softmax("drops_batch"), [V, INV], "returns out[0]"),
    "scales q in place": _m(S, buggy_softmax("inplace_scale"), [V], "q *= scale"),
    "NaN passes through": _m(S, buggy_softmax("nan_passthrough"), [E], "no validation"),
    "NaN read as 0": _m(S, buggy_softmax("nan_to_zero"), [NF], "np.nan_to_num on inputs"),
    "causal accepted with L != S": _m(S, buggy_softmax("causal_rectangular"), [E],
                                      "top-left triangle"),
    "returns float32 for float64": _m(S, buggy_softmax("returns_float32"), [V], "dtype"),
    "boolean mask inverted (key_padding_mask)": _m(S, buggy_softmax("bool_mask_inverted"),
                                                   [V], "True = ignore"),
    "mask multiplied after exp": _m(S, buggy_softmax("mask_after_exp"), [V],
                                    "exp(masked logit) * 0 = inf * 0"),
    "assumes C-contiguous memory": _m(S, buggy_softmax("assumes_c_order"), [INV],
                                      "ignores strides"),
    # linear attention
    "kernel attention ignores causal": _m(
        "kernel_attention", buggy_linear("ignores_causal", "kernel_attention"), [V], ""),
    "causal prefix as total minus suffix": _m(
        "kernel_attention", buggy_linear("causal_total_minus_suffix", "kernel_attention"), [V],
        "cancellation when late keys dominate"),
    "normaliser without the mask": _m(
        "masked_linear_attention",
        buggy_linear("normaliser_without_mask", "masked_linear_attention"), [V], ""),
    # masks
    "Toeplitz diagonal from r[0]": _m("ToeplitzMask", ToeplitzDiagonalFromR, [V], ""),
    "Toeplitz FFT too short (wrap-around)": _m("ToeplitzMask", ToeplitzShortFFT, [V], ""),
    "Toeplitz FFT without operand checks": _m("ToeplitzMask", ToeplitzNoValidation, [E], ""),
    "Toeplitz stale cache keyed by shape": _m("ToeplitzMask", ToeplitzStaleCache, [V], ""),
    "causal decay off by one": _m("CausalMask", CausalDecayOffByOne, [V], "gamma^(i-j+1)"),
    "causal scan without operand checks": _m("CausalMask", CausalNoValidation, [E], ""),
    "ripple by Manhattan distance": _m("RippleMask", RippleManhattan, [V], ""),
    "ripple far rings zero": _m("RippleMask", RippleFarZero, [V], ""),
    "grid tokens in column-major order": _m("GridRPEMask", GridColumnMajor, [V], ""),
    "diffusion exp taken elementwise": _m("DiffusionMask", DiffusionElementwise, [V], ""),
    "tree distances in hops": _m("TreeMask", TreeHops, [V], "ignores weights"),
    "stick-breaking last logit used": _m("stick_breaking", stick_last_logit, [V, INV], ""),
    "stick-breaking 1 - sigma by subtraction": _m("stick_breaking", stick_subtraction, [V],
                                                  "cancellation"),
    # features
    "positive features as exp(wx) exp(-|x|^2/2)": _m("positive_features", positive_split_exp,
                                                     [V], "inf * 0 at large |x|"),
    "trig features without exp(|x|^2/2)": _m("trig_features", trig_no_exp, [V], ""),
    "hyperbolic features over sqrt(m)": _m("hyperbolic_features", hyperbolic_sqrt_m, [V], ""),
    "omega rows N(0, I/d)": _m("gaussian_omega", omega_scaled, [V], "statistical"),
    # stochastic estimators, rejected by their law (the statistical value check)
    "RA noise std d^(-1/4) (official code)": _m("randomized_attention", ra_official_noise, [V],
                                                "statistical"),
    "RA component drawn uniformly": _m("randomized_attention", ra_uniform_component, [V],
                                       "statistical"),
    "RFA with independent omega for q and k": _m("rfa_attention", rfa_independent_omega, [V],
                                                 "statistical"),
    "LARA r_nc normalised over proposals": _m("lara_attention",
                                              lara_correction_over_proposals, [V],
                                              "statistical"),
    "GRF without the halting correction": _m("graph_random_features",
                                             grf_no_halting_correction, [V], "statistical"),
    "walk frequencies without the start node": _m("walk_frequency_features",
                                                  frequency_start_not_counted, [V],
                                                  "statistical"),
    "heat kernel without the potential": _m("heat_kernel_action", heat_without_potential, [V],
                                            "statistical"),
    "WalkMask with one set of walks": _m("WalkMask", WalkMaskSharedWalks, [V], "statistical"),
    "omega ignores rng": _m("gaussian_omega", omega_global_rng, [INV], "same seed differs"),
    "ORF rows without chi norms": _m("gaussian_omega", omega_unit_rows, [V], "statistical"),
    "ORF from raw QR (no sign fix)": _m("gaussian_omega", omega_raw_qr, [V], "not Haar"),
    "softmax_mixture scales q by 1/sqrt(d)": _m("softmax_mixture", mixture_q_scaled, [V], ""),
    "ra_target without -|k|^2/2": _m("ra_target", target_no_norm, [V], ""),
    # graphs
    "hypercube by binary labels": _m("hypercube_graph", hypercube_binary, [V], "not Gray code"),
    "window |i - j| < w": _m("sliding_window_graph", window_strict, [V], ""),
    "window graph with self-loops": _m("sliding_window_graph", window_self_loops, [V], ""),
    "sparse attention without self-loops": _m("sparse_graph_attention", sparse_no_self_loops,
                                              [V], ""),
    "sparse attention in node insertion order": _m("sparse_graph_attention",
                                                   sparse_node_order, [V, INV], ""),
    "attention mask without self-loops": _m("attention_mask", mask_no_self_loops, [V], ""),
    "payload without self-loops": _m("information_payload", payload_no_self_loops, [V], ""),
    "payload column-stochastic": _m("information_payload", payload_column_stochastic, [V],
                                    "A D^-1"),
    "bigbird without global edges": _m("bigbird_graph", bigbird_no_global, [INV], ""),
    # kernels
    "rbf lengthscale as l^2": _m("rbf_kernel", rbf_lengthscale, [V], "official-code l"),
    "rbf by |x|^2 + |y|^2 - 2xy": _m("rbf_kernel", rbf_gemm, [V], "cancellation"),
    "polynomial (xy)^p + c": _m("polynomial_kernel", polynomial_offset_outside, [V], ""),
    "NeuralEF gradient without the 2": _m("neuralef_loss", neuralef_half_gradient, [V], ""),
    # low precision
    "float16 arithmetic as float32": _m(S, float16_softmax, [V], "", dtype="float32"),
    "float32 softmax without 1/sqrt(d)": _m(S, float32_missing_scale, [V], "",
                                            dtype="float32"),
}
