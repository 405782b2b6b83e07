"""NeuralEF (Deng, Shi & Zhu, ICML 2022) in NumPy: loss, training machinery, what it learns.

Exact (rounding bounds of refimpl.tolerances):

* :func:`neuralef_loss`'s gradient against central differences: :math:`\\ell_j` is
  *quadratic* in column :math:`j`, so a difference quotient with a dyadic step on dyadic
  inputs has no truncation error at all (spec Sec. 4 #14); the official code's
  ``tril(-1).T`` mask equals :math:`I - U`;
* the sequential optimum: with :math:`\\hat\\psi_{i<j} = \\psi_i` the objective is
  :math:`\\sum_{l \\ge j}\\mu_lc_l^2` (spec Sec. 1.2; a sympy proof in ``proofs/eigen.py``);
* the batch normaliser and every model's backward pass against complex-step derivatives;
  the EMAs (first call copies, then 0.9/0.1), eval mode, determinism, progress reporting.

Trained (targets stated in POLICY ``neuralef_population`` / ``neuralef_minibatch``):

* population NeuralEF with linear features (quadrature weights in place of 1/B) converges
  to the Ritz pairs; exact eigenpairs when the span contains them; Ritz values never
  exceed the true eigenvalues (spec Sec. 4 #15, #16);
* minibatch NeuralEF recovers the components that the first-order analysis of
  :mod:`refimpl.eigen.minibatch` says are recoverable at the batch size, and the rest are
  reported, not asserted (spec Sec. 1.8, Sec. 4 #17).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.polynomial import legendre
from test_eigen_helpers import align_signs, assert_within, seeds

from refimpl import tolerances
from refimpl.eigen import (
    gauss_hermite_rule,
    gauss_legendre_rule,
    l2_batch_norm,
    neuralef_batch_eigenvalues,
    neuralef_fit,
    neuralef_loss,
    neuralef_minibatch_prediction,
    nystrom,
    polynomial_eigen_1d,
    polynomial_kernel,
    rbf_gaussian_eigen,
    rbf_kernel,
    uniform_sampler,
)
from refimpl.eigen._models import Adam, LinearModel, ParallelMLP
from refimpl.eigen.neuralef import _norm_backward

EPS = tolerances.EPS
TAU = tolerances.NEURALEF_L2_TARGET


def poly_kernel(x, y=None):
    return polynomial_kernel(x, y, degree=4, c=1.5)


def legendre_features(x):
    return legendre.legvander(x[:, 0], 4)


# -- the loss and its gradient ------------------------------------------------------------------

def _dyadic(rng, shape, scale=4):
    """Values on a grid of 2^-10: psi +- 1/8 is exact, so differences are exact."""
    return np.round(rng.normal(size=shape) * scale * 1024) / 1024


@given(rng=seeds(), B=st.integers(1, 9), k=st.integers(1, 4), weighted=st.booleans())
def test_gradient_equals_exact_central_differences(rng, B, k, weighted):
    psi = _dyadic(rng, (B, k))
    G = rng.normal(size=(B, B + 1))
    K = G @ G.T
    w = rng.random(B) + 0.2 if weighted else None
    R = np.diag(neuralef_loss(psi, K, weights=w).R)
    if k > 1 and np.any(R[:-1] <= 1e-3 * np.abs(R).max()):
        return  # a degenerate batch: R_jj ~ 0 is refused (tested in test_eigen_bad_input)
    h = 0.125
    out = neuralef_loss(psi, K, weights=w)
    _, grad_bound = tolerances.neuralef_loss_bounds(psi, K, w)
    fd, fd_bound = np.empty((B, k)), np.empty((B, k))
    for b in range(B):
        for j in range(k):
            values, bounds = [], []
            for sign in (1.0, -1.0):
                moved = psi.copy()
                moved[b, j] += sign * h  # exact: dyadic + dyadic on the same grid
                values.append(neuralef_loss(moved, K, weights=w).objective[j])
                bounds.append(tolerances.neuralef_loss_bounds(moved, K, w)[0][j])
            fd[b, j] = (values[0] - values[1]) / (2 * h)
            fd_bound[b, j] = (bounds[0] + bounds[1]) / (2 * h)
    assert_within(out.gradient, fd, grad_bound + fd_bound, "G vs exact central differences")


@given(rng=seeds(), B=st.integers(2, 12), k=st.integers(2, 5))
def test_official_mask_is_identity_minus_u(rng, B, k):
    """neuralef-classic-kernels.py: mask = I - ((R / diag R).tril(-1)).T, grad = K psi mask."""
    psi = rng.normal(size=(B, k))
    G = rng.normal(size=(B, B))
    K = G @ G.T
    out = neuralef_loss(psi, K)
    R = psi.T @ K @ psi
    mask = np.eye(k) - np.tril(R / np.diag(R)[None, :], -1).T
    code = (K @ psi) @ mask * 2 / B**2
    _, bound = tolerances.neuralef_loss_bounds(psi, K)
    assert_within(out.gradient, code, 2 * bound, "official-code gradient")


def test_sequential_objective_is_the_residual_spectrum():
    """psi_i exact for i < j and psi_j = sum_l c_l psi_l: l_j = sum_{l >= j} mu_l c_l^2."""
    exact = polynomial_eigen_1d(4, c=1.5)
    x, w = gauss_legendre_rule(8, -1.0, 1.0)  # exact for the degree-16 integrands
    F, mu = exact(x), exact.eigenvalues
    K = poly_kernel(x)
    rng = np.random.default_rng(0)
    for j in range(1, 5):
        c = rng.normal(size=5)
        c /= np.linalg.norm(c)
        psi = np.column_stack([F[:, :j], F @ c])
        got = neuralef_loss(psi, K, weights=w).objective[j]
        expected = np.sum(mu[j:] * c[j:] ** 2)
        bound = tolerances.neuralef_loss_bounds(psi, K, w)[0][j] + float(
            tolerances.eigenvalue_bound(8, 40.0)) * 1e3
        assert abs(got - expected) <= bound
        assert got <= mu[j] + bound  # the maximum mu_j is reached only at c = e_j


# -- normaliser, models, optimiser ------------------------------------------------------------

@given(rng=seeds(), B=st.integers(1, 10), k=st.integers(1, 4), weighted=st.booleans())
def test_batch_norm_forward_and_backward(rng, B, k, weighted):
    h = rng.normal(size=(B, k)) * rng.uniform(0.1, 10.0, size=k)
    w = rng.random(B) + 0.1 if weighted else np.full(B, 1.0 / B)
    psi, norms = l2_batch_norm(h, w)
    assert_within(w @ psi**2, 1.0, tolerances.quadrature_bound(B, 1.0, roundings=8),
                  "sum_b w_b psi_bj^2 = 1")
    g = rng.normal(size=(B, k))
    back = _norm_backward(g, psi, norms, w)
    # Complex step: d/dt sum(g * normalise(h + i t e_cj)) / t, exact to O(t^2) = 0.
    step, cs = 1e-30, np.empty((B, k))
    for c in range(B):
        for j in range(k):
            hc = h.astype(complex)
            hc[c, j] += 1j * step
            normed = hc / np.sqrt(w @ (hc * hc))
            cs[c, j] = np.sum(g * normed).imag / step
    size = (np.abs(g) + np.abs(psi) * (w @ np.abs(g * psi))) / norms
    assert_within(back, cs, tolerances.quadrature_bound(B, size, roundings=16),
                  "normaliser backward vs complex step")


@pytest.mark.parametrize("activation", ["sin_cos", "tanh"])
def test_parallel_mlp_backward_matches_complex_step(activation):
    rng = np.random.default_rng(1)
    model = ParallelMLP(2, 3, (4, 6), activation, rng)
    x = rng.normal(size=(5, 2))
    g = rng.normal(size=(5, 3))
    model.forward(x, keep=True)
    grads = model.backward(g)
    step = 1e-30
    for index, param in enumerate(model.params):
        flat = param.reshape(-1)
        for e in range(0, flat.size, max(1, flat.size // 7)):
            saved = [p.copy() for p in model.params]
            model.params[index] = param.astype(complex)
            model.params[index].reshape(-1)[e] += 1j * step
            value = np.sum(g * model.forward(x.astype(complex))).imag / step
            model.params[:] = saved
            got = grads[index].reshape(-1)[e]
            size = np.sum(np.abs(g)) * (1 + np.abs(x).max()) * 40  # |act|, |act'| <= 1
            assert abs(got - value) <= float(tolerances.quadrature_bound(40, size)), \
                f"parameter {index}, entry {e}"


def test_linear_model_and_adam_by_hand():
    rng = np.random.default_rng(2)
    model = LinearModel(3, 2, rng)
    phi, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    model.forward(phi, keep=True)
    (grad,) = model.backward(g)
    np.testing.assert_array_equal(grad, phi.T @ g)
    p = np.array([1.0, -2.0])
    opt = Adam([p])
    g1, g2 = np.array([0.5, -1.0]), np.array([0.25, 2.0])
    opt.step([g1], 0.1)
    opt.step([g2], 0.1)
    m = 0.9 * 0.1 * g1 + 0.1 * g2
    v = 0.999 * 0.001 * g1**2 + 0.001 * g2**2
    first = np.array([1.0, -2.0]) - 0.1 * g1 / (np.abs(g1) + 1e-8)
    expected = first - 0.1 * (m / 0.19) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    assert_within(p, expected, 64 * EPS * (np.abs(expected) + 1), "two Adam steps")


# -- the training loop ---------------------------------------------------------------------------

def _short_fit(**kwargs):
    defaults = dict(hidden=(8, 8), steps=30, batch_size=16, lr=1e-2, rng=3)
    defaults.update(kwargs)
    return neuralef_fit(rbf_kernel, uniform_sampler(-2.0, 2.0), 3, **defaults)


def test_emas_copy_first_then_average():
    ef = _short_fit()
    hist = ef.info["history"]
    for ema, batch in (("eigenvalues", "batch_eigenvalues"), ("norms", "batch_norms")):
        np.testing.assert_array_equal(hist[ema][0], hist[batch][0])
        expected = 0.9 * hist[ema][:-1] + 0.1 * hist[batch][1:]
        assert_within(hist[ema][1:], expected, 4 * EPS * np.abs(expected), f"{ema} EMA")
    inverse = np.argsort(ef.info["order"])
    np.testing.assert_array_equal(ef.eigenvalues[inverse], hist["eigenvalues"][-1])
    x = np.linspace(-2, 2, 5)[:, None]
    raw = ef.info["model"].forward(x) / hist["norms"][-1]
    np.testing.assert_array_equal(ef(x)[:, inverse], raw)  # eval mode: the EMA norms


def test_same_seed_same_result_and_progress(capsys):
    a, b, c = _short_fit(), _short_fit(), _short_fit(rng=4)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    assert not np.array_equal(a.eigenvalues, c.eigenvalues)
    calls = []
    _short_fit(progress=lambda step, objective, mu: calls.append((step, objective.shape)))
    assert [s for s, _ in calls] == list(range(30)) and calls[0][1] == (3,)
    _short_fit(progress=True)
    err = capsys.readouterr().err
    assert err.count("neuralef: step") == 10 and "step 30/30" in err
    _short_fit(progress=15)
    assert capsys.readouterr().err.count("neuralef: step") == 2


def test_empirical_data_set_and_learning_rate_schedule():
    data = np.random.default_rng(5).uniform(-1, 1, size=(40, 1))
    ef = neuralef_fit(poly_kernel, data, 2, features=legendre_features, steps=20,
                      batch_size=40, lr=0.1, rng=0)
    lr = ef.info["history"]["lr"]
    assert lr[0] == 0.1 and abs(lr[10] - 0.05) <= 4 * EPS and lr[-1] > 0
    const = neuralef_fit(poly_kernel, data, 2, features=legendre_features, steps=5,
                         batch_size=8, schedule="constant", rng=0)
    assert np.all(const.info["history"]["lr"] == 1e-3)


# -- population level: the Ritz pairs ------------------------------------------------------------

def _ritz(kernel, features, x, w):
    import scipy.linalg

    Phi = features(x)
    A = (w[:, None] * Phi).T @ kernel(x) @ (w[:, None] * Phi)
    M = Phi.T @ (w[:, None] * Phi)
    theta, C = scipy.linalg.eigh((A + A.T) / 2, M)
    return theta[::-1], C[:, ::-1], Phi, A, M


def _learned_coefficients(ef):
    W = ef.info["model"].params[0]
    return W / ef.info["history"]["norms"][-1]


def test_population_neuralef_finds_the_exact_eigenpairs():
    """spec Sec. 4 #15: (xx' + 1.5)^4 with Legendre features (the span holds every
    eigenfunction), population objective on an exact rule, Adam 2e4 steps, lr 0.02."""
    x, w = gauss_legendre_rule(8, -1.0, 1.0)
    ef = neuralef_fit(poly_kernel, (x, w), 5, features=legendre_features, steps=20_000,
                      lr=0.02, rng=0)
    np.testing.assert_array_equal(ef.info["order"], np.arange(5))
    exact = polynomial_eigen_1d(4, c=1.5)
    assert_within(ef.eigenvalues, exact.eigenvalues,
                  tolerances.NEURALEF_POPULATION_RTOL * exact.eigenvalues, "eigenvalues")
    xq, wq = gauss_legendre_rule(40, -1.0, 1.0)
    F = exact(xq)
    err = np.sqrt(wq @ (align_signs(ef(xq), F, wq) - F) ** 2)
    assert np.all(err <= tolerances.NEURALEF_POPULATION_L2), err


def test_population_neuralef_converges_to_ritz_pairs_below_the_truth():
    """spec Sec. 4 #15-16: RBF under N(0, 1), polynomial features of degree 5 (the span does
    not hold the eigenfunctions): the learned pairs are the Ritz pairs, which never
    exceed the true eigenvalues (Courant-Fischer)."""
    x, w = gauss_hermite_rule(60)
    x = x[:, None]

    def features(t):
        return np.polynomial.hermite_e.hermevander(t[:, 0], 5)

    theta, C, _, A, M = _ritz(rbf_kernel, features, x, w)
    mu = rbf_gaussian_eigen(6).eigenvalues
    size = float(tolerances.eigenvalue_bound(6, np.linalg.norm(A) * np.linalg.cond(M)))
    assert np.all(theta <= mu + size), (theta, mu)
    assert np.all(mu[:4] - theta[:4] > 1e3 * size)  # strictly below: the span is too small
    ef = neuralef_fit(rbf_kernel, (x, w), 4, features=features, steps=20_000, lr=0.02, rng=1)
    assert_within(ef.eigenvalues, theta[:4], tolerances.NEURALEF_POPULATION_RTOL * theta[:4],
                  "Ritz values")
    coef = _learned_coefficients(ef)
    for j in range(4):
        # A posteriori (Davis-Kahan in the M-geometry): sin angle <= ||r||_{M^-1} / gap.
        c = coef[:, j] / math.sqrt(coef[:, j] @ M @ coef[:, j])
        rho = c @ A @ c
        r = A @ c - rho * M @ c
        res = math.sqrt(r @ np.linalg.solve(M, r))
        gap = np.min(np.abs(np.delete(theta, j) - rho))
        assert abs(rho - theta[j]) <= res**2 / gap + size  # Kato-Temple
        diff = c * np.sign(c @ M @ C[:, j]) - C[:, j]
        assert math.sqrt(diff @ M @ diff) <= math.sqrt(2) * res / gap + size
        assert res / gap <= tolerances.NEURALEF_POPULATION_L2


# -- minibatch: what the first-order analysis says is recoverable ---------------------------------

def _minibatch_check(batch_size, steps, lr, seed):
    x, w = gauss_legendre_rule(40, -1.0, 1.0)
    exact = polynomial_eigen_1d(4, c=1.5)
    mu = exact.eigenvalues
    prediction = neuralef_minibatch_prediction(poly_kernel, legendre_features, x, w, 5,
                                               batch_size)
    limit = tolerances.NEURALEF_RECOVERABLE_BIAS
    recoverable = (mu / mu[0] >= 0.1) & (prediction.bias <= limit)
    ef = neuralef_fit(poly_kernel, uniform_sampler(-1.0, 1.0), 5, features=legendre_features,
                      batch_size=batch_size, steps=steps, lr=lr, rng=seed)
    inverse = np.argsort(ef.info["order"])  # network order: output j is player j
    F = exact(x)
    learned = align_signs(ef(x)[:, inverse], F, w)
    err = np.sqrt(w @ (learned - F) ** 2)
    # Eigenvalues: the EMA fluctuates around E[R_jj] (V-statistic shift, spec Sec. 1.8) with
    # sd = sd(R_jj) sqrt((1 - m) / (1 + m)); the learned function's error adds mu_1 tau^2.
    hist = ef.info["history"]
    tail = hist["batch_eigenvalues"][-steps // 10:]
    sd = tail.std(axis=0, ddof=1) * math.sqrt(0.1 / 1.9)
    target = neuralef_batch_eigenvalues(poly_kernel, exact, x, w, batch_size)
    ema = hist["eigenvalues"][-1]
    bound = tolerances.eigen_ztest_bound(sd, int(recoverable.sum())) + mu[0] * TAU**2
    assert np.all(err[recoverable] <= TAU), (err, prediction.bias)
    assert_within(ema[recoverable], target[recoverable], bound[recoverable],
                  "eigenvalue EMA vs E[R_jj]")
    return recoverable, err, ema / mu - 1, prediction.bias


def test_minibatch_linear_recovers_what_the_analysis_predicts():
    """B = 1024 (spec Sec. 4 #17): components 1-3 recoverable (predicted bias 0.002, 0.001,
    0.016), 4 and 5 not (0.059 and sqrt 2); only the first three are asserted."""
    recoverable, *_ = _minibatch_check(1024, 2000, 0.01, seed=0)
    np.testing.assert_array_equal(recoverable, [True, True, True, False, False])


@pytest.mark.slow
def test_minibatch_linear_long():
    """B = 256, 4000 steps: components 1-2 recoverable (predicted bias 0.007, 0.002), the
    third not (0.057)."""
    recoverable, *_ = _minibatch_check(256, 4000, 0.01, seed=1)
    np.testing.assert_array_equal(recoverable, [True, True, False, False, False])


def test_batch_eigenvalue_formula_by_monte_carlo():
    """E[R_jj] at the exact psi_j, 4000 batches of B = 256: z-test (alpha = 1e-6) with an
    O(1/B^2) allowance of (first-order shift)^2 / mu_j, for the components whose
    first-order shift is small (j = 1..3)."""
    x, w = gauss_legendre_rule(40, -1.0, 1.0)
    exact = polynomial_eigen_1d(4, c=1.5)
    B, S = 256, 4000
    rng = np.random.default_rng(6)
    samples = np.empty((S, 3))
    for s in range(S):
        t = rng.uniform(-1, 1, size=B)
        psi, _ = l2_batch_norm(exact(t)[:, :3])
        samples[s] = np.diag(neuralef_loss(psi, poly_kernel(t)).R)
    pred = neuralef_batch_eigenvalues(poly_kernel, exact, x, w, B)[:3]
    mu = exact.eigenvalues[:3]
    sd = samples.std(axis=0, ddof=1) / math.sqrt(S)
    bound = tolerances.eigen_ztest_bound(sd, 3, df=S - 1) + (pred - mu) ** 2 / mu
    assert_within(samples.mean(axis=0), pred, bound, "E[R_jj] first order in 1/B")


def _mlp_check(k, steps, asserted, seed):
    x, w = gauss_legendre_rule(120, -2.0, 2.0)  # the oracle: converged quadrature Nystrom
    oracle = nystrom(rbf_kernel, x, k, weights=w)
    ef = neuralef_fit(rbf_kernel, uniform_sampler(-2.0, 2.0), k, batch_size=256, steps=steps,
                      lr=3e-3, rng=seed)
    inverse = np.argsort(ef.info["order"])
    F = oracle.info["values_at_nodes"]
    err = np.sqrt(w @ (align_signs(ef(x)[:, inverse], F, w) - F) ** 2)
    assert np.all(err[:asserted] <= TAU), err
    # Stationary kernel: k(x, x) = 1, so the V-statistic only shifts (spec Sec. 4 notes).
    hist = ef.info["history"]
    tail = hist["batch_eigenvalues"][-steps // 10:, :asserted]
    sd = tail.std(axis=0, ddof=1) * math.sqrt(0.1 / 1.9)
    target = neuralef_batch_eigenvalues(rbf_kernel, oracle, x, w, 256)[:asserted]
    bound = tolerances.eigen_ztest_bound(sd, asserted) + oracle.eigenvalues[0] * TAU**2
    assert_within(hist["eigenvalues"][-1, :asserted], target, bound, "MLP eigenvalue EMA")
    return err


def test_mlp_paper_setting_short():
    """RBF on U[-2, 2] (the paper's setting), sin/cos MLPs 1-32-32-1, B = 256; 1000 steps
    suffice for the first two components (the third needs more steps, see the long test)."""
    _mlp_check(3, 1000, 2, seed=0)


@pytest.mark.slow
def test_mlp_paper_setting_long():
    """6000 steps: the third component too (its error was 0.020 at 6000 steps, 0.028 at
    2000, while the linear analysis predicts a bias of only 0.006 at B = 256)."""
    _mlp_check(3, 6000, 3, seed=1)
