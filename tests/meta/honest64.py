"""An honest float64 backend written independently of refimpl (a positive control).

Every function is written differently from refimpl's: softmax by log-sum-exp with
einsum, masks as explicit dense matrices built by loops or scipy.linalg, stick-breaking
by products (in linear space, with sigma(-x) for 1 - sigma(x)), graphs by pure-Python
edge loops, the payload by repeated products. It validates its arguments itself (NaN,
shapes, empty rows) and must pass ``certify`` at float64.
"""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import scipy.linalg
from scipy.special import expit, logsumexp

# -- validation ------------------------------------------------------------------------------------


def _arr(x, name, min_ndim=1):
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a real array, got {a.dtype}")
    a = a.astype(np.float64)
    if a.ndim < min_ndim or a.size == 0:
        raise ValueError(f"{name}: bad shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: NaN or infinity")
    return a


def _pair(x, name, L, S):
    a = _arr(x, name, 2)
    if a.shape[-2] not in (1, L) or a.shape[-1] not in (1, S):
        raise ValueError(f"{name}: trailing shape {a.shape[-2:]} is not ({L}, {S})")
    return a


def _triple(q, k, v):
    q, k, v = _arr(q, "q", 2), _arr(k, "k", 2), _arr(v, "v", 2)
    if k.shape[-1] != q.shape[-1] or v.shape[-2] != k.shape[-2]:
        raise ValueError(f"shapes {q.shape}, {k.shape}, {v.shape} do not agree")
    np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    return q, k, v


def _graph(graph):
    if not isinstance(graph, nx.Graph) or graph.is_directed():
        raise TypeError("graph must be an undirected networkx.Graph")
    n = graph.number_of_nodes()
    if n == 0 or set(graph.nodes) != set(range(n)):
        raise ValueError("graph must have the nodes 0..n-1")
    return n


def _count(n, name, low=1):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an int")
    if n < low:
        raise ValueError(f"{name} must be >= {low}")
    return int(n)


# -- attention -------------------------------------------------------------------------------------


def softmax_attention(q, k, v, *, bias=None, mask=None, causal=False, scale=None):
    q, k, v = _triple(q, k, v)
    L, S = q.shape[-2], k.shape[-2]
    if causal and L != S:
        raise ValueError("causal needs L == S")
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    logits = np.einsum("...id,...jd->...ij", q, k) * s
    if bias is not None:
        logits = logits + _pair(bias, "bias", L, S)
    keep = np.ones((L, S), bool) if not causal else np.arange(S)[None, :] <= np.arange(L)[:, None]
    if mask is not None:
        m = _pair(mask, "mask", L, S)
        if (m < 0).any():
            raise ValueError("mask must be nonnegative")
        keep = keep & (m > 0)
        logits = logits + np.log(np.where(m > 0, m, 1.0))
    logits = np.where(keep, logits, -np.inf)
    if (~keep).all(axis=-1).any():
        raise ValueError("a row has no allowed key")
    lse = logsumexp(logits, axis=-1, keepdims=True)
    return np.einsum("...ij,...jd->...id", np.exp(logits - lse), v)


def _kernel(phi_q, phi_k, v, mask, causal):
    phi_q, phi_k, v = _triple(phi_q, phi_k, v)
    L, S = phi_q.shape[-2], phi_k.shape[-2]
    if causal and L != S:
        raise ValueError("causal needs L == S")
    scores = np.einsum("...im,...jm->...ij", phi_q, phi_k)
    if mask is not None:
        scores = scores * _pair(mask, "mask", L, S)
    if causal:
        scores = np.tril(scores)
    den = np.einsum("...ij->...i", scores)
    if (den == 0).any():
        raise ValueError("zero normaliser")
    return np.einsum("...ij,...jd->...id", scores, v) / den[..., None]


def kernel_attention(phi_q, phi_k, v, *, mask=None, causal=False):
    return _kernel(phi_q, phi_k, v, mask, causal)


def masked_linear_attention(phi_q, phi_k, v, mask):
    return _kernel(phi_q, phi_k, v, mask, False)


def attention_mask(graph):
    n = _graph(graph)
    mask = np.zeros((n, n))
    for i in range(n):
        mask[i, i] = 1.0
    for u, w in graph.edges():
        mask[u, w] = mask[w, u] = 1.0
    return mask


def sparse_graph_attention(q, k, v, graph, *, scale=None):
    mask = attention_mask(graph)
    q, k, v = _triple(q, k, v)
    if q.shape[-2] != mask.shape[0] or k.shape[-2] != mask.shape[0]:
        raise ValueError("one row per node")
    return softmax_attention(q, k, v, mask=mask, scale=scale)


# -- masks (dense) ---------------------------------------------------------------------------------


