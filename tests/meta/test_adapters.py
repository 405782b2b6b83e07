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
def test_torch_sdpa_passes(dtype):
    report, r = _verdicts("refimpl.testing.backends.torch", dtype, ["softmax_attention"])
    assert r["softmax_attention"].verdict == "pass", report
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
