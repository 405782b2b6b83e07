r"""Exact proofs for the NIP of the k-cube and the other closed forms of ``refimpl.graphs``.

NIP as refimpl defines it (``spec/nip_mra_flash.md`` Sec. 7; a reconstruction, since the
formula of Wang et al., ICML 2022, could not be checked):

.. math:: P = D^{-1}(A + I), \qquad
          \mathrm{NIP}_h(G) = \frac{n \min_{ij} (P^h)_{ij}}{\rho}, \qquad
          \rho = \mathrm{nnz}(A + I) / n^2 .

**The k-cube.** :math:`Q_k` is k-regular, so :math:`P = (I + A)/(k + 1)` and
:math:`(P^k)_{ij} = W_k(i, j)/(k + 1)^k`, where :math:`W_k(i, j) = ((I + A)^k)_{ij}` counts
the sequences of k steps, each "stay" or "flip coordinate c", that lead from i to j. If
i and j differ in r coordinates, each of those is flipped an odd number of times and each
of the other :math:`k - r` an even number of times, so by exponential generating functions
(stay: :math:`e^x`, odd: :math:`\sinh x`, even: :math:`\cosh x`)

.. math:: W_k(r) = k!\,[x^k]\; e^x \sinh^r x \,\cosh^{k-r} x .

* Antipodal pairs (r = k): :math:`\sinh^k x = x^k + O(x^{k+2})`, so :math:`W_k(k) = k!`:
  every coordinate is flipped exactly once, in any of the k! orders.
* No pair does worse: with :math:`m = k - r`,
  :math:`\cosh^m - \sinh^m = (\cosh - \sinh)\sum_{a+b=m-1}\cosh^a \sinh^b` and
  :math:`\cosh x - \sinh x = e^{-x}`, hence

  .. math:: W_k(r) - W_k(k) = k!\,[x^k]\; \sinh^r x \sum_{a+b=m-1} \cosh^a x \sinh^b x
            \;\ge\; 0,

  since the Taylor coefficients of sinh and cosh are nonnegative. (The difference is 0
  for r = k - 1, by parity: the minimum is attained at distances k and k - 1.)

So :math:`\min_{ij}(P^k)_{ij} = k!/(k+1)^k`, :math:`\rho = (k+1)/n` and

.. math:: \mathrm{NIP}_k(Q_k) = n \cdot \frac{k!}{(k+1)^k} \cdot \frac{n}{k+1}
          = \frac{n^2\, k!}{(k+1)^{k+1}}, \qquad n = 2^k .

**The complete graph.** :math:`P = J/n` and :math:`J^2 = nJ`, so :math:`P^h = J/n` for
every :math:`h \ge 1`, :math:`\rho = 1` and :math:`\mathrm{NIP} = n \cdot (1/n) / 1 = 1`.

**Block lifting.** The token mask of a block layout is :math:`(A + I) \otimes J_b`; its
rows sum to :math:`b(\deg + 1)`, so :math:`P^h = P_G^h \otimes J_b / b` for :math:`h \ge 1`:
the minimum is divided by b, n multiplied by b, the density unchanged, and the NIP of the
lifted graph equals the layout's.

**Below the diameter.** :math:`(P^h)_{ij}` is a sum over walks of length h from i to j of
products of positive entries; there is none when :math:`\mathrm{dist}(i, j) > h`, so the
entry is exactly 0, and so is the NIP for :math:`h < \mathrm{diameter}`.

Each ``prove_*`` checks its statement exactly (sympy or integer arithmetic) for the small
sizes in its docstring and returns ``True`` only if every case holds. The general
arguments are above; the checks certify the index conventions and the algebra.
"""

from __future__ import annotations

import math

import sympy as sp

__all__ = [
    "ALL_PROOFS",
    "prove_antipodal_pairs_are_worst",
    "prove_antipodal_walk_count",
    "prove_block_lifting_preserves_nip",
    "prove_complete_graph_nip_is_one",
    "prove_gray_code_hypercube_facts",
    "prove_kcube_nip_closed_form",
    "prove_kcube_walk_count_egf",
    "prove_payload_zero_beyond_distance",
]

X = sp.Symbol("x")
E = sp.Symbol("E", positive=True)  # E = e^x, to check identities among exp, sinh, cosh


