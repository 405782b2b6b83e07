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

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DECAY_SLOPE_TOLERANCE",
    "EIGEN_FALSE_FAILURE_RATE",
    "EPS",
    "ESTIMATOR_FALSE_FAILURE_RATE",
    "NEURALEF_L2_TARGET",
    "NEURALEF_POPULATION_L2",
    "NEURALEF_POPULATION_RTOL",
    "NEURALEF_RECOVERABLE_BIAS",
    "NYSTROM_SLOPE_MODEL",
    "POLICY",
    "QUADRATURE_RTOL",
    "SAFETY",
    "WALK_FALSE_FAILURE_RATE",
    "Tolerance",
    "attention_quotient_bound",
    "eigen_z_threshold",
    "eigen_ztest_bound",
    "eigenvalue_bound",
    "eigenvector_bound",
    "estimator_z_threshold",
    "expm_bound",
    "expm_multiply_bound",
    "fft_convolution_bound",
    "gated_rfa_bound",
    "hermite_bound",
    "kernel_entry_bound",
    "log_feature_bound",
    "log_sum_exp_bound",
    "lu_solve_bound",
    "masked_linear_attention_bound",
    "mercer_tail_bound",
    "neuralef_loss_bounds",
    "nngp_recursion_bound",
    "nystrom_mse_slope_tolerance",
    "payload_bound",
    "product_bound",
    "quadrature_bound",
    "snis_slope_tolerance",
    "softmax_attention_bound",
    "summation_bound",
    "tree_dp_bound",
    "walk_path_sum_bound",
    "walk_rmse_slope_tolerance",
    "walk_taylor_bound",
    "walk_z_threshold",
    "walk_ztest_bound",
    "weighted_average_bound",
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


