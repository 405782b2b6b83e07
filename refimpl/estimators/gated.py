"""Gated RFA (Peng et al. 2021): the recurrence and, separately, its dense closed form."""

from __future__ import annotations

import numpy as np

from .._validate import (
    as_float_array,
    batch_shape,
    check_trailing,
)
from ..attention import (
    _finite_result,
    _qkv,
    _zero_rows_error,
    kernel_attention,
)

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
