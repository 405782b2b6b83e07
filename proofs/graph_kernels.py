r"""Exact sympy proofs for the graph-kernel masks: diffusion and regularised Laplacian.

Every ``prove_*`` function builds both sides of an identity exactly and returns ``True``
only if sympy reduces every entry of the difference to zero (:func:`_vanishes`; hyperbolic
functions are rewritten as exponentials first). Matrix exponentials of integer (or
algebraic) generators are taken through an exact eigendecomposition,
:math:`e^{\lambda A} = P\,\mathrm{diag}(e^{\lambda\mu})P^{-1}` (:func:`_expm`), with the
diffusion time :math:`\lambda` a free real symbol. The sizes are fixed and small (stated
in each docstring): finite-size certificates of the closed forms that
``refimpl.verify.graph_kernels`` and ``tests/test_graph_kernels.py`` check in float64 at
larger sizes.

Sources: K. Choromanski et al., ICML 2022, Sec. 3 (graph diffusion masks);
``spec/masked_attention.md`` Sec. 2.6 and Sec. 5 D (items 18-27); A. J. Smola and
R. Kondor, COLT 2003 (the regularised Laplacian kernel).
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "ALL_PROOFS",
    "prove_complete_graph_formula",
    "prove_cycle_circulant_dft",
    "prove_heat_kernel_rows_sum_to_one",
    "prove_hypercube_closed_form",
    "prove_kronecker_sum_identity",
    "prove_normalized_adjacency_perron_vector",
    "prove_path_eigenpairs",
    "prove_regular_graph_row_sums",
    "prove_regularized_laplacian_stochastic",
]

LAM = sp.Symbol("lambda", real=True)


# -- helpers ------------------------------------------------------------------------------

def _vanishes(diff) -> bool:
    """Whether every entry of ``diff`` reduces exactly to zero (``False``: not shown).

    Cheap canonical forms first: ``expand`` settles polynomials; hyperbolic functions
    are rewritten as exponentials; roots of unity are written as radicals by
    ``expand_complex``; only what is left goes to ``simplify``.
    """
    entries = diff if isinstance(diff, sp.MatrixBase) else [diff]
    for entry in entries:
        entry = sp.sympify(entry)
        if sp.expand(entry) == 0:
            continue
        rewritten = sp.expand(entry.rewrite(sp.exp))
        if rewritten == 0 or sp.expand(sp.expand_complex(rewritten)) == 0:
            continue
        if sp.simplify(rewritten) != 0:
            return False
    return True


def _expm(generator: sp.Matrix, t=LAM) -> sp.Matrix:
    r""":math:`e^{tA}` of a diagonalisable ``A`` with exact (algebraic) eigenvalues."""
    P, D = generator.diagonalize()
    return P * sp.diag(*[sp.exp(t * D[i, i]) for i in range(D.rows)]) * P.inv()


def _adjacency(n: int, edges) -> sp.Matrix:
    A = sp.zeros(n, n)
    for i, j in edges:
        A[i, j] = A[j, i] = 1
    return A


def _path(n: int) -> sp.Matrix:
    return _adjacency(n, [(i, i + 1) for i in range(n - 1)])


def _cycle(n: int) -> sp.Matrix:
    return _adjacency(n, [(i, (i + 1) % n) for i in range(n)])


def _popcount(x: int) -> int:
    return bin(x).count("1")


def _power(M: sp.Matrix, k: int) -> sp.Matrix:
    """``M**k`` by repeated multiplication (sympy's ``**`` may diagonalise symbolically)."""
    result = sp.eye(M.rows)
    for _ in range(k):
        result = result * M
    return result


# -- hypercube ------------------------------------------------------------------------------

def _hypercube_holds(k: int, distance: str = "hamming") -> bool:
    r"""``exp(lam A_{Q_k})`` equals the Kronecker power and ``cosh^(k-h) sinh^h``.

    ``distance="index"`` joins ``i`` and ``i + 1`` instead of labels one bit apart (the
    path, a wrong labelling); the negative control in the tests expects ``False``.
    """
    n = 2**k
    if distance == "hamming":
        A = sp.Matrix(n, n, lambda i, j: 1 if _popcount(i ^ j) == 1 else 0)
    else:
        A = sp.Matrix(n, n, lambda i, j: 1 if abs(i - j) == 1 else 0)
    c, s = sp.cosh(LAM), sp.sinh(LAM)
    closed = sp.Matrix(n, n, lambda i, j: c ** (k - _popcount(i ^ j)) * s ** _popcount(i ^ j))
    block = sp.Matrix([[c, s], [s, c]])
    power = block
    for _ in range(k - 1):
        power = sp.kronecker_product(power, block)
    return _vanishes(_expm(A) - closed) and _vanishes(power - closed)


def prove_hypercube_closed_form() -> bool:
    r"""The k-cube: :math:`e^{\lambda A_{Q_k}} = \bigotimes^k e^{\lambda\sigma_x}`,
    entries :math:`\cosh^{k-h}\lambda\,\sinh^h\lambda` by Hamming distance ``h``.

    :math:`\sigma_x = [[0, 1], [1, 0]]` has :math:`\sigma_x^2 = I`, so
    :math:`e^{\lambda\sigma_x} = \cosh\lambda\, I + \sinh\lambda\,\sigma_x` (proved), and
    :math:`A_{Q_k}` with vertices labelled by their bits is the Kronecker sum of ``k``
    copies of :math:`\sigma_x`.

    Sizes: ``k = 1, 2, 3`` (orders 2, 4, 8).

    Used by: verify check ``graph_kernels/closed/hypercube_cosh_sinh``;
    ``tests/test_graph_kernels.py::test_hypercube_is_kronecker_power``.
    """
    sigma_x = sp.Matrix([[0, 1], [1, 0]])
    two_by_two = _expm(sigma_x) - sp.Matrix([[sp.cosh(LAM), sp.sinh(LAM)],
                                             [sp.sinh(LAM), sp.cosh(LAM)]])
    return (sigma_x**2 == sp.eye(2) and _vanishes(two_by_two)
            and all(_hypercube_holds(k) for k in (1, 2, 3)))


# -- Kronecker sums (grids) --------------------------------------------------------------------

def _normalized(A: sp.Matrix) -> sp.Matrix:
    """:math:`D^{-1/2} A D^{-1/2}` (every degree positive)."""
    scale = sp.diag(*[1 / sp.sqrt(sum(A.row(i))) for i in range(A.rows)])
    return scale * A * scale


def _kronecker_sum_holds(n1: int, n2: int, normalized: bool = False) -> bool:
    r"""``exp(lam A_grid) = exp(lam A_1) (x) exp(lam A_2)`` on the ``n1 x n2`` grid.

    The grid's vertex ``(r, c)`` is ``r n2 + c`` (row-major, as ``sorted`` orders the
    nodes of ``networkx.grid_2d_graph``). Because ``exp(lam X) = exp(lam Y)`` for all
    ``lam`` forces ``X = Y`` (compare derivatives at 0), the generator identity
    ``A_grid = A_1 (x) I + I (x) A_2`` is checked first; it fails for the normalised
    adjacency (``normalized=True``), whose boundary degrees differ.
    """
    index = {(r, c): r * n2 + c for r in range(n1) for c in range(n2)}
    edges = [(index[r, c], index[r + 1, c]) for r in range(n1 - 1) for c in range(n2)]
    edges += [(index[r, c], index[r, c + 1]) for r in range(n1) for c in range(n2 - 1)]
    grid, first, second = _adjacency(n1 * n2, edges), _path(n1), _path(n2)
    if normalized:
        grid, first, second = _normalized(grid), _normalized(first), _normalized(second)
    left = sp.kronecker_product(first, sp.eye(n2))
    right = sp.kronecker_product(sp.eye(n1), second)
    if not _vanishes(grid - left - right) or not _vanishes(left * right - right * left):
        return False
    return _vanishes(_expm(grid) - sp.kronecker_product(_expm(first), _expm(second)))


def prove_kronecker_sum_identity() -> bool:
    r"""Grid = Cartesian product of paths:
    :math:`e^{\lambda(A_1 \oplus A_2)} = e^{\lambda A_1} \otimes e^{\lambda A_2}`.

    Proved (i) for generic commuting summands: with :math:`X` (2x2) and :math:`Y` (3x3)
    of independent symbols, :math:`(X \otimes I)(I \otimes Y) = (I \otimes Y)(X \otimes I)
    = X \otimes Y` and :math:`(X \oplus Y)^k = \sum_j \binom{k}{j} X^j \otimes Y^{k-j}` for
    ``k <= 3``, the termwise identity of the two exponential series; (ii) exactly for
    the ``2 x 2`` and ``2 x 3`` grids (raw adjacency).

    Used by: verify check ``graph_kernels/closed/grid_kronecker_sum``;
    ``tests/test_graph_kernels.py::test_grid_is_kronecker_sum``.
    """
    X = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"x_{i}_{j}", real=True))
    Y = sp.Matrix(3, 3, lambda i, j: sp.Symbol(f"y_{i}_{j}", real=True))
    left, right = sp.kronecker_product(X, sp.eye(3)), sp.kronecker_product(sp.eye(2), Y)
    if not (_vanishes(left * right - sp.kronecker_product(X, Y))
            and _vanishes(right * left - sp.kronecker_product(X, Y))):
        return False
    total = left + right
    for k in range(1, 4):
        binomial = sp.zeros(6, 6)
        for j in range(k + 1):
            binomial += sp.binomial(k, j) * sp.kronecker_product(_power(X, j), _power(Y, k - j))
        if not _vanishes(_power(total, k) - binomial):
            return False
    return _kronecker_sum_holds(2, 2) and _kronecker_sum_holds(2, 3)