#: The tolerance table: each :class:`Tolerance` by name, with its bound and its reason.
#: The checks, the tests and the harness look their tolerances up here.
#:
#: :meta hide-value:
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
        Tolerance(
            "walk_path_sum",
            "SAFETY * (n_paths + (K + 1)(L + 4)) * eps * |moment|(|W|, |alpha|)",
            "An exact walk moment by exhaustive path enumeration against its closed form "
            "(refimpl.walks): each path term is a product of at most 3K + 2 rounded "
            "factors (probability, load updates, alpha_k), n_paths terms are summed "
            "(Higham eqs. 3.4, 4.4); the closed form takes K dense products of inner "
            "length L and a sum of K + 1 terms (eq. 3.13). All errors are relative to the "
            "same moment computed with |W| and |alpha|, which bounds every term.",
        ),
        Tolerance(
            "walk_ztest",
            "z * sd + rounding, z = norm.isf(WALK_FALSE_FAILURE_RATE / (2 m))",
            "A Monte-Carlo estimate against its exact expectation: a two-sided z-test "
            "at false-failure rate 1e-6, Bonferroni over the m entries compared; sd is the "
            "exact standard deviation of the estimate (the derived per-walk variance over "
            "n_walks) or the empirical standard error of independent walks or "
            "replicates (CLT: averages of thousands of bounded, finite-variance terms; "
            "with an empirical sd from R replicates, Student's t.isf(., R - 1) replaces "
            "norm.isf); rounding is the summation bound of the averaged terms.",
        ),
        Tolerance(
            "walk_taylor",
            "(SAFETY (K L + K + 4) + 2 + x) eps e^x, x = |lam| ||W||_inf",
            "The truncated series T_K(lam W / 2)^2 against scipy.linalg.expm(lam W), "
            "max-norm: K dense products of inner length L and K + 1 summed terms, "
            "normwise in the inf-norm (Higham eq. 3.13, ||W^k|| <= ||W||^k); the tail after "
            "K is <= eps e^(x/2) per factor by the choice of K (spec Sec. 5 item 26), "
            "2 eps e^x for the square; expm's backward error <= u ||lam W|| (Al-Mohy and "
            "Higham 2009) costs at most x eps e^x forward.",
        ),
        Tolerance(
            "walk_rmse_slope",
            "|slope + 1/2| <= z sd + bias, sd = sqrt(sum_j c_j^2 cv_j^2 / (4R)), "
            "bias = sum_j |c_j| cv_j^2 / (4R)",
            "The slope of log RMSE against log n_walks fitted by least squares: the MSE is "
            "exactly V / n for an unbiased average of n iid walks, so the true slope is "
            "-1/2. Each log of a mean of R replicate squared errors has sd cv_j / sqrt(R) "
            "and Jensen bias -cv_j^2 / (2R) (delta method), cv_j the coefficient of "
            "variation of the squared error at size j; c_j = (x_j - mean x) / S_xx are the "
            "least-squares weights of x_j = log n_j; z = norm.isf(1e-6 / 2).",
        ),
        Tolerance(
            "expm_multiply",
            "SAFETY * eps * N * G * ((nnz + 3) ||x_c||_inf + ||X||_inf) per column; "
            "N = 55 ceil(||B||_1 / 9.9), G = e^mu ||exp(|B|)||_inf, B = lam W - mu I, "
            "mu = tr(lam W) / L",
            "scipy.sparse.linalg.expm_multiply (Al-Mohy & Higham 2011, Alg. 3.2) forms "
            "e^mu T_m(B/s)^s X with N = s m products with B; it minimises s m, so N is at "
            "most the cost of m = 55, s = ceil(||B||_1 / theta_55), theta_55 = 9.9 (their "
            "Table 3.1, backward error 2^-53). Rounding: a product with B errs by "
            "gamma(nnz)|B||v| (nnz = longest row of B), a Taylor step sums m terms, and "
            "T_m(|B|/s)^s <= exp(|B|) entrywise, so the result is within "
            "gamma(N (nnz + 2)) e^mu exp(|B|)|x|. Truncation: degree m leaves a backward "
            "error of 2^-53 ||B||_1 (forward ~ u ||B|| G, below the rounding term as "
            "N >= 5.5 ||B||_1), and the early exit drops terms below u times the "
            "block inf-norm of the current iterate (all columns together), at most "
            "s u G ||X||_inf in total. Normwise per column, relative to G >= ||exp(lam W)||. "
            "Checked against mpmath (40 digits), L <= 60, columns scaled 1e-8..1e3: worst "
            "error/bound 9e-4. G is pessimistic for generators whose diagonal varies "
            "(A - D on irregular graphs): there |B| = |lam|(A + |D - mu I|).",
        ),
        Tolerance(
            "expm",
            "SAFETY * eps * 4 max(1, ||B||_1) * (L + 26) * G on ||oracle - exp(lam W)||_inf; "
            "B, G as for expm_multiply",
            "The DiffusionMask oracle e^mu expm(B / 2^k)^(2^k), 2^k the power of two >= "
            "||B||_1: scipy.linalg.expm (Al-Mohy & Higham 2009) then sees ||X||_1 <= 1 and "
            "scales at most once more, so there are 2^(k+s) <= 4 max(1, ||B||_1) squarings' "
            "worth of doubling. On ||X||_1 <= 1 the Pade approximant r and its well "
            "conditioned denominator err by a few tens of u (26 counts ~2 x 13 operations). "
            "A squaring doubles the relative error and adds gamma(L) relative to the "
            "majorant |X|^2, and |r(X)|^(2^(k+s)) ~ exp(|B|) (the squaring-phase analysis, "
            "Higham, Functions of Matrices, Sec. 10.3); e^mu adds one rounding. Normwise, "
            "relative to G. Not a proof: checked against mpmath (40 digits) on random, star, "
            "directed, low-rank and Laplacian generators, L <= 60: worst error/bound 6e-3.",
        ),
        Tolerance(
            "lu_solve",
            "SAFETY * c * eps * ||A^-1||_inf^2 * || |L||U| ||_inf * ||b_c||_inf per column; "
            "c = 3 x longest row of L or column of U",
            "LU factorisation and two triangular solves (Higham Thm 9.4): "
            "(A + dA) x_hat = b with |dA| <= gamma(3n) P^T |L||U| Q^T, n the length of the "
            "longest inner product (for sparse factors the longest row of L or column of "
            "U); ||x_hat - x|| <= ||A^-1|| ||dA|| ||x_hat|| and ||x_hat|| <= ||A^-1|| ||b|| "
            "to first order. || |L||U| ||_inf is computed from the factors actually used. "
            "For A = I + sigma (D - W), an M-matrix with A 1 = 1, A^-1 >= 0 has unit row "
            "sums: ||A^-1||_inf = 1 exactly. An inverse computed column by column obeys "
            "|M_hat - M| <= gamma A^-1 |L||U| |M_hat|, the same bound with ||b|| = 1.",
        ),
        Tolerance(
            "tree_dp",
            "SAFETY * C * eps * (M_{a/2} |X|) + SAFETY * C * tiny, C = K + 6h + 8, "
            "h = height (hops) from the DP's root, K = min(2L - 1, (h + 1)(max #children + 1))",
            "TreeMask(decay=a): M = A^-1 D A^-T with A = I - EP unit lower triangular, "
            "D = I - E^2, all factors nonnegative. The upward solve's row for v sums "
            "1 + #children terms, so its error is <= A^-T diag(gamma) A^-T |x| <= gamma(K) "
            "A^-T |x| (Higham Thm 8.5, summed along a root path); D and A^-1 carry it to "
            "gamma(K) M|x| exactly. The downward solve's two-term rows add gamma(2)(h + 1) "
            "M|x|, since rho(v,z) rho(z,w) <= rho(v,w). Rounding e_v = exp(-a w_v) changes "
            "an entry by (t + hops + 2h + 3) u rho, t = a dist (the common-ancestor sum is "
            "bounded by a stopping-time argument: sum_z d_z rho_z^2 2 t_z <= 1); the "
            "oracle's networkx distances (path sums, relative error gamma(hops)) add "
            "(t hops + 2) u rho. With (1 + t) e^-t <= 1.22 e^(-t/2) every term is below "
            "C eps M_{a/2}|X|, evaluated by the same DP at decay a/2; tiny covers underflow.",
        ),
        Tolerance(
            "tree_centroid_fft",
            "sum over the node's histograms b: SAFETY eps (N_b + m_b + 2 levels) "
            "(|H_b| h_b(|X|)) for Hankel blocks (N_b <= 32), else FFT_CONSTANT log2(n_fft) "
            "eps ||F_b||_1 ||h_b(|X|)||_2 + SAFETY eps (m_b + 2 levels) max|F_b| "
            "||h_b(|X|)||_1",
            "TreeMask(f) on an unweighted tree (centroid decomposition): a node receives one "
            "signed correlation per histogram it is in, at most 2 per level. A histogram of "
            "m_b nodes sums at most m_b terms (Higham eq. 4.4), carried by the correlation "
            "with weight <= max|F|; a Hankel block applied as a matmul has the product "
            "bound (Higham eq. 3.13), one applied by FFT the fft_convolution bound (Higham "
            "Thm 24.2), with |h_b(X)| <= h_b(|X|); the node's final sum of <= 2 levels "
            "correlations adds gamma(2 levels) times their sizes. The oracle evaluates f at "
            "the same float64 distances 0..diameter, so its entries are bit-identical.",
        ),
        Tolerance(
            "information_payload",
            "SAFETY * h * (n + 1) * eps * (P^h)_ij, entry by entry (relative); the NIP "
            "n^3 min_ij (P^h)_ij / nnz: the same relative bound + 2 eps",
            "P = D^-1 (A + I) is nonnegative and each entry is rounded once (u relative). "
            "Any product tree of h factors P has h leaves and h - 1 products; a product "
            "of nonnegative matrices of inner length n errs by at most gamma(n) relative, "
            "componentwise (Higham eq. 3.13, where |A||B| = AB), and relative errors of "
            "nonnegative factors add to first order: fl(P^h) = P^h (1 + theta) with "
            "|theta| <= h u + (h - 1) gamma(n) <= h (n + 1) eps. Nothing cancels, so the "
            "bound holds entry by entry, hence for the minimum; the NIP adds a product and "
            "a division. Valid while no payload is subnormal (refimpl.graphs refuses "
            "payloads below tiny / eps).",
        ),
        Tolerance(
            "eigenvalue",
            "SAFETY (n + 16) eps ||A||_F for an n x n symmetric A (eigenvalue_bound)",
            "Eigenvalues of a symmetric matrix whose entries carry a few roundings each "
            "(kernel evaluation, quadrature-weight scaling: <= 16 eps relative, so "
            "||dA||_2 <= ||dA||_F <= 16 eps ||A||_F), by a backward-stable eigensolver "
            "(LAPACK syevr/syevd: backward error <= p(n) eps ||A||_2, Demmel, Applied "
            "Numerical Linear Algebra, Thm 5.3 and Sec. 5.3): by Weyl every eigenvalue "
            "moves by at most the sum. Also the threshold below which a Nystrom eigenvalue "
            "is a rounding zero (beyond the numerical rank) and check_psd's floor.",
        ),
        Tolerance(
            "eigenvector",
            "sqrt(2) eigenvalue_bound / gap_j, at most 2 (eigenvector_bound)",
            "Davis-Kahan sin(theta) theorem (Stewart & Sun, Matrix Perturbation Theory, "
            "Thm V.3.6): a perturbation of 2-norm e moves a unit eigenvector whose "
            "eigenvalue is gap away from the rest by sin(theta) <= e / gap, and "
            "||v_hat - v|| <= sqrt(2) sin(theta) after aligning signs. Node values "
            "psi(x_i) = v_i / sqrt(w_i) carry the factor 1 / sqrt(w_i); a Nystrom "
            "extension at x adds sqrt(sum_i w_i k(x, x_i)^2) ||dv|| / mu (Cauchy-Schwarz).",
        ),
        Tolerance(
            "kernel_entry",
            "SAFETY * r * eps * magnitude, entry by entry: rbf r = (d + 8)(1 + z), "
            "z = |x - y|^2 / 2 l^2; polynomial r = p (d + 4) + 1 on (|x||y| + c)^p; "
            "arc-cosine r = 10 (d + 8)(n + 1) on |x|^n |y|^n",
            "A kernel entry against a 30-digit mpmath oracle. exp(-z) with z rounded to a "
            "relative (d + 2) eps has relative error z (d + 2) eps + eps; a power p of a "
            "sum of d products carries p (d + 4) relative roundings of the sum of "
            "|terms| (Higham eq. 3.5); the angle by Kahan's 2 atan2(|x^ - y^|, |x^ + y^|) "
            "errs by <= (d + 8) eps radians for every angle (unlike acos of the cosine, "
            "which loses half the digits near 0 and pi), and |J_n'| <= 3 pi.",
        ),
        Tolerance(
            "nngp_recursion",
            "SAFETY (L + 1)(d + 16) eps sqrt(K(x, x) K(y, y)) (nngp_recursion_bound)",
            "The NNGP/NTK recursions carry (Sigma_11, Sigma_22, r - Sigma_12, r + Sigma_12), "
            "each formed without cancellation, so every layer's angle 2 atan2(sqrt g, "
            "sqrt h) is accurate to O(eps) absolutely; the input angle (Kahan) carries "
            "(d + 8) eps; the ReLU angle map is a contraction (|d theta'/d theta| <= 1) and "
            "the erf map is smooth, so errors add up over L layers; the NTK sums L + 1 "
            "terms of size <= sqrt(Theta(x,x) Theta(y,y)). Measured against mpmath: <= 31 eps "
            "at L = 10 (bound ~ 1e4 eps).",
        ),
        Tolerance(
            "quadrature",
            "SAFETY (n + r) eps sum_i w_i |g(x_i)| (quadrature_bound)",
            "A quadrature sum of n terms, each with r roundings (the integrand's own "
            "evaluation included), Higham eq. 4.4. Rounding only: every check either uses a "
            "rule exact for its integrand (Gauss-Hermite for exp(-2 c x^2) on products of "
            "RBF eigenfunctions; Gauss-Jacobi on polynomial profiles; the trapezoid rule on "
            "trigonometric polynomials; a Gauss x trapezoid product rule on S^2), or one "
            "with many more nodes than the integrand oscillates (residuals of entire "
            "integrands, spec Sec. 4 #5), whose remainder is below this bound.",
        ),
        Tolerance(
            "hermite_recurrence",
            "SAFETY (m + 2 + 2 |w(x)|) eps max_{j<=m} |psi_j(x)| (hermite_bound)",
            "Normalised Hermite functions by the forward three-term recurrence "
            "g_{m+1} = sqrt(2/(m+1)) u g_m - sqrt(m/(m+1)) g_{m-1}: each step adds a few "
            "relative roundings of the two terms, and forward recurrence is stable for the "
            "wanted (dominant) solution, so errors grow linearly in m relative to the "
            "running maximum (Gautschi, SIAM Rev. 9, 1967, Sec. 3); the weight e^w, "
            "w = -(c - a) x^2, applied last, has relative error |w| eps per rounding of w. "
            "Checked against mpmath up to m = 999.",
        ),
        Tolerance(
            "mercer_tail",
            "sqrt(T_N(x, x) T_N(y, y)) + rounding, T_N(x, x) = k(x, x) - sum_{j<=N} mu_j "
            "psi_j(x)^2 (mercer_tail_bound)",
            "Mercer: k - S_N = sum_{j>N} mu_j psi_j(x) psi_j(y), mu_j >= 0, so by "
            "Cauchy-Schwarz |k - S_N|(x, y) <= sqrt(T_N(x, x) T_N(y, y)), and the diagonal "
            "tails are computable from the partial sums themselves. A theorem, tight when "
            "one term dominates the tail; the rounding of the sums (Higham eq. 4.4) is "
            "added to each diagonal tail and to the off-diagonal sum.",
        ),
        Tolerance(
            "decay_slope",
            "|fitted slope + s| <= 0.15 (DECAY_SLOPE_TOLERANCE), s = d (kappa_0, NTK), "
            "d + 2 (kappa_1), at degrees 80..160",
            "An asymptotic rate, not a rounding bound (spec Sec. 4 #8; Bach 2017, Bietti & "
            "Mairal 2019): mu_l = C l^-s (1 + O(1/l)), so the least-squares slope of "
            "log mu_l over l in [80, 160] differs from -s by the O(1/l) correction, "
            "measured 0.013 (d = 3) to 0.10 (d = 6); the quadrature values are far above "
            "rounding there (Gauss-Legendre in the angle, spectral for these profiles).",
        ),
        Tolerance(
            "eigen_ztest",
            "t * sd + rounding, t = Student t (or normal) quantile at "
            "EIGEN_FALSE_FAILURE_RATE / (2 m), Bonferroni over the m entries tested",
            "A Monte-Carlo average of S iid terms against its exact expectation: "
            "two-sided test at false-failure rate 1e-6, with the sd estimated from the "
            "S terms (t with S - 1 degrees of freedom; exact for normal terms, asymptotic "
            "by the CLT otherwise). One-sided versions (Hoffman-Wielandt: a mean below a "
            "bound) use the same quantile. Where the expectation is itself a first-order "
            "formula (E[R_jj] to O(1/B)), the O(1/B^2) remainder is allowed as the square "
            "of the first-order term divided by mu_j.",
        ),
        Tolerance(
            "nystrom_mse_slope",
            "z sd + bias + NYSTROM_SLOPE_MODEL (nystrom_mse_slope_tolerance)",
            "Slope of log(mean over R replicates of sum_j (mu_hat_j - mu_j)^2) against "
            "log n, expected -1 (variance c/n; spec Sec. 4 #10): the log of a mean of R "
            "terms with coefficient of variation cv has sd cv / sqrt(R) and bias "
            "-cv^2 / 2R (delta method), propagated through the least-squares weights; "
            "z at 1e-6; NYSTROM_SLOPE_MODEL = 0.1 allows for the squared O(1/n) bias "
            "term of the eigenvalues (n mu-error^2 was flat within 10% over n = 25..400).",
        ),
        Tolerance(
            "neuralef_loss",
            "gamma = SAFETY (2B + 4) eps on R, propagated through U and l_j "
            "(neuralef_loss_bounds); central differences: (err(psi + h) + "
            "err(psi - h)) / 2h",
            "R = (W psi)^T K (W psi) is two products of inner length B (Higham eq. 3.13): "
            "|dR| <= gamma |W psi|^T |K| |W psi|; U = R_ij / R_ii and l_j = R_jj - sum "
            "R_ij^2 / R_ii propagate it to first order. l_j is exactly quadratic in "
            "column j, and with dyadic psi and h = 1/8 the perturbed inputs are exact, "
            "so the difference quotient has no truncation error: only the two objective "
            "roundings divided by 2h remain.",
        ),
        Tolerance(
            "neuralef_population",
            "eigenvalues rtol 1e-8, L2(p) error of psi_j 1e-6 (NEURALEF_POPULATION_RTOL, "
            "NEURALEF_POPULATION_L2)",
            "Convergence targets, not rounding bounds (spec Sec. 4 #15): population "
            "NeuralEF with linear features is EigenGame on the Ritz matrix, whose fixed "
            "points are the Ritz pairs (spec Sec. 1.2), so a deterministic run must reach "
            "them. Where the learned pair is compared with a Ritz pair, Kato-Temple "
            "(|rho - theta| <= ||r||^2 / gap) and Davis-Kahan (sin <= ||r|| / gap) bound the "
            "distance by the learned pair's own residual r, and the target bounds ||r|| / gap.",
        ),
        Tolerance(
            "neuralef_minibatch",
            "L2(p) error <= 0.03 (NEURALEF_L2_TARGET) for components with mu_j / mu_1 >= 0.1 "
            "whose predicted first-order bias is <= 0.02 (NEURALEF_RECOVERABLE_BIAS); "
            "eigenvalue EMA within t sd sqrt((1 - m)/(1 + m)) + mu_1 0.03^2 of E[R_jj]",
            "spec Sec. 1.8 and 4 #17. refimpl.eigen.minibatch predicts, to first order in "
            "1/B, the function each player converges to (V-statistic diagonal and penalty "
            "noise Var(R_ij) in an effective quadratic form) and E[R_jj]; a component is "
            "asserted when its predicted bias leaves a third of the 0.03 target to the "
            "optimiser's final fluctuation. The EMA of iid batch values has variance "
            "(1 - m)/(1 + m) sd^2; a function error e moves the Rayleigh quotient by "
            "<= mu_1 e^2. Components not predicted recoverable are reported, not asserted.",
        ),
        Tolerance(
            "exact",
            "0",
            "Integer and combinatorial results (graph constructions, edge counts, "
            "diameters, 0/1 masks, exact rational closed forms) are computed without "
            "rounding and must be equal.",
        ),
        Tolerance(
            "log_sum_exp",
            "max_j delta_j + SAFETY (J + 1) eps + eps |result|; for log xi(x, omega) = "
            "omega.x - |x|^2/2, delta = SAFETY (d + 2) eps (|omega||x| + |x|^2/2)",
            "log sum_j exp(t_j) over J terms each known to within delta_j (refimpl."
            "estimators' log densities, log features, logsumexp): the exact map moves by "
            "at most max delta_j; after the max shift every exp(t_j - M) <= 1 is rounded "
            "with relative error (1 + |t_j - M|) u, and x e^-x <= 1, so the sum of J such "
            "terms and its log add (J + 1) eps (Higham eqs. 3.5, 4.4) and the final sum M "
            "+ log(.) one rounding. log xi is an inner product of d terms and a sum of d "
            "squares (Higham eq. 3.5), +2 for the scaling of q and k by sqrt(scale).",
        ),
        Tolerance(
            "weighted_average",
            "(err_num + |out| err_den) / |sum_j w_j|, err_num = sum_j dw_j |f_j| + "
            "sum_j |w_j| df_j + SAFETY (J + 2) eps sum_j |w_j||f_j|, err_den = sum_j dw_j + "
            "SAFETY (J + 2) eps sum_j |w_j|",
            "A self-normalised average out = sum_j w_j f_j / sum_j w_j of J terms (attention "
            "rows, SNIS and MIS estimates): weights known to within dw_j (for w_j = e^t_j "
            "with |dt_j| <= delta_j: dw_j = expm1(delta_j) w_j), values to within df_j; "
            "the two sums of J terms (Higham eq. 4.4) and the first-order perturbation of "
            "a quotient. Signed weights (LARA's unclamped MIS weights) are allowed: the "
            "bound is relative to |sum_j w_j|, which cancellation can make small.",
        ),
        Tolerance(
            "quadrature",
            "err_cubature + rounding of the exact side; cubature is asked for rtol = "
            "QUADRATURE_RTOL = 64 eps",
            "An expectation by adaptive Gauss-Kronrod cubature (scipy.integrate.cubature) "
            "against its closed form: the cubature's own error estimate (the difference of "
            "the embedded rules, summed over regions) plus the closed form's rounding bound. "
            "The integrands are smooth and Gaussian-weighted; each is integrated over the "
            "box of +-10 around its Gaussian's mean, which drops a mass below 2 d Phi(-10) "
            "< 1e-22, far under eps. An estimate, not a proof: the usual acceptance rule of "
            "adaptive quadrature.",
        ),
        Tolerance(
            "gated_scan",
            "attention_quotient(err_num, err_den), err = SAFETY (3L + m + 4) eps "
            "(W o |Phi_Q||Phi_K|^T) |[V, 1]|",
            "Gated RFA by its recurrence against its unrolled closed form (dense weights W "
            "and kernel attention): in the recurrence the term of token i reaches S_t "
            "through t - i multiplications by g and additions plus (1 - g_i) and the outer "
            "product; in the closed form w_ti is a product of up to L rounded factors "
            "before the kernel product (inner length m) and the sum over L tokens. Every "
            "term is therefore within (3L + m + 4) eps relative of its exact value (Higham "
            "Lemma 3.1); the quotient perturbation as in attention_quotient.",
        ),
        Tolerance(
            "estimator_ztest",
            "|mean - expectation| <= z se, z = norm.isf(1e-6 / (2k)) (or t.isf with R - 1 "
            "degrees of freedom); one-sided bounds norm.isf(1e-6 / k); negative controls "
            "must exceed it",
            "A Monte-Carlo estimator (random features, RA, MIS terms, ORF) against its exact "
            "expectation or closed-form MSE: R independent replicates with fixed seeds, a "
            "two-sided z-test at false-failure rate ESTIMATOR_FALSE_FAILURE_RATE = 1e-6, "
            "Bonferroni over the k entries compared. se is the exact standard error where "
            "the moments are known in closed form (feature moments up to the fourth, for "
            "the MSE tests) and the sample standard error otherwise (CLT, kept accurate by "
            "bounded or light-tailed quantities: small ||x + y||^2, R >= 10^3). A negative "
            "control passes when its |z| exceeds the same threshold; its expected |z| is "
            "chosen at least 5 above it, so it misses with probability < 1e-6 too.",
        ),
        Tolerance(
            "snis_rmse_slope",
            "|slope + 1/2| <= z sd + bias + model, sd = sqrt(sum_j c_j^2 cv_j^2 / (4R)), "
            "bias = sum_j |c_j| cv_j^2 / (4R), model = |sum_j c_j log1p(kappa_j)|",
            "The least-squares slope of log RMSE against log m for a self-normalised "
            "estimator (RFA, LARA) with m samples. Statistical part as walk_rmse_slope "
            "(delta method for each log mean of R squared errors, coefficient of variation "
            "cv_j, least-squares weights c_j of log m_j, z = norm.isf(1e-6 / 2)). Unlike an "
            "unbiased average, SNIS has MSE = V/m (1 + kappa_m) with kappa_m = beta/(V m) "
            "+ O(m^-2) from the delta method (second-order terms of N/D); the model term "
            "is twice the slope change that kappa causes (half of it, as RMSE = sqrt(MSE), "
            "doubled to cover the estimated beta/V and the remainder).",
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


# -- Monte-Carlo walk estimators (refimpl.walks) -----------------------------------------------

#: False-failure rate of every statistical test of the walk estimators (per test).
WALK_FALSE_FAILURE_RATE = 1e-6


def walk_path_sum_bound(n_paths: int, n_steps: int, L: int, magnitude) -> np.ndarray:
    """Rounding bound of POLICY ``["walk_path_sum"]``: enumeration vs closed form.

    ``magnitude`` is the moment computed with ``|W|`` and ``|alpha|`` (it bounds the sum
    of the absolute values of the path terms and of the closed form's terms).
    """
    n = int(n_paths) + (int(n_steps) + 1) * (int(L) + 4)
    return SAFETY * n * EPS * np.abs(np.asarray(magnitude, dtype=np.float64))


def walk_z_threshold(n_entries: int, alpha: float = WALK_FALSE_FAILURE_RATE,
                     df: int | None = None) -> float:
    """Two-sided z threshold at false-failure rate ``alpha``, Bonferroni over ``n_entries``.

    With ``df`` (an sd estimated from ``df + 1`` replicates), Student's t quantile.
    """
    import scipy.stats  # slow to import; only the statistical checks need it

    tail = alpha / (2 * max(int(n_entries), 1))
    if df is None:
        return float(scipy.stats.norm.isf(tail))
    return float(scipy.stats.t.isf(tail, df))


def walk_ztest_bound(sd, n_entries: int, rounding=0.0,
                     alpha: float = WALK_FALSE_FAILURE_RATE, df: int | None = None) -> np.ndarray:
    """POLICY ``["walk_ztest"]``: ``z * sd + rounding`` for ``n_entries`` entries tested."""
    sd = np.asarray(sd, dtype=np.float64)
    z = walk_z_threshold(n_entries, alpha, df)
    return z * sd + np.asarray(rounding, dtype=np.float64)


def walk_taylor_bound(n_steps: int, L: int, x: float) -> float:
    """POLICY ``["walk_taylor"]``: max-norm bound of ``T_K(lam W/2)^2 - expm(lam W)``.

    ``x = |lam| ||W||_inf`` and ``n_steps = K`` chosen by :class:`refimpl.walks.WalkMask`.
    """
    K, L, x = int(n_steps), int(L), float(x)
    return (SAFETY * (K * L + K + 4) + 2 + x) * EPS * float(np.exp(x))


def walk_rmse_slope_tolerance(log_n, cv, n_replicates: int,
                              alpha: float = WALK_FALSE_FAILURE_RATE) -> float:
    """POLICY ``["walk_rmse_slope"]``: tolerance on ``|slope + 1/2|`` of log RMSE vs log n.

    Parameters
    ----------
    log_n : array_like, shape (J,)
        ``log(n_walks)`` at each size.
    cv : array_like, shape (J,)
        Coefficient of variation (sd / mean) of the squared error over the replicates
        at each size.
    n_replicates : int
        Replicates ``R`` per size.
    """
    x = np.asarray(log_n, dtype=np.float64)
    cv = np.asarray(cv, dtype=np.float64)
    weights = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    sd = np.sqrt(np.sum(weights**2 * cv**2) / (4 * n_replicates))
    bias = np.sum(np.abs(weights) * cv**2) / (4 * n_replicates)
    return walk_z_threshold(1, alpha) * float(sd) + float(bias)


# -- graph-kernel masks (refimpl.masks.diffusion) -----------------------------------------------

#: Al-Mohy & Higham (2011), Table 3.1: the largest Taylor degree of expm_multiply and its
#: scaling threshold for a backward error of at most 2**-53.
EXPM_MULTIPLY_M_MAX = 55
EXPM_MULTIPLY_THETA = 9.9


def expm_multiply_bound(norm1: float, nnz_row: int, growth: float, X) -> np.ndarray:
    """POLICY ``["expm_multiply"]``: per-column bound on ``expm_multiply(A, X) - exp(A) X``.

    Parameters
    ----------
    norm1 : float
        ``||B||_1`` of the shifted matrix ``B = A - mu I``, ``mu = tr(A) / L``.
    nnz_row : int
        The largest number of nonzeros in a row of ``B``.
    growth : float
        ``G = e^mu ||exp(|B|)||_inf``.
    X : array_like, shape (L, k)

    Returns
    -------
    numpy.ndarray, shape (k,)
        A bound on the largest absolute error in each output column.
    """
    X = np.abs(np.asarray(X, dtype=np.float64))
    products = EXPM_MULTIPLY_M_MAX * max(1.0, np.ceil(norm1 / EXPM_MULTIPLY_THETA))
    block = float(np.max(X.sum(axis=1)))
    return SAFETY * EPS * products * growth * ((nnz_row + 3) * X.max(axis=0) + block)


def expm_bound(n: int, norm1: float, growth: float) -> float:
    """POLICY ``["expm"]``: bound on ``||e^mu expm(B / 2^k)^(2^k) - exp(A)||_inf``.

    The error of the ``DiffusionMask`` oracle (scaling and squaring, ``2^k >= ||B||_1``);
    ``n`` is the order, ``norm1 = ||B||_1`` and ``growth = e^mu ||exp(|B|)||_inf``.
    """
    squarings = 4.0 * max(1.0, norm1)
    return float(SAFETY * EPS * squarings * (int(n) + 26) * growth)


def lu_solve_bound(n_terms: int, lu_norm: float, inverse_norm: float, b) -> np.ndarray:
    """POLICY ``["lu_solve"]``: per-column bound on the error of ``x = A^-1 b`` by LU.

    ``n_terms`` is ``c`` of the policy, ``lu_norm = || |L||U| ||_inf``, ``inverse_norm``
    a bound on ``||A^-1||_inf`` and ``b`` has shape ``(n, k)``; returns shape ``(k,)``.
    """
    b = np.abs(np.asarray(b, dtype=np.float64))
    return SAFETY * int(n_terms) * EPS * inverse_norm**2 * lu_norm * b.max(axis=0)


def tree_dp_bound(constant: int, majorant) -> np.ndarray:
    """POLICY ``["tree_dp"]``: componentwise bound of the tree DP product.

    ``constant`` is ``C = K + 6h + 8`` and ``majorant`` is ``M_{a/2} |X|`` (the same DP at
    half the decay, applied to ``|X|``); returns an array of the majorant's shape.
    """
    majorant = np.asarray(majorant, dtype=np.float64)
    tiny = float(np.finfo(np.float64).tiny)
    return SAFETY * int(constant) * (EPS * majorant + tiny)


def payload_bound(hops: int, n: int, payload) -> np.ndarray:
    """Relative bound ``SAFETY h (n + 1) eps |payload|`` of a computed ``P^h`` (or its NIP).

    ``payload`` is the exact (or computed) value; for the NIP pass the NIP value, whose two
    extra roundings are covered by the ``+ 2`` below.
    """
    payload = np.abs(np.asarray(payload, dtype=np.float64))
    return (SAFETY * int(hops) * (int(n) + 1) + 2) * EPS * payload


# -- random features and importance sampling (refimpl.features, refimpl.estimators) -----------

#: False-failure rate of every statistical test and check of the random-feature and
#: importance-sampling estimators (per test, all compared entries together).
ESTIMATOR_FALSE_FAILURE_RATE = 1e-6

#: Relative accuracy asked of scipy.integrate.cubature (POLICY ["quadrature"]): 64 eps,
#: which its Gauss-Kronrod rule reaches on the RA identity's smooth integrands in d <= 2
#: within a second (asking for 4 eps does not converge in d = 2).
QUADRATURE_RTOL = 64 * EPS


def log_feature_bound(x, omega) -> np.ndarray:
    """POLICY ``["log_sum_exp"]``: ``|error|`` of ``log xi(x, omega) = omega.x - |x|^2 / 2``.

    ``x`` has shape ``(..., n, d)`` and ``omega`` ``(..., J, d)``; returns ``(..., n, J)``.
    """
    x = np.abs(np.asarray(x, dtype=np.float64))
    omega = np.abs(np.asarray(omega, dtype=np.float64))
    size = x @ np.swapaxes(omega, -1, -2) + 0.5 * np.sum(x * x, axis=-1)[..., None]
    return SAFETY * (x.shape[-1] + 2) * EPS * size


def log_sum_exp_bound(term_error, n_terms: int, result) -> np.ndarray:
    """POLICY ``["log_sum_exp"]``: ``|error|`` of ``log sum_j exp(t_j)`` over ``n_terms`` terms.

    ``term_error`` is the largest error of the ``t_j`` (broadcasting with ``result``).
    """
    result = np.abs(np.asarray(result, dtype=np.float64))
    return np.asarray(term_error) + SAFETY * (int(n_terms) + 1) * EPS + EPS * result


def weighted_average_bound(weights, weight_error, values, value_error=0.0) -> np.ndarray:
    """POLICY ``["weighted_average"]``: ``|error|`` of ``sum_j w_j f_j / sum_j w_j``.

    Parameters
    ----------
    weights : array_like, shape (..., L, J)
        The weights (any common scale per row; signed weights allowed).
    weight_error : array_like, shape (..., L, J)
        Absolute errors of the weights, on the same scale.
    values : array_like, shape (..., J, dv)
    value_error : array_like, optional
        Absolute errors of the values (broadcasting with ``values``).

    Returns
    -------
    numpy.ndarray, shape (..., L, dv)
    """
    w = np.asarray(weights, dtype=np.float64)
    f = np.asarray(values, dtype=np.float64)
    dw = np.broadcast_to(np.abs(np.asarray(weight_error, dtype=np.float64)), w.shape)
    df = np.broadcast_to(np.abs(np.asarray(value_error, dtype=np.float64)), f.shape)
    rounding = SAFETY * (w.shape[-1] + 2) * EPS
    err_num = dw @ np.abs(f) + np.abs(w) @ df + rounding * (np.abs(w) @ np.abs(f))
    err_den = dw.sum(axis=-1) + rounding * np.abs(w).sum(axis=-1)
    den = w.sum(axis=-1)
    return attention_quotient_bound(err_num, err_den, (w @ f) / den[..., None], den)


def gated_rfa_bound(phi_q, phi_k, v, gates) -> np.ndarray:
    """POLICY ``["gated_scan"]``: ``|recurrence - closed form|`` of gated RFA, 2-D inputs.

    ``phi_q, phi_k (L, m)``, ``v (L, dv)``, ``gates (L,)``; returns ``(L, dv)``.
    """
    phi_q, phi_k, v, g = (np.asarray(a, dtype=np.float64) for a in (phi_q, phi_k, v, gates))
    (L, m), dv = phi_q.shape, v.shape[1]
    t, i = np.indices((L, L))
    log_g = np.log(np.where(g > 0, g, 1.0))  # zero gates are handled by the mask below
    exponent = np.cumsum(log_g)[t] - np.cumsum(log_g)[i]
    blocked = np.cumsum(g == 0)[t] > np.cumsum(g == 0)[i]  # a zero gate in (i, t]
    weights = np.where((i <= t) & ~blocked, (1 - g)[i] * np.exp(exponent), 0.0)
    v1 = np.concatenate([v, np.ones((L, 1))], axis=1)
    abs_scores = weights * (np.abs(phi_q) @ np.abs(phi_k).T)
    err = SAFETY * (3 * L + m + 4) * EPS * (abs_scores @ np.abs(v1))
    scores = weights * (phi_q @ phi_k.T)
    num, den = scores @ v, scores.sum(axis=1)
    return attention_quotient_bound(err[:, :dv], err[:, dv], num / den[:, None], den)


def estimator_z_threshold(n_entries: int, alpha: float = ESTIMATOR_FALSE_FAILURE_RATE, *,
                          one_sided: bool = False, df: int | None = None) -> float:
    """POLICY ``["estimator_ztest"]``: the Bonferroni critical value for ``n_entries`` tests.

    Two-sided ``norm.isf(alpha / (2 n))`` (one-sided ``norm.isf(alpha / n)``); with ``df``
    (a standard error estimated from ``df + 1`` replicates) Student's ``t.isf``.
    """
    import scipy.stats  # slow to import; only the statistical checks need it

    tail = alpha / (max(int(n_entries), 1) * (1 if one_sided else 2))
    if df is None:
        return float(scipy.stats.norm.isf(tail))
    return float(scipy.stats.t.isf(tail, df))


def snis_slope_tolerance(log_m, cv, n_replicates: int, kappa,
                         alpha: float = ESTIMATOR_FALSE_FAILURE_RATE) -> float:
    """POLICY ``["snis_rmse_slope"]``: tolerance on ``|slope + 1/2|`` of log RMSE vs log m.

    Parameters
    ----------
    log_m : array_like, shape (J,)
        ``log(m)`` at each number of samples.
    cv : array_like, shape (J,)
        Coefficient of variation of the squared error over the replicates at each ``m``.
    n_replicates : int
        Replicates ``R`` per ``m``.
    kappa : array_like, shape (J,)
        The delta method's relative second-order term ``beta / (V m)`` at each ``m``.
    """
    x = np.asarray(log_m, dtype=np.float64)
    cv = np.asarray(cv, dtype=np.float64)
    c = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    sd = np.sqrt(np.sum(c**2 * cv**2) / (4 * n_replicates))
    bias = np.sum(np.abs(c) * cv**2) / (4 * n_replicates)
    kappa = np.asarray(kappa, dtype=np.float64)
    if np.any(kappa <= -1):
        raise ValueError(f"kappa must exceed -1 (the delta method needs more samples); got "
                         f"{kappa}")
    model = abs(float(np.sum(c * np.log1p(kappa))))
    return estimator_z_threshold(1, alpha) * float(sd) + float(bias) + model


# -- kernel eigenfunctions (refimpl.eigen) ------------------------------------------------------

#: False-failure rate of every statistical test of refimpl.eigen (per test).
EIGEN_FALSE_FAILURE_RATE = 1e-6

#: Roundings in one kernel-matrix entry that the eigenvalue bound allows for (a distance
#: of up to a dozen coordinates, an exp, the quadrature-weight scaling).
KERNEL_ENTRY_ROUNDINGS = 16


def eigenvalue_bound(n: int, fro_norm, entry_roundings: int = KERNEL_ENTRY_ROUNDINGS):
    """POLICY ``["eigenvalue"]``: ``SAFETY (n + r) eps ||A||_F`` for a symmetric ``n x n`` ``A``."""
    return SAFETY * (int(n) + int(entry_roundings)) * EPS * np.asarray(fro_norm, dtype=np.float64)


def kernel_entry_bound(roundings, magnitude):
    """POLICY ``["kernel_entry"]``: ``SAFETY * roundings * eps * magnitude``, entry by entry."""
    return SAFETY * np.asarray(roundings, dtype=np.float64) * EPS * np.abs(
        np.asarray(magnitude, dtype=np.float64))


def nngp_recursion_bound(depth: int, d: int, magnitude):
    """POLICY ``["nngp_recursion"]``: ``SAFETY (L + 1)(d + 16) eps * magnitude``.

    ``magnitude`` is ``sqrt(K(x, x) K(y, y))`` of the kernel compared (NNGP or NTK).
    """
    return SAFETY * (int(depth) + 1) * (int(d) + 16) * EPS * np.abs(
        np.asarray(magnitude, dtype=np.float64))


def eigen_z_threshold(n_tests: int, df: int | None = None,
                      alpha: float = EIGEN_FALSE_FAILURE_RATE) -> float:
    """Two-sided normal (Student-t with ``df``) quantile at ``alpha``, Bonferroni over n_tests."""
    return walk_z_threshold(n_tests, alpha, df)


def eigen_ztest_bound(sd, n_tests: int, df: int | None = None, rounding=0.0):
    """POLICY ``["eigen_ztest"]``: ``z * sd + rounding`` at EIGEN_FALSE_FAILURE_RATE."""
    return eigen_z_threshold(n_tests, df) * np.asarray(sd, dtype=np.float64) + np.asarray(
        rounding, dtype=np.float64)


def quadrature_bound(n_terms: int, abs_sum, roundings=8):
    """POLICY ``["quadrature"]``: ``SAFETY (n + r) eps * sum_i w_i |g(x_i)|`` (rounding only).

    ``roundings`` (``r``, scalar or broadcastable) counts the roundings inside one term.
    """
    return SAFETY * (int(n_terms) + np.asarray(roundings, dtype=np.float64)) * EPS * np.abs(
        np.asarray(abs_sum, dtype=np.float64))


def hermite_bound(order, envelope, log_weight=0.0):
    """POLICY ``["hermite_recurrence"]``: ``SAFETY (m + 2 + 2|w|) eps * max_{j<=m} |g_j(x)|``."""
    order = np.asarray(order, dtype=np.float64)
    w = np.abs(np.asarray(log_weight, dtype=np.float64))
    return SAFETY * (order + 2.0 + 2.0 * w) * EPS * np.asarray(envelope, dtype=np.float64)


def mercer_tail_bound(tail_x, tail_y, rounding=0.0):
    """POLICY ``["mercer_tail"]``: ``sqrt(T(x, x) T(y, y)) + rounding`` (Cauchy-Schwarz).

    ``tail_x`` (n,) and ``tail_y`` (p,) are upper bounds of the diagonal tails
    ``k(x, x) - sum_{j<=N} mu_j psi_j(x)^2`` (each already including its own rounding);
    returns an ``(n, p)`` array.
    """
    tx = np.maximum(np.asarray(tail_x, dtype=np.float64), 0.0)
    ty = np.maximum(np.asarray(tail_y, dtype=np.float64), 0.0)
    return np.sqrt(np.outer(tx, ty)) + np.asarray(rounding, dtype=np.float64)


#: POLICY ``["decay_slope"]``: tolerance on a fitted log-log eigenvalue decay slope at
#: degrees 80..160 (an asymptotic rate, not a rounding bound).
DECAY_SLOPE_TOLERANCE = 0.15


def eigenvector_bound(n: int, fro_norm, gap, entry_roundings: int = KERNEL_ENTRY_ROUNDINGS):
    """POLICY ``["eigenvector"]``: ``sqrt(2) eigenvalue_bound / gap`` (Davis-Kahan), capped at 2.

    A bound on ``||v_hat - v||_2`` for a unit eigenvector whose eigenvalue is ``gap`` away
    from the rest of the spectrum, after aligning signs.
    """
    gap = np.asarray(gap, dtype=np.float64)
    bound = np.sqrt(2.0) * eigenvalue_bound(n, fro_norm, entry_roundings) / np.where(
        gap > 0, gap, np.inf)
    return np.where(gap > 0, np.minimum(bound, 2.0), 2.0)


#: POLICY ``["nystrom_mse_slope"]``: allowance for the O(1/n) correction to the 1/n law of
#: the mean squared eigenvalue error at n >= 25 (the squared O(1/n) bias).
NYSTROM_SLOPE_MODEL = 0.1


def nystrom_mse_slope_tolerance(log_n, cv, n_replicates: int,
                                alpha: float = EIGEN_FALSE_FAILURE_RATE) -> float:
    """POLICY ``["nystrom_mse_slope"]``: tolerance on ``|slope + 1|`` of log(mean MSE) vs log n.

    ``cv`` is the coefficient of variation of the squared error over the ``R`` replicates at
    each size: the log of a mean of ``R`` has sd ``cv / sqrt(R)`` and bias ``-cv^2 / 2R``.
    """
    x = np.asarray(log_n, dtype=np.float64)
    cv = np.asarray(cv, dtype=np.float64)
    c = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    sd = np.sqrt(np.sum(c**2 * cv**2) / n_replicates)
    bias = np.sum(np.abs(c) * cv**2) / (2 * n_replicates)
    return eigen_z_threshold(1, alpha=alpha) * float(sd) + float(bias) + NYSTROM_SLOPE_MODEL


def neuralef_loss_bounds(psi, K, weights=None):
    """POLICY ``["neuralef_loss"]``: rounding bounds of ``neuralef_loss``'s objective and gradient.

    With ``P = |W psi|``, ``A = P^T |K| P`` (the magnitudes summed into ``R``) and
    ``gamma = SAFETY (2B + 4) eps`` (two products of inner length B, Higham eq. 3.13):
    ``|dR| <= gamma A``, ``|dU_ij| <= gamma (A_ij + |U_ij| A_ii) / R_ii + 2 eps |U_ij|``,
    ``|d obj_j| <= gamma A_jj + sum_{i<j} (2 |R_ij| |dR_ij| + R_ij^2 |dR_ii| / R_ii) / R_ii
    + (j + 3) eps (R_jj + sum_{i<j} R_ij^2 / R_ii)`` and
    ``|dG| <= 2 w [gamma |K| P (I + |U|) + |K W psi| |dU| + (k + 2) eps |K W psi|(I + |U|)]``.
    Returns ``(objective_bound (k,), gradient_bound (B, k))``.
    """
    psi = np.asarray(psi, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    B, k = psi.shape
    w = np.full(B, 1.0 / B) if weights is None else np.asarray(weights, dtype=np.float64)
    P = np.abs(w[:, None] * psi)
    KP = np.abs(K) @ P
    A = P.T @ KP
    wpsi = w[:, None] * psi
    KWpsi = K @ wpsi
    R = wpsi.T @ KWpsi
    diag = np.diag(R)
    safe = np.where(diag > 0, diag, np.inf)
    gamma = SAFETY * (2 * B + 4) * EPS
    dR = gamma * A
    upper = np.triu(np.ones((k, k)), 1)
    U = upper * R / safe[:, None]
    dU = upper * (gamma * (A + np.abs(U) * np.diag(A)[:, None]) / safe[:, None]
                  + 2 * EPS * np.abs(U))
    penalty = upper * R**2 / safe[:, None]
    obj = (np.diag(dR) + np.sum(upper * (2 * np.abs(R) * dR + penalty * np.diag(dR)[:, None])
                                / safe[:, None], axis=0)
           + (np.arange(k) + 3) * EPS * (np.abs(diag) + penalty.sum(axis=0)))
    eye = np.eye(k)
    grad = 2 * w[:, None] * (gamma * KP @ (eye + np.abs(U)) + np.abs(KWpsi) @ dU
                             + (k + 2) * EPS * np.abs(KWpsi) @ (eye + np.abs(U)))
    return SAFETY * obj, SAFETY * grad


#: POLICY ``["neuralef_population"]``: convergence targets of population-level NeuralEF
#: with linear features (spec Sec. 4 #15): eigenvalue relative error and L2(p) error.
NEURALEF_POPULATION_RTOL = 1e-8
NEURALEF_POPULATION_L2 = 1e-6

#: POLICY ``["neuralef_minibatch"]``: L2(p) error required of a recoverable component
#: (spec Sec. 4 #17); recoverable = predicted first-order bias <= half of it.
NEURALEF_L2_TARGET = 0.03
#: A component counts as recoverable when its predicted first-order bias is at most two
#: thirds of NEURALEF_L2_TARGET; the last third is the optimiser's final fluctuation.
NEURALEF_RECOVERABLE_BIAS = 0.02


# -- the conformance harness (refimpl.testing: certify, assert_close) ----------------------------

#: A float64 backend is allowed the error refimpl is allowed: both lie within the eps x
#: condition bound of the exact value, so they differ by at most twice that bound.
HARNESS_FLOAT64_FACTOR = 2.0
#: ``c`` of the baseline rule: at most c times the error of the naive same-precision
#: computation (flash-attention's and PyTorch SDPA's fudge factor).
HARNESS_BASELINE_FACTOR = 2.0
#: Units in the last place, at the output's magnitude, added to the baseline rule (the
#: "any arithmetic on the result" term of flash-attention's atol).
HARNESS_ULPS = 4
#: Without an operation-specific bound: this many eps of the dtype times max|desired|.
HARNESS_DEFAULT_ULPS = 16
#: False-failure rate of each statistical check of the harness (gaussian_omega).
HARNESS_FALSE_FAILURE_RATE = 1e-6
#: torch.testing's default (rtol, atol) per dtype: the default floor never asks for less.
HARNESS_TORCH_DEFAULTS = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5),
                          "float32": (1.3e-6, 1e-5)}

