"""Bad input for every public function of refimpl.eigen: refused loudly, by name.

One row per bad input: (callable, keyword arguments, exception class, regex naming the
argument). As in ``test_bad_input.py``: a call that returns instead of raising fails (and
says whether it returned NaN), no ``RuntimeWarning`` may come first, and positive
controls with the bad entry fixed return finite float64 arrays of the documented shape.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

from refimpl.eigen import (
    Eigenfunctions,
    RandomMLP,
    arccos_kernel,
    brownian_bridge_kernel,
    brownian_eigen,
    brownian_kernel,
    check_psd,
    circle_eigen,
    funk_hecke_eigenvalues,
    gauss_hermite_rule,
    gauss_legendre_rule,
    l2_batch_norm,
    neuralef_fit,
    neuralef_loss,
    nngp_kernel,
    nngp_monte_carlo,
    ntk_kernel,
    ntk_monte_carlo,
    nystrom,
    polynomial_eigen_1d,
    polynomial_kernel,
    rbf_gaussian_eigen,
    rbf_kernel,
    sphere_eigen,
    von_mises_eigen,
    von_mises_kernel,
)

X = np.random.default_rng(0).normal(size=(4, 2))
Y = np.random.default_rng(1).normal(size=(3, 2))
U = np.linspace(0.1, 0.9, 5)
PSI = np.random.default_rng(2).normal(size=(5, 2))
KB = np.eye(5) + 0.5


def _with(a, index, value):
    b = np.array(a, dtype=np.float64)
    b[index] = value
    return b


def _bad(func, exc, match, id, /, **kwargs):
    return pytest.param(func, kwargs, exc, match, id=id)


def _kernel_rows():
    for name, f in (("rbf", rbf_kernel),
                    ("poly", functools.partial(polynomial_kernel, degree=2)),
                    ("arccos", functools.partial(arccos_kernel, order=1)),
                    ("nngp", functools.partial(nngp_kernel, depth=2)),
                    ("ntk", functools.partial(ntk_kernel, depth=2, activation="erf"))):
        yield _bad(f, ValueError, r"\bx\b.*nan", f"{name}-x-nan", x=_with(X, (1, 1), np.nan))
        yield _bad(f, ValueError, r"\by\b.*inf", f"{name}-y-inf", x=X,
                   y=_with(Y, (0, 0), np.inf))
        yield _bad(f, ValueError, r"\by\b.*d=2", f"{name}-d-mismatch", x=X, y=np.ones((3, 3)))
        yield _bad(f, ValueError, r"\bx\b.*\(2, 2, 2\)", f"{name}-x-3d", x=np.ones((2, 2, 2)))
        yield _bad(f, ValueError, r"\bx\b.*non-empty", f"{name}-x-empty", x=np.ones((0, 2)))
        yield _bad(f, TypeError, r"\bx\b", f"{name}-x-complex", x=X + 1j)
        yield _bad(f, TypeError, r"\bx\b", f"{name}-x-str", x="abc")
    yield from [
        _bad(rbf_kernel, ValueError, r"lengthscale.*> 0", "rbf-lengthscale-0", x=X,
             lengthscale=0.0),
        _bad(rbf_kernel, TypeError, r"lengthscale", "rbf-lengthscale-str", x=X, lengthscale="1"),
        _bad(polynomial_kernel, ValueError, r"degree.*-1", "poly-degree-neg", x=X, degree=-1),
        _bad(polynomial_kernel, TypeError, r"degree", "poly-degree-float", x=X, degree=2.0),
        _bad(polynomial_kernel, TypeError, r"degree", "poly-degree-bool", x=X, degree=True),
        _bad(polynomial_kernel, ValueError, r"\bc\b.*>= 0", "poly-c-neg", x=X, degree=2,
             c=-1.0),
        _bad(arccos_kernel, ValueError, r"order.*0, 1 or 2", "arccos-order-3", x=X, order=3),
        _bad(nngp_kernel, ValueError, r"depth.*-1", "nngp-depth-neg", x=X, depth=-1),
        _bad(nngp_kernel, ValueError, r"activation.*tanh", "nngp-activation", x=X, depth=1,
             activation="tanh"),
        _bad(ntk_kernel, ValueError, r"sigma_w2.*>= 0", "ntk-sigma-w2-neg", x=X, depth=1,
             sigma_w2=-2.0),
        _bad(ntk_kernel, ValueError, r"sigma_b2.*finite", "ntk-sigma-b2-nan", x=X, depth=1,
             sigma_b2=np.nan),
        _bad(brownian_kernel, ValueError, r"\bx\b.*>= 0.*-0.5", "brownian-negative",
             x=[-0.5, 0.2]),
        _bad(brownian_kernel, ValueError, r"\bx\b.*d=1", "brownian-2d", x=X),
        _bad(brownian_bridge_kernel, ValueError, r"\by\b.*\[0.0, 1.0\].*1.5", "bridge-above-1",
             x=U, y=[0.5, 1.5]),
        _bad(von_mises_kernel, ValueError, r"kappa.*>= 0", "von-mises-kappa-neg", x=U,
             kappa=-1.0),
        _bad(check_psd, ValueError, r"\bK\b.*square", "psd-not-square", K=np.ones((2, 3))),
        _bad(check_psd, ValueError, r"\bK\b.*nan", "psd-nan", K=_with(np.eye(3), (0, 1), np.nan)),
        _bad(check_psd, ValueError, r"\bK\b.*positive semi-definite", "psd-indefinite",
             K=np.array([[0.0, 1.0], [1.0, 0.0]])),
    ]


def _nystrom_rows():
    f = nystrom
    xw, ww = gauss_legendre_rule(6)
    yield from [
        _bad(f, ValueError, r"\bk\b.*at most.*n=4", "nystrom-k-gt-n", kernel=rbf_kernel, x=X,
             k=5),
        _bad(f, ValueError, r"\bk\b.*positive", "nystrom-k-0", kernel=rbf_kernel, x=X, k=0),
        _bad(f, TypeError, r"\bkernel\b.*callable", "nystrom-kernel-not-callable", kernel=3.0,
             x=X, k=2),
        _bad(f, ValueError, r"kernel\(x, x\).*\(4, 4\)", "nystrom-kernel-shape",
             kernel=lambda a, b: np.ones((2, 2)), x=X, k=2),
        _bad(f, ValueError, r"kernel\(x, x\).*finite", "nystrom-kernel-nan",
             kernel=lambda a, b: np.full((4, 4), np.nan), x=X, k=2),
        _bad(f, ValueError, r"positive semi-definite", "nystrom-not-psd",
             kernel=lambda a, b: -rbf_kernel(a, b), x=X, k=2),
        _bad(f, ValueError, r"weights.*\(6,\)", "nystrom-weights-shape", kernel=rbf_kernel,
             x=xw, k=2, weights=ww[:5]),
        _bad(f, ValueError, r"weights.*positive", "nystrom-weights-neg", kernel=rbf_kernel,
             x=xw, k=2, weights=_with(ww, 2, -0.1)),
        _bad(f, ValueError, r"weights.*sum to 1", "nystrom-weights-sum", kernel=rbf_kernel,
             x=xw, k=2, weights=2 * ww),
        _bad(f, ValueError, r"\bx\b.*nan", "nystrom-x-nan", kernel=rbf_kernel,
             x=_with(X, (0, 0), np.nan), k=2),
        _bad(gauss_legendre_rule, ValueError, r"high.*> low", "gl-interval", n=3, low=1.0,
             high=0.0),
        _bad(gauss_hermite_rule, ValueError, r"sigma.*> 0", "gh-sigma", n=3, sigma=0.0),
    ]


def _closed_form_rows():
    profile = functools.partial(np.cos)
    yield from [
        _bad(rbf_gaussian_eigen, ValueError, r"\bk\b.*positive", "rbf-eigen-k-0", k=0),
        _bad(rbf_gaussian_eigen, ValueError, r"sigma.*> 0", "rbf-eigen-sigma", k=2, sigma=-1.0),
        _bad(rbf_gaussian_eigen, ValueError, r"\bdim\b", "rbf-eigen-dim", k=2, dim=0),
        _bad(brownian_eigen, TypeError, r"\bk\b", "brownian-k-float", k=2.5),
        _bad(circle_eigen, TypeError, r"kernel_fn.*callable", "circle-not-callable",
             kernel_fn=1.0, k=3),
        _bad(circle_eigen, ValueError, r"kernel_fn.*shape", "circle-bad-shape",
             kernel_fn=lambda t: 1.0, k=3),
        _bad(circle_eigen, ValueError, r"\bk\b.*at most", "circle-k-too-big",
             kernel_fn=np.cos, k=100, n_nodes=16),
        _bad(von_mises_eigen, ValueError, r"kappa.*>= 0", "von-mises-eigen-kappa", k=3,
             kappa=-2.0),
        _bad(funk_hecke_eigenvalues, ValueError, r"\bd\b.*at least 2", "funk-hecke-d-1",
             f=profile, d=1, ell_max=3),
        _bad(funk_hecke_eigenvalues, ValueError, r"ell_max.*nonnegative", "funk-hecke-ell",
             f=profile, d=3, ell_max=-1),
        _bad(funk_hecke_eigenvalues, ValueError, r"\bf\b.*finite", "funk-hecke-nan-profile",
             f=lambda t: np.full_like(t, np.nan), d=3, ell_max=2),
        _bad(sphere_eigen, TypeError, r"\bf\b.*callable", "sphere-not-callable", f=None, d=3,
             ell_max=2),
        _bad(polynomial_eigen_1d, ValueError, r"\bc\b.*> 0", "poly1d-c-0", degree=3, c=0.0),
        _bad(polynomial_eigen_1d, ValueError, r"high.*> low", "poly1d-interval", degree=3,
             low=1.0, high=-1.0),
    ]


def _neuralef_rows():
    f = functools.partial(neuralef_fit, rbf_kernel, (np.linspace(-1, 1, 8), np.full(8, 1 / 8)))
    sampler = functools.partial(neuralef_fit, rbf_kernel)
    yield from [
        _bad(neuralef_loss, ValueError, r"\bpsi\b.*2-dimensional", "loss-psi-1d", psi=PSI[:, 0],
             K=KB),
        _bad(neuralef_loss, ValueError, r"\bK\b.*\(5, 5\).*\(4, 4\)", "loss-K-shape", psi=PSI,
             K=KB[:4, :4]),
        _bad(neuralef_loss, ValueError, r"\bK\b.*nan", "loss-K-nan", psi=PSI,
             K=_with(KB, (1, 2), np.nan)),
        _bad(neuralef_loss, ValueError, r"R_jj.*positive.*R\[0, 0\]", "loss-zero-column",
             psi=np.column_stack([np.zeros(5), PSI[:, 0]]), K=KB),
        _bad(neuralef_loss, ValueError, r"weights.*nonnegative", "loss-weights-neg", psi=PSI,
             K=KB, weights=-np.ones(5)),
        _bad(l2_batch_norm, ValueError, r"\bh\b.*column 1.*zero", "norm-zero-column",
             h=np.column_stack([PSI[:, 0], np.zeros(5)])),
        _bad(f, ValueError, r"\bk\b.*positive", "fit-k-0", k=0),
        _bad(f, ValueError, r"\bsteps\b.*positive", "fit-steps-0", k=1, steps=0),
        _bad(f, ValueError, r"\blr\b.*> 0", "fit-lr-0", k=1, lr=0.0),
        _bad(f, ValueError, r"schedule", "fit-schedule", k=1, schedule="linear"),
        _bad(f, ValueError, r"activation", "fit-activation", k=1, activation="gelu"),
        _bad(f, ValueError, r"hidden.*even.*sin_cos", "fit-odd-hidden", k=1, hidden=(5,)),
        _bad(f, ValueError, r"momentum.*<= 1", "fit-momentum", k=1, momentum=1.5),
        _bad(f, TypeError, r"features.*callable", "fit-features", k=1, features=3),
        _bad(f, TypeError, r"\brng\b", "fit-rng", k=1, rng="seed"),
        _bad(sampler, ValueError, r"sampler\(n, rng\).*n=4", "fit-sampler-count",
             sampler=lambda n, rng: np.zeros((3, 1)), k=1, batch_size=4, steps=1),
        _bad(sampler, ValueError, r"batch_size.*at most the 3 rows", "fit-data-too-small",
             sampler=np.zeros((3, 1)), k=1, batch_size=4),
        _bad(sampler, ValueError, r"sampler weights.*positive", "fit-rule-weights",
             sampler=(np.zeros(3), -np.ones(3)), k=1),
        _bad(sampler, ValueError, r"sampler weights.*sum to 1", "fit-rule-weights-sum",
             sampler=(np.zeros(3), np.ones(3)), k=1),
        _bad(nngp_monte_carlo, ValueError, r"n_networks.*positive", "mc-n-networks-0", x=X,
             depth=1, n_networks=0),
        _bad(ntk_monte_carlo, ValueError, r"width.*positive", "mc-width-0", x=X, depth=1,
             n_networks=2, width=0),
        _bad(RandomMLP, ValueError, r"activation", "mlp-activation", d=2, depth=1, width=3,
             activation="softplus"),
    ]


BAD = [*_kernel_rows(), *_nystrom_rows(), *_closed_form_rows(), *_neuralef_rows()]


def _must_raise(func, kwargs):
    result = func(**kwargs)
    nan = isinstance(result, np.ndarray) and np.isnan(result).any()
    pytest.fail(f"returned {type(result).__name__}{' holding NaN' if nan else ''} instead of "
                "raising", pytrace=False)


@pytest.mark.parametrize(("func", "kwargs", "exc", "match"), BAD)
def test_bad_input_raises_the_documented_error(func, kwargs, exc, match):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(exc, match=match):
            _must_raise(func, kwargs)
    noisy = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert not noisy, f"raised {exc.__name__} as documented, but first warned: {noisy}"


def test_bad_input_ids_are_unique():
    ids = [p.id for p in BAD]
    assert len(ids) == len(set(ids))


GOOD = [
    pytest.param(rbf_kernel, dict(x=X, y=Y), (4, 3), id="rbf"),
    pytest.param(polynomial_kernel, dict(x=X, degree=2, c=0.0), (4, 4), id="poly"),
    pytest.param(arccos_kernel, dict(x=np.zeros((2, 2)), order=0), (2, 2), id="arccos-zeros"),
    pytest.param(nngp_kernel, dict(x=np.zeros((2, 2)), depth=3), (2, 2), id="nngp-zeros"),
    pytest.param(ntk_kernel, dict(x=X, depth=0), (4, 4), id="ntk-depth-0"),
    pytest.param(brownian_kernel, dict(x=[0.0, 2.0]), (2, 2), id="brownian"),
    pytest.param(brownian_bridge_kernel, dict(x=[0.0, 1.0]), (2, 2), id="bridge-ends"),
    pytest.param(von_mises_kernel, dict(x=U, kappa=0.0), (5, 5), id="von-mises-0"),
    pytest.param(neuralef_loss, dict(psi=PSI, K=KB), None, id="loss"),
    pytest.param(nngp_monte_carlo, dict(x=X, depth=0, n_networks=1), (4, 4), id="mc-depth-0"),
]


@pytest.mark.parametrize(("func", "kwargs", "shape"), GOOD)
def test_positive_control_returns_finite_float64(func, kwargs, shape):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = func(**kwargs)
    if shape is None:  # a NamedTuple of arrays
        result = result.gradient
        shape = PSI.shape
    assert isinstance(result, np.ndarray) and result.dtype == np.float64
    assert result.shape == shape and np.all(np.isfinite(result))
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]


def test_eigenfunctions_refuse_points_of_the_wrong_dimension():
    ef = brownian_eigen(3)
    with pytest.raises(ValueError, match=r"\bx\b.*d=1"):
        ef(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"nonincreasing"):
        Eigenfunctions([1.0, 2.0], lambda x: x, dim=1, method="test")
    with pytest.raises(ValueError, match=r"\bk\b.*at most 3"):
        ef.truncate(4)
