r"""Exact sympy proofs for random features and attention as importance sampling.

Every ``prove_*`` function builds both sides of an identity from symbols and returns
``True`` only if sympy reduces their difference to zero (:func:`_vanishes`). Gaussian
expectations are not taken from a table: sympy integrates the moment generating function
of N(0, 1) over the real line once (:func:`_gaussian_mgf`), and :func:`_expect` applies it
to each exponential term (coordinates are independent). The proofs are for fixed small
sizes (stated in each docstring).

Notation (spec ``ra_rfa_lara.md`` Sec. 0): :math:`\xi(x, \omega) = e^{\omega^\top x -
\|x\|^2/2}`, :math:`\mathrm{SM}(x, y) = e^{x^\top y}`, :math:`a = \|x - y\|^2`,
:math:`b = \|x + y\|^2`, :math:`\Lambda = e^{-(\|x\|^2 + \|y\|^2)/2}`.

Sources: K. Choromanski et al., "Rethinking attention with Performers", ICLR 2021
(Lemma 1, Lemma 2); L. Zheng, C. Wang, L. Kong, "Linear complexity randomized
self-attention mechanism", ICML 2022 (the RA identity; its section numbers were not
available); A. Rahimi and B. Recht, NeurIPS 2007 (random Fourier features); H. Peng et al.,
"Random feature attention", ICLR 2021 (gated RFA).
"""

from __future__ import annotations

import functools

import sympy as sp

__all__ = [
    "ALL_PROOFS",
    "prove_gated_rfa_closed_form",
    "prove_gaussian_tilting",
    "prove_hyperbolic_mse",
    "prove_lara_zero_means_is_rfa",
    "prove_lemma1_positive_features",
    "prove_mis_weights_sum_to_one",
    "prove_mixture_identity",
    "prove_positive_mse",
    "prove_ra_expectation",
    "prove_rff_variance",
    "prove_trig_mse",
]

OMEGA = sp.symbols("omega_0:2", real=True)


# -- helpers ------------------------------------------------------------------------------------

def _vanishes(expr) -> bool:
    """Whether sympy reduces ``expr`` (a scalar or matrix) exactly to zero."""
    entries = expr if isinstance(expr, sp.MatrixBase) else [expr]
    for entry in entries:
        reduced = sp.powsimp(sp.expand(entry), combine="exp")
        if reduced != 0 and sp.simplify(reduced) != 0:
            return False
    return True


def _vec(name: str, d: int):
    return sp.Matrix(sp.symbols(f"{name}_0:{d}", real=True))


def _xi(x, omega):
    """xi(x, omega) = exp(omega . x - |x|^2 / 2)."""
    return sp.exp((omega.T * x)[0] - (x.T * x)[0] / 2)


def _gauss(omega, mean):
    """The density of N(mean, I) at omega."""
    d = omega.rows
    diff = omega - mean
    return sp.exp(-(diff.T * diff)[0] / 2) / (2 * sp.pi) ** sp.Rational(d, 2)


@functools.cache
def _gaussian_mgf():
    """``(t, M(t))``: the moment generating function of N(0, 1), by sympy's integrate.

    Also checks that its continuation ``M(i t)`` is the characteristic function
    ``E cos(t w)`` integrated separately, which licenses imaginary ``t`` below.
    """
    t, w = sp.Symbol("t", real=True), sp.Symbol("w", real=True)
    density = sp.exp(-(w**2) / 2) / sp.sqrt(2 * sp.pi)
    mgf = sp.simplify(sp.integrate(sp.exp(t * w) * density, (w, -sp.oo, sp.oo), conds="none"))
    cf = sp.simplify(sp.integrate(sp.cos(t * w) * density, (w, -sp.oo, sp.oo), conds="none"))
    if not _vanishes(mgf.subs(t, sp.I * t) - cf):  # pragma: no cover - sympy regression
        raise AssertionError(f"MGF {mgf} and characteristic function {cf} disagree")
    return t, mgf


