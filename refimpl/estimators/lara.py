"""LARA: several Gaussian proposals combined by multiple importance sampling (linear time)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp, softmax

from .._validate import (
    as_float_array,
    as_rng,
    check_trailing,
    positive_int,
    real_scalar,
)
from ..attention import (
    _finite_result,
    _zero_rows_error,
)
from ._common import _T, _finite_outputs, _log_xi, _roots, _scaled, _scaled_qk, _target

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