# -- cycle, path, complete graph ----------------------------------------------------------------

def _cycle_holds(n: int) -> bool:
    omega = [sp.expand_complex(sp.exp(2 * sp.pi * sp.I * j / n)) for j in range(n)]
    F = sp.Matrix(n, n, lambda j, k: sp.expand_complex(sp.exp(-2 * sp.pi * sp.I * j * k / n)))
    mu = [2 * sp.cos(2 * sp.pi * j / n) for j in range(n)]
    A = _cycle(n)
    if not _vanishes(F * A * F.inv() - sp.diag(*mu)):
        return False
    # numpy's ifft: c_j = (1/n) sum_k v_k omega^(j k), v_k = e^{lam mu_k}.
    column = [sum(sp.exp(LAM * mu[k]) * omega[(j * k) % n] for k in range(n)) / n
              for j in range(n)]
    circulant = sp.Matrix(n, n, lambda i, j: column[(i - j) % n])
    spectral = F.inv() * sp.diag(*[sp.exp(LAM * m) for m in mu]) * F
    return (all(_vanishes(sp.im(sp.expand_complex(c))) for c in column)
            and _vanishes(spectral - circulant) and _vanishes(_expm(A) - circulant))


def prove_cycle_circulant_dft() -> bool:
    r"""The cycle: the DFT diagonalises :math:`A_{C_n}` with eigenvalues
    :math:`2\cos(2\pi j/n)`, so :math:`e^{\lambda A}` is the circulant whose first column
    is ``ifft(exp(2 lam cos(2 pi j / n)))``, which is real.

    Sizes: ``n = 3, 4`` (``F_jk = exp(-2 pi i j k / n)``, numpy's ``fft`` sign).

    Used by: verify check ``graph_kernels/closed/cycle_circulant``;
    ``tests/test_graph_kernels.py::test_cycle_is_circulant_cosine_sum``.
    """
    return all(_cycle_holds(n) for n in (3, 4))