class _Dense:
    def _check(self, X):
        X = _arr(X, "X")
        if X.ndim > 2 or X.shape[0] != self.matrix.shape[1]:
            raise ValueError(f"X needs {self.matrix.shape[1]} rows; got {X.shape}")
        return X

    def __matmul__(self, X):
        return self.matrix @ self._check(X)


class ToeplitzMask(_Dense):
    def __init__(self, c, r=None):
        c = _arr(c, "c")
        r = c if r is None else _arr(r, "r")
        self.matrix = scipy.linalg.toeplitz(c, r)


class CausalMask(_Dense):
    def __init__(self, L, gamma=1.0):
        L = _count(L, "L")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError("gamma must lie in [0, 1]")
        self.matrix = np.array([[gamma ** (i - j) if j <= i else 0.0 for j in range(L)]
                                for i in range(L)])


class GridRPEMask(_Dense):
    def __init__(self, shape, f):
        shape = tuple(_count(n, "shape") for n in shape)
        cells = list(itertools.product(*(range(n) for n in shape)))  # row-major order
        offsets = np.array([[np.subtract(a, b) for b in cells] for a in cells])
        self.matrix = _arr(f(offsets), "f(offsets)")


class RippleMask(_Dense):
    def __init__(self, shape, alpha):
        H, W = (_count(n, "shape") for n in shape)
        alpha = _arr(alpha, "alpha")
        if (alpha.ndim == 2 and alpha.shape[0] != H * W) or alpha.ndim > 2:
            raise ValueError("alpha must be (R,) or (H W, R)")
        rows = np.broadcast_to(alpha, (H * W, alpha.shape[-1]))
        self.matrix = np.empty((H * W, H * W))
        for p in range(H * W):
            for t in range(H * W):
                ring = max(abs(p // W - t // W), abs(p % W - t % W))
                self.matrix[p, t] = rows[p, min(ring, alpha.shape[-1] - 1)]


class TreeMask(_Dense):
    def __init__(self, tree, f=None, *, decay=None):
        n = _graph(tree)
        if not nx.is_tree(tree):
            raise ValueError("not a tree")
        dist = dict(nx.all_pairs_dijkstra_path_length(tree))
        D = np.array([[dist[i][j] for j in range(n)] for i in range(n)], dtype=float)
        self.matrix = np.exp(-decay * D) if f is None else _arr(f(D), "f(D)")


class DiffusionMask(_Dense):
    def __init__(self, W, lam=1.0):
        if isinstance(W, nx.Graph):
            W = nx.to_numpy_array(W, nodelist=range(W.number_of_nodes()))
        W = _arr(W, "W", 2)
        if W.ndim != 2 or W.shape[0] != W.shape[1]:
            raise ValueError("W must be square")
        self.matrix = scipy.linalg.expm(lam * W)


def stick_breaking(logits):
    x = _arr(logits, "logits", 1)
    keep = np.cumprod(expit(-x[..., :-1]), axis=-1)
    before = np.concatenate([np.ones(x.shape[:-1] + (1,)), keep], axis=-1)
    take = np.concatenate([expit(x[..., :-1]), np.ones(x.shape[:-1] + (1,))], axis=-1)
    return before * take


# -- features --------------------------------------------------------------------------------------


def _proj(x, omega):
    x, omega = _arr(x, "x"), _arr(omega, "omega", 2)
    if omega.shape[-1] != x.shape[-1]:
        raise ValueError("dimension mismatch")
    return np.einsum("...md,...d->...m", omega, x), np.einsum("...d,...d->...", x, x)[..., None]


def positive_features(x, omega):
    p, sq = _proj(x, omega)
    return np.exp(p - sq / 2) / math.sqrt(p.shape[-1])


def hyperbolic_features(x, omega):
    p, sq = _proj(x, omega)
    both = np.concatenate([np.exp(p - sq / 2), np.exp(-p - sq / 2)], axis=-1)
    return both / math.sqrt(2 * p.shape[-1])


def trig_features(x, omega):
    p, sq = _proj(x, omega)
    return np.concatenate([np.sin(p), np.cos(p)], -1) * np.exp(sq / 2) / math.sqrt(p.shape[-1])


def fourier_features(x, omega):
    p, _ = _proj(x, omega)
    return np.concatenate([np.sin(p), np.cos(p)], -1) / math.sqrt(p.shape[-1])


# -- graphs ----------------------------------------------------------------------------------------


def _edges(n, pairs):
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from((i, j) for i, j in pairs if i != j)
    return g


def complete_graph(n):
    n = _count(n, "n")
    return _edges(n, itertools.combinations(range(n), 2))


def star_graph(n):
    n = _count(n, "n")
    return _edges(n, ((0, j) for j in range(1, n)))


def sliding_window_graph(n, w):
    n, w = _count(n, "n"), _count(w, "w", 0)
    return _edges(n, ((i, j) for i in range(n) for j in range(i + 1, min(n, i + w + 1))))


def hypercube_graph(n):
    n = _count(n, "n")
    gray = [i ^ (i >> 1) for i in range(n)]
    return _edges(n, ((i, j) for i in range(n) for j in range(i + 1, n)
                      if bin(gray[i] ^ gray[j]).count("1") == 1))


def information_payload(graph, hops=None):
    n = _graph(graph)
    if hops is None:
        if not nx.is_connected(graph):
            raise ValueError("disconnected graph needs hops")
        hops = nx.diameter(graph) if n > 1 else 0
    hops = _count(hops, "hops", 0)
    A = attention_mask(graph)
    P = A / A.sum(axis=1, keepdims=True)
    out = np.eye(n)
    for _ in range(hops):
        out = out @ P
    return out


# -- kernels and the NeuralEF loss -----------------------------------------------------------------


def _points(x, y):
    x = _arr(x, "x")
    y = x if y is None else _arr(y, "y")
    x, y = (a[:, None] if a.ndim == 1 else a for a in (x, y))
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError("x and y must be (n, d), (p, d)")
    return x, y


def rbf_kernel(x, y=None, *, lengthscale=1.0):
    x, y = _points(x, y)
    if not lengthscale > 0:
        raise ValueError("lengthscale must be positive")
    return np.exp(-scipy.spatial.distance.cdist(x / lengthscale, y / lengthscale,
                                                "sqeuclidean") / 2)


def polynomial_kernel(x, y=None, *, degree, c=1.0):
    x, y = _points(x, y)
    degree = _count(degree, "degree", 0)
    if c < 0:
        raise ValueError("c must be >= 0")
    return np.power(np.einsum("id,jd->ij", x, y) + c, degree)


def brownian_kernel(x, y=None):
    x, y = _points(x, y)
    if x.shape[1] != 1 or (x < 0).any() or (y < 0).any():
        raise ValueError("points must be 1-D and nonnegative")
    return np.minimum(x, y.T)


def neuralef_loss(psi, K):
    psi, K = _arr(psi, "psi", 2), _arr(K, "K", 2)
    B, k = psi.shape
    if K.shape != (B, B):
        raise ValueError("K must be (B, B)")
    KP = K @ psi / B**2
    R = psi.T @ KP
    objective = np.array([R[j, j] - sum(R[i, j] ** 2 / R[i, i] for i in range(j))
                          for j in range(k)])
    U = np.array([[R[i, j] / R[i, i] if i < j else 0.0 for j in range(k)] for i in range(k)])
    return objective, 2 * (KP - KP @ U)


# -- stochastic estimators (certified by their law) ---------------------------------------------


def randomized_attention(q, k, v, *, num_samples, rng=None):
    """RA written out per query: component by Generator.choice, then unit Gaussian noise."""
    q, k, v = _triple(q, k, v)
    num_samples = _count(num_samples, "num_samples")
    gen = np.random.default_rng(rng)
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    q, k, v = (np.broadcast_to(a, batch + a.shape[-2:]) for a in (q, k, v))
    root = q.shape[-1] ** -0.25
    out = np.empty(batch + (q.shape[-2], v.shape[-1]))
    for idx in np.ndindex(batch):
        qt, kt, vv = q[idx] * root, k[idx] * root, v[idx]
        logits = qt @ kt.T
        pi = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
        for n in range(qt.shape[0]):
            m = gen.choice(kt.shape[0], size=num_samples, p=pi[n] / pi[n].sum())
            omega = qt[n] + kt[m] + gen.standard_normal((num_samples, qt.shape[1]))
            # f(omega): softmax over keys of omega . k - |k|^2 / 2, times v
            score = omega @ kt.T - 0.5 * np.sum(kt * kt, axis=1)
            weights = np.exp(score - logsumexp(score, axis=1, keepdims=True))
            out[idx + (n,)] = (weights @ vv).mean(axis=0)
    return out


def graph_random_features(W, alpha, *, n_walks, p_halt, rng=None):
    """GRF by one Python loop per walk (Reid et al., Alg. 1), dense output."""
    W = _arr(W, "W", 2)
    alpha = _arr(alpha, "alpha", 1)
    n_walks = _count(n_walks, "n_walks")
    if not 0.0 <= p_halt < 1.0:
        raise ValueError("p_halt must be in [0, 1)")
    gen = np.random.default_rng(rng)
    L = W.shape[0]
    out = np.zeros((L, L))
    for i in range(L):
        for _ in range(n_walks):
            node, load = i, 1.0
            out[i, node] += alpha[0]
            for step in range(1, alpha.size):
                neighbours = np.flatnonzero(W[node])
                if neighbours.size == 0 or gen.random() < p_halt:
                    break
                nxt = neighbours[gen.integers(neighbours.size)]
                load *= W[node, nxt] * neighbours.size / (1.0 - p_halt)
                node = nxt
                out[i, node] += alpha[step] * load
    return out / n_walks
