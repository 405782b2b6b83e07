r"""Exact sympy proofs for kernel eigenfunctions and NeuralEF (``refimpl.eigen``).

Every ``prove_*`` function builds both sides of an identity from symbols and returns
``True`` only if sympy reduces the difference to exactly zero (:func:`_vanishes`). Where
a statement is for all integers (the Brownian spectra, the trace sums) sympy proves it
with an integer symbol; the matrix statements are finite-size certificates at the sizes
in their docstrings.

Sources: spec ``neuralef.md`` Sec. 1.2-1.4 (NeuralEF; Deng, Shi & Zhu, ICML 2022) and
Sec. 3 (closed forms); GPML Sec. 4.3.1 (the Gaussian kernel).
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "ALL_PROOFS",
    "prove_batch_norm_jacobian",
    "prove_brownian_bridge_spectrum",
    "prove_brownian_discrete_spectrum",
    "prove_brownian_spectrum",
    "prove_mercer_trace_identities",
    "prove_neuralef_gradient",
    "prove_neuralef_sequential_optimum",
    "prove_rbf_spectrum_sums",
]

x, y = sp.symbols("x y", real=True)
k, j = sp.symbols("k j", integer=True, positive=True)


def _vanishes(diff) -> bool:
    """Whether sympy reduces a scalar or every entry of a matrix exactly to zero."""
    entries = diff if isinstance(diff, sp.MatrixBase) else [diff]
    for entry in entries:
        reduced = sp.expand(entry)
        if reduced != 0 and sp.simplify(reduced) != 0:
            return False
    return True


def _eigen_equation_holds(kernel_below, kernel_above, psi, mu) -> bool:
    """int_0^1 k(x, y) psi(y) dy = mu psi(x), the kernel given on y < x and on y > x."""
    integral = (sp.integrate(kernel_below * psi.subs(x, y), (y, 0, x))
                + sp.integrate(kernel_above * psi.subs(x, y), (y, x, 1)))
    return _vanishes(sp.simplify(integral - mu * psi))


def _orthonormal(psi_of, count: int) -> bool:
    ok = True
    for a in range(1, count + 1):
        for b in range(a, count + 1):
            value = sp.integrate(psi_of(a) * psi_of(b), (x, 0, 1))
            ok &= _vanishes(value - (1 if a == b else 0))
    return ok


def prove_brownian_spectrum() -> bool:
    r"""min(x, y) on U[0, 1]: :math:`\int_0^1 \min(x,y)\psi_k(y)dy = \mu_k\psi_k(x)` with
    :math:`\psi_k = \sqrt2\sin((k-\frac12)\pi x)`, :math:`\mu_k = ((k-\frac12)\pi)^{-2}`, for
    every integer :math:`k \ge 1` (symbolic k); orthonormality for k <= 3."""
    freq = (k - sp.Rational(1, 2)) * sp.pi
    psi = sp.sqrt(2) * sp.sin(freq * x)
    equation = _eigen_equation_holds(y, x, psi, 1 / freq**2)
    return equation and _orthonormal(
        lambda m: sp.sqrt(2) * sp.sin((m - sp.Rational(1, 2)) * sp.pi * x), 3)


def prove_brownian_bridge_spectrum() -> bool:
    r"""min(x, y) - xy on U[0, 1]: eigenpairs :math:`((k\pi)^{-2}, \sqrt2\sin(k\pi x))` for
    every integer :math:`k \ge 1` (symbolic k); orthonormality for k <= 3."""
    freq = k * sp.pi
    psi = sp.sqrt(2) * sp.sin(freq * x)
    equation = _eigen_equation_holds(y - x * y, x - x * y, psi, 1 / freq**2)
    return equation and _orthonormal(lambda m: sp.sqrt(2) * sp.sin(m * sp.pi * x), 3)


def prove_brownian_discrete_spectrum() -> bool:
    r"""The Nyström matrix of min(x, y) on :math:`x_i = i/n`: :math:`M = [\min(i, j)]` has
    :math:`M^{-1} = \mathrm{tridiag}(-1, 2, -1)` with last diagonal entry 1, and
    :math:`v_i = \sin(i\theta)`, :math:`\theta = (2k-1)\pi/(2n+1)` satisfies
    :math:`M^{-1}v = 4\sin^2(\theta/2)v`: interior rows by
    :math:`-\sin((i-1)\theta) + 2\sin(i\theta) - \sin((i+1)\theta) = (2 - 2\cos\theta)
    \sin(i\theta)`, the last row because :math:`\sin((n+1)\theta) - \sin(n\theta) =
    2\cos((2n+1)\theta/2)\sin(\theta/2) = 2\cos((2k-1)\pi/2)\sin(\theta/2) = 0` (symbolic
    n, k). The inverse itself is checked at n = 5."""
    n, i = sp.symbols("n i", integer=True, positive=True)
    theta = sp.Symbol("theta", real=True)
    interior = (-sp.sin((i - 1) * theta) + 2 * sp.sin(i * theta) - sp.sin((i + 1) * theta)
                - 4 * sp.sin(theta / 2) ** 2 * sp.sin(i * theta))
    interior_ok = _vanishes(sp.expand_trig(sp.expand(interior)).rewrite(sp.exp))
    last = sp.sin((n + 1) * theta) - sp.sin(n * theta) - 2 * sp.cos(
        (2 * n + 1) * theta / 2) * sp.sin(theta / 2)
    last_ok = _vanishes(sp.expand(last.rewrite(sp.exp)))
    zero_ok = sp.cos((2 * k - 1) * sp.pi / 2) == 0
    size = 5
    M = sp.Matrix(size, size, lambda a, b: min(a, b) + 1)
    T = sp.Matrix(size, size, lambda a, b: 2 if a == b else (-1 if abs(a - b) == 1 else 0))
    T[size - 1, size - 1] = 1
    return interior_ok and last_ok and bool(zero_ok) and _vanishes(M * T - sp.eye(size))


def prove_mercer_trace_identities() -> bool:
    r"""Trace and Hilbert--Schmidt identities :math:`\sum\mu_k = \int k(x,x)`,
    :math:`\sum\mu_k^2 = \iint k^2` for Brownian motion (1/2, 1/6) and the bridge (1/6,
    1/90), with the infinite sums done by sympy."""
    brownian = [1 / ((k - sp.Rational(1, 2)) * sp.pi) ** p for p in (2, 4)]
    bridge = [1 / (k * sp.pi) ** p for p in (2, 4)]
    sums = [sp.summation(term, (k, 1, sp.oo)) for term in brownian + bridge]
    traces = [sp.integrate(x, (x, 0, 1)), sp.integrate(x - x * x, (x, 0, 1))]
    hs = [sp.integrate(sp.integrate(y**2, (y, 0, x)) + sp.integrate(x**2, (y, x, 1)),
                       (x, 0, 1)),
          sp.integrate(sp.integrate((y - x * y) ** 2, (y, 0, x))
                       + sp.integrate((x - x * y) ** 2, (y, x, 1)), (x, 0, 1))]
    expected = [traces[0], hs[0], traces[1], hs[1]]
    return all(_vanishes(s - e) for s, e in zip(sums, expected)) and expected == [
        sp.Rational(1, 2), sp.Rational(1, 6), sp.Rational(1, 6), sp.Rational(1, 90)]


def prove_rbf_spectrum_sums() -> bool:
    r"""GPML 4.3.1 with :math:`c = \sqrt{a^2 + 2ab}`, :math:`A = a + b + c`, :math:`B = b/A`:
    :math:`(a + c)^2 = 2aA` (so :math:`\sqrt{2a/A} = 2a/(a + c)`, refimpl's form),
    :math:`\sum_k \sqrt{2a/A}B^k = 1 = k(x, x)` and :math:`\sum_k (2a/A)B^{2k} =
    (1 + 4\sigma^2/\ell^2)^{-1/2}` with :math:`a = 1/4\sigma^2`, :math:`b = 1/2\ell^2`."""
    sigma, ell = sp.symbols("sigma ell", positive=True)
    a, b = 1 / (4 * sigma**2), 1 / (2 * ell**2)
    c = sp.sqrt(a**2 + 2 * a * b)
    A = a + b + c
    B = b / A
    root = 2 * a / (a + c)
    first = _vanishes((a + c) ** 2 - 2 * a * A)
    trace = _vanishes(sp.radsimp(root / (1 - B) - 1))
    hs = sp.simplify(root**2 / (1 - B**2) - 1 / sp.sqrt(1 + 4 * sigma**2 / ell**2))
    return first and trace and _vanishes(hs)


def _objective(R: sp.Matrix, col: int):
    """l_j = R_jj - sum_{i<j} R_ij^2 / R_ii (spec Sec. 1.2)."""
    return R[col, col] - sum(R[i, col] ** 2 / R[i, i] for i in range(col))


def prove_neuralef_sequential_optimum(n: int = 4) -> bool:
    r"""spec Sec. 1.2: with :math:`\hat\psi_i = \psi_i` for :math:`i < j` and
    :math:`\hat\psi_j = \sum_l c_l\psi_l`, :math:`R = C^\top\mathrm{diag}(\mu)C` gives
    :math:`\ell_j = \sum_{l \ge j}\mu_lc_l^2`, and
    :math:`\mu_j\sum_l c_l^2 - \ell_j = \sum_{l<j}\mu_jc_l^2 + \sum_{l>j}(\mu_j - \mu_l)c_l^2
    \ge 0` for :math:`\mu_1 \ge \dots \ge \mu_n`: the maximiser on the sphere is
    :math:`\psi_j` (equality iff :math:`c = \pm e_j` when the eigenvalues are distinct).
    Every j <= n = 4."""
    mu = sp.symbols(f"mu1:{n + 1}", positive=True)
    c = sp.symbols(f"c1:{n + 1}", real=True)
    ok = True
    for col in range(n):
        C = sp.zeros(n, col + 1)
        for i in range(col):
            C[i, i] = 1
        for l_ in range(n):
            C[l_, col] = c[l_]
        R = C.T * sp.diag(*mu) * C
        value = _objective(R, col)
        ok &= _vanishes(value - sum(mu[l_] * c[l_] ** 2 for l_ in range(col, n)))
        gap = mu[col] * sum(ci**2 for ci in c) - value
        split = (sum(mu[col] * c[l_] ** 2 for l_ in range(col))
                 + sum((mu[col] - mu[l_]) * c[l_] ** 2 for l_ in range(col + 1, n)))
        ok &= _vanishes(gap - split)
    return ok


def prove_neuralef_gradient(B: int = 3, kk: int = 3) -> bool:
    r"""spec Sec. 1.3: :math:`G = 2\,WKW\Psi(I - U)` is the derivative of
    :math:`\ell_j(\Psi)` in column j, the other columns fixed, for a symbolic symmetric K,
    symbolic weights and symbolic :math:`\Psi` (B = 3, k = 3)."""
    psi = sp.Matrix(B, kk, lambda a, b: sp.Symbol(f"p_{a}_{b}", real=True))
    K = sp.Matrix(B, B, lambda a, b: sp.Symbol(f"K_{min(a, b)}_{max(a, b)}", real=True))
    w = sp.diag(*sp.symbols(f"w0:{B}", positive=True))
    R = psi.T * w * K * w * psi
    U = sp.Matrix(kk, kk, lambda a, b: R[a, b] / R[a, a] if a < b else 0)
    G = 2 * w * K * w * psi * (sp.eye(kk) - U)
    ok = True
    for col in range(kk):
        value = _objective(R, col)
        for row in range(B):
            ok &= _vanishes(sp.together(sp.diff(value, psi[row, col]) - G[row, col]))
    return ok


def prove_batch_norm_jacobian(B: int = 3) -> bool:
    r"""spec Sec. 1.4: :math:`\hat\psi = h/\|h\|_w`, :math:`\|h\|_w^2 = \sum_b w_bh_b^2`, has
    Jacobian :math:`(I - \hat\psi\hat\psi^\top W)/\|h\|_w` (B = 3, symbolic weights)."""
    h = sp.Matrix(sp.symbols(f"h0:{B}", real=True))
    w = sp.symbols(f"w0:{B}", positive=True)
    norm = sp.sqrt(sum(wi * hi**2 for wi, hi in zip(w, h)))
    psi = h / norm
    jac = psi.jacobian(h)
    formula = (sp.eye(B) - psi * psi.T * sp.diag(*w)) / norm
    return _vanishes(sp.simplify(jac - formula))


ALL_PROOFS = [
    prove_brownian_spectrum,
    prove_brownian_bridge_spectrum,
    prove_brownian_discrete_spectrum,
    prove_mercer_trace_identities,
    prove_rbf_spectrum_sums,
    prove_neuralef_sequential_optimum,
    prove_neuralef_gradient,
    prove_batch_norm_jacobian,
]


if __name__ == "__main__":
    for proof in ALL_PROOFS:
        print(f"{proof.__name__}: {proof()}")
