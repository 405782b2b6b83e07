"""Checks of the masked-attention family (Choromanski et al. 2022, Sec. 2-3).

* every fast mask product against the mask's dense ``toarray()``;
* Algorithm 1 (:func:`~refimpl.attention.masked_linear_attention`) against the dense
  :func:`~refimpl.attention.kernel_attention`, for every mask;
* :func:`~refimpl.attention.softmax_attention` against mpmath at 50 digits;
* the closed forms of ``spec/masked_attention.md`` Sec. 5 A-B (and C 16).
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from .. import mp, tolerances
from ..attention import kernel_attention, masked_linear_attention, softmax_attention
from ..masks import CausalMask, GridRPEMask, RippleMask, ToeplitzMask, stick_breaking
from ._common import alg1_outcome, mask_product_outcome
from ._registry import Outcome, check, compare, worst

FAMILY = "masked"
ALG1 = "Choromanski+22 Alg. 1"
SEED = 20220717  # ICML 2022; any fixed seed makes the checks reproducible


def _rng(offset: int = 0) -> np.random.Generator:
    return np.random.default_rng(SEED + offset)


# -- the masks under test -----------------------------------------------------------------

def _masks(quick: bool) -> dict[str, object]:
    """One instance of every mask family, nonsymmetric where the family allows."""
    rng = _rng(1)
    L = 61 if quick else 257  # primes: FFT sizes that are not powers of two
    h, w = (5, 7) if quick else (13, 17)
    decay = rng.uniform(0.05, 0.5, size=3)
    return {
        "toeplitz": ToeplitzMask(rng.random(L), rng.random(L)),
        "toeplitz_rectangular": ToeplitzMask(rng.random(L), rng.random(L // 2 + 1)),
        "toeplitz_from_function": ToeplitzMask.from_function(
            lambda t: np.exp(-decay[0] * np.abs(t)) * (1 + 0.5 * np.sin(t)), L),
        "causal": CausalMask(L),
        "causal_decayed": CausalMask(L, gamma=0.9),
        "grid_2d": GridRPEMask((h, w), lambda t: np.exp(-(decay[:2] * np.abs(t)).sum(-1))
                               * (1.2 + np.cos(t[..., 0] - 2 * t[..., 1]))),
        "grid_3d": GridRPEMask((3, 4, 5), lambda t: 1.0 / (1.0 + (t * t).sum(-1) + t[..., 0])),
        "ripple": RippleMask((h, w), stick_breaking(rng.normal(size=4))),
        "ripple_per_query": RippleMask((h, w), stick_breaking(rng.normal(size=(h * w, 6)))),
    }


def _product_check(name):
    @check(f"masked/product/{name}", family=FAMILY, paper="Choromanski+22 Sec. 3 (fast M@X)",
           policy="product")
    def _run(quick: bool) -> Outcome:
        return mask_product_outcome(_masks(quick)[name], _rng(2))

    return _run


def _alg1_check(name):
    @check(f"masked/alg1/{name}", family=FAMILY, paper=ALG1, policy="masked_linear_attention")
    def _run(quick: bool) -> Outcome:
        return alg1_outcome(_masks(quick)[name], _rng(3))

    return _run


for _name in _masks(quick=True):
    _product_check(_name)
    _alg1_check(_name)


# -- softmax attention against mpmath -------------------------------------------------------

def _logit_size(q, k, bias, mask, scale):
    size = np.abs(scale) * (np.abs(q) @ np.abs(k).T) + np.abs(bias)
    with np.errstate(divide="ignore"):
        size = size + np.where(mask > 0, np.abs(np.log(np.where(mask > 0, mask, 1.0))), 0.0)
    return np.where(mask > 0, size, 0.0).max(axis=1)


def _softmax_mp_check(name, *, logit_scale, causal, integer):
    @check(f"masked/softmax_vs_mpmath/{name}", family=FAMILY,
           paper="Vaswani+17 Eq. 1 (mpmath 50 dps)", policy="softmax_attention")
    def _run(quick: bool) -> Outcome:
        rng = _rng(4)
        L, S, d, dv = (4, 4, 3, 2) if quick else (7, 7, 5, 3)
        if integer:  # exact logits of size ~1e4: only exp and the sums may round
            q = rng.integers(-60, 61, size=(L, d)).astype(float)
            k = rng.integers(-60, 61, size=(S, d)).astype(float)
            scale = 1.0
        else:
            q, k = rng.normal(size=(L, d)) * logit_scale, rng.normal(size=(S, d))
            scale = 1.0 / np.sqrt(d)
        v = rng.normal(size=(S, dv))
        bias = rng.normal(size=(L, S))
        mask = rng.random((L, S)) * (rng.random((L, S)) < 0.7)
        mask[np.arange(L), np.arange(L) % S] = 1.0  # every row keeps a key
        out, p = mp.softmax_attention(q, k, v, bias=bias, mask=mask, causal=causal,
                                      scale=scale, return_weights=True)
        size = _logit_size(q, k, bias, mask, scale)
        bound = tolerances.softmax_attention_bound(size, d, p, v)
        return compare(softmax_attention(q, k, v, bias=bias, mask=mask, causal=causal,
                                         scale=scale), out, bound)

    return _run


_softmax_mp_check("random", logit_scale=1.0, causal=False, integer=False)
_softmax_mp_check("causal", logit_scale=1.0, causal=True, integer=False)
_softmax_mp_check("logits_1e2", logit_scale=100.0, causal=False, integer=False)
_softmax_mp_check("logits_1e4_exact_inputs", logit_scale=1.0, causal=False, integer=True)


# -- closed forms (spec Sec. 5 A-C) -----------------------------------------------------------

def _exact(desired, n_terms):
    """Bound for a closed form evaluated by a computation summing ``n_terms`` terms."""
    return tolerances.summation_bound(n_terms, np.abs(desired) + 1.0)


@check("masked/closed/causal_one_half_one_third", family=FAMILY,
       paper="Performer causal test: (1, 1/2, 1/3)", policy="summation")
def _causal_third(quick: bool) -> Outcome:
    phi = np.ones((3, 1))
    v = np.array([[1.0], [0.0], [0.0]])
    desired = np.array([[1.0], [0.5], [1.0 / 3.0]])
    results = np.stack([
        masked_linear_attention(phi, phi, v, CausalMask(3)),
        masked_linear_attention(phi, phi, v, ToeplitzMask([1.0, 1.0, 1.0], [1.0, 0.0, 0.0])),
        kernel_attention(phi, phi, v, causal=True),
        softmax_attention(np.ones((3, 1)), np.ones((3, 1)), v, causal=True),
    ])
    return compare(results, np.broadcast_to(desired, results.shape), _exact(desired, 3))


@check("masked/closed/all_ones_is_unmasked", family=FAMILY,
       paper="Choromanski+22 Sec. 2 (M = J)", policy="masked_linear_attention")
def _all_ones(quick: bool) -> Outcome:
    rng = _rng(5)
    L, m, dv = (33, 4, 3) if quick else (129, 8, 4)
    phi_q, phi_k, v = rng.random((L, m)), rng.random((L, m)), rng.normal(size=(L, dv))
    unmasked = (phi_q @ (phi_k.T @ v)) / (phi_q @ phi_k.sum(axis=0))[:, None]
    mask = ToeplitzMask(np.ones(L))
    bound = tolerances.masked_linear_attention_bound(phi_q, phi_k, v, mask)
    return compare(masked_linear_attention(phi_q, phi_k, v, mask), unmasked, 2 * bound)


@check("masked/closed/row_scale_invariance", family=FAMILY,
       paper="D^-1 cancels diag(s) M", policy="masked_linear_attention")
def _row_scale(quick: bool) -> Outcome:
    rng = _rng(6)
    L, m, dv = (17, 3, 2) if quick else (65, 6, 3)
    phi_q, phi_k, v = rng.random((L, m)), rng.random((L, m)), rng.normal(size=(L, dv))
    mask = ToeplitzMask(rng.random(L), rng.random(L)).toarray()
    s = rng.uniform(0.1, 10.0, size=L)
    bound = tolerances.masked_linear_attention_bound(phi_q, phi_k, v, mask)
    return compare(masked_linear_attention(phi_q, phi_k, v, s[:, None] * mask),
                   masked_linear_attention(phi_q, phi_k, v, mask), 2 * bound)


@check("masked/closed/key_padding", family=FAMILY,
       paper="M = 1 p^T == zeroed key features", policy="masked_linear_attention")
def _key_padding(quick: bool) -> Outcome:
    rng = _rng(7)
    L, m, dv = (19, 3, 2) if quick else (67, 5, 3)
    phi_q, phi_k, v = rng.random((L, m)), rng.random((L, m)), rng.normal(size=(L, dv))
    keep = rng.random(L) < 0.6
    keep[0] = True
    mask = np.broadcast_to(keep.astype(float), (L, L))
    zeroed = np.where(keep[:, None], phi_k, 0.0)
    ones = np.ones((L, L))
    bound = tolerances.masked_linear_attention_bound(phi_q, zeroed, v, ones)
    return compare(kernel_attention(phi_q, phi_k, v, mask=mask),
                   masked_linear_attention(phi_q, zeroed, v, ones), 2 * bound)


@check("masked/closed/low_rank_mask", family=FAMILY,
       paper="M = U W^T: face-splitting features", policy="masked_linear_attention")
def _low_rank(quick: bool) -> Outcome:
    rng = _rng(8)
    L, m, r, dv = (13, 3, 2, 2) if quick else (61, 4, 3, 3)
    phi_q, phi_k, v = rng.random((L, m)), rng.random((L, m)), rng.normal(size=(L, dv))
    U, W = rng.random((L, r)), rng.random((L, r))
    face_q = (phi_q[:, :, None] * U[:, None, :]).reshape(L, m * r)
    face_k = (phi_k[:, :, None] * W[:, None, :]).reshape(L, m * r)
    mask = U @ W.T
    bound = tolerances.masked_linear_attention_bound(phi_q, phi_k, v, mask)
    return compare(kernel_attention(phi_q, phi_k, v, mask=mask),
                   kernel_attention(face_q, face_k, v), 2 * bound)


@check("masked/closed/kms_two_scans", family=FAMILY,
       paper="gamma^|i-j| = fwd + bwd - x", policy="fft_convolution")
def _kms(quick: bool) -> Outcome:
    rng = _rng(9)
    L, gamma = (31 if quick else 1021), 0.8
    x = rng.normal(size=(L, 3))
    fwd = CausalMask(L, gamma) @ x
    bwd = (CausalMask(L, gamma) @ x[::-1])[::-1]
    mask = ToeplitzMask.from_function(lambda t: gamma ** np.abs(t), L)
    bound = mask.product_error_bound(x) + 3 * tolerances.product_bound(mask.toarray(), x)
    return compare(mask @ x, fwd + bwd - x, bound)


@check("masked/closed/causal_is_toeplitz", family=FAMILY,
       paper="1[i>=j]: FFT path == scan", policy="fft_convolution")
def _causal_toeplitz(quick: bool) -> Outcome:
    rng = _rng(10)
    L = 37 if quick else 509
    x = rng.normal(size=(L, 4))
    mask = ToeplitzMask.from_function(lambda t: (t >= 0).astype(float), L)
    bound = mask.product_error_bound(x) + tolerances.product_bound(np.tri(L), x)
    return compare(mask @ x, CausalMask(L) @ x, bound)


@check("masked/closed/separable_grid_is_kronecker", family=FAMILY,
       paper="f1(a) f2(b) -> T1 (x) T2", policy="fft_convolution")
def _kronecker(quick: bool) -> Outcome:
    rng = _rng(11)
    n1, n2 = (4, 6) if quick else (12, 15)
    g1, g2 = 0.7, 0.4
    grid = GridRPEMask((n1, n2), lambda t: g1 ** np.abs(t[..., 0]) * g2 ** np.abs(t[..., 1]))
    t1 = ToeplitzMask.from_function(lambda t: g1 ** np.abs(t), n1).toarray()
    t2 = ToeplitzMask.from_function(lambda t: g2 ** np.abs(t), n2).toarray()
    x = rng.normal(size=(n1 * n2, 3))
    kron = np.kron(t1, t2)
    bound = grid.product_error_bound(x) + tolerances.product_bound(kron, x)
    entries = compare(grid.toarray(), kron, tolerances.summation_bound(1, kron))
    product = compare(grid @ x, kron @ x, bound)
    return worst([entries, product])


def _scenic_convention(first, second, x):
    """Toeplitz product in the "first row, reversed first column" convention.

    ``first = [b_00, ..., b_0,L-1]`` and ``second = [b_L-1,0, ..., b_10]``; the circulant
    column is ``[exp(first), 0, exp(second)]`` and the product is taken as the real part
    of ``fft(fft(c) * ifft(x, 2L))`` (written here from the description in the spec).
    """
    L = first.size
    c = np.concatenate([np.exp(first), [0.0], np.exp(second)])
    return np.real(scipy.fft.fft(scipy.fft.fft(c)[:, None] * scipy.fft.ifft(x, n=2 * L, axis=0),
                                 axis=0))[:L]


def _luo_convention(b, x):
    """Toeplitz product ``sum_j exp(b[i - j]) x_j`` keeping the last L of a 2L convolution.

    ``b`` holds offsets ``-(L-1) .. L-1``; the kernel is ``[0, exp(b)]`` of length 2L.
    """
    L = x.shape[0]
    kernel = np.concatenate([[0.0], np.exp(b)])
    full = scipy.fft.irfft(scipy.fft.rfft(kernel)[:, None] * scipy.fft.rfft(x, n=2 * L, axis=0),
                           n=2 * L, axis=0)
    return full[L:]


@check("masked/closed/toeplitz_conventions", family=FAMILY,
       paper="scenic RPEMask / Luo+21 Sec. 3.2", policy="fft_convolution")
def _conventions(quick: bool) -> Outcome:
    rng = _rng(12)
    L = 9 if quick else 127
    b = rng.normal(size=2 * L - 1)  # b[t + L - 1] is the bias of offset i - j = t
    x = rng.normal(size=(L, 3))
    col, row = np.exp(b[L - 1:]), np.exp(b[L - 1::-1])
    mask = ToeplitzMask(col, row)
    first = b[L - 1::-1]          # b_{0, j}: offset -j
    second = b[L - 1 + (L - 1):L - 1:-1]  # b_{L-1,0}, ..., b_{1,0}: offsets L-1 .. 1
    desired = mask.toarray() @ x
    bound = 2 * mask.product_error_bound(x) + tolerances.product_bound(mask.toarray(), x)
    outcomes = [compare(_scenic_convention(first, second, x), desired, bound),
                compare(_luo_convention(b, x), desired, bound),
                compare(mask @ x, desired, bound)]
    return worst(outcomes)
