"""The statistical certification of the stochastic names: its stated rate and its power.

The mutants with a wrong law are in ``mutants.MUTANTS`` (rejected in test_mutants.py);
here refimpl's own estimators and independent honest ones are accepted, the stated
false-failure rate holds where it can be measured (at an inflated rate, over many seed
offsets), and the budget and skip options do what they say.
"""

from __future__ import annotations

import honest64
import numpy as np
import pytest
from scipy.stats import binom

from refimpl.testing import certify
from refimpl.testing._ops import all_ops
from refimpl.testing._ops_stochastic import (
    STATISTICAL_NAMES,
    calibration,
    detectable_bias,
    name_false_failure_rate,
    statistical_budget,
)

REFERENCE = "refimpl.testing.backends.reference"


def test_every_stochastic_name_has_a_statistical_check():
    ops = all_ops()
    assert {n for n, op in ops.items() if op.statistical is not None} == set(STATISTICAL_NAMES)
    assert name_false_failure_rate() * len(STATISTICAL_NAMES) == pytest.approx(1e-6)


def test_refimpl_and_independent_estimators_are_accepted():
    report = certify(REFERENCE, functions=list(STATISTICAL_NAMES), max_examples=10)
    assert report.passed and all(r.verdict == "pass" for r in report.results), report
    honest = certify(honest64, functions=["randomized_attention", "graph_random_features"],
                     max_examples=10)
    assert honest.passed, honest


#: (name, calls per case) of the calibration: cheap names, each test type represented
CALIBRATED = [("graph_random_features", 100), ("walk_frequency_features", 100),
              ("rfa_attention", 100)]
#: Seed offsets tried, and the inflated per-name rate they are judged at.
OFFSETS, RATE = 20, 0.2


@pytest.mark.parametrize("name, calls", CALIBRATED)
def test_the_stated_rate_holds_at_an_inflated_rate(name, calls):
    """At a per-name rate of 0.2, refimpl fails at most that often over 20 seed offsets
    (Bonferroni is conservative); the count is judged at a 1e-6 binomial quantile."""
    op = all_ops()[name]
    failures = 0
    with statistical_budget(calls):
        for offset in range(OFFSETS):
            with calibration(first_seed=10_000 * (offset + 1), rate=RATE):
                failures += op.statistical(op.reference, np.float64) is not None
    assert failures <= binom.isf(1e-6, OFFSETS, RATE), failures


def test_budget_and_skip():
    with pytest.raises(ValueError, match="at least 30"):
        certify(REFERENCE, functions=["rfa_attention"], statistical_budget=10)
    with pytest.raises(TypeError, match="skip_statistical"):
        certify(REFERENCE, functions=["rfa_attention"], skip_statistical="yes")
    skipped = certify(REFERENCE, functions=["rfa_attention", "softmax_attention"],
                      max_examples=5, skip_statistical=True)
    assert skipped["rfa_attention"].verdict == "not certified"
    assert skipped["softmax_attention"].verdict == "pass"
    only = certify(REFERENCE, functions=["rfa_attention"], max_examples=5,
                   skip_statistical=True)
    assert not only.passed  # nothing certified


def test_power_shrinks_as_one_over_root_calls():
    small, large = detectable_bias(30, 1000), detectable_bias(30, 4000)
    assert 0.2 < small < 0.35 and large == pytest.approx(small / 2, rel=0.05)
    assert detectable_bias(30, 1000, two_sample=True) == pytest.approx(small * 2**0.5)
