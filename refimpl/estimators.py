r"""Softmax attention as importance sampling: RFA, Randomized Attention (RA) and LARA.

Zheng, Wang and Kong, "Linear complexity randomized self-attention mechanism" (ICML 2022)
write softmax attention as an expectation. With :math:`\xi(x, \omega) = e^{\omega^\top x -
\|x\|^2/2}` and the Gaussian tilting identity
:math:`\mathcal N(\omega; \mu, I) = \mathcal N(\omega; 0, I)\, \xi(\mu, \omega)`,

.. math:: \mathrm{Attn}_n = \mathbb E_{\omega \sim p_n}[f(\omega)], \qquad
          p_n = \sum_m \pi_{nm} \mathcal N(q_n + k_m, I), \qquad
          f(\omega) = \sum_m \mathrm{softmax}_m\big(\omega^\top k_m - \tfrac12\|k_m\|^2\big) v_m,

where :math:`\pi_{nm}` are the softmax attention weights. Then

* random-feature attention (RFA, Performer's positive features) is self-normalised
  importance sampling (SNIS) of this expectation with the proposal :math:`\mathcal N(0, I)`:
  biased for a finite number of samples, consistent;
* randomized attention (RA) samples :math:`p_n` exactly: unbiased, quadratic cost;
* LARA samples ``C`` Gaussian proposals at landmarks and combines them by multiple
  importance sampling (MIS) with query-specific weights: linear cost, self-normalised.

Every function takes raw ``q``, ``k`` and the ``scale`` of
:func:`refimpl.attention.softmax_attention` (default :math:`1/\sqrt d`), folded in once,
by ``_scaled``, as :math:`\sqrt{s}` on ``q`` and ``k``: all formulas above are in those
scaled coordinates (the paper's :math:`q \leftarrow d^{-1/4} q`). Samples ``omega``,
proposal means and landmarks are always in scaled coordinates. Everything that can
overflow is computed in log space with :func:`scipy.special.logsumexp` and
:func:`scipy.special.softmax`.

Source notes: only the abstract of the LARA paper could be read for this module, so its
section and equation numbers are not cited; the formulas follow ``spec/ra_rfa_lara.md``
and the official code (HKUNLP/efficient-attention: ``lara.py`` at 531ff51,
``randomized_attention.py`` at bfe2144, ``attn_utils.py``), which was re-read for this
work: the ``mis-opt`` weights (query softmax over the query axis, mean over proposals,
clamp at 1e-8), the 1-D segment landmarks, and RA's noise added to unscaled ``q + k``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp, softmax

from ._validate import (
    as_float_array,
    as_rng,
    batch_shape,
    check_trailing,
    positive_int,
    real_scalar,
)
from .attention import (
    _finite_result,
    _flag,
    _qkv,
    _zero_rows_error,
    kernel_attention,
    masked_linear_attention,
)
from .features import gaussian_omega
from .masks import CausalMask

__all__ = [
    "LaraTerms",
    "gated_rfa",
    "gated_rfa_closed_form",
    "lara_attention",
    "lara_estimate",
    "lara_landmarks",
    "lara_terms",
    "mis_weights",
    "ra_target",
    "randomized_attention",
    "rfa_attention",
    "rfa_estimate",
    "softmax_mixture",
]

_T = np.swapaxes  # (..., a, b) -> (..., b, a)


def _finite_outputs(func):
    """Evaluate with floating-point warnings off; refuse non-finite results by argument.

    Finite inputs whose products exceed the float64 range would otherwise give NaN or
    infinity (or a RuntimeWarning, an error in the test suite) instead of the documented
    ``ValueError``.
    """

    @functools.wraps(func)
    def guarded(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out = func(*args, **kwargs)
        for part in out if isinstance(out, tuple) else (out,):
            _finite_result(np.asarray(part), "the inputs (q, k, v, omega, mu)")
        return out

    return guarded


# -- the scale convention, in one place ---------------------------------------------------------

def _roots(scale, d: int) -> tuple[float, float]:
    """Factors (for q, for k) whose product is ``scale`` (default 1/sqrt(d)); k's is >= 0."""
    s = 1.0 / np.sqrt(d) if scale is None else real_scalar(scale, "scale")
    root = np.sqrt(abs(s))
    return (root if s >= 0 else -root), root


def _scaled(q, k, v, scale):
    """Validated ``q, k, v`` and the scaled ``q~ = sqrt(s) q``, ``k~ = sqrt(s) k``."""
    q, k, v, *_ = _qkv(q, k, v)
    rq, rk = _roots(scale, q.shape[-1])
    return rq * q, rk * k, v


def _scaled_qk(q, k, scale):
    """Validated, scaled ``q (..., L, d)`` and ``k (..., S, d)`` (no values)."""
    q = as_float_array(q, "q", min_ndim=2)
    k = as_float_array(k, "k", min_ndim=2)
    check_trailing(k, "k", (q.shape[-1],), what="(the last dimension of q)")
    batch_shape({"q": q.shape[:-2], "k": k.shape[:-2]})
    rq, rk = _roots(scale, q.shape[-1])
    return rq * q, rk * k


