"""The harness must reject every mutant backend, by the checks expected to catch it.

Each mutant of ``mutants.MUTANTS`` carries one bug (the issue's list, then the bugs a
kernel author fears most: masked_fill with a finite value, the max taken before masking,
stale caches, FFTs too short or unchecked, node orders, cancellation, ...). ``certify``
runs derandomised with few examples; the curated reference cases of each op make the
verdict independent of how many generated cases run (checked here at two counts for a
sample). Every failure must come with a replay file that reproduces it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mutants import MUTANTS

from refimpl.testing import certify, load_replay

#: Generated cases per check in these tests (the CLI default is 100).
META_EXAMPLES = 20


@pytest.mark.parametrize("label", list(MUTANTS))
def test_mutant_is_rejected(label, tmp_path):
    mutant = MUTANTS[label]
    report = certify(mutant.backend, functions=[mutant.name], max_examples=META_EXAMPLES,
                     dtype=mutant.dtype, replay_dir=tmp_path, strict=mutant.strict)
    result = report[mutant.name]
    assert not report.passed, f"mutant {label!r} ({mutant.why}) was certified:\n{report}"
    failing = {check for check, status in result.checks.items() if status == "FAIL"}
    assert result.verdict == "FAIL", f"{label}: verdict {result.verdict}\n{result.note}"
    assert set(mutant.catches) <= failing, (
        f"{label}: expected to be caught by {mutant.catches}, caught by {sorted(failing)}")
    for failure in result.failures:
        assert failure.replay and Path(failure.replay).is_file(), failure
        assert failure.call.startswith(mutant.name), failure.call


@pytest.mark.parametrize("label", ["missing 1/sqrt(d)", "masked_fill(-1e4)",
                                   "Toeplitz FFT too short (wrap-around)", "omega ignores rng"])
@pytest.mark.parametrize("max_examples", [1, 60])
def test_verdicts_do_not_depend_on_the_number_of_examples(label, max_examples):
    mutant = MUTANTS[label]
    report = certify(mutant.backend, functions=[mutant.name], max_examples=max_examples,
                     dtype=mutant.dtype)
    failing = {c for c, s in report[mutant.name].checks.items() if s == "FAIL"}
    assert set(mutant.catches) <= failing


def test_replay_file_reproduces_the_failure(tmp_path):
    mutant = MUTANTS["causal off by one"]
    report = certify(mutant.backend, functions=[mutant.name], max_examples=5,
                     replay_dir=tmp_path)
    failure = report[mutant.name].failures[0]
    assert failure.check == "value"
    replay = load_replay(failure.replay)
    assert replay.case.describe() == failure.call
    obtained = replay.run(mutant.backend.softmax_attention)
    np.testing.assert_array_equal(obtained, replay.obtained["out"])
    from refimpl.attention import softmax_attention
    np.testing.assert_array_equal(replay.run(softmax_attention), replay.expected["out"])
    # The worst element reported is where the error is the largest multiple of its tolerance.
    error = np.abs(obtained - replay.expected["out"])
    ratio = np.where(replay.tolerance["out"] > 0, error / replay.tolerance["out"], np.inf)
    assert tuple(np.unravel_index(np.argmax(ratio), ratio.shape)) == failure.index
    with np.load(failure.replay) as raw:  # plain arrays: readable without refimpl
        assert {"input.q", "input.k", "input.v", "expected.out", "obtained.out",
                "meta"} <= set(raw.files)


@pytest.mark.parametrize("label", [k for k, m in MUTANTS.items() if m.strict])
def test_contract_only_mutants_pass_by_default(label):
    """Their only bug is a departure from refimpl's error contract (NaN in, NaN out; a
    fully masked row as NaN; no shape checks): an honest library, accepted by default."""
    mutant = MUTANTS[label]
    result = certify(mutant.backend, functions=[mutant.name], max_examples=META_EXAMPLES,
                     dtype=mutant.dtype)[mutant.name]
    assert result.verdict == "pass", f"{label}: {result.checks}\n{result.failures}"
    assert result.checks["error-contract"] == "not required"


def test_undefined_rows_are_a_convention_and_strict_names_the_case(tmp_path):
    mutant = MUTANTS["fully masked row returns NaN"]
    lenient = certify(mutant.backend, functions=[mutant.name], max_examples=5)[mutant.name]
    assert lenient.conventions["a fully masked row"] == {
        "returns NaN": lenient.conventions["a fully masked row"]["returns NaN"]}
    result = certify(mutant.backend, functions=[mutant.name], max_examples=5, strict=True,
                     replay_dir=tmp_path)[mutant.name]
    failure = next(f for f in result.failures if f.check == "error-contract")
    assert failure.label == "a fully masked row"
    assert "NaN" in failure.message and "instead of raising" in failure.message
    assert "mask" in failure.call


def test_nan_hidden_as_finite_numbers_fails_the_non_finite_aspect():
    mutant = MUTANTS["NaN read as 0"]
    result = certify(mutant.backend, functions=[mutant.name], max_examples=5)[mutant.name]
    failure = next(f for f in result.failures if f.check == "non-finite")
    assert "finite" in failure.message and failure.label.startswith(("NaN", "inf"))


def test_float64_certification_catches_float32_to_the_last_bits():
    """The float32 mutant's error is ~1e-7 relative; the report shows it in ulps."""
    mutant = MUTANTS["float32 arithmetic as float64"]
    failure = certify(mutant.backend, functions=[mutant.name],
                      max_examples=5)[mutant.name].failures[0]
    assert failure.ulp_error > 1e6 and failure.rel_error < 1e-3, failure


def test_the_docs_count_and_list_every_mutant():
    """docs/certify.md states the number of mutants (and so cannot fall behind silently)."""
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "certify.md").read_text()
    stated = int(re.search(r"`tests/meta/` holds (\d+) mutant backends", text).group(1))
    assert stated == len(MUTANTS)
