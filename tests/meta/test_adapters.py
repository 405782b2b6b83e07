"""The shipped thin adapters of real libraries get the verdicts their mathematics earns.

Each test skips cleanly where its library is not installed (CI installs none of them).
The expected verdicts are the issue's: PyTorch SDPA passes at both dtypes, JAX and Keras
pass at float32 and fail at float64 *on the value aspect* (float32 logits; float32
output), scikit-learn's RBF fails on values (cancellation), SciPy's FFT products pass,
performer-pytorch's orthogonal features fail their law.
"""

from __future__ import annotations

import importlib.util

import pytest

from refimpl.testing import certify
from refimpl.testing.backends import ADAPTERS, require

#: Cases per aspect here (the default is 100; the verdicts below hold from about 30 on).
EXAMPLES = 30


def _needs(*modules):
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}")


def _verdicts(adapter, dtype, names):
    report = certify(adapter, functions=names, dtype=dtype, max_examples=EXAMPLES)
    return report, {r.name: r for r in report.results}


def test_every_adapter_is_listed_and_a_missing_library_is_named():
    assert set(ADAPTERS) >= {"scipy", "torch", "jax", "flax", "keras", "sklearn"}
    with pytest.raises(ImportError, match=r'no_such_library.*pip install "refimpl\[jax\]"'):
        require("no_such_library", "jax")


def test_scipy_fft_products_pass():
    report, r = _verdicts("refimpl.testing.backends.scipy", "float64",
                          ["ToeplitzMask", "CausalMask", "DiffusionMask"])
    assert report.passed, report
    assert r["CausalMask"].checks["error-contract"] == "not required"  # scipy checks little


@_needs("torch")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_sdpa_values_pass_and_nan_queries_become_zero(dtype):
    report, r = _verdicts("refimpl.testing.backends.torch", dtype, ["softmax_attention"])
    checks = r["softmax_attention"].checks
    assert checks["value"] == checks["invariant"] == "pass", report
    # the CPU flash kernel on (B, H, L, d) maps a NaN query row to 0 (pytorch/pytorch#141128)
    assert checks["non-finite"] == "FAIL", report
    failure = next(f for f in r["softmax_attention"].failures if f.check == "non-finite")
    assert "only finite numbers" in failure.message and "NaN" in failure.message
    assert r["softmax_attention"].unsupported  # causal with a mask: refused, not wrong
    assert r["softmax_attention"].conventions  # a fully masked row: PyTorch's convention


@_needs("torch")
def test_torch_stick_breaking_fails_on_values():
    report, r = _verdicts("refimpl.testing.backends.torch", "float64", ["stick_breaking"])
    assert r["stick_breaking"].checks["value"] == "FAIL", report


@_needs("jax")
def test_jax_passes_at_float32_and_fails_on_values_at_float64():
    name = ["softmax_attention"]
    report, r = _verdicts("refimpl.testing.backends.jax", "float32", name)
    assert r["softmax_attention"].verdict == "pass", report
    report, r = _verdicts("refimpl.testing.backends.jax", "float64", name)
    assert r["softmax_attention"].checks["value"] == "FAIL", report
    assert r["softmax_attention"].seconds < 60


@_needs("keras")
def test_keras_passes_at_float32_and_fails_on_values_at_float64():
    name = ["softmax_attention"]
    report, r = _verdicts("refimpl.testing.backends.keras", "float32", name)
    assert r["softmax_attention"].verdict == "pass", report
    report, r = _verdicts("refimpl.testing.backends.keras", "float64", name)
    failure = next(f for f in r["softmax_attention"].failures if f.check == "value")
    assert "float32" in failure.message


@_needs("sklearn")
def test_sklearn_rbf_fails_on_values():
    report, r = _verdicts("refimpl.testing.backends.sklearn", "float64",
                          ["rbf_kernel", "polynomial_kernel", "fourier_features"])
    assert r["rbf_kernel"].checks["value"] == "FAIL", report
    assert r["polynomial_kernel"].verdict == "pass" and r["fourier_features"].verdict == "pass"


@_needs("performer_pytorch")
def test_performer_orthogonal_features_are_rejected():
    report, r = _verdicts("refimpl.testing.backends.performer", "float32", ["gaussian_omega"])
    assert r["gaussian_omega"].checks["value"] == "FAIL", report


@_needs("neural_tangents")
def test_neural_tangents_ntk_fails_on_values_and_nngp_passes():
    report, r = _verdicts("refimpl.testing.backends.neural_tangents", "float64",
                          ["nngp_relu_kernel", "ntk_relu_kernel"])
    assert r["ntk_relu_kernel"].checks["value"] == "FAIL", report
    assert r["nngp_relu_kernel"].verdict == "pass", report


def test_the_mpmath_relu_network_twins_match_refimpl():
    """The 50-digit NNGP/NTK twins used to confirm findings agree with refimpl's recursions."""
    import numpy as np

    from refimpl import eigen
    from refimpl.testing import libraries
    from refimpl.testing._case import Case

    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((3, 2)), rng.standard_normal((4, 2))
    for depth, w2, b2 in ((0, 2.0, 0.0), (1, 2.0, 0.0), (3, 1.0, 0.1)):
        kw = {"depth": depth, "sigma_w2": w2, "sigma_b2": b2}
        case = Case("ntk_relu_kernel", (("x", x), ("y", y)), kw)
        for name in ("nngp_relu_kernel", "ntk_relu_kernel"):
            exact = libraries.MP_TWINS[name](case)
            # entries near 0 come from cancelling dot products: absolute error ~ eps |x||y|
            np.testing.assert_allclose(getattr(eigen, name)(x, y, **kw), exact,
                                       rtol=1e-14, atol=1e-15)


def test_libraries_select_and_merge():
    from refimpl.testing import libraries

    assert libraries.select(["neural_tangents"]) == [libraries.RUNS[-1]]
    with pytest.raises(ValueError, match="matches no adapter"):
        libraries.select(["no_such_adapter"])
    with pytest.raises(TypeError, match="list of strings"):
        libraries.select("torch")
    row = {"adapter": "a", "name": "f"}
    old = {"rows": [row, {"adapter": "b", "name": "g"}],
           "skipped": [{"adapter": "c", "reason": "missing"}]}
    old.update(generated="2026-01-01", platform="here", python="3.11", numpy="2.4")
    new = {"rows": [{"adapter": "c", "name": "h"}], "skipped": [], "max_examples": 100,
           "generated": "2026-01-02", "platform": "there", "python": "3.10", "numpy": "1.26"}
    merged = libraries.merge(old, new)
    assert [r["adapter"] for r in merged["rows"]] == ["a", "b", "c"]
    assert merged["skipped"] == [] and merged["platform"] == "here"
    assert merged["environments"] == {"c": "2026-01-02, there, Python 3.10, NumPy 1.26"}


def test_the_stored_page_is_the_commands_output():
    """docs/certified-libraries.md is format_page of the stored JSON (refimpl libraries)."""
    import json
    from pathlib import Path

    from refimpl.testing import libraries

    docs = Path(__file__).resolve().parents[2] / "docs"
    data = json.loads((docs / "_static" / "certified-libraries.json").read_text())
    assert (docs / "certified-libraries.md").read_text() == libraries.format_page(data)
    assert {"library", "version", "name", "dtype", "verdict", "worst", "seconds",
            "finding"} <= set(data["rows"][0])


def test_certify_os_exits_non_zero(capsys):
    from refimpl.cli import main

    assert main(["certify", "os", "--max-examples", "1", "--progress", "never"]) == 1
    assert "provides none of refimpl's public names" in capsys.readouterr().out