POLICY.update({t.name: t for t in [
    Tolerance(
        "harness_float64",
        "|backend - refimpl| <= HARNESS_FLOAT64_FACTOR * bound, bound = the operation's "
        "float64 eps x condition bound (the same function refimpl's own tests use)",
        "refimpl.testing.certify with dtype='float64'. The bound B of the operation bounds "
        "refimpl's error, and a backward-stable float64 implementation of the same "
        "definition (any order of summation, any blocking) errs by at most B too; both "
        "are within B of the exact value, hence within 2B of each other. A backend that "
        "computes in float32 errs by ~1e-7 relative, nine orders above B, and fails.",
    ),
    Tolerance(
        "harness_baseline",
        "|backend - ref| <= max(B_dtype + B, c max|naive - ref| + HARNESS_ULPS "
        "spacing_dtype(max|ref|)), B_dtype = B eps_dtype / eps_float64, c = 2",
        "refimpl.testing.certify with dtype='float32' or 'float16'. Inputs are rounded to "
        "the dtype first and both sides see the same rounded numbers; ref is refimpl in "
        "float64 on them (its error B is negligible). The baseline rule of flash-attention "
        "and PyTorch SDPA: at most c times the error of the naive computation at the "
        "backend's precision, plus a few ulps at the output's magnitude (normwise over the "
        "output). On tiny inputs the naive error can vanish by luck, so the rule never goes "
        "below B_dtype, the eps x condition bound at the dtype's eps, which every "
        "backward-stable implementation at that precision meets.",
    ),
    Tolerance(
        "harness_mask_product",
        "per column j of M @ X: max_i (B_fast + B_dense)_ij, + FFT_CONSTANT log2(2L) eps "
        "(sum_t gamma^t) ||x_j||_2 for CausalMask",
        "refimpl.testing.certify of a mask class through mask @ X. A mask product may be "
        "computed by any backward-stable algorithm: a scan, a dense product, or an FFT, "
        "whose error is normwise (Higham Thm 24.2: it spreads over the whole column, so a "
        "small entry may carry the error of the largest). The check is therefore normwise "
        "per column: each entry is allowed the largest elementwise bound of its column, and "
        "the decayed causal mask, a Toeplitz matrix that refimpl multiplies by a scan, also "
        "the FFT bound of the same product. The other harness checks are componentwise "
        "(attention, kernels, features: each output entry has its own condition).",
    ),
    Tolerance(
        "harness_default",
        "HARNESS_DEFAULT_ULPS * eps_dtype * max|desired|; below float64 at least "
        "torch.testing's atol + rtol |desired|",
        "assert_close without a bound, a baseline or explicit rtol/atol: a normwise "
        "static floor of 16 eps of the dtype relative to the output's scale (spec "
        "anchors_style.md Sec. 3.2(d)1); for float32/float16 never stricter than "
        "torch.testing.assert_close.",
    ),
    Tolerance(
        "harness_statistical",
        "|z| <= norm.isf(HARNESS_FALSE_FAILURE_RATE / (2 k)) over the k moments compared",
        "Random draws a backend cannot reproduce (gaussian_omega): the first moments of "
        "the rows and of their squared norms against N(0, I) and chi^2(d), with the exact "
        "standard errors of iid rows (conservative for orthogonal blocks, whose rows are "
        "uncorrelated and whose squared coordinates are negatively correlated); two-sided "
        "z-tests, Bonferroni over the moments, false-failure rate 1e-6 per check.",
    ),
]})


