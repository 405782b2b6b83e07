"""Softmax attention as an expectation (the RA identity), RFA as SNIS, and RA (exact sampling)."""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

from .._validate import (
    as_float_array,
    as_rng,
    batch_shape,
    check_trailing,
    positive_int,
    real_scalar,
)
from ..attention import (
    _flag,
    masked_linear_attention,
)
from ..features import gaussian_omega
from ..masks import CausalMask
from ._common import _T, _finite_outputs, _log_xi, _roots, _scaled, _scaled_qk, _target

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