def _log_xi(x, omega):
    """log xi(x, omega) = omega . x - |x|^2 / 2: x (..., n, d), omega (..., J, d) -> (..., n, J)."""
    return x @ _T(omega, -1, -2) - 0.5 * np.sum(x * x, axis=-1)[..., None]


def _target(omega, kt, v):
    """f(omega) and log sum_m xi(k_m, omega) for omega (..., J, d): (..., J, dv), (..., J)."""
    log_k = _log_xi(kt, omega)  # (..., S, J)
    return _T(softmax(log_k, axis=-2), -1, -2) @ v, logsumexp(log_k, axis=-2)


# -- the RA identity --------------------------------------------------------------------------

@_finite_outputs
def softmax_mixture(q, k, *, scale=None):
    r"""The per-query Gaussian mixture whose expectation of :func:`ra_target` is attention.

    Parameters
    ----------
    q : array_like, shape (..., L, d)
    k : array_like, shape (..., S, d)
    scale : float, optional
        Logit scale of :func:`~refimpl.attention.softmax_attention`; default
        :math:`1/\sqrt d`.

    Returns
    -------
    pi : numpy.ndarray, shape (..., L, S)
        Mixture weights :math:`\pi_{nm} = \mathrm{softmax}_m(\tilde q_n^\top \tilde k_m)`.
    means : numpy.ndarray, shape (..., L, S, d)
        Component means :math:`\tilde q_n + \tilde k_m`, in scaled coordinates.

    Notes
    -----
    .. math:: p_n(\omega) = \sum_m \pi_{nm}\, \mathcal N(\omega; \tilde q_n + \tilde k_m, I)
              = \frac{\mathcal N(\omega; 0, I)\, \xi(\tilde q_n, \omega)
                \sum_m \xi(\tilde k_m, \omega)}{\sum_m e^{\tilde q_n^\top \tilde k_m}},
              \qquad \mathrm{Attn}_n = \mathbb E_{p_n}[f],

    by the tilting identity :math:`\xi(x, \omega)\xi(y, \omega) = e^{x^\top y}\xi(x + y,
    \omega)` (Zheng et al. 2022, the RA construction; spec Sec. 1). O(L S d).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.estimators import softmax_mixture
    >>> pi, means = softmax_mixture(np.zeros((1, 2)), np.eye(2))
    >>> pi, means.shape
    (array([[0.5, 0.5]]), (1, 2, 2))
    """
    qt, kt = _scaled_qk(q, k, scale)
    pi = softmax(qt @ _T(kt, -1, -2), axis=-1)
    return pi, qt[..., :, None, :] + kt[..., None, :, :]


@_finite_outputs
def ra_target(omega, k, v, *, scale=None):
    r"""The query-independent integrand :math:`f(\omega)` of the RA identity.

    Parameters
    ----------
    omega : array_like, shape (..., d)
        Points in scaled coordinates. With batched ``k`` of shape ``(B..., S, d)``,
        ``omega`` must be ``(..., n, d)`` with ``...`` broadcasting against ``B...``.
    k : array_like, shape (S, d) or (B..., S, d)
        Raw keys (scaled inside, as in :func:`softmax_mixture`).
    v : array_like, shape (..., S, dv)
    scale : float, optional

    Returns
    -------
    numpy.ndarray, shape (..., dv)

    Notes
    -----
    .. math:: f(\omega) = \frac{\sum_m \xi(\tilde k_m, \omega) v_m}{\sum_m \xi(\tilde k_m,
              \omega)} = \sum_m \mathrm{softmax}_m\big(\omega^\top \tilde k_m
              - \tfrac12 \|\tilde k_m\|^2\big) v_m,

    the posterior mean of ``v`` under the equal-weight mixture
    :math:`\sum_m \mathcal N(\omega; \tilde k_m, I)`; it lies in the convex hull of the
    values. The query feature :math:`\xi(\tilde q_n, \omega)` cancels, so one ``omega``
    serves every query (Zheng et al. 2022; the official code's ``kv_stats``). O(S d)
    per point.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.estimators import ra_target
    >>> k, v = np.array([[2.0], [-2.0]]), np.array([[1.0], [-1.0]])
    >>> ra_target(np.zeros(1), k, v, scale=1.0)
    array([0.])
    """
    k = as_float_array(k, "k", min_ndim=2)
    v = as_float_array(v, "v", min_ndim=2)
    omega = as_float_array(omega, "omega", min_ndim=2 if k.ndim > 2 else 1)
    check_trailing(omega, "omega", (k.shape[-1],), what="(the dimension of k)")
    if v.shape[-2] != k.shape[-2]:
        raise ValueError(f"v must have as many rows as k ({k.shape[-2]}, one value per key); "
                         f"got shape {v.shape}")
    kt = _roots(scale, k.shape[-1])[1] * k
    flat = omega[None, :] if omega.ndim == 1 else omega
    batch_shape({"omega": flat.shape[:-2], "k": k.shape[:-2], "v": v.shape[:-2]})
    out = _target(flat, kt, v)[0]
    return out[0] if omega.ndim == 1 else out


