"""Attention oracles: softmax against mpmath, Algorithm 1 against the dense oracle.

* ``softmax_attention`` is within ``SAFETY eps (d a_i + S + 1) sum_j p_ij |v_j|`` of a
  50-digit mpmath evaluation, componentwise (refimpl.tolerances.softmax_attention_bound),
  including logits of size 1e4;
* ``masked_linear_attention`` (Choromanski et al. 2022, Alg. 1) equals
  ``kernel_attention`` within ``masked_linear_attention_bound`` for every mask family;
* batch dimensions broadcast and give the same result as a loop.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_masks import SIZES, assert_within, seeds

from refimpl import mp, tolerances
from refimpl.attention import kernel_attention, masked_linear_attention, softmax_attention
from refimpl.masks import CausalMask, GridRPEMask, RippleMask, ToeplitzMask, stick_breaking


def logit_size(q, k, bias, mask, scale):
    """a_i of the softmax bound: the largest |term| entering an allowed logit of row i."""
    size = abs(scale) * (np.abs(q) @ np.abs(k).T) + np.abs(bias)
    safe = np.where(mask > 0, mask, 1.0)
    size = size + np.abs(np.log(safe))
    return np.where(mask > 0, size, 0.0).max(axis=1)


@st.composite
def softmax_cases(draw, max_logit=5.0):
    rng = draw(seeds(), label="rng")
    L = draw(st.integers(1, 4), label="L")
    S = draw(st.integers(1, 5), label="S")
    d = draw(st.integers(1, 3), label="d")
    dv = draw(st.integers(1, 2), label="dv")
    spread = draw(st.sampled_from([0.1, 1.0, max_logit]), label="logit spread")
    q, k = rng.normal(size=(L, d)) * spread, rng.normal(size=(S, d))
    v, bias = rng.normal(size=(S, dv)), rng.normal(size=(L, S))
    mask = rng.random((L, S)) * (rng.random((L, S)) < 0.6)
    mask[np.arange(L), rng.integers(0, S, size=L)] = rng.uniform(0.5, 2.0, size=L)
    return q, k, v, bias, mask


@given(case=softmax_cases(), causal=st.booleans())
def test_softmax_matches_mpmath(case, causal):
    q, k, v, bias, mask = case
    L, S = mask.shape
    if causal:
        if L != S:
            return
        mask[np.arange(L), np.arange(L)] = 1.0  # the diagonal keeps every causal row alive
    scale = 1 / np.sqrt(q.shape[1])
    out = softmax_attention(q, k, v, bias=bias, mask=mask, causal=causal)
    exact, p = mp.softmax_attention(q, k, v, bias=bias, mask=mask, causal=causal,
                                    return_weights=True)
    allowed = mask * (np.tri(L, S) if causal else 1.0)
    bound = tolerances.softmax_attention_bound(
        logit_size(q, k, bias, allowed, scale), q.shape[1], p, v)
    assert_within(out, exact, bound, "softmax_attention vs mpmath")


@given(data=st.data())
def test_softmax_huge_logits_exact(data):
    """Logits up to +-1e4 (exact integer inputs) stay finite and correctly rounded."""
    rng = data.draw(seeds(), label="rng")
    L, S, d = 3, 4, 2
    q = rng.integers(-70, 71, size=(L, d)).astype(float)
    k = rng.integers(-70, 71, size=(S, d)).astype(float)
    v = rng.normal(size=(S, 2))
    out = softmax_attention(q, k, v, scale=1.0)
    exact, p = mp.softmax_attention(q, k, v, scale=1.0, return_weights=True)
    assert np.all(np.isfinite(out))
    zero = np.zeros((L, S))
    bound = tolerances.softmax_attention_bound(
        logit_size(q, k, zero, np.ones((L, S)), 1.0), d, p, v)
    assert_within(out, exact, bound, "large logits")


def test_softmax_logits_1e4_by_hand():
    # Two keys whose logits differ by 1e4 - 1: the first weight is exp(-(1e4 - 1)) = 0.
    q = np.array([[1e2]])
    k = np.array([[1.0], [1e2 - 0.01]])
    v = np.array([[1.0], [2.0]])
    np.testing.assert_array_equal(softmax_attention(q, k, v, scale=1.0), [[2.0]])
    np.testing.assert_array_equal(softmax_attention(-q, k, v, scale=1.0), [[1.0]])


@given(case=softmax_cases())
def test_softmax_bias_is_log_mask_and_causal_is_tril(case):
    q, k, v, _, mask = case
    positive = mask + 0.5
    by_mask = softmax_attention(q, k, v, mask=positive)
    by_bias = softmax_attention(q, k, v, bias=np.log(positive))
    exact, p = mp.softmax_attention(q, k, v, mask=positive, return_weights=True)
    zero = np.zeros_like(positive)
    bound = tolerances.softmax_attention_bound(
        logit_size(q, k, zero, positive, 1 / np.sqrt(q.shape[1])), q.shape[1], p, v)
    assert_within(by_mask, exact, bound, "mask M vs mpmath")
    assert_within(by_bias, exact, bound, "bias log M vs mpmath")
    L = min(q.shape[0], k.shape[0])
    causal = softmax_attention(q[:L], k[:L], v[:L], causal=True)
    tril = softmax_attention(q[:L], k[:L], v[:L], mask=np.tri(L))
    np.testing.assert_array_equal(causal, tril)


@given(data=st.data())
def test_softmax_batch_broadcasting_equals_loop(data):
    rng = data.draw(seeds(), label="rng")
    q = rng.normal(size=(2, 1, 3, 2))
    k = rng.normal(size=(1, 3, 4, 2))
    v = rng.normal(size=(4, 2))
    bias = rng.normal(size=(3, 1, 4))  # broadcasts over the query axis
    out = softmax_attention(q, k, v, bias=bias)
    assert out.shape == (2, 3, 3, 2)
    for a in range(2):
        for b in range(3):
            np.testing.assert_array_equal(
                out[a, b], softmax_attention(q[a, 0], k[0, b], v, bias=bias[b]))


# -- Algorithm 1 against the dense oracle -------------------------------------------------

@st.composite
def masks(draw):
    """One mask of a drawn family, with nonnegative entries (a valid attention mask)."""
    rng = draw(seeds(), label="rng")
    family = draw(st.sampled_from(["toeplitz", "causal", "grid", "ripple", "dense"]),
                  label="family")
    if family == "toeplitz":
        L, S = draw(SIZES, label="L"), draw(SIZES, label="S")
        return ToeplitzMask(rng.random(L), rng.random(S))
    if family == "causal":
        return CausalMask(draw(SIZES, label="L"), draw(st.floats(0, 1), label="gamma"))
    if family == "grid":
        shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3), label="shape"))
        table = rng.random(tuple(2 * n - 1 for n in shape))
        return GridRPEMask(shape, lambda t: table[tuple(t[..., a] + n - 1
                                                        for a, n in enumerate(shape))])
    if family == "ripple":
        H, W = draw(st.integers(1, 6), label="H"), draw(st.integers(1, 6), label="W")
        R = draw(st.integers(1, 8), label="R")
        per_query = draw(st.booleans(), label="per-query alpha")
        return RippleMask((H, W), stick_breaking(rng.normal(size=(H * W, R) if per_query
                                                             else R)))
    L, S = draw(SIZES, label="L"), draw(SIZES, label="S")
    return rng.random((L, S))


@given(mask=masks(), m=st.integers(1, 4), dv=st.integers(1, 3), data=st.data())
def test_algorithm1_matches_dense_oracle(mask, m, dv, data):
    rng = data.draw(seeds(), label="rng")
    L, S = mask.shape
    phi_q, phi_k = rng.random((L, m)) + 0.01, rng.random((S, m)) + 0.01
    v = rng.normal(size=(S, dv))
    fast = masked_linear_attention(phi_q, phi_k, v, mask)
    oracle = kernel_attention(phi_q, phi_k, v, mask=mask)
    bound = tolerances.masked_linear_attention_bound(phi_q, phi_k, v, mask)
    assert_within(fast, oracle, bound, f"Alg. 1 vs dense for {mask!r}")


@given(data=st.data())
def test_algorithm1_batches_equal_loop(data):
    rng = data.draw(seeds(), label="rng")
    L, m, dv = 7, 3, 2
    phi_q = rng.random((2, 1, L, m))
    phi_k = rng.random((3, L, m))
    v = rng.normal(size=(1, 3, L, dv))
    mask = ToeplitzMask(rng.random(L), rng.random(L))
    out = masked_linear_attention(phi_q, phi_k, v, mask)
    dense_batched = masked_linear_attention(phi_q, phi_k, v, np.stack([mask.toarray()] * 3))
    assert out.shape == dense_batched.shape == (2, 3, L, dv)
    for a in range(2):
        for b in range(3):
            single = masked_linear_attention(phi_q[a, 0], phi_k[b], v[0, b], mask)
            bound = tolerances.masked_linear_attention_bound(phi_q[a, 0], phi_k[b], v[0, b], mask)
            assert_within(out[a, b], single, bound, "batched vs single")
            assert_within(dense_batched[a, b], single, bound, "batched dense mask")


@pytest.mark.parametrize("L", [1, 2, 3, 5])
def test_causal_one_half_one_third_family(L):
    """Constant features, v = e_1: the causal output is 1/(i+1), for every causal path."""
    phi = np.ones((L, 1))
    v = np.zeros((L, 1))
    v[0] = 1.0
    expected = 1.0 / np.arange(1, L + 1)[:, None]
    bound = tolerances.summation_bound(L, np.ones((L, 1)))
    for out in (masked_linear_attention(phi, phi, v, CausalMask(L)),
                kernel_attention(phi, phi, v, causal=True),
                softmax_attention(phi, phi, v, causal=True)):
        assert_within(out, expected, bound, "1/(i+1)")


@given(mask=masks(), data=st.data())
def test_constant_values_are_reproduced(mask, data):
    """Rows are convex combinations: V = c 1^T gives c in every row, for every mask."""
    rng = data.draw(seeds(), label="rng")
    L, S = mask.shape
    phi_q, phi_k = rng.random((L, 2)) + 0.01, rng.random((S, 2)) + 0.01
    c = rng.normal(size=3)
    v = np.broadcast_to(c, (S, 3))
    out = masked_linear_attention(phi_q, phi_k, v, mask)
    bound = tolerances.masked_linear_attention_bound(phi_q, phi_k, v, mask)
    assert_within(out, np.broadcast_to(c, out.shape), bound, "constant V")