def dtype_eps(dtype) -> float:
    """Machine epsilon of a floating dtype (``numpy.finfo(dtype).eps``)."""
    return float(np.finfo(np.dtype(dtype)).eps)


def dtype_spacing(magnitude, dtype) -> float:
    """The spacing of ``dtype`` at ``|magnitude|`` (at the largest finite number beyond it)."""
    dt = np.dtype(dtype)
    top = np.finfo(dt).max
    m = abs(float(magnitude))
    if math.isnan(m):
        raise ValueError(f"magnitude must be a number, got {magnitude!r}")
    if m >= top:  # the gap below the largest finite number (np.spacing overflows there)
        return float(top - np.nextafter(top, dt.type(0)))
    return float(np.spacing(np.asarray(m, dtype=dt)))


def harness_allowance(bound, dtype, magnitude) -> np.ndarray:
    """The error a backend at ``dtype`` is allowed on one output (POLICY ``harness_*``).

    ``bound`` is the operation's float64 bound; ``magnitude`` the output's max ``|value|``.
    float64: the bound itself. Lower precision: the bound at the dtype's eps plus
    HARNESS_ULPS ulps at the magnitude. Used for invariants (backend against backend).
    """
    bound = np.asarray(bound, dtype=np.float64)
    if np.dtype(dtype) == np.float64:
        return bound
    return bound * (dtype_eps(dtype) / EPS) + HARNESS_ULPS * dtype_spacing(magnitude, dtype)