# -- RFA: self-normalised importance sampling with the proposal N(0, I) -----------------------

@_finite_outputs
def rfa_estimate(q, k, v, omega, *, scale=None, causal=False):
    r"""Positive random-feature attention on given projections ``omega`` (deterministic).

    Parameters
    ----------
    q : array_like, shape (..., L, d)
    k : array_like, shape (..., S, d)
    v : array_like, shape (..., S, dv)
    omega : array_like, shape (m, d)
        Samples of the proposal :math:`\mathcal N(0, I)` in scaled coordinates, shared
        by the batch.
    scale : float, optional
    causal : bool, default False
        Unidirectional attention (``L == S``): through
        :class:`~refimpl.masks.CausalMask` and
        :func:`~refimpl.attention.masked_linear_attention` (the prefix-sum core).

    Returns
    -------
    numpy.ndarray, shape (..., L, dv)

    Notes
    -----
    With :math:`\phi(x) = m^{-1/2} (\xi(x, \omega_s))_s`
    (:func:`~refimpl.features.positive_features`), RFA is :math:`D^{-1} \Phi_Q \Phi_K^\top V`
    (Choromanski et al. 2021, Eq. 4), which equals the SNIS estimate

    .. math:: \widehat{\mathrm{Attn}}_n = \sum_s \mathrm{softmax}_s\Big(\tilde q_n^\top
              \omega_s + \log \sum_m \xi(\tilde k_m, \omega_s)\Big) f(\omega_s),

    with weights :math:`\tilde p_n(\omega_s) / \mathcal N(\omega_s; 0, I)` (Zheng et al.
    2022, "RFA as SNIS"). The bidirectional path evaluates this log-space form:
    O((L + S) m d + (L + S) m dv). The causal path forms features shifted by a per-query
    and a global key maximum (both cancel in the ratio) and uses the masked core:
    O(L m dv).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.estimators import rfa_estimate
    >>> q = k = np.zeros((3, 2)); v = np.arange(3.0)[:, None]
    >>> rfa_estimate(q, k, v, np.ones((4, 2)), causal=True).ravel()
    array([0. , 0.5, 1. ])
    """
    qt, kt, v = _scaled(q, k, v, scale)
    omega = as_float_array(omega, "omega", ndim=2)
    check_trailing(omega, "omega", (qt.shape[-1],), what="(the dimension of q)")
    if _flag(causal, "causal"):
        L = qt.shape[-2]
        if kt.shape[-2] != L:
            raise ValueError(f"causal=True needs as many queries as keys; got L={L}, "
                             f"S={kt.shape[-2]}")
        log_q = qt @ omega.T
        log_k = _log_xi(kt, omega)
        phi_q = np.exp(log_q - log_q.max(axis=-1, keepdims=True))
        phi_k = np.exp(log_k - log_k.max(axis=(-2, -1), keepdims=True))
        return masked_linear_attention(phi_q, phi_k, v, CausalMask(L))
    f, log_norm = _target(omega, kt, v)  # (..., m, dv), (..., m)
    # The query's own -|q|^2/2 cancels in the softmax over samples s.
    weights = softmax(qt @ omega.T + log_norm[..., None, :], axis=-1)
    return weights @ f


def rfa_attention(q, k, v, *, num_features, rng=None, orthogonal=False, scale=None,
                  causal=False):
    r"""Random-feature attention (RFA / Performer FAVOR+ with positive features).

    Parameters
    ----------
    q, k, v : array_like, shapes (..., L, d), (..., S, d), (..., S, dv)
    num_features : int
        Number of projections ``m`` (samples of the proposal).
    rng : numpy.random.Generator, int or None
        The projections are exactly ``gaussian_omega(num_features, d,
        orthogonal=orthogonal, rng=rng)``, shared by the batch.
    orthogonal : bool, default False
        Orthogonal random features (ORF).
    scale : float, optional
    causal : bool, default False
        Unidirectional attention via the causal mask core.

    Returns
    -------
    numpy.ndarray, shape (..., L, dv)

    Notes
    -----
    :func:`rfa_estimate` on fresh projections. As SNIS it is biased for finite ``m``
    (bias :math:`\approx -\frac1m \mathbb E_g[w^2 (f - \mu)] / (\mathbb E_g w)^2`) and
    consistent, with error :math:`O(m^{-1/2})`; with ``m = 1`` every row equals
    :math:`f(\omega_1)`. Choromanski et al. (2021), Eq. 4 and Lemma 1; Zheng et al. (2022).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.estimators import rfa_attention
    >>> v = np.full((4, 2), 3.0)
    >>> rfa_attention(np.ones((2, 3)), np.ones((4, 3)), v, num_features=8, rng=0)
    array([[3., 3.],
           [3., 3.]])
    """
    m = positive_int(num_features, "num_features")
    omega = gaussian_omega(m, np.shape(q)[-1], orthogonal=orthogonal, rng=rng)
    return rfa_estimate(q, k, v, omega, scale=scale, causal=causal)


