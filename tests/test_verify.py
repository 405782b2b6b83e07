"""``refimpl verify``: the registry, the table, the exit status, and that checks can fail."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest

from refimpl import verify
from refimpl.cli import main
from refimpl.masks import ToeplitzMask
from refimpl.verify import Outcome, compare


def test_every_check_passes_quick():
    stream = io.StringIO()
    results = verify.run(quick=True, stream=stream)
    failed = [r for r in results if r.verdict != "pass"]
    assert not failed, stream.getvalue()
    text = stream.getvalue()
    assert "masked/alg1/toeplitz" in text and "passed, 0 failed" in text


def test_registry_covers_every_mask_and_closed_form():
    names = {c.name for c in verify.registry()}
    for mask in ["toeplitz", "causal", "causal_decayed", "grid_2d", "grid_3d", "ripple",
                 "ripple_per_query"]:
        assert f"masked/product/{mask}" in names
        assert f"masked/alg1/{mask}" in names
    for closed in ["causal_one_half_one_third", "all_ones_is_unmasked", "row_scale_invariance",
                   "key_padding", "low_rank_mask", "kms_two_scans",
                   "separable_grid_is_kronecker", "toeplitz_conventions"]:
        assert f"masked/closed/{closed}" in names
    assert any(n.startswith("masked/softmax_vs_mpmath/") for n in names)
    for c in verify.registry():
        assert c.paper and c.family


def test_a_wrong_fast_path_fails_its_check(monkeypatch):
    """Negative control: a Toeplitz product off by 1e-9 of its column sums is caught.

    (A uniform relative error would cancel in Algorithm 1's quotient, so the perturbation
    adds a multiple of each column's 1-norm instead.)
    """
    original = ToeplitzMask._apply

    def slightly_wrong(self, X):
        return original(self, X) + 1e-9 * np.abs(X).sum(axis=0)

    monkeypatch.setattr(ToeplitzMask, "_apply", slightly_wrong)
    stream = io.StringIO()
    results = {r.name: r for r in verify.run(quick=True, families=["masked"], stream=stream)}
    assert results["masked/product/toeplitz"].verdict == "FAIL"
    assert results["masked/alg1/toeplitz"].verdict == "FAIL"
    assert results["masked/product/causal"].verdict == "pass"


def test_a_crashing_check_is_an_error_not_a_crash(monkeypatch):
    def broken(self, X):
        raise RuntimeError("boom")

    monkeypatch.setattr(ToeplitzMask, "_apply", broken)
    results = {r.name: r for r in verify.run(quick=True, families=["masked"],
                                             stream=io.StringIO())}
    assert results["masked/product/toeplitz"].verdict == "ERROR"
    assert "boom" in results["masked/product/toeplitz"].detail


def test_compare_reports_worst_ratio():
    outcome = compare([1.0, 2.0, 3.5], [1.0, 2.1, 3.0], [1.0, 0.05, 1.0])
    assert outcome.error == pytest.approx(0.1) and outcome.tolerance == 0.05
    assert not outcome.passed
    assert compare([1.0], [1.0], [0.0]).passed
    assert not compare([np.nan], [1.0], [1.0]).passed
    assert not compare([1.0, 2.0], [1.0], [1.0]).passed


def test_worst_picks_the_outcome_furthest_outside_its_tolerance():
    failing = Outcome(2e-3, 1e-3)
    exact_zero = Outcome(0.0, 0.0)  # a zero tolerance met exactly must not hide a failure
    assert verify.worst([exact_zero, failing, Outcome(1e-9, 1e-6)]) is failing
    assert verify.worst([failing, Outcome(np.nan, 1.0)]).error != verify.worst([failing]).error
    assert not verify.worst([Outcome(1e-20, 0.0), Outcome(1.0, 2.0)]).passed


def test_cli_verify_json_and_exit_status(tmp_path, capsys):
    path = tmp_path / "verify.json"
    assert main(["verify", "--quick", "--family", "masked", "--json", str(path)]) == 0
    rows = json.loads(path.read_text())
    assert rows and all(r["verdict"] == "pass" for r in rows)
    assert {"name", "paper", "error", "tolerance", "reason", "seconds"} <= set(rows[0])
    assert "verdict" in capsys.readouterr().out


def test_cli_verify_exit_status_is_nonzero_on_failure(monkeypatch, capsys):
    monkeypatch.setattr(ToeplitzMask, "_apply", lambda self, X: 0.5 * self._dense() @ X)
    assert main(["verify", "--quick", "--family", "masked"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_console_entry_point_runs():
    done = subprocess.run([sys.executable, "-m", "refimpl", "verify", "--quick", "--family",
                           "masked"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed, 0 failed" in done.stdout


@pytest.mark.parametrize("families", [["no_such"], ["mask"], []])
def test_an_unknown_or_empty_family_is_an_error_not_an_empty_pass(families, capsys):
    with pytest.raises(ValueError, match="families must name some of the families"):
        verify.run(families=families, stream=io.StringIO())
    if families:
        assert main(["verify", "--family", families[0]]) == 2
        assert "unknown: " + families[0] in capsys.readouterr().err


def test_families_must_be_a_list_of_names():
    with pytest.raises(TypeError, match="list of family names"):
        verify.run(families="masked", stream=io.StringIO())
