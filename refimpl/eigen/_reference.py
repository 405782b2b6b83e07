r"""Reference computations shared by ``refimpl verify`` and the tests of :mod:`refimpl.eigen`.

Not part of the public API: mpmath oracles (NNGP/NTK recursion, arc-cosine kernel), the
quadrature rules that make closed-form checks exact, error bounds of computed
eigenfunctions, the paper's polynomial kernel and its Legendre features, and exact
central differences of the NeuralEF objective.
"""

from __future__ import annotations

import numpy as np
import scipy.special as sc

from .. import tolerances
from .kernels import polynomial_kernel
from .neuralef import neuralef_loss


def poly_kernel(x, y=None):
    """The paper's polynomial kernel :math:`(xx' + 1.5)^4` (spec Sec. 1.6)."""
    return polynomial_kernel(x, y, degree=4, c=1.5)


def legendre_features(x):
    """Legendre polynomials of degree <= 4 of ``x[:, 0]``: their span holds every
    eigenfunction of :func:`poly_kernel` on an interval."""
    return np.polynomial.legendre.legvander(x[:, 0], 4)


def kappa0(theta):
    """Order-0 arc-cosine profile in the angle: :math:`1 - \\theta/\\pi`."""
    return 1 - theta / np.pi


def kappa1(theta):
    """Order-1 arc-cosine profile: :math:`(\\sin\\theta + (\\pi - \\theta)\\cos\\theta)/\\pi`."""
    return (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi


def ntk2(theta):
    """The 2-layer ReLU NTK profile :math:`t\\kappa_0(t) + \\kappa_1(t)`."""
    return np.cos(theta) * kappa0(theta) + kappa1(theta)


def arccos0_s2(ell_max: int) -> np.ndarray:
    """Exact Funk--Hecke eigenvalues of :math:`\\kappa_0` on :math:`S^2` (spec Sec. 3(d)):
    1/2, then :math:`\\frac12((\\ell-2)!!/(\\ell+1)!!)^2` for odd :math:`\\ell`, 0 for even."""
    odd = np.arange(1, ell_max + 1, 2)
    ratio = np.r_[1.0, (odd[1:] - 2) / (odd[1:] + 1)]
    exact = np.zeros(ell_max + 1)
    exact[0], exact[odd] = 0.5, 0.5 * (np.cumprod(ratio) / 2) ** 2
    return exact


def mp_recursion(x, y, depth, activation="relu", sigma_w2=2.0, sigma_b2=0.0, dps=40):
    """``(NNGP, NTK)`` of spec Sec. 3(f) in mpmath at ``dps`` digits (``acos`` of the exact
    cosine), as a ``(2, n, p)`` array."""
    import mpmath as mp

    with mp.workdps(dps):
        sw2, sb2 = mp.mpf(sigma_w2), mp.mpf(sigma_b2)
        out = np.empty((2, len(x), len(y)))
        for i, xi in enumerate(x):
            for j, yj in enumerate(y):
                u, v = [mp.mpf(float(t)) for t in xi], [mp.mpf(float(t)) for t in yj]
                d = len(u)
                a = sw2 * mp.fsum(t * t for t in u) / d + sb2
                b = sw2 * mp.fsum(t * t for t in v) / d + sb2
                c = sw2 * mp.fsum(p * q for p, q in zip(u, v)) / d + sb2
                theta = c
                for _ in range(depth):
                    cross, ea, eb, dot = _mp_layer(mp, a, b, c, activation)
                    a, b, c = sw2 * ea + sb2, sw2 * eb + sb2, sw2 * cross + sb2
                    theta = theta * sw2 * dot + c
                out[:, i, j] = float(c), float(theta)
        return out


def _mp_layer(mp, a, b, c, activation):
    """E[phi(u)phi(v)], E[phi(u)^2], E[phi(v)^2], E[phi'(u)phi'(v)] for cov [[a, c], [c, b]]."""
    if activation == "relu":
        r = mp.sqrt(a * b)
        cos = max(min(c / r, mp.mpf(1)), mp.mpf(-1)) if r > 0 else mp.mpf(0)
        ang = mp.acos(cos)
        cross = r / (2 * mp.pi) * (mp.sin(ang) + (mp.pi - ang) * cos)
        return cross, a / 2, b / 2, (mp.pi - ang) / (2 * mp.pi)
    ta, tb = 1 + 2 * a, 1 + 2 * b
    cross = 2 / mp.pi * mp.asin(2 * c / mp.sqrt(ta * tb))
    dot = 4 / mp.pi / mp.sqrt(ta * tb - 4 * c * c)
    return cross, 2 / mp.pi * mp.asin(2 * a / ta), 2 / mp.pi * mp.asin(2 * b / tb), dot


def mp_arccos(x, y, order: int, dps: int = 30) -> np.ndarray:
    """The arc-cosine kernel of Cho & Saul in mpmath (``acos`` of the exact cosine)."""
    import mpmath as mp

    out = np.empty((len(x), len(y)))
    with mp.workdps(dps):
        for i, a in enumerate(x):
            for j, b in enumerate(y):
                u, v = [mp.mpf(float(t)) for t in a], [mp.mpf(float(t)) for t in b]
                nu, nv = mp.sqrt(mp.fsum(t * t for t in u)), mp.sqrt(mp.fsum(t * t for t in v))
                if nu == 0 or nv == 0:
                    th = mp.pi / 2
                else:
                    cos = mp.fsum(p * q for p, q in zip(u, v)) / (nu * nv)
                    th = mp.acos(max(min(cos, 1), -1))
                s, co, rest = mp.sin(th), mp.cos(th), mp.pi - th
                J = [rest, s + rest * co, 3 * s * co + rest * (1 + 2 * co * co)][order]
                out[i, j] = float((nu * nv) ** order * J / mp.pi)
    return out


def exact_rbf_rule(c: float, sigma: float, n: int):
    """Nodes, weights and Hermite nodes ``u`` of a rule that integrates
    :math:`q(x)e^{-2cx^2 + x^2/2\\sigma^2}p(x)` exactly for polynomials :math:`q` of degree
    :math:`< 2n`: products of two GPML eigenfunctions times the Gaussian density."""
    u, wu = sc.roots_hermite(n)
    x = u / np.sqrt(2 * c)
    log_p = -x * x / (2 * sigma**2) - np.log(sigma * np.sqrt(2 * np.pi))
    return x, np.exp(np.log(wu) + u * u + log_p) / np.sqrt(2 * c), u


def hermite_error(F, ef, x):
    """POLICY ``hermite_recurrence`` bound of the values ``F = ef(x)`` of
    :func:`~refimpl.eigen.rbf_gaussian_eigen` (1-D)."""
    a, c = ef.info["a"], ef.info["c"]
    envelope = np.maximum.accumulate(np.abs(F), axis=1)
    return tolerances.hermite_bound(ef.info["multi_indices"][:, 0], envelope,
                                    ((c - a) * x * x)[:, None])


def loss_differences(psi, K, weights=None, h=0.125):
    """Central differences of :math:`\\ell_j` in every entry :math:`\\Psi_{bj}` and their
    rounding bound; exact up to rounding for dyadic ``psi`` and ``h`` (quadratic in column j)."""
    B, k = psi.shape
    fd, bound = np.empty((B, k)), np.empty((B, k))
    for b in range(B):
        for j in range(k):
            values, errors = [], []
            for sign in (1.0, -1.0):
                moved = psi.copy()
                moved[b, j] += sign * h
                values.append(neuralef_loss(moved, K, weights=weights).objective[j])
                errors.append(tolerances.neuralef_loss_bounds(moved, K, weights)[0][j])
            fd[b, j] = (values[0] - values[1]) / (2 * h)
            bound[b, j] = (errors[0] + errors[1]) / (2 * h)
    return fd, bound