# -- RA: exact sampling of the mixture ------------------------------------------------------------

@_finite_outputs
def randomized_attention(q, k, v, *, num_samples, rng=None, noise_std=1.0, scale=None):
    r"""Randomized attention (RA): an unbiased Monte Carlo estimate of softmax attention.

    Parameters
    ----------
    q, k, v : array_like, shapes (..., L, d), (..., S, d), (..., S, dv)
    num_samples : int
        Samples per query.
    rng : numpy.random.Generator, int or None
        Independent draws for every query and batch element: first the uniforms of the
        component indices, then the Gaussian noise.
    noise_std : float, default 1.0
        Standard deviation of :math:`\varepsilon` in scaled coordinates. The paper's
        mixture has unit variance; only ``1.0`` gives an unbiased estimator. The
        official code adds ``randn`` to unscaled ``q + k``, which is
        ``noise_std = sqrt(scale)`` (:math:`d^{-1/4}` by default): **biased**, offered
        only to mirror that code.
    scale : float, optional

    Returns
    -------
    numpy.ndarray, shape (..., L, dv)

    Notes
    -----
    For each query draw :math:`m \sim \mathrm{Cat}(\pi_{n\cdot})` and
    :math:`\omega = \tilde q_n + \tilde k_m + \varepsilon`, :math:`\varepsilon \sim
    \mathcal N(0, I)`, so :math:`\omega \sim p_n`; average :math:`f(\omega)`
    (:func:`ra_target`):

    .. math:: \mathrm{RA}_n = \frac1R \sum_{r=1}^{R} f(\omega_{n,r}), \qquad
              \mathbb E\, \mathrm{RA}_n = \mathrm{Attn}_n, \qquad
              \mathrm{Var} = \mathrm{Var}_{p_n}(f) / R.

    Sampling needs all of :math:`\pi_{n\cdot}` and each :math:`f` sums over all keys:
    O(L S (d + R d + R dv)) time, quadratic (Zheng et al. 2022, abstract and RA section).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.estimators import randomized_attention
    >>> v = np.full((3, 1), 2.0)
    >>> randomized_attention(np.ones((2, 4)), np.ones((3, 4)), v, num_samples=5, rng=0)
    array([[2.],
           [2.]])
    """
    qt, kt, v = _scaled(q, k, v, scale)
    n = positive_int(num_samples, "num_samples")
    noise = real_scalar(noise_std, "noise_std", low=0.0)
    rng = as_rng(rng)
    batch = np.broadcast_shapes(qt.shape[:-2], kt.shape[:-2], v.shape[:-2])
    pi = np.broadcast_to(softmax(qt @ _T(kt, -1, -2), axis=-1), batch + (qt.shape[-2],
                                                                          kt.shape[-2]))
    cdf = np.cumsum(pi, axis=-1)
    cdf /= cdf[..., -1:]
    u = rng.random(pi.shape[:-1] + (n,))  # (..., L, n)
    # Inverse CDF: the first index whose cumulative weight exceeds u (never a zero weight).
    index = np.minimum((cdf[..., None, :] <= u[..., None]).sum(axis=-1), pi.shape[-1] - 1)
    keys = np.take_along_axis(np.broadcast_to(kt, batch + kt.shape[-2:]),
                              index.reshape(batch + (-1, 1)), axis=-2)
    omega = qt[..., :, None, :] + keys.reshape(index.shape + (-1,))
    omega = omega + noise * rng.standard_normal(omega.shape)
    L, d = qt.shape[-2], qt.shape[-1]
    f = _target(omega.reshape(batch + (L * n, d)), kt, v)[0]
    return f.reshape(batch + (L, n, -1)).mean(axis=-2)


# -- LARA: multiple proposals, multiple importance sampling -------------------------------------

def _segment_means(x, C: int):
    """Means of C contiguous segments (sizes differ by <= 1, the longer ones last)."""
    n = x.shape[-2]
    base, extra = divmod(n, C)
    sizes = np.array([base] * (C - extra) + [base + 1] * extra)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return np.add.reduceat(x, starts, axis=-2) / sizes[:, None]


