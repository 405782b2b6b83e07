"""refimpl.testing itself: the strategies produce the edge cases they claim, assert_close
explains its failures, the tolerance policy is the documented one, and the report, replay
and backend plumbing behave.

Each claimed edge case is searched for with ``hypothesis.find`` within a fixed budget: a
strategy that stopped producing it would fail here. Properties every draw must have
(every mask row alive, trees are trees) are checked with ``@given``.
"""

from __future__ import annotations

import json
import math
import re
import types

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from refimpl import tolerances
from refimpl.attention import softmax_attention
from refimpl.masks import stick_breaking
from refimpl.testing import Report, assert_close, certify, load_replay
from refimpl.testing import strategies as rst

FIND = settings(max_examples=2000, database=None, deadline=None,
                suppress_health_check=list(HealthCheck))


def found(strategy, condition):
    """``find`` within the budget (raises NoSuchExample if the edge case never comes)."""
    return find(strategy, condition, settings=FIND)


def _logits(c):
    s = 1 / math.sqrt(c.q.shape[-1]) if c.scale is None else c.scale
    return s * (c.q @ np.swapaxes(c.k, -1, -2))


# -- sizes and queries ------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 11])
def test_sizes_include_small_odd_and_prime(n):
    assert found(rst.sizes(max_size=13), lambda k: k == n) == n


def test_qkv_edge_cases():
    assert np.abs(_logits(found(rst.qkv(), lambda c: np.abs(_logits(c)).max() > 9e3)))\
        .max() <= 1e4 * (1 + 1e-9)
    zero = found(rst.qkv(), lambda c: c.q.size > 1 and not np.any(_logits(c)))
    assert not np.any(zero.q)
    found(rst.qkv(), lambda c: c.q.shape[:-2] != c.k.shape[:-2] and c.q.ndim > 2)  # broadcast
    found(rst.qkv(), lambda c: c.scale is not None and c.scale < 0)
    found(rst.qkv(), lambda c: c.q.shape[-2] != c.k.shape[-2])
    found(rst.qkv(), lambda c: np.abs(c.v).max() > 100)


@given(c=rst.qkv(max_logit=30.0))
def test_qkv_respects_its_logit_cap(c):
    assert np.abs(_logits(c)).max(initial=0) <= 30.0 * (1 + 1e-9)


# -- masks and biases -------------------------------------------------------------------------

def _single_row(m):
    return bool(np.any((np.asarray(m) > 0).sum(axis=-1) == 1))


def test_masks_have_single_key_rows_padding_weights_and_asymmetry():
    single = found(rst.attention_masks(L=4, S=4), lambda m: m.shape == (4, 4) and _single_row(m))
    assert _single_row(single)
    assert found(rst.attention_masks(L=3, S=5), lambda m: m.shape[-2] == 1).shape == (1, 5)
    weights = found(rst.attention_masks(L=3, S=3), lambda m: m.dtype.kind == "f"
                    and len(np.unique(m[m > 0])) > 2)
    assert weights.max() != weights[weights > 0].min()
    found(rst.attention_masks(L=4, S=4), lambda m: m.shape == (4, 4) and not np.array_equal(
        m > 0, (m > 0).T) and _single_row(m))
    found(rst.attention_masks(L=3, S=3), lambda m: m.dtype == bool)


@given(L=st.integers(1, 6), S=st.integers(1, 6), data=st.data())
def test_every_mask_row_has_an_allowed_key(L, S, data):
    mask = data.draw(rst.attention_masks(L=L, S=S, batch=(2,)), label="mask")
    assert np.all((mask > 0).any(axis=-1))


def test_biases_are_asymmetric_and_broadcast():
    found(rst.biases(L=3, S=3), lambda b: b.shape == (3, 3) and not np.allclose(b, b.T))
    assert found(rst.biases(L=3, S=4), lambda b: b.shape == (3, 1)).shape == (3, 1)
    assert found(rst.biases(L=3, S=4), lambda b: np.abs(b).max() > 1e3).shape[-1] in (1, 4)


@settings(max_examples=60, deadline=None)
@given(case=rst.softmax_cases())
def test_softmax_cases_are_valid_inputs(case):
    out = softmax_attention(case.q, case.k, case.v, bias=case.bias, mask=case.mask,
                            causal=case.causal, scale=case.scale)
    assert np.all(np.isfinite(out))