def _expect(expr, d: int = 2):
    """E over omega ~ N(0, I_d): each term c e^{E0 + t . omega} becomes c e^{E0} prod M(t_i).

    ``expr`` is first written with exponentials only (cos, sinh, ... rewritten), so every
    term is a coefficient times the exponential of a linear function of omega; the
    independence of the coordinates and :func:`_gaussian_mgf` do the rest.
    """
    t, mgf = _gaussian_mgf()
    omega = OMEGA[:d]
    expanded = sp.expand(sp.powsimp(sp.expand(expr.rewrite(sp.exp)), combine="exp"))
    total = sp.Integer(0)
    for term in sp.Add.make_args(expanded):
        coeff, rest = term.as_independent(*omega, as_Add=False)
        rest = sp.powsimp(rest, combine="exp")
        if rest == 1:
            total += coeff
            continue
        if not isinstance(rest, sp.exp):
            raise ValueError(f"not an exponential of omega: {rest}")
        exponent = sp.expand(rest.args[0])
        slopes = [sp.diff(exponent, w) for w in omega]
        if any(s.has(*omega) for s in slopes):
            raise ValueError(f"exponent not linear in omega: {exponent}")
        base = exponent.subs({w: 0 for w in omega})
        total += coeff * sp.exp(base) * sp.prod([mgf.subs(t, s) for s in slopes])
    return total


def _omega(d: int):
    return sp.Matrix(OMEGA[:d])


# -- (a) the tilting identity and the RA mixture --------------------------------------------------

def prove_gaussian_tilting(d: int = 3) -> bool:
    r"""The Gaussian tilting identity (G) and the product rule of :math:`\xi`.

    .. math:: \mathcal N(\omega; \mu, I) = \mathcal N(\omega; 0, I)\, \xi(\mu, \omega),
              \qquad \xi(x, \omega)\,\xi(y, \omega) = e^{x^\top y}\, \xi(x + y, \omega).

    Sizes: dimension ``d`` (default 3), every coordinate a real symbol.
    Source: spec Sec. 0 (derived); underlies Performer Lemma 1 and the RA identity.
    """
    omega = sp.Matrix(sp.symbols(f"w_0:{d}", real=True))
    mu, x, y = _vec("mu", d), _vec("x", d), _vec("y", d)
    tilt = _gauss(omega, mu) - _gauss(omega, sp.zeros(d, 1)) * _xi(mu, omega)
    product = _xi(x, omega) * _xi(y, omega) - sp.exp((x.T * y)[0]) * _xi(x + y, omega)
    return _vanishes(tilt) and _vanishes(product)


def _mixture_parts(S: int, d: int):
    omega = sp.Matrix(sp.symbols(f"w_0:{d}", real=True))
    q = _vec("q", d)
    keys = [_vec(f"k{m}", d) for m in range(S)]
    values = sp.symbols(f"v_0:{S}", real=True)
    Z = sum(sp.exp((q.T * k)[0]) for k in keys)
    pi = [sp.exp((q.T * k)[0]) / Z for k in keys]
    return omega, q, keys, values, Z, pi


def prove_mixture_identity(S: int = 2, d: int = 2) -> bool:
    r"""The RA mixture density and its product with the target, pointwise.

    With :math:`\pi_m = e^{q^\top k_m} / Z`, :math:`Z = \sum_m e^{q^\top k_m}`,

    .. math:: \sum_m \pi_m \mathcal N(\omega; q + k_m, I)
              = \frac{\mathcal N(\omega; 0, I)\, \xi(q, \omega) \sum_m \xi(k_m, \omega)}{Z},
              \qquad p(\omega) f(\omega) = \sum_m \pi_m \mathcal N(\omega; q + k_m, I)\, v_m,

    where :math:`f(\omega) = \sum_m \xi(k_m, \omega) v_m / \sum_m \xi(k_m, \omega)` does
    not involve ``q``. Sizes: ``S`` keys (default 2) in dimension ``d`` (default 2).
    Source: Zheng et al. (2022), the RA construction (spec Sec. 1, step 1-2).
    """
    omega, q, keys, values, Z, pi = _mixture_parts(S, d)
    zero = sp.zeros(d, 1)
    mixture = sum(p * _gauss(omega, q + k) for p, k in zip(pi, keys))
    tilted = _gauss(omega, zero) * _xi(q, omega) * sum(_xi(k, omega) for k in keys) / Z
    target = (sum(_xi(k, omega) * v for k, v in zip(keys, values))
              / sum(_xi(k, omega) for k in keys))
    weighted = sum(p * _gauss(omega, q + k) * v for p, k, v in zip(pi, keys, values))
    return _vanishes(mixture - tilted) and _vanishes(tilted * target - weighted)