@_finite_outputs
def lara_landmarks(q, k, num_proposals, *, scale=None):
    r"""LARA's landmarks: means of contiguous segments of the scaled queries and keys.

    Parameters
    ----------
    q : array_like, shape (..., L, d)
    k : array_like, shape (..., S, d)
    num_proposals : int
        ``C``; the number of segments is ``min(C, L, S)`` (a sequence no longer than
        ``C`` is its own landmarks, as in the official code).
    scale : float, optional

    Returns
    -------
    q_bar : numpy.ndarray, shape (..., C, d)
    k_bar : numpy.ndarray, shape (..., C, d)
        In scaled coordinates; the proposal means are :math:`\mu_c = \bar q_c + \bar k_c`.

    Notes
    -----
    The official 1-D recipe (``lara.py``, ``_proposal_gen_1d``, without its optional
    learned projection): ``n`` tokens in ``C`` contiguous segments of
    :math:`\lfloor n / C \rfloor` or :math:`\lfloor n / C \rfloor + 1` tokens, the
    longer segments last. (2-D inputs use adaptive average pooling there; not
    implemented.) O((L + S) d).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.estimators import lara_landmarks
    >>> q_bar, k_bar = lara_landmarks(np.arange(5.0)[:, None], np.zeros((5, 1)), 2, scale=1.0)
    >>> q_bar.ravel()
    array([0.5, 3. ])
    """
    qt, kt = _scaled_qk(q, k, scale)
    C = min(positive_int(num_proposals, "num_proposals"), qt.shape[-2], kt.shape[-2])
    return _segment_means(qt, C), _segment_means(kt, C)


def _query_correction(qt, q_bar, alpha_coeff):
    """lambda (r_nc - mean_c r_nc), r_nc = softmax over queries n of q~_n . q_bar_c."""
    lam = real_scalar(alpha_coeff, "alpha_coeff")
    r = softmax(qt @ _T(q_bar, -1, -2), axis=-2)  # (..., L, C), normalised over n
    return lam * (r - r.mean(axis=-1, keepdims=True))


def _proposal_args(q, omega, mu, q_landmarks, scale, omega_ndim):
    q = as_float_array(q, "q", min_ndim=2)
    d = q.shape[-1]
    omega = as_float_array(omega, "omega", min_ndim=omega_ndim)
    mu = as_float_array(mu, "mu", min_ndim=2)
    q_bar = as_float_array(q_landmarks, "q_landmarks", min_ndim=2)
    check_trailing(mu, "mu", (mu.shape[-2], d), what="(proposals, the dimension of q)")
    check_trailing(q_bar, "q_landmarks", mu.shape[-2:], what="(one landmark per proposal)")
    check_trailing(omega, "omega", (d,), what="(the dimension of q)")
    return _roots(scale, d)[0] * q, omega, mu, q_bar


@_finite_outputs
def mis_weights(omega, mu, q, q_landmarks, *, alpha_coeff=1.0, scale=None):
    r"""LARA's MIS weights :math:`\alpha_{nc}(\omega)` of every proposal at every point.

    Parameters
    ----------
    omega : array_like, shape (..., J, d)
        Points, scaled coordinates.
    mu : array_like, shape (..., C, d)
        Proposal means.
    q : array_like, shape (..., L, d)
        Raw queries.
    q_landmarks : array_like, shape (..., C, d)
        Query landmarks :math:`\bar q_c` (scaled).
    alpha_coeff : float, default 1.0
        :math:`\lambda`; 0 gives the plain balance heuristic.
    scale : float, optional

    Returns
    -------
    numpy.ndarray, shape (..., L, J, C)
        Unclamped (may be negative); sums to 1 over the last axis.

    Notes
    -----
    .. math:: \alpha_{nc}(\omega) = \frac{\xi(\mu_c, \omega)}{\sum_{c'} \xi(\mu_{c'},
              \omega)} + \lambda\Big(r_{nc} - \frac1C \sum_{c'} r_{nc'}\Big), \qquad
              r_{nc} = \frac{e^{\tilde q_n^\top \bar q_c}}{\sum_{n'} e^{\tilde q_{n'}^\top
              \bar q_c}},

    the balance heuristic (Veach 1997) plus the official code's ``mis-opt`` correction,
    whose sum over ``c`` is zero. This dense form is for checks (O(L J C) memory);
    :func:`lara_terms` evaluates only :math:`\alpha_{n c(j)}(\omega_j)`.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.estimators import mis_weights
    >>> w = mis_weights(np.zeros((1, 2)), np.eye(2), np.ones((3, 2)), np.eye(2))
    >>> w.sum(axis=-1).ravel()
    array([1., 1., 1.])
    """
    qt, omega, mu, q_bar = _proposal_args(q, omega, mu, q_landmarks, scale, 2)
    balance = softmax(_log_xi(mu, omega), axis=-2)  # (..., C, J) -> normalised over c
    correction = _query_correction(qt, q_bar, alpha_coeff)  # (..., L, C)
    return _T(balance, -1, -2)[..., None, :, :] + correction[..., :, None, :]