def test_softmax_cases_edge_cases():
    found(rst.softmax_cases(), lambda c: c.causal and c.mask is not None and c.q.shape[-2] > 2)
    found(rst.softmax_cases(), lambda c: c.bias is not None and c.bias.max() < -1e4)
    found(rst.softmax_cases(), lambda c: c.mask is not None and _single_row(c.mask)
          and c.bias is not None)


def test_linear_cases_edge_cases():
    found(rst.linear_cases(), lambda c: c.phi_q.min() < 0)
    found(rst.linear_cases(), lambda c: c.causal and c.mask is not None)
    found(rst.linear_cases(), lambda c: c.phi_q.max() / c.phi_q.min() > 1e4)


# -- structured masks ------------------------------------------------------------------------

def test_toeplitz_masks_edge_cases():
    two = found(rst.toeplitz_masks(), lambda a: len(a.args) == 2 and a.args[0][0] != a.args[1][0]
                and a.args[0].size != a.args[1].size)
    assert two.build().shape == (two.args[0].size, two.args[1].size)
    assert len(found(rst.toeplitz_masks(), lambda a: len(a.args) == 1).args) == 1


def test_grids_are_not_square_and_functions_not_symmetric():
    found(rst.grid_shapes(), lambda s: len(s) == 2 and s[0] != s[1] and min(s) > 1)
    found(rst.grid_shapes(), lambda s: len(s) == 3)
    found(rst.grid_shapes(), lambda s: 1 in s and len(s) > 1)
    spec = found(rst.grid_masks(), lambda a: len(a.args[0]) == 2 and min(a.args[0]) > 1)
    dense = spec.build().toarray()
    assert not np.allclose(dense, dense.T)


def test_ripple_masks_have_far_rings_and_per_query_weights():
    def far(a):
        (H, W), alpha = a.args
        return alpha.shape[-1] - 1 < max(H, W) - 1 and alpha.ndim == 2
    found(rst.ripple_masks(), far)


@settings(max_examples=40, deadline=None)
@given(tree=rst.trees())
def test_trees_are_trees_on_0_to_n_minus_1(tree):
    assert nx.is_tree(tree)
    assert set(tree) == set(range(tree.number_of_nodes()))


def test_trees_are_shuffled_and_weighted():
    def not_parent_first(t):
        order = nx.bfs_tree(t, 0) if t.number_of_nodes() > 1 else None
        return order is not None and any(p > c for p, c in order.edges())
    found(rst.trees(), lambda t: t.number_of_nodes() > 4 and not_parent_first(t))
    found(rst.trees(), lambda t: list(t.nodes) != sorted(t.nodes))
    found(rst.trees(), lambda t: any(d.get("weight", 1.0) != 1.0 for *_, d in t.edges(data=True)))


def test_graphs_edge_cases():
    found(rst.graphs(), lambda g: list(g.nodes) != sorted(g.nodes))
    found(rst.graphs(connected=False), lambda g: not nx.is_connected(g))
    found(rst.graphs(), lambda g: g.number_of_nodes() == 1)
    found(rst.graphs(), lambda g: g.number_of_nodes() > 3 and nx.density(g) == 1.0)


@settings(max_examples=40, deadline=None)
@given(graph=rst.graphs())
def test_connected_graphs_are_simple_and_connected(graph):
    assert nx.is_connected(graph) and nx.number_of_selfloops(graph) == 0
    assert set(graph) == set(range(graph.number_of_nodes()))


def test_points_and_operands_edge_cases():
    found(rst.points(), lambda p: p.y is not None and p.y.shape == p.x.shape and np.abs(
        p.x).max() > 3 and np.abs(p.y - p.x).max() < 1e-7)
    found(rst.points(), lambda p: p.y is None)
    unit = found(rst.points(unit_interval=True), lambda p: 0.0 in p.x and 1.0 in p.x)
    assert unit.x.ndim == 1 and unit.x.min() >= 0 and unit.x.max() <= 1
    found(rst.operands(rows=4), lambda x: np.abs(x).max() < 1e-2)
    found(rst.operands(rows=4), lambda x: np.abs(x).max() > 1e2)


# -- assert_close ---------------------------------------------------------------------------

def test_assert_close_message_shows_call_index_errors_and_count():
    desired = np.arange(12.0).reshape(3, 4)
    actual = desired.copy()
    actual[2, 1] += 1e-6
    actual[0, 3] += 1e-9
    with pytest.raises(AssertionError) as info:
        assert_close(actual, desired, context="softmax_attention(q: (3, 2), k: (4, 2))")
    message = str(info.value)
    assert message.startswith("softmax_attention(q: (3, 2), k: (4, 2))")
    assert "out[2, 1] = " in message and "but should be 9.0" in message
    assert re.search(r"\|error\| 1\.000e-06 > tolerance \S+ \(relative 1\.111e-07, \S+ ulp\)",
                     message), message
    assert "2 of 12 elements (16.7%) out of tolerance" in message
    assert "(shape (3, 4), dtype float64)" in message


