"""Random features (refimpl.features): projections, feature maps, Lemma 2 and Theorem 2.

Deterministic properties (Hypothesis, labelled draws) hold within forward error bounds
from refimpl.tolerances. Statistical tests (names ``test_stat_*``) each have a
false-failure rate of at most 1e-6 (refimpl.tolerances.ESTIMATOR_FALSE_FAILURE_RATE,
Bonferroni over the entries they compare); their randomness comes from
``stat_rng(offset)``, seeded by ``BASE_SEED``, which the environment variable
``REFIMPL_TEST_SEED`` overrides (the one place it is read), e.g.::

    for s in $(seq 1 20); do REFIMPL_TEST_SEED=$s pytest tests/test_features.py \\
        tests/test_estimators.py -k stat -m "slow or not slow"; done

Long versions are marked ``slow``; a short version of each always runs.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from test_masks import assert_within, seeds

from refimpl import features, tolerances
from refimpl.features import (
    fourier_features,
    fourier_features_mse,
    gaussian_omega,
    haar_orthogonal,
    hyperbolic_features,
    hyperbolic_features_mse,
    orthogonal_positive_features_mse_bound,
    positive_features,
    positive_features_mse,
    trig_features,
    trig_features_mse,
)
from refimpl.verify import estimators as vest

#: Base seed of every statistical test; override with REFIMPL_TEST_SEED (read only here).
BASE_SEED = int(os.environ.get("REFIMPL_TEST_SEED", "20220717"))


def stat_rng(offset: int) -> np.random.Generator:
    """An independent stream per test: SeedSequence([BASE_SEED, offset])."""
    return np.random.default_rng([BASE_SEED, offset])


def z_star(n_entries: int, *, one_sided: bool = False) -> float:
    return tolerances.estimator_z_threshold(n_entries, one_sided=one_sided)


def assert_z_below(z, n_entries, what):
    z = np.abs(np.atleast_1d(z))
    limit = z_star(n_entries)
    assert z.max() <= limit, f"{what}: max |z| = {z.max():.2f} > {limit:.2f}"


def assert_z_above(z, n_entries, what):
    """A negative control: the same test must reject."""
    z = np.abs(np.atleast_1d(z))
    assert z.max() > z_star(n_entries), (f"{what}: the negative control was not detected, "
                                         f"max |z| = {z.max():.2f} <= {z_star(n_entries):.2f}")


# -- projections ----------------------------------------------------------------------------------

@given(m=st.integers(1, 13), d=st.integers(1, 6), orthogonal=st.booleans(), data=st.data())
def test_gaussian_omega_shape_and_same_seed_same_result(m, d, orthogonal, data):
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    a = gaussian_omega(m, d, orthogonal=orthogonal, rng=seed)
    assert a.shape == (m, d) and a.dtype == np.float64
    np.testing.assert_array_equal(a, gaussian_omega(m, d, orthogonal=orthogonal, rng=seed))
    batch = gaussian_omega(m, d, orthogonal=orthogonal, rng=seed, size=(2, 3))
    assert batch.shape == (2, 3, m, d)
    if not orthogonal:  # documented draw: rng.standard_normal((m, d))
        np.testing.assert_array_equal(a, np.random.default_rng(seed).standard_normal((m, d)))


@given(m=st.integers(1, 13), d=st.integers(1, 6), data=st.data())
def test_orthogonal_blocks_are_orthogonal(m, d, data):
    rng = data.draw(seeds(), label="rng")
    omega = gaussian_omega(m, d, orthogonal=True, rng=rng)
    for start in range(0, m, d):
        block = omega[start:start + d]
        gram = block @ block.T
        off = gram - np.diag(np.diag(gram))
        # Householder Q is orthogonal to within d gamma(c d) (Higham Thm 19.4), and the
        # Gram product adds gamma(d): (d + 1) product bounds.
        bound = (d + 1) * tolerances.product_bound(np.abs(block), np.abs(block).T)
        assert_within(off, 0.0, bound, f"block at row {start}")


@given(d=st.integers(1, 7), data=st.data())
def test_haar_matrix_is_orthogonal_and_raw_qr_differs_only_in_signs(d, data):
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    H = haar_orthogonal(d, rng=seed)
    Q = haar_orthogonal(d, rng=seed, sign_fix=False)
    bound = (d + 1) * tolerances.product_bound(np.abs(H), np.abs(H).T)  # Higham Thm 19.4
    assert_within(H @ H.T, np.eye(d), bound, "H H^T = I")
    np.testing.assert_array_equal(np.abs(H), np.abs(Q))  # same columns up to sign


def test_stat_haar_first_entry_sign_is_symmetric_and_raw_qr_is_not():
    """Binomial tests at false-failure rate 1e-6: P(H_00 > 0) = 1/2; raw QR has H_00 < 0."""
    n = 2000
    fixed = haar_orthogonal(3, rng=stat_rng(1), size=n)[:, 0, 0]
    p = scipy.stats.binomtest(int(np.sum(fixed > 0)), n, 0.5).pvalue
    assert p >= tolerances.ESTIMATOR_FALSE_FAILURE_RATE, p
    raw = haar_orthogonal(3, rng=stat_rng(2), size=n, sign_fix=False)[:, 0, 0]
    # Negative control: every raw first entry is negative, so the same test must reject.
    p_raw = scipy.stats.binomtest(int(np.sum(raw > 0)), n, 0.5).pvalue
    assert p_raw < tolerances.ESTIMATOR_FALSE_FAILURE_RATE, p_raw


def test_stat_orthogonal_row_norms_are_chi():
    """KS test of ORF row norms against chi(d), false-failure rate 1e-6."""
    d = 5
    norms = np.linalg.norm(gaussian_omega(7, d, orthogonal=True, rng=stat_rng(3), size=800),
                           axis=-1).ravel()
    p = scipy.stats.kstest(norms, scipy.stats.chi(d).cdf).pvalue
    assert p >= tolerances.ESTIMATOR_FALSE_FAILURE_RATE, p


# -- feature maps -------------------------------------------------------------------------------

@st.composite
def feature_inputs(draw, max_norm=3.0):
    rng = draw(seeds(), label="rng")
    d = draw(st.integers(1, 5), label="d")
    m = draw(st.integers(1, 9), label="m")
    norm = draw(st.sampled_from([0.0, 0.1, 1.0, max_norm]), label="norm")
    x, y = (norm * rng.standard_normal(d) / np.sqrt(d) for _ in range(2))
    return x, y, gaussian_omega(m, d, rng=rng)


@given(case=feature_inputs())
def test_feature_products_are_the_estimators_of_lemma1(case):
    """phi(x).phi(y) equals the per-draw sum it stands for (product-to-sum identities)."""
    x, y, omega = case
    m = omega.shape[0]
    lam = np.exp(-(x @ x + y @ y) / 2)
    u, t = omega @ (x + y), omega @ (x - y)
    expected = {
        positive_features: lam * np.exp(u).mean(),
        hyperbolic_features: lam * np.cosh(u).mean(),
        trig_features: np.exp((x @ x + y @ y) / 2) * np.cos(t).mean(),
        fourier_features: np.cos(t).mean(),
    }
    size = np.abs(omega) @ (np.abs(x) + np.abs(y)) + x @ x + y @ y
    for phi, value in expected.items():
        product = phi(x, omega) @ phi(y, omega)
        magnitude = np.abs(phi(x, omega)) @ np.abs(phi(y, omega)) + abs(value)
        rel = tolerances.SAFETY * (x.size + 2 * m + 6) * tolerances.EPS * (1 + size.max())
        assert_within(product, value, rel * magnitude, phi.__name__)


@given(case=feature_inputs())
def test_feature_maps_broadcast_independent_projections(case):
    x, _, omega = case
    stack = np.stack([omega, 2 * omega])
    for phi in vest.FEATURE_MAPS.values():
        both = phi(np.stack([x, x]), stack)
        np.testing.assert_array_equal(both[0], phi(x, omega))
        np.testing.assert_array_equal(both[1], phi(x, 2 * omega))


def test_feature_maps_at_zero():
    omega = np.ones((4, 2))
    np.testing.assert_array_equal(positive_features(np.zeros(2), omega), np.full(4, 0.5))
    np.testing.assert_array_equal(fourier_features(np.zeros(2), omega)[4:], np.full(4, 0.5))


# -- closed-form MSEs ---------------------------------------------------------------------------

@settings(max_examples=8)  # each example runs four adaptive cubatures
@given(data=st.data())
def test_lemma2_closed_forms_against_quadrature(data):
    rng = data.draw(seeds(), label="rng")
    scale = data.draw(st.sampled_from([0.05, 0.4, 1.0]), label="norm scale")
    x, y = rng.standard_normal((2, 3)) * scale
    for kind in vest.FEATURE_MAPS:
        closed = getattr(features, f"{kind}_features_mse")(x, y, 1)
        value, err = vest.lemma2_by_quadrature(kind, x, y)
        assert_within(closed, value, err + tolerances.summation_bound(8, abs(closed)), kind)


@given(data=st.data(), m=st.integers(1, 50))
def test_mse_relations_of_lemma2(data, m):
    rng = data.draw(seeds(), label="rng")
    x, y = rng.standard_normal((2, 4))
    pos, hyp = positive_features_mse(x, y, m), hyperbolic_features_mse(x, y, m)
    b = np.sum((x + y) ** 2)
    bound = tolerances.summation_bound(6, pos)
    assert_within(hyp, -0.5 * np.expm1(-b) * pos, bound, "hyp = (1 - e^-b)/2 MSE+")
    assert hyp <= positive_features_mse(x, y, 2 * m) + bound  # beats 2m positive draws
    assert_within(m * pos, positive_features_mse(x, y, 1), m * bound, "1/m scaling")
    k = min(m, 4)  # one orthogonal block (d = 4): Theorem 2 subtracts a square
    iid = positive_features_mse(x, y, k)
    assert orthogonal_positive_features_mse_bound(x, y, k) <= iid + m * bound


def test_mse_limits():
    x = np.array([3.0, 0.0])
    # SM -> 0 (y = -x): the trig MSE explodes, the positive MSE vanishes.
    assert trig_features_mse(x, -x, 1) > 1e6 and positive_features_mse(x, -x, 1) == 0.0
    assert fourier_features_mse(x, x, 7) == 0.0  # a = 0
    far = fourier_features_mse(x, -x, 3)
    assert_within(far, 1 / 6, tolerances.summation_bound(4, 1 / 6), "RFF variance -> 1/(2m)")
    assert positive_features_mse(np.zeros(3), np.zeros(3), 5) == 0.0
    assert trig_features_mse(x, x, 2) == 0.0


def test_orthogonal_bound_broadcasts_and_reduces_for_blocks():
    x = np.array([[0.3, 0.1, 0.0], [0.2, 0.2, 0.2]])
    y = np.array([0.1, -0.1, 0.2])
    bound = orthogonal_positive_features_mse_bound(x, y, 5)
    assert bound.shape == (2,)
    for i in range(2):
        one = orthogonal_positive_features_mse_bound(x[i], y, 5)
        assert_within(bound[i], one, tolerances.summation_bound(4, abs(one)), "row")
    # m = 1 has no orthogonal partner: the bound is the iid MSE.
    assert_within(orthogonal_positive_features_mse_bound(x[0], y, 1),
                  positive_features_mse(x[0], y, 1),
                  tolerances.summation_bound(6, positive_features_mse(x[0], y, 1)), "m = 1")


# -- statistical: unbiasedness and Lemma 2 ---------------------------------------------------------

@pytest.mark.parametrize("kind", list(vest.FEATURE_MAPS))
def test_stat_features_unbiased_with_lemma2_mse(kind):
    z = vest.feature_ztests(kind, vest.FEATURE_X, vest.FEATURE_Y, 4, 50_000,
                            stat_rng(10 + list(vest.FEATURE_MAPS).index(kind)))
    assert_z_below(z, 2, f"{kind}: z(mean), z(MSE)")


PAIRS = [(np.array([0.2, 0.1]), np.array([-0.1, 0.3])),
         (np.array([0.5, -0.3, 0.1, 0.0]), np.array([0.1, 0.2, -0.4, 0.3])),
         (np.array([0.05]), np.array([0.02]))]


@pytest.mark.slow
@pytest.mark.parametrize("pair", range(len(PAIRS)))
@pytest.mark.parametrize("m", [1, 3, 16])
def test_stat_features_unbiased_with_lemma2_mse_long(pair, m):
    x, y = PAIRS[pair]
    z = [vest.feature_ztests(kind, x, y, m, 400_000, stat_rng(100 + 10 * pair + m + i))
         for i, kind in enumerate(vest.FEATURE_MAPS)]
    assert_z_below(np.ravel(z), 8, f"pair {pair}, m = {m}")


# -- statistical: orthogonal features ------------------------------------------------------------

@pytest.mark.parametrize("m", [1, 3, 5])
def test_stat_orthogonal_features_unbiased(m):
    est = vest.orf_estimates(vest.FEATURE_X, vest.FEATURE_Y, m, 40_000, stat_rng(20 + m))
    assert_z_below(vest.mean_z(est, np.exp(vest.FEATURE_X @ vest.FEATURE_Y)), 1, f"ORF m={m}")


def test_stat_raw_qr_first_row_is_biased():
    """Negative control (spec Sec. 5): without the sign fix the first row is biased."""
    x = np.array([0.5, 0.0, 0.0])
    est = vest.orf_estimates(x, x, 1, 2000, stat_rng(30), sign_fix=False)
    assert_z_above(vest.mean_z(est, np.exp(x @ x)), 1, "raw QR")
    fixed = vest.orf_estimates(x, x, 1, 20_000, stat_rng(31))
    assert_z_below(vest.mean_z(fixed, np.exp(x @ x)), 1, "sign-fixed QR")


@pytest.mark.parametrize("m", [2, 6])
def test_stat_orthogonal_mse_under_theorem2_and_below_iid(m):
    over_bound, below_iid = vest.orf_mse_z(vest.ORF_X, vest.ORF_X, m, 50_000, stat_rng(40 + m))
    assert over_bound <= z_star(1, one_sided=True), f"MSE exceeds Theorem 2 by z = {over_bound}"
    if m == 6:  # expected z ~ 14 at this size: the control cannot miss
        assert below_iid > z_star(1, one_sided=True), f"ORF not below iid: z = {below_iid}"


@pytest.mark.slow
def test_stat_orthogonal_long():
    x, y = np.array([0.3, 0.2, -0.1, 0.2]), np.array([0.1, -0.2, 0.3, 0.1])
    z = [vest.mean_z(vest.orf_estimates(x, y, m, 200_000, stat_rng(50 + m)), np.exp(x @ y))
         for m in (2, 4, 7)]
    assert_z_below(np.array(z), 3, "ORF unbiased")
    over = [vest.orf_mse_z(x, y, m, 400_000, stat_rng(60 + m))[0] for m in (2, 4, 7)]
    assert max(over) <= z_star(3, one_sided=True), over


# -- bad input --------------------------------------------------------------------------------

X3 = np.array([0.1, 0.2, 0.3])
OMEGA = np.ones((4, 3))
BAD = [
    (gaussian_omega, {"m": 0, "d": 3}, ValueError, r"\bm\b.*positive"),
    (gaussian_omega, {"m": 2, "d": -1}, ValueError, r"\bd\b.*positive"),
    (gaussian_omega, {"m": 2.5, "d": 3}, TypeError, r"\bm\b"),
    (gaussian_omega, {"m": 2, "d": 3, "orthogonal": "yes"}, TypeError, "orthogonal"),
    (gaussian_omega, {"m": 2, "d": 3, "size": -2}, ValueError, "size"),
    (gaussian_omega, {"m": 2, "d": 3, "rng": "seed"}, TypeError, "rng"),
    (haar_orthogonal, {"d": 0}, ValueError, r"\bd\b"),
    (haar_orthogonal, {"d": 3, "sign_fix": 1}, TypeError, "sign_fix"),
    (positive_features, {"x": X3, "omega": np.ones((4, 2))}, ValueError, r"omega.*m, 3\)"),
    (trig_features, {"x": [np.nan, 0, 0], "omega": OMEGA}, ValueError, r"\bx\b.*finite"),
    (hyperbolic_features, {"x": X3, "omega": np.ones(3)}, ValueError, "omega.*2 dimensions"),
    (fourier_features, {"x": X3 + 1j, "omega": OMEGA}, TypeError, r"\bx\b"),
    (positive_features, {"x": X3, "omega": np.ones((2, 4, 3)) + [[[0]], [[np.inf]]]},
     ValueError, "omega.*finite"),
    (positive_features_mse, {"x": X3, "y": X3, "m": 0}, ValueError, r"\bm\b"),
    (trig_features_mse, {"x": X3, "y": X3[:2], "m": 1}, ValueError, r"\by\b.*last dimension"),
    (hyperbolic_features_mse, {"x": "abc", "y": X3, "m": 1}, TypeError, r"\bx\b"),
    (fourier_features_mse, {"x": np.ones((2, 3)), "y": np.ones((3, 3)), "m": 1}, ValueError,
     "broadcast"),
    (orthogonal_positive_features_mse_bound, {"x": X3, "y": X3, "m": True}, TypeError, r"\bm\b"),
]


@pytest.mark.parametrize("func, kwargs, exc, pattern", BAD,
                         ids=[f"{f.__name__}-{i}" for i, (f, *_) in enumerate(BAD)])
def test_bad_input_is_refused_by_name(func, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        func(**kwargs)