def prove_ra_expectation(S: int = 2) -> bool:
    r"""Softmax attention is the expectation of the RA target under the mixture (d = 2).

    .. math:: \int \frac{\mathcal N(\omega; 0, I)\, \xi(q, \omega) \sum_m \xi(k_m, \omega)
              v_m}{Z}\, d\omega = \sum_m \pi_m v_m,

    i.e. :math:`\mathbb E_{p}[f] = \mathrm{Attn}`, with every Gaussian integral done by
    sympy. Sizes: ``S`` keys (default 2), ``d = 2``.
    Source: Zheng et al. (2022), the RA identity (spec Sec. 1, step 3).
    """
    _, q, keys, values, Z, pi = _mixture_parts(S, 2)
    omega = _omega(2)
    integrand = sum(_xi(q, omega) * _xi(k, omega) * v for k, v in zip(keys, values)) / Z
    return _vanishes(_expect(integrand) - sum(p * v for p, v in zip(pi, values)))


# -- (b) Performer Lemma 1 and Lemma 2, random Fourier features ------------------------------------

def _xy(d: int = 2):
    x, y = _vec("x", d), _vec("y", d)
    sq = (x.T * x)[0] + (y.T * y)[0]
    return x, y, (x.T * y)[0], ((x - y).T * (x - y))[0], ((x + y).T * (x + y))[0], sq


def prove_lemma1_positive_features() -> bool:
    r"""Performer Lemma 1: positive and hyperbolic features are unbiased (d = 2).

    .. math:: \mathbb E_{\omega \sim \mathcal N(0, I)}[\xi(x, \omega)\xi(y, \omega)]
              = \Lambda\, \mathbb E \cosh(\omega^\top (x + y)) = e^{x^\top y}.

    Sizes: ``d = 2``, symbols ``x``, ``y``. Source: Choromanski et al. (2021), Lemma 1.
    """
    x, y, xy, _, _, sq = _xy()
    omega = _omega(2)
    positive = _expect(_xi(x, omega) * _xi(y, omega))
    u = (omega.T * (x + y))[0]
    hyperbolic = _expect(sp.exp(-sq / 2) * (sp.exp(u) + sp.exp(-u)) / 2)
    return _vanishes(positive - sp.exp(xy)) and _vanishes(hyperbolic - sp.exp(xy))


def _mse(one_draw, mean, m):
    """(E Y^2 - mean^2) / m after checking E Y = mean: the MSE of the m-draw average."""
    if not _vanishes(_expect(one_draw) - mean):
        return None
    return (_expect(one_draw**2) - mean**2) / m


def prove_positive_mse(positive_sign: bool = True) -> bool:
    r"""Performer Lemma 2, positive features (d = 2, ``m`` draws).

    .. math:: \mathrm{MSE}^+_m = \frac1m e^{\|x+y\|^2} \mathrm{SM}^2(x, y)
              \big(1 - e^{-\|x+y\|^2}\big).

    ``positive_sign=False`` checks the summary's typo (:math:`\|x - y\|` for
    :math:`\|x + y\|`), which must fail: a negative control.
    Sizes: ``d = 2``, ``m`` a positive symbol. Source: Choromanski et al. (2021), Lemma 2.
    """
    x, y, xy, a, b, _ = _xy()
    m = sp.Symbol("m", positive=True)
    mse = _mse(_xi(x, _omega(2)) * _xi(y, _omega(2)), sp.exp(xy), m)
    c = b if positive_sign else a
    return mse is not None and _vanishes(mse - sp.exp(c) * sp.exp(2 * xy) * (1 - sp.exp(-c)) / m)