def _cube_plus_identity(k: int) -> sp.Matrix:
    """I + A of the k-cube, vertices labelled by their k-bit integers."""
    n = 2**k
    return sp.Matrix(n, n, lambda i, j: 1 if bin(i ^ j).count("1") <= 1 else 0)


def _taylor(kind: str, order: int) -> list:
    """Exact Taylor coefficients of exp, sinh or cosh at 0, up to x^order."""
    keep = {"exp": lambda i: True, "sinh": lambda i: i % 2 == 1, "cosh": lambda i: i % 2 == 0}
    return [sp.Rational(1, math.factorial(i)) if keep[kind](i) else sp.Integer(0)
            for i in range(order + 1)]


def _times(a: list, b: list) -> list:
    """Product of two truncated series (same order): exact up to that order."""
    return [sum(a[i] * b[t - i] for i in range(t + 1)) for t in range(len(a))]


def _product(factors: list, order: int) -> list:
    """Truncated series of a product of (kind, power) factors."""
    result = [sp.Integer(1)] + [sp.Integer(0)] * order
    for kind, power in factors:
        for _ in range(power):
            result = _times(result, _taylor(kind, order))
    return result


def _egf_count(k: int, r: int):
    """k! [x^k] e^x sinh^r x cosh^(k-r) x: walks of k steps across r coordinates."""
    return sp.factorial(k) * _product([("exp", 1), ("sinh", r), ("cosh", k - r)], k)[k]


def _nip_exact(plus_identity: sp.Matrix, hops: int):
    """NIP of the graph with adjacency-plus-identity ``plus_identity``, in rationals."""
    n = plus_identity.rows
    degrees = [sum(plus_identity.row(i)) for i in range(n)]
    transition = sp.Matrix(n, n, lambda i, j: sp.Rational(plus_identity[i, j], degrees[i]))
    power = transition**hops
    density = sp.Rational(sum(degrees), n * n)
    return n * min(power) / density, power


# -- the k-cube ----------------------------------------------------------------------------

def prove_kcube_walk_count_egf() -> bool:
    """((I + A)^k)_{0j} = k! [x^k] e^x sinh^r cosh^(k-r), r = popcount(j); k = 1..5."""
    for k in range(1, 6):
        walks = _cube_plus_identity(k) ** k
        for j in range(2**k):
            if walks[0, j] != _egf_count(k, bin(j).count("1")):
                return False
    return True


def prove_antipodal_walk_count() -> bool:
    """sinh^k x = x^k + O(x^(k+2)), so W_k(k) = k! (k = 1..12).

    The truncated-series helper is first checked against sympy's own ``series`` (k <= 4).
    """
    for k in range(1, 5):
        expr = sp.exp(X) * sp.sinh(X) ** 2 * sp.cosh(X) ** (k - 1)
        by_sympy = sp.expand(sp.series(expr, X, 0, k + 2).removeO())
        ours = _product([("exp", 1), ("sinh", 2), ("cosh", k - 1)], k + 1)
        if [by_sympy.coeff(X, t) for t in range(k + 2)] != ours:
            return False
    for k in range(1, 13):
        low = _product([("sinh", k)], k + 1)
        if low != [0] * k + [1, 0] or _egf_count(k, k) != sp.factorial(k):
            return False
    return True


def prove_antipodal_pairs_are_worst() -> bool:
    """W_k(r) - W_k(k) = k! [x^k] sinh^r sum_{a+b=m-1} cosh^a sinh^b >= 0 (k = 1..8).

    Checks the factorisation cosh^m - sinh^m = e^(-x) sum cosh^a sinh^b (as exponentials),
    the resulting formula for the difference, its nonnegativity, and that it vanishes
    exactly for r = k - 1.
    """
    c, s = (E + 1 / E) / 2, (E - 1 / E) / 2  # cosh and sinh in E = e^x
    for k in range(1, 9):
        for r in range(k):
            m = k - r
            tail = sum(c**a * s ** (m - 1 - a) for a in range(m))
            if sp.cancel(c**m - s**m - tail / E) != 0:
                return False
            tail_series = [sum(t) for t in zip(*(
                _product([("cosh", a), ("sinh", m - 1 - a)], k) for a in range(m)))]
            series = _times(_product([("sinh", r)], k), tail_series)
            difference = sp.factorial(k) * series[k]
            if difference != _egf_count(k, r) - _egf_count(k, k) or difference < 0:
                return False
            if (r == k - 1) != (difference == 0):
                return False
    return True


