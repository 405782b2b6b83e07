r"""Exact sympy proofs for the random-walk estimators (:mod:`refimpl.walks`).

Each ``prove_*`` enumerates every walk path of a small fixed graph with symbolic
weights, halting probability and coefficients, sums (probability x deposit) exactly,
and returns ``True`` only if sympy reduces the difference with the closed form to zero.
The enumeration here is written from the estimator's definition (spec Sec. 2.8), not
from refimpl's code; ``refimpl.walks.grf_moments_by_enumeration`` does the float64
counterpart with refimpl's own load update.

Sources: I. Reid et al., "General graph random features", ICLR 2024 (Alg. 1); the GKAT
walk-frequency features (official code HL-hanlin/GKAT). What Choromanski et al. (ICML
2022) state about their own random-walk estimator is [recall only].
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "ALL_PROOFS",
    "prove_grf_second_moment",
    "prove_grf_unbiased",
    "prove_half_exponential_squares_to_exponential",
    "prove_walk_frequency_is_a_grf",
]

#: Pattern of the test graph: node 0 has 2 neighbours, node 1 has 1, node 2 has 3
#: (a self-loop included), so the degrees in the importance weights differ.
PATTERN = [[0, 1, 1], [1, 0, 0], [1, 1, 1]]


def _vanishes(diff) -> bool:
    """Whether every entry is exactly 0: all entries here are rational functions of the
    symbols, for which ``cancel`` (to a reduced p/q) is a canonical form."""
    entries = diff if isinstance(diff, sp.MatrixBase) else [diff]
    return all(sp.cancel(sp.together(e)) == 0 for e in entries)


def _weights(pattern=PATTERN) -> sp.Matrix:
    """Independent symbols ``w_u_v`` on the pattern, 0 elsewhere."""
    n = len(pattern)
    return sp.Matrix(n, n, lambda u, v: sp.Symbol(f"w_{u}_{v}") if pattern[u][v] else 0)


def _paths(W: sp.Matrix, p, K: int, *, importance: bool = True):
    """Every complete walk: ``(start, nodes, loads, probability of the whole walk)``.

    Before each of at most ``K`` steps the walk halts with probability ``p``, else moves
    to a uniform neighbour ``w`` of ``u`` and multiplies its load by
    ``W_uw deg(u) / (1 - p)``; it ends after ``K`` steps or at a node without neighbours.
    ``importance=False`` drops ``deg(u) / (1 - p)`` (a negative control: biased).
    """
    n = W.rows
    neighbours = [[v for v in range(n) if W[u, v] != 0] for u in range(n)]
    stack = [(i, [i], [sp.Integer(1)], sp.Integer(1)) for i in range(n)]
    while stack:
        start, nodes, loads, prob = stack.pop()
        u = nodes[-1]
        if len(nodes) - 1 == K or not neighbours[u]:
            yield start, nodes, loads, prob
            continue
        yield start, nodes, loads, prob * p
        deg = len(neighbours[u])
        for w in neighbours[u]:
            load = loads[-1] * W[u, w] * (deg / (1 - p) if importance else 1)
            stack.append((start, [*nodes, w], [*loads, load], prob * (1 - p) / deg))


def _moments(W, alpha, p, K, *, importance: bool = True):
    """Exact ``E[S]`` and ``E[S^2]`` (entrywise) of one walk's deposits, per start node."""
    n = W.rows
    mean, second = sp.zeros(n, n), sp.zeros(n, n)
    for start, nodes, loads, prob in _paths(W, p, K, importance=importance):
        deposit = [0] * n
        for k, (v, load) in enumerate(zip(nodes, loads)):
            deposit[v] += alpha[k] * load
        for v in range(n):
            mean[start, v] += prob * deposit[v]
            second[start, v] += prob * deposit[v] ** 2
    return mean, second


def grf_unbiased_holds(K: int, *, importance: bool = True) -> bool:
    """Whether the enumerated mean equals the series (``importance=False``: it must not)."""
    W, p = _weights(), sp.Symbol("p")
    alpha = sp.symbols(f"alpha0:{K + 1}")
    mean, _ = _moments(W, alpha, p, K, importance=importance)
    closed = sp.zeros(W.rows, W.rows)
    for k in range(K + 1):
        closed += alpha[k] * W**k
    return _vanishes(mean - closed)