def prove_trig_mse() -> bool:
    r"""Performer Lemma 2, trigonometric features (d = 2, ``m`` draws).

    .. math:: \mathrm{MSE}^{\mathrm{trig}}_m = \frac{1}{2m} e^{\|x+y\|^2}
              \mathrm{SM}^{-2}(x, y) \big(1 - e^{-\|x-y\|^2}\big)^2,

    for one draw :math:`e^{(\|x\|^2 + \|y\|^2)/2} \cos(\omega^\top (x - y))` (the pairing
    of :math:`\sin` and :math:`\cos` features). Sizes: ``d = 2``.
    Source: Choromanski et al. (2021), Lemma 2.
    """
    x, y, xy, a, b, sq = _xy()
    m = sp.Symbol("m", positive=True)
    theta = (_omega(2).T * (x - y))[0]
    one_draw = sp.exp(sq / 2) * sp.expand_trig(sp.cos(theta))
    mse = _mse(one_draw, sp.exp(xy), m)
    closed = sp.exp(b) * sp.exp(-2 * xy) * (1 - sp.exp(-a)) ** 2 / (2 * m)
    return mse is not None and _vanishes(mse - closed)


def prove_hyperbolic_mse() -> bool:
    r"""Performer Lemma 2, hyperbolic features (d = 2, ``m`` draws, ``2m`` features).

    .. math:: \mathrm{MSE}^{\mathrm{hyp}+}_m = \tfrac12 \big(1 - e^{-\|x+y\|^2}\big)\,
              \mathrm{MSE}^+_m .

    Sizes: ``d = 2``. Source: Choromanski et al. (2021), Lemma 2.
    """
    x, y, xy, _, b, sq = _xy()
    m = sp.Symbol("m", positive=True)
    u = (_omega(2).T * (x + y))[0]
    mse = _mse(sp.exp(-sq / 2) * (sp.exp(u) + sp.exp(-u)) / 2, sp.exp(xy), m)
    positive = sp.exp(b) * sp.exp(2 * xy) * (1 - sp.exp(-b)) / m
    return mse is not None and _vanishes(mse - (1 - sp.exp(-b)) * positive / 2)


def prove_rff_variance() -> bool:
    r"""Random Fourier features: unbiased for the Gaussian kernel, with variance (d = 2)

    .. math:: \mathbb E \cos(\omega^\top (x - y)) = e^{-a/2}, \qquad
              \mathrm{Var} \cos(\omega^\top (x - y)) = \tfrac12 \big(1 - e^{-a}\big)^2 .

    Sizes: ``d = 2``. Source: Rahimi and Recht (2007); spec Sec. 6.
    """
    x, y, _, a, _, _ = _xy()
    theta = (_omega(2).T * (x - y))[0]
    mse = _mse(sp.expand_trig(sp.cos(theta)), sp.exp(-a / 2), 1)
    return mse is not None and _vanishes(mse - (1 - sp.exp(-a)) ** 2 / 2)


# -- (c) LARA's MIS weights and its reduction to RFA -----------------------------------------------

def prove_mis_weights_sum_to_one(C: int = 3, L: int = 2) -> bool:
    r"""LARA's weights sum to one over the proposals at every point, for every lambda.

    .. math:: \sum_c \Big[\frac{\xi(\mu_c, \omega)}{\sum_{c'} \xi(\mu_{c'}, \omega)}
              + \lambda\Big(r_{nc} - \frac1C \sum_{c'} r_{nc'}\Big)\Big] = 1

    for any positive :math:`\xi` values and any :math:`r_{nc}` (the query softmax).
    Sizes: ``C`` proposals (default 3), ``L`` queries (default 2).
    Source: the official code's ``mis-opt`` weights; Veach's MIS condition.
    """
    lam = sp.Symbol("lambda", real=True)
    xi = sp.symbols(f"xi_0:{C}", positive=True)
    r = sp.Matrix(L, C, lambda n, c: sp.Symbol(f"r_{n}_{c}", positive=True))
    ok = True
    for n in range(L):
        mean = sum(r[n, c] for c in range(C)) / C
        total = sum(xi[c] / sum(xi) + lam * (r[n, c] - mean) for c in range(C))
        ok = ok and _vanishes(total - 1)
    return ok