def harness_tolerance(desired, *, dtype="float64", bound=None, baseline=None, rtol=None,
                      atol=None) -> np.ndarray:
    """The elementwise tolerance on ``|actual - desired|`` by the harness policy.

    Parameters
    ----------
    desired : array_like
        The reference (float64, from inputs already rounded to ``dtype``).
    dtype : dtype
        The backend's precision.
    bound : array_like, optional
        The operation's float64 error bound (e.g. :func:`softmax_attention_bound`).
    baseline : array_like, optional
        The same computation done naively at ``dtype`` (used below float64 only).
    rtol, atol : float, optional
        Explicit tolerances ``atol + rtol |desired|``; they override everything else.

    Returns
    -------
    numpy.ndarray, the shape of ``desired``
    """
    desired = np.asarray(desired, dtype=np.float64)
    dt = np.dtype(dtype)
    if rtol is not None or atol is not None:
        return np.broadcast_to((atol or 0.0) + (rtol or 0.0) * np.abs(desired), desired.shape)
    scale = float(np.abs(desired).max(initial=0.0))
    if bound is None:
        tol = np.full(desired.shape, HARNESS_DEFAULT_ULPS * dtype_eps(dt) * scale)
        if dt.name in HARNESS_TORCH_DEFAULTS:
            t_rtol, t_atol = HARNESS_TORCH_DEFAULTS[dt.name]
            tol = np.maximum(tol, t_atol + t_rtol * np.abs(desired))
        return tol
    bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), desired.shape)
    if dt == np.float64:
        return HARNESS_FLOAT64_FACTOR * bound
    tol = bound * (dtype_eps(dt) / EPS) + bound
    if baseline is not None:
        baseline = np.asarray(baseline, dtype=np.float64)
        if baseline.shape == desired.shape and np.all(np.isfinite(baseline)):
            rule = (HARNESS_BASELINE_FACTOR * float(np.abs(baseline - desired).max(initial=0.0))
                    + HARNESS_ULPS * dtype_spacing(scale, dt))
            tol = np.maximum(tol, rule)
    return tol


def harness_z_threshold(n_moments: int) -> float:
    """POLICY ``["harness_statistical"]``: two-sided z at HARNESS_FALSE_FAILURE_RATE, Bonferroni."""
    return estimator_z_threshold(n_moments, HARNESS_FALSE_FAILURE_RATE)


__all__ += ["HARNESS_BASELINE_FACTOR", "HARNESS_DEFAULT_ULPS", "HARNESS_FALSE_FAILURE_RATE",
            "HARNESS_FLOAT64_FACTOR", "HARNESS_TORCH_DEFAULTS", "HARNESS_ULPS", "dtype_eps",
            "dtype_spacing",
            "harness_allowance", "harness_tolerance", "harness_z_threshold"]
