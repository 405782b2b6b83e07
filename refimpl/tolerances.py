"""The tolerance policy: every tolerance used by refimpl's tests and checks.

Each tolerance is a forward error bound of a float64 computation, written as a small
multiple of the machine epsilon times the *condition* of the operation (the size of
the quantities that are summed, not the size of the result). Each entry of
:data:`POLICY` states its bound and the reason for it; the functions below evaluate the
bounds on concrete inputs. Nothing in the test suite uses a literal tolerance such as
``1e-6``: it calls one of these functions.

Notation: ``u = eps/2`` is the unit roundoff of float64, and ``gamma(n) = n u / (1 - n u)``
is the constant of Higham's summation and inner-product bounds [1]_ (Lemma 3.1). We use
the simpler and slightly larger ``n * eps`` in place of ``gamma(n)``; ``SAFETY`` covers the
few extra roundings (a scale, a division, the final rounding of a high-precision
reference) that each bound below does not itemise.

References
----------
.. [1] N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
   SIAM, 2002. Ch. 3 (inner products), Ch. 4 (summation), Ch. 24 (the FFT).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "EPS",
    "POLICY",
    "SAFETY",
    "Tolerance",
    "attention_quotient_bound",
    "fft_convolution_bound",
    "masked_linear_attention_bound",
    "product_bound",
    "softmax_attention_bound",
    "summation_bound",
]

#: Machine epsilon of float64 (2**-52); the unit roundoff is EPS / 2.
EPS = float(np.finfo(np.float64).eps)

#: Multiplier absorbing the handful of roundings each bound does not itemise.
SAFETY = 4.0

#: Constant of the FFT bound: Higham Thm 24.2 gives a relative 2-norm error of
#: log2(n) * eta per transform with eta ~= 5u for a Cooley-Tukey FFT with
#: accurately computed twiddles; a convolution is three transforms and a product.
FFT_CONSTANT = 3 * 5 + 1


@dataclass(frozen=True)
class Tolerance:
    """One entry of the tolerance policy.

    Attributes
    ----------
    name : str
        The key used by checks and tests.
    bound : str
        The bound, as a formula.
    reason : str
        Why the bound holds (with the source).
    """

    name: str
    bound: str
    reason: str


POLICY: dict[str, Tolerance] = {
    t.name: t
    for t in [
        Tolerance(
            "summation",
            "SAFETY * n * eps * sum|x_i|",
            "Recursive or pairwise summation of n terms: |error| <= gamma(n-1) sum|x_i| "
            "(Higham eq. 4.4). Covers cumulative sums, scans and summed-area tables "
            "(each output is a sum of at most n inputs).",
        ),
        Tolerance(
            "product",
            "SAFETY * n * eps * (|A| |X|)",
            "A dense product A @ X with inner dimension n: componentwise "
            "|error| <= gamma(n) |A||X| (Higham eq. 3.13). Used for every dense oracle "
            "product and for exact-summation fast paths (causal scans).",
        ),
        Tolerance(
            "fft_convolution",
            "FFT_CONSTANT * log2(n_fft) * eps * ||c||_1 * ||x||_2 (per column)",
            "A convolution by FFT (circulant embedding of a Toeplitz or multilevel "
            "Toeplitz matrix): each transform has relative 2-norm error <= log2(n) * 5u "
            "(Higham Thm 24.2); the operator norm of the circulant is max|fft(c)| <= "
            "||c||_1; the max-norm of the error is at most its 2-norm. Normwise, not "
            "componentwise: small outputs can have a large relative error.",
        ),
        Tolerance(
            "attention_quotient",
            "(err_num + |out| err_den) / den",
            "out = num / den with num, den known to within err_num, err_den: first-order "
            "perturbation of a quotient, den > 0 (a positive mask and positive features).",
        ),
        Tolerance(
            "masked_linear_attention",
            "attention_quotient(err_num, err_den) with err = SAFETY (m + S + 2) eps "
            "(|M| o |Phi_Q||Phi_K|^T)|[V, 1]| + sum_p |Phi_Q[:, p]| E_p",
            "Algorithm 1 against the dense kernel_attention: both form inner products of "
            "length m and sums of length S (Higham eq. 3.13); E_p is the fast mask "
            "product's own bound (its Tolerance entry) on the columns Phi_K[:, p] [V, 1], "
            "weighted by the query features that contract them.",
        ),
        Tolerance(
            "softmax_attention",
            "SAFETY * eps * (d * a_i + S + 1) * sum_j p_ij |v_j|",
            "Row i of softmax attention: each logit has absolute error <= gamma(d) a_i with "
            "a_i = max(1, max_j |scale| sum_c |q_ic k_jc| + |B_ij| + |log M_ij|) (Higham "
            "eq. 3.5); a logit error delta changes a weight by a relative exp(delta) - 1; "
            "the weighted sum and its normaliser add gamma(S) each. The output is a convex "
            "combination, so all of this is relative to sum_j p_ij |v_j|; +1 is the final "
            "rounding. With |logits| <= 1 this is the (d + S) eps rule of issue 3.",
        ),
    ]
}


def summation_bound(n: int, abs_sum) -> np.ndarray:
    """Error bound of a sum of ``n`` terms whose absolute values sum to ``abs_sum``."""
    return SAFETY * max(int(n), 1) * EPS * np.asarray(abs_sum, dtype=np.float64)


def product_bound(abs_a, abs_x) -> np.ndarray:
    """Componentwise error bound ``SAFETY * n * eps * |A||X|`` of a dense product.

    ``abs_a`` is ``|A|`` of shape ``(..., L, n)`` and ``abs_x`` is ``|X|`` of shape
    ``(..., n, k)``.
    """
    abs_a = np.abs(np.asarray(abs_a, dtype=np.float64))
    abs_x = np.abs(np.asarray(abs_x, dtype=np.float64))
    return SAFETY * max(abs_a.shape[-1], 1) * EPS * (abs_a @ abs_x)


def fft_convolution_bound(n_fft: int, kernel_l1: float, x) -> np.ndarray:
    """Per-column error bound of a product computed by FFT convolution.

    Parameters
    ----------
    n_fft : int
        Total length of the transform (the product of the padded sizes).
    kernel_l1 : float
        The 1-norm of the convolution kernel (bounds the circulant's 2-norm).
    x : array_like, shape (n, k)
        The matrix being multiplied; the bound uses its column 2-norms.

    Returns
    -------
    numpy.ndarray, shape (k,)
        A bound on the largest absolute error in each output column.
    """
    x = np.asarray(x, dtype=np.float64)
    col_norm = np.sqrt(np.sum(x * x, axis=0))
    return FFT_CONSTANT * max(np.log2(max(n_fft, 2)), 1.0) * EPS * kernel_l1 * col_norm


def attention_quotient_bound(err_num, err_den, out, den) -> np.ndarray:
    """First-order bound on the error of ``out = num / den``.

    ``err_num`` and ``out`` have shape ``(..., L, dv)``; ``err_den`` and ``den`` have
    shape ``(..., L)``.
    """
    den = np.abs(np.asarray(den, dtype=np.float64))[..., None]
    err_den = np.asarray(err_den, dtype=np.float64)[..., None]
    return (np.asarray(err_num) + np.abs(out) * err_den) / den + EPS * np.abs(out)


def softmax_attention_bound(logit_size, d: int, weights, v) -> np.ndarray:
    """Componentwise error bound of float64 softmax attention.

    Parameters
    ----------
    logit_size : array_like, shape (..., L)
        ``a_i`` of :data:`POLICY` ``["softmax_attention"]``: the largest absolute term
        that enters a logit of row ``i`` (at least 1).
    d : int
        The contraction length of the logits (the head dimension).
    weights : array_like, shape (..., L, S)
        The exact attention probabilities ``p_ij`` (rows sum to one).
    v : array_like, shape (..., S, dv)
        The values.

    Returns
    -------
    numpy.ndarray, shape (..., L, dv)
    """
    weights = np.asarray(weights, dtype=np.float64)
    s = weights.shape[-1]
    a = np.maximum(np.asarray(logit_size, dtype=np.float64), 1.0)[..., None]
    weighted = weights @ np.abs(np.asarray(v, dtype=np.float64))
    return SAFETY * EPS * (d * a + s + 1) * weighted


def masked_linear_attention_bound(phi_q, phi_k, v, mask) -> np.ndarray:
    """Bound on ``|masked_linear_attention - kernel_attention|`` for 2-D inputs.

    Parameters
    ----------
    phi_q, phi_k, v : array_like, shapes (L, m), (S, m), (S, dv)
    mask : refimpl mask or array_like, shape (L, S)
        A refimpl mask contributes its fast product's ``product_error_bound``; a dense
        array is multiplied exactly as the oracle does.

    Returns
    -------
    numpy.ndarray, shape (L, dv)
    """
    phi_q, phi_k, v = (np.asarray(a, dtype=np.float64) for a in (phi_q, phi_k, v))
    (L, m), (S, dv) = phi_q.shape, v.shape
    dense = np.asarray(mask.toarray() if hasattr(mask, "toarray") else mask, dtype=np.float64)
    v1 = np.concatenate([v, np.ones((S, 1))], axis=1)
    weights = dense * (phi_q @ phi_k.T)
    abs_weights = np.abs(dense) * (np.abs(phi_q) @ np.abs(phi_k).T)
    err = SAFETY * (m + S + 2) * EPS * (abs_weights @ np.abs(v1))  # (L, dv + 1)
    if hasattr(mask, "product_error_bound"):
        features = (phi_k[:, :, None] * v1[:, None, :]).reshape(S, -1)
        fast = np.asarray(mask.product_error_bound(features)).reshape(L, m, dv + 1)
        err = err + np.einsum("lp,lpe->le", np.abs(phi_q), fast)
    num, den = weights @ v, weights.sum(axis=1)
    return attention_quotient_bound(err[:, :dv], err[:, dv], num / den[:, None], den)
