r"""Exact sympy proofs for tree masks ``M_ij = f(dist_T(i, j))`` (:class:`refimpl.masks.TreeMask`).

Trees are given as parent arrays in breadth-first order (``parents[0] = -1`` is the root,
``parents[v] < v``), the order in which ``TreeMask`` factors its DP. Each proof builds both
sides from symbols and returns ``True`` only if every entry of the difference reduces to
exactly zero (``expand``, then ``simplify``). They are certificates for the small fixed
trees named in each docstring, not proofs for all trees.

Notation: ``e_v`` is the factor of the edge from ``v`` to its parent (``exp(-a w)`` in
``TreeMask``, here a free symbol), ``rho(v, w)`` the product of ``e`` along the path from
``v`` to ``w``, ``P[v, parent(v)] = 1`` and ``E = diag(e)`` with ``e_root = 0``.

Main source: K. Choromanski et al., "From block-Toeplitz matrices to differential
equations on graphs", ICML 2022 (tree masks: dynamic programming; general ``f`` by
balanced separators and FFT).
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "ALL_PROOFS",
    "prove_centroid_split",
    "prove_dp_factorisation",
    "prove_hankel_by_convolution",
    "prove_star_closed_form",
    "prove_two_pass_recurrence",
]

#: The small trees of the proofs, as BFS parent arrays.
PATH_4 = [-1, 0, 1, 2]
STAR_4 = [-1, 0, 0, 0]
BRANCHING_6 = [-1, 0, 0, 1, 1, 2]  # root with two children, three grandchildren
BRANCHING_7 = [-1, 0, 0, 1, 1, 2, 5]  # one more level under node 5


def _vanishes(diff) -> bool:
    """Whether every entry of ``diff`` reduces exactly to zero."""
    entries = diff if isinstance(diff, sp.MatrixBase) else [diff]
    return all(sp.expand(x) == 0 or sp.simplify(x) == 0 for x in entries)


def _root_path(parents, v) -> list[int]:
    path = [v]
    while parents[path[-1]] >= 0:
        path.append(parents[path[-1]])
    return path


def _path_edges(parents, v, w) -> list[int]:
    """The nodes whose parent edge lies on the path from ``v`` to ``w``."""
    up_v, up_w = _root_path(parents, v), _root_path(parents, w)
    common = set(up_v) & set(up_w)
    return [x for x in up_v if x not in common] + [x for x in up_w if x not in common]


def _edge_symbols(n: int):
    return [sp.Integer(0)] + [sp.Symbol(f"e_{v}", positive=True) for v in range(1, n)]


def _path_products(parents, e) -> sp.Matrix:
    """The definition: ``M_vw = rho(v, w)``, the product of ``e`` along the path."""
    n = len(parents)
    return sp.Matrix(n, n, lambda v, w: sp.Mul(*[e[x] for x in _path_edges(parents, v, w)]))


# -- the exponential DP -----------------------------------------------------------------------

def _factorisation_holds(parents, *, middle: bool = True) -> bool:
    """``(I - EP)^{-1} (I - E^2) (I - P^T E)^{-1} = [rho(v, w)]`` for one tree."""
    n = len(parents)
    e = _edge_symbols(n)
    P = sp.Matrix(n, n, lambda v, w: 1 if parents[v] == w else 0)
    E = sp.diag(*e)
    Id = sp.eye(n)
    D = Id - E * E if middle else Id
    # Both factors are unit triangular: their inverses are polynomial in e.
    M = (Id - E * P).inv() * D * (Id - P.T * E).inv()
    return _vanishes(M - _path_products(parents, e))


def prove_dp_factorisation() -> bool:
    r"""The matrix form of the two-pass DP on a path of 4, a star of 4 and a 6-node tree.

    .. math:: (I - EP)^{-1} (I - E^2) (I - P^\top E)^{-1} = [\rho(v, w)]_{v,w},

    with symbolic edge factors ``e_1 .. e_{n-1}``. ``TreeMask._dp_product`` applies it as
    ``lu.solve(lu.solve(x, trans="T") * (1 - e^2))`` with ``lu`` the factor of ``I - EP``.
    """
    return all(_factorisation_holds(t) for t in (PATH_4, STAR_4, BRANCHING_6))


def prove_two_pass_recurrence() -> bool:
    r"""The recurrences of spec Sec. 2.7 on the 7-node tree, with symbolic ``x`` and ``e``.

    Upward: :math:`u_v = x_v + \sum_{c \in ch(v)} e_c u_c` (leaves first); downward:
    :math:`t_{root} = u_{root}`, :math:`t_v = u_v + e_v (t_{p(v)} - e_v u_v)`. Then
    :math:`t_v = \sum_w \rho(v, w) x_w`, and :math:`u_v` is that sum over the subtree of v.
    """
    parents, n = BRANCHING_7, len(BRANCHING_7)
    e = _edge_symbols(n)
    x = sp.symbols(f"x_0:{n}")
    up = list(x)
    for v in reversed(range(1, n)):  # BFS order reversed: children before parents
        up[parents[v]] += e[v] * up[v]
    total = list(up)
    for v in range(1, n):
        total[v] = up[v] + e[v] * (total[parents[v]] - e[v] * up[v])
    rho = _path_products(parents, e)
    subtree = [{w for w in range(n) if v in _root_path(parents, w)} for v in range(n)]
    return all(
        _vanishes(total[v] - sum(rho[v, w] * x[w] for w in range(n)))
        and _vanishes(up[v] - sum(rho[v, w] * x[w] for w in subtree[v]))
        for v in range(n)
    )


def prove_star_closed_form() -> bool:
    r"""Star with 4 leaves, all edge factors :math:`\rho`: the DP's matrix is
    :math:`[[1, \rho 1^\top], [\rho 1, (1 - \rho^2) I + \rho^2 J]]` (spec Sec. 5 E 29)."""
    n, rho = 5, sp.Symbol("rho", positive=True)
    parents = [-1] + [0] * (n - 1)
    e = [sp.Integer(0)] + [rho] * (n - 1)
    P = sp.Matrix(n, n, lambda v, w: 1 if parents[v] == w else 0)
    E, Id = sp.diag(*e), sp.eye(n)
    M = (Id - E * P).inv() * (Id - E * E) * (Id - P.T * E).inv()
    leaves = (1 - rho**2) * sp.eye(n - 1) + rho**2 * sp.ones(n - 1, n - 1)
    closed = sp.Matrix(sp.BlockMatrix([[sp.ones(1, 1), rho * sp.ones(1, n - 1)],
                                       [rho * sp.ones(n - 1, 1), leaves]]))
    return _vanishes(M - closed)


# -- general f: centroid decomposition and FFT -----------------------------------------------------

def _distances(parents) -> list[list[int]]:
    n = len(parents)
    return [[len(_path_edges(parents, v, w)) for w in range(n)] for v in range(n)]


def _neighbours(parents, nodes):
    return {v: [w for w in nodes if parents[v] == w or parents[w] == v] for v in nodes}


def _centroid(parents, nodes):
    """A node whose removal leaves parts of at most half of ``nodes``."""
    for c in sorted(nodes):
        if all(2 * len(part) <= len(nodes) for part in _parts(parents, nodes, c)):
            return c
    raise AssertionError("every tree has a centroid")


def _parts(parents, nodes, c):
    """The components of ``nodes - {c}``."""
    adjacency, left, parts = _neighbours(parents, nodes), set(nodes) - {c}, []
    while left:
        stack, part = [min(left)], set()
        while stack:
            v = stack.pop()
            if v in part:
                continue
            part.add(v)
            stack += [w for w in adjacency[v] if w in left and w not in part]
        left -= part
        parts.append(part)
    return parts


def _centroid_product(parents, nodes, f, x, dist, shift, *, correction: bool):
    """The centroid algorithm on ``nodes``: a symbolic vector, keyed by node.

    ``shift`` holds the depths from the parent centroid (None at the top): the pairs of
    ``nodes`` that its histogram counted at distance ``shift[u] + shift[w]`` are removed.
    """
    c = _centroid(parents, nodes)
    depth = {v: dist[c][v] for v in nodes}
    out = {u: sum(f[depth[u] + depth[w]] * x[w] for w in nodes) for u in nodes}
    if shift is not None and correction:
        for u in nodes:
            out[u] -= sum(f[shift[u] + shift[w]] * x[w] for w in nodes)
    for part in _parts(parents, nodes, c):
        inner = _centroid_product(parents, part, f, x, dist, depth, correction=correction)
        for u in part:
            out[u] += inner[u]
    return out


def _centroid_split_holds(parents, *, correction: bool = True) -> bool:
    """The full centroid recursion equals ``sum_w f(dist(u, w)) x_w`` with symbolic f, x."""
    n = len(parents)
    dist = _distances(parents)
    f = sp.symbols(f"f_0:{2 * n}")  # f at every depth sum that can occur
    x = sp.symbols(f"x_0:{n}")
    out = _centroid_product(parents, set(range(n)), f, x, dist, None, correction=correction)
    return all(_vanishes(out[u] - sum(f[dist[u][w]] * x[w] for w in range(n)))
               for u in range(n))


def prove_centroid_split() -> bool:
    r"""The centroid decomposition with per-part corrections is exact (spec 5 E 30).

    For a component with centroid ``c``, add :math:`\sum_w f(\delta_u + \delta_w) x_w`
    (depths from ``c``), subtract the same over each part with the parent's depths, and
    recurse: the result is :math:`\sum_w f(\mathrm{dist}(u, w)) x_w` for symbolic
    :math:`f_0, f_1, \dots` and ``x``, on a path of 4, the 7-node tree and a path of 7.
    """
    return all(_centroid_split_holds(t) for t in (PATH_4, BRANCHING_7, list(range(-1, 6))))


def _hankel_by_convolution_holds(N: int, n: int) -> bool:
    """``g[s] = sum_t F[s + t] h[t]`` is entry ``s + N - 1`` of the cyclic convolution of
    ``F[0 .. 2N-2]`` and the reversed ``h``, both zero-padded to length ``n``."""
    F = sp.symbols(f"F_0:{2 * N - 1}")
    h = sp.symbols(f"h_0:{N}")
    padded = list(F) + [0] * max(0, n - len(F))
    # A length-n transform sees the kernel folded modulo n (no folding once n >= 2N - 1).
    kernel = [sum(padded[i] for i in range(j, len(padded), n)) for j in range(n)]
    reversed_h = list(h[::-1]) + [0] * (n - N)
    # The cyclic convolution is the circulant of the kernel times the padded vector.
    cyclic = [sum(kernel[(j - i) % n] * reversed_h[i] for i in range(n)) for j in range(n)]
    return all(_vanishes(cyclic[(s + N - 1) % n] - sum(F[s + t] * h[t] for t in range(N)))
               for s in range(N))


def prove_hankel_by_convolution() -> bool:
    r"""The FFT blocks' index bookkeeping: a cyclic length :math:`n \ge 2N - 1` suffices.

    ``_trees._correlate`` reverses each histogram, convolves it with
    :math:`F_0 .. F_{2N-2}` by a real FFT of length ``next_fast_len(2N - 1)`` and keeps
    entries ``N-1 .. 2N-2``. Shown for ``N = 1, 2, 3, 4`` at ``n = 2N - 1`` and
    ``n = 2N + 2``.
    """
    return all(_hankel_by_convolution_holds(N, n) for N in (1, 2, 3, 4)
               for n in (2 * N - 1, 2 * N + 2))


ALL_PROOFS = [
    prove_dp_factorisation,
    prove_two_pass_recurrence,
    prove_star_closed_form,
    prove_centroid_split,
    prove_hankel_by_convolution,
]


if __name__ == "__main__":
    for proof in ALL_PROOFS:
        print(f"{proof.__name__}: {proof()}")