def prove_lara_zero_means_is_rfa(C: int = 3, S: int = 2) -> bool:
    r"""LARA with all :math:`\mu_c = 0` and :math:`\lambda = 0` is RFA on the same samples.

    Then :math:`\alpha = 1/C`, :math:`\xi(0, \omega) = 1` and
    :math:`\rho_c = \xi(q, \omega_c) \sum_m \xi(k_m, \omega_c)`, so

    .. math:: \frac{\sum_c \alpha \rho_c f(\omega_c)}{\sum_c \alpha \rho_c}
              = \frac{\sum_c \xi(q, \omega_c) \sum_m \xi(k_m, \omega_c) v_m}
                {\sum_c \xi(q, \omega_c) \sum_m \xi(k_m, \omega_c)} .

    Sizes: ``C`` samples (default 3), ``S`` keys (default 2), positive symbols for every
    :math:`\xi` value. Source: spec Sec. 4, reduction 2.
    """
    xq = sp.symbols(f"a_0:{C}", positive=True)
    xk = sp.Matrix(C, S, lambda c, m: sp.Symbol(f"b_{c}_{m}", positive=True))
    v = sp.symbols(f"v_0:{S}", real=True)
    f = [sum(xk[c, m] * v[m] for m in range(S)) / sum(xk[c, :]) for c in range(C)]
    rho = [xq[c] * sum(xk[c, :]) / 1 for c in range(C)]
    alpha = sp.Rational(1, C)
    lara = sum(alpha * rho[c] * f[c] for c in range(C)) / sum(alpha * r for r in rho)
    rfa = (sum(xq[c] * xk[c, m] * v[m] for c in range(C) for m in range(S))
           / sum(xq[c] * xk[c, m] for c in range(C) for m in range(S)))
    return _vanishes(lara - rfa)


# -- (d) gated RFA --------------------------------------------------------------------------------

def prove_gated_rfa_closed_form(L: int = 4) -> bool:
    r"""Gated RFA's recurrence unrolls to explicit weights.

    With :math:`S_t = g_t S_{t-1} + (1 - g_t) x_t`, :math:`S_0 = 0`,

    .. math:: S_t = \sum_{i \le t} w_{ti} x_i, \qquad
              w_{ti} = (1 - g_i) \prod_{j=i+1}^t g_j, \qquad
              \sum_{i \le t} w_{ti} = 1 - \prod_{j \le t} g_j .

    Sizes: ``L`` steps (default 4), symbolic gates and inputs.
    Source: Peng et al. (2021), gated RFA; spec Sec. 7 (derived).
    """
    g = sp.symbols(f"g_1:{L + 1}", real=True)
    x = sp.symbols(f"x_1:{L + 1}", real=True)
    state = sp.Integer(0)
    for t in range(L):
        state = g[t] * state + (1 - g[t]) * x[t]
        weights = [(1 - g[i]) * sp.prod(g[i + 1:t + 1]) for i in range(t + 1)]
        if not _vanishes(state - sum(w * xi for w, xi in zip(weights, x))):
            return False
        if not _vanishes(sum(weights) - (1 - sp.prod(g[:t + 1]))):
            return False
    return True


ALL_PROOFS = [
    prove_gaussian_tilting,
    prove_mixture_identity,
    prove_ra_expectation,
    prove_lemma1_positive_features,
    prove_positive_mse,
    prove_trig_mse,
    prove_hyperbolic_mse,
    prove_rff_variance,
    prove_mis_weights_sum_to_one,
    prove_lara_zero_means_is_rfa,
    prove_gated_rfa_closed_form,
]