def _path_holds(n: int) -> bool:
    k = range(1, n + 1)
    mu = [2 * sp.cos(sp.pi * kk / (n + 1)) for kk in k]
    U = sp.Matrix(n, n, lambda j, kk: sp.sqrt(sp.Rational(2, n + 1))
                  * sp.sin(sp.pi * (j + 1) * (kk + 1) / (n + 1)))
    A = _path(n)
    return (_vanishes(A * U - U * sp.diag(*mu)) and _vanishes(U.T * U - sp.eye(n))
            and _vanishes(U * sp.diag(*[sp.exp(LAM * m) for m in mu]) * U.T - _expm(A)))


def prove_path_eigenpairs() -> bool:
    r"""The path: :math:`A_{P_n} u_k = \mu_k u_k`, :math:`\mu_k = 2\cos(k\pi/(n+1))`,
    :math:`u_k(j) = \sqrt{2/(n+1)}\sin(jk\pi/(n+1))`, ``U`` orthogonal, hence
    :math:`e^{\lambda A} = U\,\mathrm{diag}(e^{\lambda\mu})U^\top`.

    Sizes: ``n = 1, 2, 3, 5`` (angles with radical sines).

    Used by: verify check ``graph_kernels/closed/path_eigenbasis``;
    ``tests/test_graph_kernels.py::test_path_eigenbasis``.
    """
    return all(_path_holds(n) for n in (1, 2, 3, 5))