def test_assert_close_shape_and_nan():
    with pytest.raises(AssertionError, match=r"shape \(2,\), but should be \(3,\)"):
        assert_close(np.zeros(2), np.zeros(3))
    with pytest.raises(AssertionError, match=r"out\[1\] = nan.*\|error\| inf"):
        assert_close(np.array([1.0, np.nan]), np.array([1.0, 2.0]))


def test_assert_close_policy():
    desired = np.array([1.0, 2.0, 3.0])
    bound = np.full(3, 1e-15)
    assert_close(desired + 1.9e-15, desired, bound=bound)  # float64: twice the bound
    with pytest.raises(AssertionError):
        assert_close(desired + 2.1e-15, desired, bound=bound)
    assert_close(desired + 1e-3, desired, rtol=1e-3)
    # float32: at most twice the naive error (plus ulps), never below the bound at its eps
    naive = (desired + 1e-5).astype(np.float32)
    assert_close((desired + 1.9e-5).astype(np.float32), desired, bound=bound, baseline=naive)
    with pytest.raises(AssertionError):
        assert_close((desired + 3e-5).astype(np.float32), desired, bound=bound, baseline=naive)


def test_harness_tolerance_is_the_documented_rule():
    d = np.array([2.0, -4.0])
    b = np.array([1e-16, 2e-16])
    np.testing.assert_array_equal(tolerances.harness_tolerance(d, bound=b),
                                  tolerances.HARNESS_FLOAT64_FACTOR * b)
    floor = b * tolerances.dtype_eps(np.float32) / tolerances.EPS + b
    np.testing.assert_allclose(tolerances.harness_tolerance(d, dtype="float32", bound=b), floor)
    base = d + np.array([0.0, 1e-3])
    rule = tolerances.harness_tolerance(d, dtype="float32", bound=b, baseline=base)
    spacing = float(np.spacing(np.float32(4.0)))
    np.testing.assert_allclose(rule, 2e-3 + tolerances.HARNESS_ULPS * spacing, rtol=1e-12)
    for key in ("harness_float64", "harness_baseline", "harness_default", "harness_statistical"):
        assert key in tolerances.POLICY


# -- the op table itself ----------------------------------------------------------------------

def test_every_invalid_input_of_the_op_table_is_refused_by_refimpl():
    """The invalid-input check is only as good as its table: refimpl must raise on each row
    (the harness skips a row refimpl accepts, so a wrong row would silently test nothing)."""
    from refimpl.testing._certify import DOCUMENTED_ERRORS
    from refimpl.testing._ops import all_ops, call_quietly

    for op in all_ops().values():
        cases = op.examples() or [find(op.cases(), lambda c: True, settings=FIND)]
        rows = 0
        for case in cases:
            for label, bad, *_ in op.errors(case):
                rows += 1
                with pytest.raises(DOCUMENTED_ERRORS):
                    call_quietly(op.checker or op.reference, bad)
                    pytest.fail(f"{op.name}: refimpl accepts the invalid input {label!r}: "
                                f"{bad.describe()}")
        assert rows >= 2, f"{op.name} has fewer than two invalid inputs"


def test_every_op_has_curated_cases_and_invariants_or_is_exact():
    from refimpl.testing._ops import all_ops

    for op in all_ops().values():
        assert op.examples() or op.statistical is not None, op.name
        assert op.invariants or op.bound is None, op.name


# -- certify plumbing -----------------------------------------------------------------------

def test_certify_lists_missing_and_uncertifiable_names():
    backend = types.SimpleNamespace(stick_breaking=stick_breaking, nystrom=lambda: None)
    report = certify(backend, max_examples=3)
    verdicts = {r.name: r.verdict for r in report.results}
    assert verdicts["stick_breaking"] == "pass"
    assert verdicts["nystrom"] == "not certified"
    assert verdicts["softmax_attention"] == "not provided"
    assert report.passed and report.failed == []
    text = report.format()
    assert "not provided: " in text and "softmax_attention" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is True and data["dtype"] == "float64"