class LaraTerms(NamedTuple):
    r"""The MIS terms of LARA, one per sample :math:`j` (proposal :math:`c(j)`).

    ``alpha`` (..., L, J): :math:`\alpha_{n c(j)}(\omega_j)`; ``log_rho`` (..., L, J):
    :math:`\log[\tilde p_n(\omega_j) / q_{c(j)}(\omega_j)]`, so that
    :math:`p_n / q_c = \rho / Z_n`; ``f`` (..., J, dv): :math:`f(\omega_j)`.

    Examples
    --------
    >>> from refimpl.estimators import LaraTerms
    >>> LaraTerms._fields
    ('alpha', 'log_rho', 'f')
    """

    alpha: np.ndarray
    log_rho: np.ndarray
    f: np.ndarray


@_finite_outputs
def lara_terms(q, k, v, omega, mu, q_landmarks, *, alpha_coeff=1.0, scale=None):
    r"""The MIS weights, importance ratios and targets of LARA on given samples.

    Parameters
    ----------
    q, k, v : array_like, shapes (..., L, d), (..., S, d), (..., S, dv)
    omega : array_like, shape (..., C, s, d)
        ``s`` samples of each proposal :math:`\mathcal N(\mu_c, I)` (scaled).
    mu, q_landmarks : array_like, shape (..., C, d)
    alpha_coeff : float, default 1.0
    scale : float, optional

    Returns
    -------
    LaraTerms
        With ``J = C s`` samples, proposal-major (:math:`c(j) = \lfloor j / s \rfloor`).

    Notes
    -----
    .. math:: \rho_{nj} = \frac{\xi(\tilde q_n, \omega_j) \sum_m \xi(\tilde k_m, \omega_j)}
              {\xi(\mu_{c(j)}, \omega_j)}, \qquad
              \mathbb E\Big[\frac1s \sum_j \alpha_{nj} \frac{\rho_{nj}}{Z_n} f_j\Big]
              = \mathrm{Attn}_n, \quad
              \mathbb E\Big[\frac1s \sum_j \alpha_{nj} \frac{\rho_{nj}}{Z_n}\Big] = 1,

    with :math:`Z_n = \sum_m e^{\tilde q_n^\top \tilde k_m}` (multiple importance
    sampling; the weights sum to one at every point). The balance heuristic is
    :math:`\exp(\log \xi(\mu_{c(j)}, \omega_j) - \mathrm{logsumexp}_{c'} \log
    \xi(\mu_{c'}, \omega_j))`. O((L + S) J d + J C d + S J dv) time, O((L + S) J) memory.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.estimators import lara_terms
    >>> t = lara_terms(np.ones((2, 1)), np.ones((3, 1)), np.ones((3, 1)),
    ...                np.zeros((1, 1, 1)), np.zeros((1, 1)), np.zeros((1, 1)))
    >>> t.alpha
    array([[1.],
           [1.]])
    """
    qt, kt, v = _scaled(q, k, v, scale)
    _, omega, mu, q_bar = _proposal_args(q, omega, mu, q_landmarks, scale, 3)
    C, s = omega.shape[-3], omega.shape[-2]
    if C != mu.shape[-2]:
        raise ValueError(f"omega must have shape (..., {mu.shape[-2]}, s, d), one group of "
                         f"samples per proposal; got shape {omega.shape}")
    flat = omega.reshape(omega.shape[:-3] + (C * s, omega.shape[-1]))
    owner = np.repeat(np.arange(C), s)
    log_mu = _log_xi(mu, flat)  # (..., C, J)
    log_own = np.take_along_axis(log_mu, np.broadcast_to(owner, log_mu.shape[:-2] + (1, C * s)),
                                 axis=-2)[..., 0, :]  # (..., J)
    balance = np.exp(log_own - logsumexp(log_mu, axis=-2))
    alpha = balance[..., None, :] + _query_correction(qt, q_bar, alpha_coeff)[..., owner]
    f, log_norm = _target(flat, kt, v)
    log_rho = _log_xi(qt, flat) + (log_norm - log_own)[..., None, :]
    return LaraTerms(alpha, log_rho, f)


