r"""Exact sympy proofs for the masked-attention family.

Every ``prove_*`` function builds both sides of an identity from symbols, subtracts them
and returns ``True`` only if sympy reduces every entry of the difference to exactly
zero (see :func:`_vanishes`); a failed reduction returns ``False``. The proofs are for
fixed small sizes (stated in each docstring): they are finite-size certificates of
polynomial or rational identities, not proofs for all sizes, and they complement the
float64 tests that exercise refimpl at larger sizes.

Main source: K. Choromanski et al., "From block-Toeplitz matrices to differential
equations on graphs: towards a general theory for scalable masked Transformers",
ICML 2022 (Algorithm 1, Sec. 3). Notation: :math:`\odot` is the Hadamard product,
:math:`\mathrm{Att}(M, A, V) = D^{-1}(M \odot A)V` with
:math:`D = \mathrm{diag}((M \odot A)\mathbf{1})`.
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "ALL_PROOFS",
    "prove_alg1_identity",
    "prove_causal_one_half_one_third",
    "prove_circulant_embedding",
    "prove_grid_torus_embedding",
    "prove_kms_two_scan",
    "prove_low_rank_mask",
    "prove_row_scale_invariance",
    "prove_separable_grid_is_kronecker",
    "prove_toeplitz_conventions",
]


# -- helpers ------------------------------------------------------------------------------

def _sym_matrix(name: str, rows: int, cols: int, **assumptions) -> sp.Matrix:
    """A ``rows x cols`` matrix of independent symbols ``name_i_j``."""
    # Underscore-separated indices stay unambiguous once an index reaches 10.
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}_{j}", **assumptions))


def _sym_vector(name: str, n: int, **assumptions) -> sp.Matrix:
    """A length-``n`` column of independent symbols ``name_i``."""
    return sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"{name}_{i}", **assumptions))


def _vanishes(diff) -> bool:
    """Whether sympy reduces a scalar or every entry of a matrix exactly to zero.

    ``expand`` is a canonical form for polynomials, so it settles those cheaply; only
    entries it leaves nonzero (rational functions, radicals) go to ``simplify``. A
    ``False`` means "not shown", which every caller treats as a failed proof.
    """
    entries = diff if isinstance(diff, sp.MatrixBase) else [diff]
    for entry in entries:
        reduced = sp.expand(entry)
        if reduced != 0 and sp.simplify(reduced) != 0:
            return False
    return True


def _attention(mask: sp.Matrix, scores: sp.Matrix, values: sp.Matrix) -> sp.Matrix:
    """The dense oracle :math:`D^{-1}(M \\odot A)V`, row by row."""
    weights = mask.multiply_elementwise(scores)
    numerator = weights * values
    normaliser = weights * sp.ones(weights.cols, 1)
    return sp.Matrix(numerator.rows, numerator.cols, lambda i, e: numerator[i, e] / normaliser[i])


def _alg1_product(mask, phi_q, phi_k, values) -> sp.Matrix:
    """:math:`(M \\odot \\Phi_Q\\Phi_K^\\top)V` the way ``masked_linear_attention`` forms it.

    One product of ``M`` with ``F_{j,(p,e)} = Phi_K[j, p] V[j, e]`` (columns ordered
    ``p``-major), then a contraction with ``Phi_Q`` over ``p``.
    """
    m, dv = phi_q.cols, values.cols
    features = sp.Matrix(phi_k.rows, m * dv, lambda j, c: phi_k[j, c // dv] * values[j, c % dv])
    product = mask * features
    return sp.Matrix(
        mask.rows, dv, lambda i, e: sum(phi_q[i, p] * product[i, p * dv + e] for p in range(m))
    )


def _toeplitz(c, r) -> sp.Matrix:
    """``scipy.linalg.toeplitz(c, r)``: ``M_ij = c[i-j]`` for ``i >= j``, else ``r[j-i]``."""
    return sp.Matrix(len(c), len(r), lambda i, j: c[i - j] if i >= j else r[j - i])


def _circulant(e) -> sp.Matrix:
    """The circulant with first column ``e``: ``C_ij = e[(i - j) mod n]``."""
    n = len(e)
    return sp.Matrix(n, n, lambda i, j: e[(i - j) % n])


def _dft(n: int) -> sp.Matrix:
    """The DFT matrix ``F_jk = exp(-2 pi i j k / n)`` (numpy's ``fft`` sign convention)."""
    # expand_complex writes the roots of unity as radicals, so cancellation is exact.
    return sp.Matrix(n, n, lambda j, k: sp.expand_complex(sp.exp(-2 * sp.pi * sp.I * j * k / n)))


def _face_split(a: sp.Matrix, b: sp.Matrix) -> sp.Matrix:
    """Row-wise Kronecker (face-splitting) product: row ``i`` is ``a[i, :] (x) b[i, :]``."""
    # sympy's own kronecker_product, so the proof does not reuse our index bookkeeping.
    return sp.Matrix.vstack(*[sp.kronecker_product(a.row(i), b.row(i)) for i in range(a.rows)])


# -- (a) Algorithm 1 ----------------------------------------------------------------------

def _alg1_holds(L: int, S: int, m: int, dv: int) -> bool:
    """Algorithm 1's identity for one size, with ``V`` and with the ones vector."""
    mask = _sym_matrix("M", L, S)
    phi_q, phi_k = _sym_matrix("Q", L, m), _sym_matrix("K", S, m)
    v = _sym_matrix("V", S, dv)
    hadamard = mask.multiply_elementwise(phi_q * phi_k.T)
    for rhs_operand in (v, sp.ones(S, 1)):
        lhs = hadamard * rhs_operand
        by_diagonals = sp.zeros(L, rhs_operand.cols)
        for p in range(m):
            by_diagonals += sp.diag(*phi_q[:, p]) * mask * sp.diag(*phi_k[:, p]) * rhs_operand
        if not _vanishes(lhs - by_diagonals):
            return False
        if not _vanishes(lhs - _alg1_product(mask, phi_q, phi_k, rhs_operand)):
            return False
    return True


def prove_alg1_identity(L: int = 3, S: int = 3, m: int = 2, dv: int = 2) -> bool:
    r"""A masked low-rank attention product needs only products with the mask.

    For any mask :math:`M \in \mathbb{R}^{L \times S}` and features
    :math:`\Phi_Q \in \mathbb{R}^{L \times m}`, :math:`\Phi_K \in \mathbb{R}^{S \times m}`,

    .. math:: (M \odot \Phi_Q \Phi_K^\top) V
              = \sum_{p=1}^{m} \mathrm{diag}(\Phi_Q^{:,p})\, M\,
                \mathrm{diag}(\Phi_K^{:,p})\, V,

    and the same with :math:`V` replaced by :math:`\mathbf{1}_S` (the normaliser). Also
    proved: both equal the single product :math:`M F`,
    :math:`F_{j,(p,e)} = \Phi_K^{jp} V^{je}`, contracted with :math:`\Phi_Q` over ``p``,
    which is how ``refimpl.attention.masked_linear_attention`` evaluates it.

    Sizes: all entries of ``M``, ``Phi_Q``, ``Phi_K``, ``V`` independent symbols, for
    ``(L, S, m, dv)`` as given (default ``(3, 3, 2, 2)``) and the non-square shapes
    ``(2, 3, m, dv)`` and ``(3, 2, m, dv)``.

    Source: Choromanski et al., ICML 2022, Algorithm 1 (Sec. 3).
    """
    shapes = [(L, S), (2, 3), (3, 2)]
    return all(_alg1_holds(rows, cols, m, dv) for rows, cols in shapes)


# -- (b) causal sanity check -----------------------------------------------------------------

def prove_causal_one_half_one_third(L: int = 3) -> bool:
    r"""Causal attention over identical tokens is a running mean: outputs ``1, 1/2, 1/3``.

    With every query and key equal (``d_qk = 1``, ``q = k = 1``), every score is the
    same constant :math:`a`, so with the causal mask
    :math:`M = \mathrm{tril}(\mathbf{1}\mathbf{1}^\top)` and
    :math:`v = e_1 = (1, 0, \dots, 0)^\top`,

    .. math:: D^{-1}(M \odot a\mathbf{1}\mathbf{1}^\top) e_1
              = \big(1, \tfrac12, \dots, \tfrac1L\big)^\top.

    Proved for (i) kernel attention with :math:`a = c = \phi(q)^\top\phi(k)` a positive
    symbol, (ii) kernel attention with :math:`\phi(q) = \phi(k) = (f_0, f_1)` two positive
    symbols, computed both densely and by Algorithm 1 (:func:`_alg1_product`), and (iii)
    softmax attention with all logits equal to a real symbol :math:`z`,
    :math:`a = e^{z}`.

    Sizes: ``L`` tokens (default 3, the values ``(1, 1/2, 1/3)``).

    Source: the causal (unidirectional) Performer check, Choromanski et al., ICLR 2021,
    Sec. 2.6, as a special case of masked attention, Choromanski et al., ICML 2022,
    Sec. 3 (causal mask).
    """
    causal = sp.Matrix(L, L, lambda i, j: 1 if i >= j else 0)
    e1 = sp.Matrix(L, 1, lambda i, _: 1 if i == 0 else 0)
    expected = sp.Matrix(L, 1, lambda i, _: sp.Rational(1, i + 1))
    ones = sp.ones(L, L)

    kernel_constant = sp.Symbol("c", positive=True)
    features = sp.ones(L, 1) * _sym_vector("f", 2, positive=True).T  # each row phi(1)
    logit = sp.Symbol("z", real=True)
    outputs = [
        _attention(causal, kernel_constant * ones, e1),
        _attention(causal, features * features.T, e1),
        _attention(causal, sp.exp(logit) * ones, e1),
    ]
    # Algorithm 1's route: numerator with V, normaliser with the ones vector.
    numerator = _alg1_product(causal, features, features, e1)
    normaliser = _alg1_product(causal, features, features, sp.ones(L, 1))
    outputs.append(sp.Matrix(L, 1, lambda i, _: numerator[i] / normaliser[i]))
    return all(_vanishes(out - expected) for out in outputs)


# -- (c) Toeplitz products by circulant embedding and the DFT -------------------------------

def _circulant_embedding_holds(L: int, S: int, reverse_row: bool = True, pad: int = 0) -> bool:
    """Whether the top ``L`` rows of ``C [x; 0]`` equal ``M x`` for one embedding.

    ``reverse_row=True`` is refimpl's first column
    ``e = [c_0..c_{L-1}, 0 * pad, r_{S-1}, ..., r_1]``; ``reverse_row=False`` appends
    ``r_1, ..., r_{S-1}`` instead, which is wrong once ``S >= 3`` (a negative control).
    """
    c = list(_sym_vector("c", L))
    r = [c[0], *_sym_vector("r", S)[1:]]  # r_0 is c_0 (scipy ignores r[0])
    tail = r[S - 1:0:-1] if reverse_row else r[1:]
    e = c + [0] * pad + tail
    x = _sym_vector("x", S)
    padded_x = x.col_join(sp.zeros(len(e) - S, 1))
    embedded = (_circulant(e) * padded_x)[:L, :]
    return _vanishes(embedded - _toeplitz(c, r) * x)


def _dft_diagonalises_circulant(n: int) -> bool:
    """Whether ``C(e) = F^{-1} diag(F e) F`` for a symbolic ``e`` of length ``n``."""
    dft = _dft(n)
    inverse = dft.conjugate() / n
    if not _vanishes(inverse * dft - sp.eye(n)):
        return False
    e = _sym_vector("e", n)
    return _vanishes(_circulant(list(e)) - inverse * sp.diag(*(dft * e)) * dft)


def prove_circulant_embedding(L: int = 3, S: int = 4, pad: int = 2, n_dft: int = 4) -> bool:
    r"""A Toeplitz product is the top of a circulant product, and the DFT diagonalises it.

    Let :math:`M_{ij} = c_{i-j}` (:math:`i \ge j`), :math:`r_{j-i}` (:math:`j > i`), with
    :math:`r_0 = c_0` (the ``scipy.linalg.toeplitz`` convention), and let :math:`C` be the
    circulant of order :math:`n \ge L + S - 1`, :math:`C_{ij} = e_{(i-j) \bmod n}`, with
    first column

    .. math:: e = [c_0, \dots, c_{L-1}, \underbrace{0, \dots, 0}_{n - L - S + 1},
              r_{S-1}, \dots, r_1].

    Then :math:`\big(C\,[x; 0]\big)_{0:L} = M x`. Moreover, with
    :math:`F_{jk} = \omega^{jk}`, :math:`\omega = e^{-2\pi i/n}`,
    :math:`F^{-1} = \bar F / n` and

    .. math:: C = F^{-1}\,\mathrm{diag}(F e)\,F,

    so :math:`Mx = \big(F^{-1}(Fe \odot F[x;0])\big)_{0:L}`, the FFT product of
    ``refimpl.masks.ToeplitzMask`` (which pads ``n`` up to ``next_fast_len``).

    Sizes: embedding for ``(L, S)`` (default ``(3, 4)``) with ``n = L + S - 1`` and with
    ``pad`` (default 2) extra zeros; diagonalisation for ``n = n_dft`` (default 4) and
    ``n = 3`` (whose roots of unity involve :math:`\sqrt3`).

    Source: Choromanski et al., ICML 2022, Sec. 3 (Toeplitz RPE masks via FFT).
    """
    return (
        _circulant_embedding_holds(L, S, pad=0)
        and _circulant_embedding_holds(L, S, pad=pad)
        and _dft_diagonalises_circulant(n_dft)
        and _dft_diagonalises_circulant(3)
    )


def prove_toeplitz_conventions(L: int = 3) -> bool:
    r"""Two published FFT layouts of a Toeplitz RPE product compute the same :math:`Mx`.

    Let :math:`M_{ij} = b_{i-j}` (:math:`L \times L`, offsets :math:`|t| \le L-1`),
    :math:`n = 2L`, :math:`x^{\text{pad}} = [x; 0_L]` and :math:`F` the DFT matrix. Then

    .. math:: Mx = \big(F\,(Fc \odot F^{-1}x^{\text{pad}})\big)_{0:L}, \qquad
              c = [b_0, b_{-1}, \dots, b_{-(L-1)}, 0, b_{L-1}, \dots, b_1]

    (first row, a zero, then the first column reversed; the product is a circular
    *correlation*, so its imaginary part vanishes exactly for real data), and

    .. math:: Mx = \big(C(\kappa)\, x^{\text{pad}}\big)_{L:2L}, \qquad
              \kappa = [0, b_{-(L-1)}, \dots, b_{L-1}]

    (the last ``L`` entries of a length-``2L`` convolution). These are the "scenic" and
    Luo et al. layouts that ``refimpl.verify.masked`` compares with ``ToeplitzMask``.

    Sizes: ``L`` tokens (default 3, so ``n = 6`` and the roots of unity involve
    :math:`\sqrt3`); every :math:`b_t` and :math:`x_j` a real symbol.

    Source: Luo et al., NeurIPS 2021, Sec. 3.2; Choromanski et al., ICML 2022, Sec. 3.
    """
    n = 2 * L
    b = {t: sp.Symbol(f"b_{t}", real=True) for t in range(-(L - 1), L)}
    x = _sym_vector("x", L, real=True)
    padded_x = x.col_join(sp.zeros(L, 1))
    target = sp.Matrix(L, L, lambda i, j: b[i - j]) * x

    dft = _dft(n)
    first_row = [b[-j] for j in range(L)]
    column_reversed = [b[t] for t in range(L - 1, 0, -1)]
    c = sp.Matrix([*first_row, 0, *column_reversed])
    correlation = dft * (dft * c).multiply_elementwise(dft.conjugate() / n * padded_x)

    kernel = [0, *(b[t] for t in range(-(L - 1), L))]
    convolution = _circulant(kernel) * padded_x
    return _vanishes(correlation[:L, :] - target) and _vanishes(convolution[L:, :] - target)


# -- (d) symmetric exponential decay by two scans ---------------------------------------------

def prove_kms_two_scan(L: int = 4) -> bool:
    r"""The symmetric decay mask is two one-sided scans; the causal one is one scan.

    For :math:`M_{ij} = \gamma^{|i-j|}` (Kac-Murdock-Szegő) and a vector :math:`x`,

    .. math:: Mx = f + b - x, \qquad f_i = x_i + \gamma f_{i-1},\quad
              b_i = x_i + \gamma b_{i+1}, \qquad f_{-1} = b_L = 0,

    because the forward scan covers :math:`j \le i`, the backward scan :math:`j \ge i`,
    and the diagonal is counted twice. The decayed causal scan
    :math:`s_i = \gamma s_{i-1} + x_i` (:math:`s_{-1} = 0`) satisfies
    :math:`s_i = \sum_{j \le i} \gamma^{i-j} x_j`, the product of
    ``refimpl.masks.CausalMask`` (``lfilter([1], [1, -gamma])``).

    Sizes: ``L`` tokens (default 4), :math:`\gamma` a free symbol (so also
    :math:`\gamma = 0, 1`, with :math:`\gamma^0 = 1`).

    Source: Choromanski et al., ICML 2022, Sec. 3 (exponentially decaying RPE masks).
    """
    gamma = sp.Symbol("gamma")
    x = _sym_vector("x", L)
    kms = sp.Matrix(L, L, lambda i, j: gamma ** abs(i - j))
    forward, backward = [sp.Integer(0)] * L, [sp.Integer(0)] * L
    for i in range(L):
        forward[i] = x[i] + (gamma * forward[i - 1] if i > 0 else 0)
    for i in reversed(range(L)):
        backward[i] = x[i] + (gamma * backward[i + 1] if i < L - 1 else 0)
    two_scan = sp.Matrix(forward) + sp.Matrix(backward) - x

    causal = sp.Matrix(L, L, lambda i, j: gamma ** (i - j) if i >= j else 0)
    scan = sp.Matrix(forward)  # the forward scan is exactly the decayed causal scan
    return _vanishes(kms * x - two_scan) and _vanishes(causal * x - scan)


# -- (e) grid masks ----------------------------------------------------------------------------

def _grid_positions(n1: int, n2: int) -> list[tuple[int, int]]:
    """Grid positions in row-major (C) order, as ``np.indices(...).reshape`` numbers them."""
    return [(i1, i2) for i1 in range(n1) for i2 in range(n2)]


def prove_separable_grid_is_kronecker(n1: int = 2, n2: int = 3) -> bool:
    r"""A separable 2-D relative-position mask is the Kronecker product of 1-D masks.

    For tokens on an :math:`n_1 \times n_2` grid numbered row-major and arbitrary
    functions :math:`f_1, f_2` of the offset,

    .. math:: M_{(i_1,i_2),(j_1,j_2)} = f_1(i_1 - j_1)\, f_2(i_2 - j_2)
              \quad\Longrightarrow\quad M = T_1 \otimes T_2,

    with the Toeplitz :math:`(T_a)_{ij} = f_a(i - j)` and :math:`\otimes` sympy's
    ``kronecker_product``.

    Sizes: ``n1 x n2`` grid (default ``2 x 3``, so ``M`` is ``6 x 6``); ``f1``, ``f2``
    undefined sympy functions (every offset value an independent unknown).

    Source: Choromanski et al., ICML 2022, Sec. 3 (multi-dimensional RPE masks), the
    separable case noted in ``refimpl.masks.GridRPEMask``.
    """
    f1, f2 = sp.Function("f1"), sp.Function("f2")
    pos = _grid_positions(n1, n2)
    grid = sp.Matrix(
        len(pos), len(pos), lambda a, b: f1(pos[a][0] - pos[b][0]) * f2(pos[a][1] - pos[b][1])
    )
    t1 = sp.Matrix(n1, n1, lambda i, j: f1(i - j))
    t2 = sp.Matrix(n2, n2, lambda i, j: f2(i - j))
    return _vanishes(grid - sp.kronecker_product(t1, t2))


def prove_grid_torus_embedding(n1: int = 2, n2: int = 3, pad: int = 1) -> bool:
    r"""A 2-D relative-position product is a cyclic convolution on a large enough torus.

    For :math:`M_{ij} = f(p_i - p_j)` on an :math:`n_1 \times n_2` grid and a torus
    :math:`N_a \ge 2n_a - 1`, write the kernel :math:`\kappa[t \bmod N] = f(t)` for every
    offset :math:`t` in the box :math:`|t_a| \le n_a - 1` (zero elsewhere). Then

    .. math:: (Mx)_i = \sum_{j \in \text{torus}} \kappa[(i - j) \bmod N]\,
              x^{\text{pad}}_j \quad \text{for } i \text{ in the grid},

    the 2-D FFT product of ``refimpl.masks.GridRPEMask``. It holds because distinct
    offsets in the box stay distinct modulo :math:`N`.

    Sizes: ``n1 x n2`` grid (default ``2 x 3``) with :math:`N_a = 2n_a - 1` and with
    ``pad`` (default 1) extra cells per axis; ``f`` an undefined function of two
    arguments.

    Source: Choromanski et al., ICML 2022, Sec. 3 (multi-dimensional RPE masks).
    """
    f = sp.Function("f")
    pos = _grid_positions(n1, n2)
    x = _sym_vector("x", len(pos))
    dense = sp.Matrix(len(pos), len(pos), lambda a, b: f(*(p - q for p, q in zip(pos[a], pos[b]))))
    for extra in (0, pad):
        torus = (2 * n1 - 1 + extra, 2 * n2 - 1 + extra)
        kernel = {}
        for t1 in range(-(n1 - 1), n1):
            for t2 in range(-(n2 - 1), n2):
                kernel[(t1 % torus[0], t2 % torus[1])] = f(t1, t2)
        value = dict(zip(pos, x))  # x zero-padded onto the torus
        conv = sp.Matrix([
            sum(kernel.get(((i1 - j1) % torus[0], (i2 - j2) % torus[1]), 0) * xj
                for (j1, j2), xj in value.items())
            for i1, i2 in pos
        ])
        if not _vanishes(dense * x - conv):
            return False
    return True


# -- (f) row scaling ---------------------------------------------------------------------------

def _scaling_invariant(L: int, S: int, m: int, dv: int, side: str = "query") -> bool:
    """Whether ``Att(M, A, V)`` is unchanged by scaling the mask's rows or columns.

    ``side="query"`` tests ``diag(s) M`` (true); ``side="key"`` tests ``M diag(s)``,
    which reweights keys and is *not* an invariance (a negative control).
    """
    mask = _sym_matrix("M", L, S)
    scores = _sym_matrix("Q", L, m) * _sym_matrix("K", S, m).T
    v = _sym_matrix("V", S, dv)
    if side == "query":
        scaled = sp.diag(*_sym_vector("s", L, positive=True)) * mask
    else:
        scaled = mask * sp.diag(*_sym_vector("s", S, positive=True))
    return _vanishes(_attention(scaled, scores, v) - _attention(mask, scores, v))


def prove_row_scale_invariance(L: int = 2, S: int = 3, m: int = 1, dv: int = 1) -> bool:
    r"""Scaling the mask's rows does not change attention: query-side masks are no-ops.

    For nonzero :math:`s_i` (here positive symbols), :math:`D` the normaliser of
    :math:`M \odot A` and :math:`D_s = \mathrm{diag}(s) D` that of
    :math:`\mathrm{diag}(s)M \odot A = \mathrm{diag}(s)(M \odot A)`,

    .. math:: D_s^{-1}\,(\mathrm{diag}(s) M \odot A)\, V = D^{-1} (M \odot A) V.

    In particular a rank-1 mask :math:`u w^\top = \mathrm{diag}(u)\,\mathbf{1}\mathbf{1}^\top
    \mathrm{diag}(w)` acts only through :math:`w`: it gives the unmasked attention with key
    features :math:`\mathrm{diag}(w)\Phi_K` (also proved here; with :math:`w = \mathbf{1}`
    the mask is a no-op, and a 0/1 :math:`w` is key padding).

    Sizes: ``(L, S, m, dv)`` as given (default ``(2, 3, 1, 1)``), with
    :math:`A = \Phi_Q\Phi_K^\top` of symbolic features; the rank-1 case with ``S`` keys.

    Source: Choromanski et al., ICML 2022, Sec. 2-3 (masked attention
    :math:`D^{-1}(M \odot A)V`).
    """
    if not _scaling_invariant(L, S, m, dv, side="query"):
        return False
    phi_q, phi_k = _sym_matrix("Q", L, m), _sym_matrix("K", S, m)
    v = _sym_matrix("V", S, dv)
    u, w = _sym_vector("u", L, positive=True), _sym_vector("w", S)
    rank_one = _attention(u * w.T, phi_q * phi_k.T, v)
    reweighted_keys = _attention(sp.ones(L, S), phi_q * (sp.diag(*w) * phi_k).T, v)
    return _vanishes(rank_one - reweighted_keys)


# -- (g) low-rank masks ------------------------------------------------------------------------

def prove_low_rank_mask(L: int = 2, S: int = 2, m: int = 2, r: int = 2) -> bool:
    r"""A rank-``r`` mask folds into the features through the face-splitting product.

    For :math:`M = UW^\top` with :math:`U \in \mathbb{R}^{L \times r}`,
    :math:`W \in \mathbb{R}^{S \times r}`,

    .. math:: M \odot \Phi_Q \Phi_K^\top = (\Phi_Q \bullet U)(\Phi_K \bullet W)^\top,

    where :math:`(A \bullet B)_{i,:} = A_{i,:} \otimes B_{i,:}` is the row-wise Kronecker
    (face-splitting) product: masked linear attention with a rank-``r`` mask is unmasked
    linear attention with ``m r`` features.

    Sizes: ``(L, S, m, r)`` as given (default ``(2, 2, 2, 2)``), all entries symbols.

    Source: the mixed-product property of the face-splitting product (Slyusar, 1999)
    applied to masked attention as in Choromanski et al., ICML 2022, Sec. 2-3.
    """
    phi_q, phi_k = _sym_matrix("Q", L, m), _sym_matrix("K", S, m)
    u, w = _sym_matrix("U", L, r), _sym_matrix("W", S, r)
    lhs = (u * w.T).multiply_elementwise(phi_q * phi_k.T)
    rhs = _face_split(phi_q, u) * _face_split(phi_k, w).T
    return _vanishes(lhs - rhs)


ALL_PROOFS = [
    prove_alg1_identity,
    prove_causal_one_half_one_third,
    prove_circulant_embedding,
    prove_toeplitz_conventions,
    prove_kms_two_scan,
    prove_separable_grid_is_kronecker,
    prove_grid_torus_embedding,
    prove_row_scale_invariance,
    prove_low_rank_mask,
]


if __name__ == "__main__":
    for proof in ALL_PROOFS:
        print(f"{proof.__name__}: {proof()}")