def prove_complete_graph_formula() -> bool:
    r"""The complete graph: :math:`e^{\lambda(J - I)} = e^{-\lambda}\big[I +
    \tfrac{e^{\lambda n} - 1}{n} J\big]`, because ``I`` commutes with ``J`` and
    :math:`J^k = n^{k-1}J` (proved for ``k <= 3``).

    Sizes: ``n = 2, 3, 4, 5``.

    Used by: verify check ``graph_kernels/closed/complete_graph``;
    ``tests/test_graph_kernels.py::test_complete_graph``.
    """
    for n in (2, 3, 4, 5):
        J = sp.ones(n, n)
        if not all(_power(J, k) == n ** (k - 1) * J for k in (1, 2, 3)):
            return False
        closed = sp.exp(-LAM) * (sp.eye(n) + (sp.exp(LAM * n) - 1) / n * J)
        if not _vanishes(_expm(J - sp.eye(n)) - closed):
            return False
    return True


# -- invariants ------------------------------------------------------------------------------------

def prove_regular_graph_row_sums() -> bool:
    r"""A ``d``-regular graph has :math:`A\mathbf 1 = d\mathbf 1`, so
    :math:`e^{\lambda A}\mathbf 1 = e^{\lambda d}\mathbf 1` (and
    :math:`e^{\lambda A} = e^{\lambda d}e^{\lambda(A - dI)}`).

    Sizes: ``C_6`` (``d = 2``), ``K_4`` (``d = 3``), the 3-cube (``d = 3``).

    Used by: verify check ``graph_kernels/closed/regular_row_sums``;
    ``tests/test_graph_kernels.py::test_regular_graph_row_sums``.
    """
    cube = sp.Matrix(8, 8, lambda i, j: 1 if _popcount(i ^ j) == 1 else 0)
    for A, d in ((_cycle(6), 2), (sp.ones(4, 4) - sp.eye(4), 3), (cube, 3)):
        n = A.rows
        if A * sp.ones(n, 1) != d * sp.ones(n, 1):
            return False
        E = _expm(A)
        if not (_vanishes(E * sp.ones(n, 1) - sp.exp(LAM * d) * sp.ones(n, 1))
                and _vanishes(E - sp.exp(LAM * d) * _expm(A - d * sp.eye(n)))):
            return False
    return True


def prove_normalized_adjacency_perron_vector() -> bool:
    r""":math:`\hat A = D^{-1/2}AD^{-1/2}` satisfies :math:`\hat A\sqrt{d} = \sqrt{d}`, so
    every power fixes :math:`\sqrt d` and :math:`e^{\lambda\hat A}\sqrt d = e^\lambda\sqrt d`.

    Sizes: a 4-node graph (a triangle with a pendant vertex) with independent positive
    edge weights :math:`w_{ij}`; also the exact exponential for the unit-weight path
    :math:`P_3`.

    Used by: verify check ``graph_kernels/closed/normalized_sqrt_degree``;
    ``tests/test_graph_kernels.py::test_normalized_adjacency_perron_vector``.
    """
    edges = [(0, 1), (1, 2), (0, 2), (2, 3)]
    A = sp.zeros(4, 4)
    for i, j in edges:
        A[i, j] = A[j, i] = sp.Symbol(f"w_{i}{j}", positive=True)
    root = sp.Matrix([sp.sqrt(sum(A.row(i))) for i in range(4)])
    if not _vanishes(_normalized(A) * root - root):
        return False
    path = _path(3)
    path_root = sp.Matrix([sp.sqrt(sum(path.row(i))) for i in range(3)])
    return _vanishes(_expm(_normalized(path)) * path_root - sp.exp(LAM) * path_root)