def lara_estimate(q, k, v, omega, mu, q_landmarks, *, alpha_coeff=1.0, scale=None,
                  clamp_alpha=None):
    r"""Self-normalised LARA on given samples (deterministic).

    Parameters
    ----------
    q, k, v, omega, mu, q_landmarks, alpha_coeff, scale
        As in :func:`lara_terms`.
    clamp_alpha : float, optional
        Replace :math:`\alpha` by :math:`\max(\alpha, \text{clamp})`, as the official code
        does with ``1e-8`` before its log. Breaks the MIS condition; mirror only.

    Returns
    -------
    numpy.ndarray, shape (..., L, dv)

    Raises
    ------
    ValueError
        If a row's normaliser :math:`\sum_j \alpha_{nj} \rho_{nj}` is zero (negative
        :math:`\alpha` can cancel it).

    Notes
    -----
    .. math:: \mathrm{LARA}_n = \frac{\sum_j \alpha_{nj} \rho_{nj} f(\omega_j)}
              {\sum_j \alpha_{nj} \rho_{nj}},

    computed as :math:`\alpha_{nj} e^{\log \rho_{nj} - \max_j \log \rho_{nj}}`. Unlike the
    code (a softmax of :math:`\log \alpha + \log \rho`), :math:`\alpha` may be negative.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.estimators import lara_estimate
    >>> z = np.zeros((1, 2))
    >>> lara_estimate(np.ones((2, 2)), np.ones((3, 2)), np.full((3, 1), 4.0),
    ...               np.ones((1, 2, 2)), z, z).ravel()
    array([4., 4.])
    """
    alpha, log_rho, f = lara_terms(q, k, v, omega, mu, q_landmarks, alpha_coeff=alpha_coeff,
                                   scale=scale)
    if clamp_alpha is not None:
        alpha = np.maximum(alpha, real_scalar(clamp_alpha, "clamp_alpha"))
    w = alpha * np.exp(log_rho - log_rho.max(axis=-1, keepdims=True))
    den = w.sum(axis=-1)
    if np.any(den == 0):
        raise _zero_rows_error(den, "a zero LARA normaliser")
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite_result((w @ f) / den[..., None], "the inputs (q, k, v, omega, mu)")


def lara_attention(q, k, v, *, num_proposals, samples_per_proposal=1, alpha_coeff=1.0,
                   rng=None, scale=None, clamp_alpha=None):
    r"""Linear randomized attention (LARA): MIS over ``C`` Gaussian proposals at landmarks.

    Parameters
    ----------
    q, k, v : array_like, shapes (..., L, d), (..., S, d), (..., S, dv)
    num_proposals : int
        ``C`` (at most ``min(L, S)`` are used; see :func:`lara_landmarks`).
    samples_per_proposal : int, default 1
    alpha_coeff : float, default 1.0
        :math:`\lambda` of :func:`mis_weights` (the official README uses 2.0 on ImageNet).
    rng : numpy.random.Generator, int or None
        The noise is ``rng.standard_normal(batch + (C, s, d))``.
    scale : float, optional
    clamp_alpha : float, optional
        See :func:`lara_estimate`.

    Returns
    -------
    numpy.ndarray, shape (..., L, dv)

    Notes
    -----
    :math:`\mu_c = \bar q_c + \bar k_c`, :math:`\omega_{c,i} = \mu_c + \varepsilon_{c,i}`,
    then :func:`lara_estimate`. Self-normalised, hence biased for finite samples but
    consistent as ``samples_per_proposal`` grows. Reductions: all :math:`\mu_c = 0`
    and :math:`\lambda = 0` give :func:`rfa_estimate` on the same samples; ``C = 1`` with
    one sample gives :math:`f(\omega_1)` in every row. O((L + S) C s (d + dv) + C^2 s d)
    time: linear in the sequence length (Zheng et al. 2022, LARA).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.estimators import lara_attention
    >>> v = np.full((6, 1), -1.0)
    >>> lara_attention(np.ones((4, 2)), np.ones((6, 2)), v, num_proposals=2, rng=0).ravel()
    array([-1., -1., -1., -1.])
    """
    q_bar, k_bar = lara_landmarks(q, k, num_proposals, scale=scale)
    s = positive_int(samples_per_proposal, "samples_per_proposal")
    mu = q_bar + k_bar
    omega = mu[..., :, None, :] + as_rng(rng).standard_normal(mu.shape[:-1] + (s, mu.shape[-1]))
    return lara_estimate(q, k, v, omega, mu, q_bar, alpha_coeff=alpha_coeff, scale=scale,
                         clamp_alpha=clamp_alpha)


# -- gated RFA (Peng et al. 2021): the recurrence and its closed form ----------------------------

def _gated_args(phi_q, phi_k, v, gates):
    phi_q, phi_k, v, L, S, _ = _qkv(phi_q, phi_k, v, names=("phi_q", "phi_k", "v"))
    if L != S:
        raise ValueError(f"gated RFA is causal and needs as many queries as keys; got L={L}, "
                         f"S={S}")
    g = as_float_array(gates, "gates", min_ndim=1)
    check_trailing(g, "gates", (L,), what="(one gate per token)")
    if np.any((g < 0) | (g > 1)):
        where = tuple(int(i) for i in np.argwhere((g < 0) | (g > 1))[0])
        raise ValueError(f"gates must lie in [0, 1]; found {g[where]} at index {where}")
    batch_shape({"phi_q": phi_q.shape[:-2], "phi_k": phi_k.shape[:-2], "v": v.shape[:-2],
                 "gates": g.shape[:-1]})
    return phi_q, phi_k, v, g