def prove_grf_unbiased(K: int = 3) -> bool:
    r"""Load-weighted walks with halting are exactly unbiased for :math:`\sum_k \alpha_k W^k`.

    On the 3-node pattern :data:`PATTERN` (degrees 2, 1, 3) with symbolic weights
    :math:`w_{uv}`, halting probability ``p`` and coefficients :math:`\alpha_0..\alpha_K`
    (``K = 3``), summing probability x deposit over every complete walk gives
    :math:`\mathbb{E}\,S = \sum_{k \le K} \alpha_k W^k`, truncation included.
    """
    return grf_unbiased_holds(K)


def prove_grf_second_moment(K: int = 2) -> bool:
    r"""The second moment of :func:`refimpl.walks.grf_variance`, exactly.

    .. math:: \mathbb{E}[S_v^2] = \sum_k \alpha_k (Q^k)_{iv}
              \Big(\alpha_k + 2\sum_{j \ge 1} \alpha_{k+j} (W^j)_{vv}\Big),
              \quad Q_{uw} = W_{uw}^2 \deg(u)/(1-p),

    on :data:`PATTERN` with symbolic weights, ``p`` and :math:`\alpha_0..\alpha_K`
    (``K = 2``).
    """
    W, p = _weights(), sp.Symbol("p")
    alpha = sp.symbols(f"alpha0:{K + 1}")
    _, second = _moments(W, alpha, p, K)
    n = W.rows
    deg = [sum(1 for v in range(n) if W[u, v] != 0) for u in range(n)]
    Q = sp.Matrix(n, n, lambda u, w: W[u, w] ** 2 * deg[u] / (1 - p))
    closed = sp.zeros(n, n)
    for k in range(K + 1):
        for v in range(n):
            tail = alpha[k] + 2 * sum(alpha[k + j] * (W**j)[v, v] for j in range(1, K - k + 1))
            for i in range(n):
                closed[i, v] += alpha[k] * (Q**k)[i, v] * tail
    return _vanishes(second - closed)


def prove_walk_frequency_is_a_grf(length: int = 4) -> bool:
    r"""GKAT's walk frequencies are the GRF of :math:`P = D^{-1}A` with :math:`\alpha_t = (1-p)^t`.

    Every deposit :math:`\alpha_t \cdot \mathrm{load}_t` equals 1 (a visit count) on
    every path, and :math:`\mathbb{E}F = \sum_{t<\ell} (1-p)^t P^t`: proved on
    :data:`PATTERN` with symbolic stopping probability ``p`` and ``length = 4``.
    """
    n, p = len(PATTERN), sp.Symbol("p")
    P = sp.Matrix(n, n, lambda u, v: sp.Rational(PATTERN[u][v], sum(PATTERN[u])))
    alpha = [(1 - p) ** t for t in range(length)]
    for _, _, loads, _ in _paths(P, p, length - 1):
        if not _vanishes(sp.Matrix([alpha[t] * load - 1 for t, load in enumerate(loads)])):
            return False
    mean, _ = _moments(P, alpha, p, length - 1)
    closed = sp.zeros(n, n)
    for t in range(length):
        closed += (1 - p) ** t * P**t
    return _vanishes(mean - closed)


def prove_half_exponential_squares_to_exponential(K: int = 8) -> bool:
    r"""The half-exponential coefficients convolve to the exponential's.

    .. math:: \sum_{a+b=k} \frac{(\lambda/2)^a}{a!}\frac{(\lambda/2)^b}{b!}
              = \frac{\lambda^k}{k!},

    so :math:`T_K(\lambda W/2)^2` agrees with :math:`\exp(\lambda W)` in every power
    :math:`W^k`, ``k <= K``: the coefficients of :class:`refimpl.walks.WalkMask`, proved
    for ``k = 0..8`` with symbolic :math:`\lambda`.
    """
    lam = sp.Symbol("lambda")
    half = [(lam / 2) ** a / sp.factorial(a) for a in range(K + 1)]
    return all(
        _vanishes(sum(half[a] * half[k - a] for a in range(k + 1)) - lam**k / sp.factorial(k))
        for k in range(K + 1)
    )


ALL_PROOFS = [
    prove_grf_unbiased,
    prove_grf_second_moment,
    prove_walk_frequency_is_a_grf,
    prove_half_exponential_squares_to_exponential,
]


if __name__ == "__main__":
    for proof in ALL_PROOFS:
        print(f"{proof.__name__}: {proof()}")