def prove_kcube_nip_closed_form() -> bool:
    """Exact NIP_k(Q_k) = n^2 k!/(k+1)^(k+1) and min (P^k) = k!/(k+1)^k (k = 1..4)."""
    for k in range(1, 5):
        n = 2**k
        value, power = _nip_exact(_cube_plus_identity(k), k)
        if min(power) != sp.Rational(math.factorial(k), (k + 1) ** k):
            return False
        if value != sp.Rational(n * n * math.factorial(k), (k + 1) ** (k + 1)):
            return False
    return True


# -- the complete graph and the zeros below the diameter -------------------------------------

def prove_complete_graph_nip_is_one() -> bool:
    """(J/n)^h = J/n and NIP(K_n) = 1 for n = 1..6 and h = 1..4 (J = ones((n, n)))."""
    for n in range(1, 7):
        ones = sp.ones(n, n)
        for h in range(1, 5):
            value, power = _nip_exact(ones, h)
            if power != ones / n or value != 1:
                return False
    return True


def prove_payload_zero_beyond_distance() -> bool:
    """On the path 0-1-...-5 (window w = 1): (P^h)_ij = 0 iff |i - j| > h; NIP_h = 0 for
    h < 5 and > 0 at h = 5 (h = 0..6)."""
    n = 6
    path = sp.Matrix(n, n, lambda i, j: 1 if abs(i - j) <= 1 else 0)
    for h in range(7):
        value, power = _nip_exact(path, h)
        for i in range(n):
            for j in range(n):
                if (power[i, j] == 0) != (abs(i - j) > h):
                    return False
        if (value == 0) != (h < n - 1):
            return False
    return True


def prove_block_lifting_preserves_nip() -> bool:
    """NIP_h(lift(G, b)) = NIP_h(G) for h >= 1: the path on 3 blocks and the star on 4,
    b = 2, 3, h = 1..3.

    The lifted mask is (A + I) (x) J_b, whose rows sum to b (deg + 1), so its P is
    P_G (x) J_b / b, and (J_b / b)^h = J_b / b: P^h = P_G^h (x) J_b / b. The minimum is
    divided by b, n multiplied by b, and the density is unchanged.
    """
    path = sp.Matrix(3, 3, lambda i, j: 1 if abs(i - j) <= 1 else 0)
    star = sp.Matrix(4, 4, lambda i, j: 1 if i == j or i == 0 or j == 0 else 0)
    for layout in (path, star):
        for b in (2, 3):
            lifted = sp.kronecker_product(layout, sp.ones(b, b))
            for h in (1, 2, 3):
                if _nip_exact(lifted, h)[0] != _nip_exact(layout, h)[0]:
                    return False
    return True


# -- the Gray-code construction ---------------------------------------------------------------

def prove_gray_code_hypercube_facts() -> bool:
    """Facts of g(i) = i XOR (i >> 1) behind ``hypercube_graph`` (k = 1..10, exhaustive).

    Consecutive codes differ in one bit (so i ~ i + 1); g is a bijection of 0..2^k - 1
    (so ``n = 2^k`` gives the k-cube); g(2^j - 1) = 2^(j-1) (so 0 ~ 2^j - 1);
    g(n - 1 - i) = g(i) XOR 2^(k-1) (the automorphism i -> n - 1 - i).
    """
    for k in range(1, 11):
        n = 2**k
        gray = [i ^ (i >> 1) for i in range(n)]
        if sorted(gray) != list(range(n)):
            return False
        if any(bin(gray[i] ^ gray[i + 1]).count("1") != 1 for i in range(n - 1)):
            return False
        if any(gray[2**j - 1] != 2 ** (j - 1) for j in range(1, k + 1)):
            return False
        if any(gray[n - 1 - i] != gray[i] ^ (n >> 1) for i in range(n)):
            return False
    return True


ALL_PROOFS = [
    prove_kcube_walk_count_egf,
    prove_antipodal_walk_count,
    prove_antipodal_pairs_are_worst,
    prove_kcube_nip_closed_form,
    prove_complete_graph_nip_is_one,
    prove_payload_zero_beyond_distance,
    prove_block_lifting_preserves_nip,
    prove_gray_code_hypercube_facts,
]


if __name__ == "__main__":
    for proof in ALL_PROOFS:
        print(f"{proof.__name__}: {proof()}")