def prove_heat_kernel_rows_sum_to_one() -> bool:
    r"""The heat kernel :math:`e^{t(A - D)}` is stochastic: :math:`(A - D)\mathbf 1 = 0`,
    so every term of the series past the first annihilates :math:`\mathbf 1`.

    Sizes: a triangle with independent positive weights (the generator identity), and
    the exact exponential of the unit-weight path :math:`P_3` (eigenvalues 0, -1, -3).

    Used by: verify check ``graph_kernels/closed/heat_kernel_markov``;
    ``tests/test_graph_kernels.py::test_heat_kernel_is_markov``.
    """
    a, b, c = sp.symbols("a b c", positive=True)
    A = sp.Matrix([[0, a, b], [a, 0, c], [b, c, 0]])
    generator = A - sp.diag(*[sum(A.row(i)) for i in range(3)])
    if not _vanishes(generator * sp.ones(3, 1)):
        return False
    path = _path(3)
    heat = _expm(path - sp.diag(*[sum(path.row(i)) for i in range(3)]))
    return _vanishes(heat * sp.ones(3, 1) - sp.ones(3, 1))


def _nonnegative_rational(entry, symbols) -> bool:
    """Whether ``entry`` is a ratio of polynomials with only positive coefficients."""
    numerator, denominator = sp.fraction(sp.cancel(sp.together(entry)))
    return all(c > 0 for part in (numerator, denominator)
               for c in sp.Poly(part, *symbols).coeffs())


def prove_regularized_laplacian_stochastic() -> bool:
    r""":math:`M = (I + \sigma L)^{-1}`, :math:`L = D - W`, is symmetric, has unit row
    sums, and is entrywise nonnegative for :math:`\sigma, w \ge 0`: every entry is a
    ratio of polynomials in :math:`\sigma` and the weights with positive coefficients (a
    certificate of nonnegativity; the denominator is the matrix-tree polynomial).

    Sizes: the triangle with independent weights ``a, b, c`` and the 4-path with weights
    ``a, b, c``; :math:`\sigma` a nonnegative symbol.

    Used by: ``refimpl.masks.RegularizedLaplacianMask`` (``||M||_inf = 1`` in its error
    bound); verify check ``graph_kernels/closed/reg_laplacian_markov``;
    ``tests/test_graph_kernels.py::test_regularized_laplacian_is_doubly_stochastic``.
    """
    sigma = sp.Symbol("sigma", nonnegative=True)
    a, b, c = sp.symbols("a b c", positive=True)
    triangle = sp.Matrix([[0, a, b], [a, 0, c], [b, c, 0]])
    path = sp.Matrix([[0, a, 0, 0], [a, 0, b, 0], [0, b, 0, c], [0, 0, c, 0]])
    for W in (triangle, path):
        n = W.rows
        laplacian = sp.diag(*[sum(W.row(i)) for i in range(n)]) - W
        M = (sp.eye(n) + sigma * laplacian).inv()
        if not (_vanishes(M * sp.ones(n, 1) - sp.ones(n, 1)) and _vanishes(M - M.T)):
            return False
        if not all(_nonnegative_rational(entry, (sigma, a, b, c)) for entry in M):
            return False
    return True


ALL_PROOFS = [
    prove_hypercube_closed_form,
    prove_kronecker_sum_identity,
    prove_cycle_circulant_dft,
    prove_path_eigenpairs,
    prove_complete_graph_formula,
    prove_regular_graph_row_sums,
    prove_normalized_adjacency_perron_vector,
    prove_heat_kernel_rows_sum_to_one,
    prove_regularized_laplacian_stochastic,
]


if __name__ == "__main__":
    for proof in ALL_PROOFS:
        print(f"{proof.__name__}: {proof()}")