def _gated_output(num, den):
    """h_t = phi_q . S_t / phi_q . z_t, refusing a zero normaliser by row."""
    if np.any(den == 0):
        raise _zero_rows_error(den, "a zero gated-RFA normaliser")
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite_result(num / den[..., None], "phi_q, phi_k or v")


def gated_rfa(phi_q, phi_k, v, gates):
    r"""Gated (causal) random-feature attention by its recurrence.

    Parameters
    ----------
    phi_q, phi_k : array_like, shape (..., L, m)
        Query and key features (e.g. :func:`~refimpl.features.positive_features`).
    v : array_like, shape (..., L, dv)
    gates : array_like, shape (..., L)
        :math:`g_t \in [0, 1]`, e.g. :math:`\sigma(w_g^\top x_t + b_g)`.

    Returns
    -------
    numpy.ndarray, shape (..., L, dv)

    Notes
    -----
    Peng et al. (2021), Sec. 3.4 ("learning with recency bias") [section number
    unverified]:

    .. math:: S_t = g_t S_{t-1} + (1 - g_t)\, \phi(k_t) \otimes v_t, \quad
              z_t = g_t z_{t-1} + (1 - g_t)\, \phi(k_t), \quad
              h_t = \frac{\phi(q_t)^\top S_t}{\phi(q_t)^\top z_t},

    :math:`S_0 = 0, z_0 = 0`. The official code clamps the denominator from below;
    this reference does not (a zero normaliser is a ``ValueError``). A Python loop
    over ``t``: O(L m dv) time, O(m dv) state. :func:`gated_rfa_closed_form` is the
    independent dense oracle.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.estimators import gated_rfa
    >>> phi = np.ones((3, 1)); v = np.arange(3.0)[:, None]
    >>> gated_rfa(phi, phi, v, np.zeros(3)).ravel()  # g = 0 keeps only the newest token
    array([0., 1., 2.])
    """
    phi_q, phi_k, v, g = _gated_args(phi_q, phi_k, v, gates)
    batch = np.broadcast_shapes(phi_q.shape[:-2], phi_k.shape[:-2], v.shape[:-2], g.shape[:-1])
    L, m, dv = phi_q.shape[-2], phi_q.shape[-1], v.shape[-1]
    state, norm = np.zeros(batch + (m, dv)), np.zeros(batch + (m,))
    num, den = np.empty(batch + (L, dv)), np.empty(batch + (L,))
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(L):
            gt = g[..., t, None]
            kt = phi_k[..., t, :]
            state = gt[..., None] * state + ((1 - gt) * kt)[..., :, None] * v[..., t, None, :]
            norm = gt * norm + (1 - gt) * kt
            qt = phi_q[..., t, :]
            num[..., t, :] = np.einsum("...p,...pe->...e", qt, state)
            den[..., t] = np.einsum("...p,...p->...", qt, norm)
    return _gated_output(num, den)


def gated_rfa_closed_form(phi_q, phi_k, v, gates):
    r"""Gated RFA from its unrolled weights (the dense oracle of :func:`gated_rfa`).

    Parameters
    ----------
    phi_q, phi_k, v, gates
        As in :func:`gated_rfa`.

    Returns
    -------
    numpy.ndarray, shape (..., L, dv)

    Notes
    -----
    Unrolling the recurrence [derived, spec Sec. 7],

    .. math:: S_t = \sum_{i \le t} w_{ti}\, \phi(k_i) \otimes v_i, \qquad
              w_{ti} = (1 - g_i) \prod_{j=i+1}^{t} g_j, \qquad
              \sum_{i \le t} w_{ti} = 1 - \prod_{j \le t} g_j,

    so gated RFA is masked kernel attention with the lower-triangular mask
    :math:`W`. Each :math:`w_{ti}` is an explicit product: O(L^2) entries, O(L^2 (m + dv))
    time. A constant gate :math:`\gamma` gives :math:`(1 - \gamma)\gamma^{t-i}`, the
    decayed causal mask up to a factor that cancels.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.estimators import gated_rfa_closed_form
    >>> phi = np.ones((3, 1)); v = np.arange(3.0)[:, None]
    >>> gated_rfa_closed_form(phi, phi, v, np.zeros(3)).ravel()
    array([0., 1., 2.])
    """
    phi_q, phi_k, v, g = _gated_args(phi_q, phi_k, v, gates)
    L = g.shape[-1]
    weights = np.zeros(g.shape[:-1] + (L, L))
    for t in range(L):
        # prod_{j=i+1}^{t} g_j for i = 0..t: reversed cumulative products, 1 for i = t.
        tail = np.cumprod(g[..., t:0:-1], axis=-1)[..., ::-1]
        prods = np.concatenate([tail, np.ones(g.shape[:-1] + (1,))], axis=-1)
        weights[..., t, : t + 1] = (1 - g[..., : t + 1]) * prods
    return kernel_attention(phi_q, phi_k, v, mask=weights)