def test_certify_accepts_mappings_and_files(tmp_path):
    assert certify({"stick_breaking": stick_breaking}, functions=["stick_breaking"],
                   max_examples=2).passed
    path = tmp_path / "my_backend.py"
    path.write_text("from refimpl.masks import stick_breaking\n")
    report = certify(str(path), functions=["stick_breaking", "ToeplitzMask"], max_examples=2)
    assert report.backend == str(path)
    assert [r.verdict for r in report.results] == ["pass", "not provided"]


def test_certify_refuses_unknown_names_and_dtypes():
    with pytest.raises(ValueError, match="unknown: \\['softmax'\\]"):
        certify(types.SimpleNamespace(), functions=["softmax"])
    with pytest.raises(ValueError, match="dtype must be one of"):
        certify(types.SimpleNamespace(), dtype="int8")


def test_a_backend_that_raises_on_everything_certifies_nothing(tmp_path):
    """Raising on a valid input is an unsupported feature, not a wrong value: a backend that
    refuses every input is 'insufficient' (not certified, non-zero exit), and strict fails it."""
    def broken(*args, **kwargs):
        raise ZeroDivisionError("oops")
    backend = types.SimpleNamespace(softmax_attention=broken)
    report = certify(backend, functions=["softmax_attention"], max_examples=2,
                     replay_dir=tmp_path)
    result = report["softmax_attention"]
    assert result.verdict == "insufficient" and not report.passed
    assert result.certified == 0 and result.aspects["value"]["refused"] >= 2
    assert result.checks["value"] == "pass" and result.checks["error-contract"] == "not required"
    assert result.checks["non-finite"] == "pass"  # refusing NaN is honest
    assert result.unsupported and sum(u["cases"] for u in result.unsupported) >= 2
    assert all("ZeroDivisionError: oops" in u["error"] for u in result.unsupported)
    assert "softmax_attention (insufficient)" in report.reason
    strict = certify(backend, functions=["softmax_attention"], max_examples=2, strict=True,
                     replay_dir=tmp_path)["softmax_attention"]
    assert strict.verdict == "FAIL"
    assert strict.checks["error-contract"] == "FAIL" and strict.checks["unsupported"] == "FAIL"
    contract = next(f for f in strict.failures if f.check == "error-contract")
    assert "raised ZeroDivisionError: oops; refimpl's contract is ValueError" in contract.message
    assert load_replay(contract.replay).case.func == "softmax_attention"


def test_nothing_certifiable_does_not_pass():
    nothing = certify(types.SimpleNamespace(), max_examples=1)
    assert not nothing.passed and "provides none of refimpl's public names" in nothing.reason
    uncertifiable = certify(types.SimpleNamespace(nystrom=lambda *a, **k: None),
                            max_examples=1)
    assert not uncertifiable.passed and "nystrom" in uncertifiable.reason
    assert uncertifiable["nystrom"].verdict == "not certified"
    from refimpl.estimators import rfa_attention

    skipped = certify(types.SimpleNamespace(rfa_attention=rfa_attention), max_examples=1,
                      skip_statistical=True)
    assert not skipped.passed and skipped["rfa_attention"].verdict == "not certified"


@pytest.mark.parametrize("bad", [0, -1, 2.5, "3", True, None])
def test_certify_refuses_bad_max_examples(bad):
    with pytest.raises(ValueError, match="max_examples must be a positive int"):
        certify(types.SimpleNamespace(), max_examples=bad)


def test_certify_refuses_a_missing_dtype():
    with pytest.raises(ValueError, match="dtype must be one of"):
        certify(types.SimpleNamespace(), dtype=None)


def test_report_lookup_and_types():
    report = certify(types.SimpleNamespace(), functions=["nip"], max_examples=1)
    assert isinstance(report, Report)
    assert report["nip"].verdict == "not provided"
    with pytest.raises(KeyError):
        report["softmax_attention"]


def test_assert_close_never_passes_vacuously():
    inf, nan = float("inf"), float("nan")
    with pytest.raises(AssertionError, match="should be inf"):
        assert_close([1.0, 2.0], [1.0, inf])  # an infinite reference sets no scale
    assert_close([1.0, inf], [1.0, inf])
    assert_close([1.0, -inf, nan], [1.0, -inf, nan])
    with pytest.raises(AssertionError):
        assert_close([1.0, inf], [1.0, -inf])
    for bad in (inf, nan, -1.0, "1e-3", True):
        with pytest.raises(ValueError, match="rtol must be a finite number"):
            assert_close([1.0], [1.0], rtol=bad)
        with pytest.raises(ValueError, match="atol must be a finite number"):
            assert_close([1.0], [1.0], atol=bad)
