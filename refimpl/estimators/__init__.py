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


from .gated import (
    gated_rfa,
    gated_rfa_closed_form,
)
from .importance import (
    ra_target,
    randomized_attention,
    rfa_attention,
    rfa_estimate,
    softmax_mixture,
)
from .lara import (
    LaraTerms,
    lara_attention,
    lara_estimate,
    lara_landmarks,
    lara_terms,
    mis_weights,
)

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
