"""Tests of the ``refimpl bench`` machinery.

Benchmarks are measurements, not tests: nothing here asserts a speed. These tests check
the registry, the timing helper, the exponent fit, the tables and the outputs (text,
JSON, plots) on the cheapest benchmark at ``--quick`` sizes.
"""

from __future__ import annotations

import io
import json
import math
import sys

import numpy as np
import pytest

from refimpl import bench, cli, tolerances
from refimpl.bench import _timing

SMALL = "masked/alg1/causal"  # the cheapest benchmark: an O(L) scan


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One quick run of the small benchmark, with JSON and (if possible) plots."""
    out = tmp_path_factory.mktemp("bench")
    plot_dir = out / "plots" if _has_matplotlib() else None
    stream = io.StringIO()
    results = bench.run(quick=True, only=[SMALL], json_path=out / "bench.json",
                        plot=plot_dir, stream=stream)
    return results, stream.getvalue(), out / "bench.json", plot_dir


# -- the exponent fit --------------------------------------------------------------------------

def _slope_bound(n, t) -> float:
    """Rounding bound of the fitted slope of log(t) against log(n)."""
    x, y = np.log(np.asarray(n, float)), np.log(np.asarray(t, float))
    dx = x - x.mean()
    # Each log(t) is rounded (|y| eps); that moves the centred slope by at most
    # sum|dx| max|y| eps / sum(dx^2), and the fit's own sums round alike.
    return float(tolerances.summation_bound(n.size, np.abs(dx).sum() * np.abs(y).max()
                                            / (dx @ dx)))


@pytest.mark.parametrize("scale", [1.0, 3e-9, 7.5e4])
@pytest.mark.parametrize("sizes", [[64, 128, 256, 512], [10, 30, 100, 1000, 12345]])
def test_fit_exponent_of_an_exact_power_law(sizes, scale):
    n = np.asarray(sizes, dtype=np.float64)
    t = scale * n**1.5
    assert abs(bench.fit_exponent(n, t) - 1.5) <= _slope_bound(n, t)


def test_fit_exponent_skips_missing_points_and_needs_two():
    n = np.array([1.0, 2.0, 4.0, 8.0])
    t = np.array([math.nan, 4.0, 16.0, -1.0])  # only (2, 4) and (4, 16) count: slope 2
    assert bench.fit_exponent(n, t) == 2.0
    assert math.isnan(bench.fit_exponent([4.0], [1.0]))
    assert math.isnan(bench.fit_exponent([4.0, 4.0], [1.0, 2.0]))
    assert math.isnan(bench.fit_exponent(n, [math.nan] * 4))


# -- the registry -------------------------------------------------------------------------------

def test_registry_lists_the_masked_benchmarks():
    benchmarks = {b.name: b for b in bench.registry()}
    expected = {"masked/toeplitz_matmul"} | {
        f"masked/alg1/{m}" for m in ("toeplitz", "causal", "causal_decayed", "grid_2d", "ripple")
    }
    assert expected <= set(benchmarks)
    for name in expected:
        assert benchmarks[name].family == "masked"
        assert benchmarks[name].description


def test_registering_a_name_twice_is_an_error(monkeypatch):
    monkeypatch.setattr(_timing, "_REGISTRY", dict(_timing._REGISTRY))
    with pytest.raises(ValueError, match="already registered"):
        bench.benchmark(SMALL, family="masked", description="again")(lambda quick: None)


def test_unknown_benchmark_name_is_a_value_error_naming_it():
    stream = io.StringIO()
    with pytest.raises(ValueError, match="no/such_bench"):
        bench.run(quick=True, only=[SMALL, "no/such_bench"], stream=stream)
    assert stream.getvalue() == ""  # nothing ran


# -- the timing helper and the table -----------------------------------------------------------

def test_best_times_interleaves_checks_first_and_repeats():
    calls = []
    checked = []

    def check(outputs):
        checked.append((dict(outputs), len(calls)))
        return "ok"

    timing = bench.best_times({"a": lambda: calls.append("a") or 1,
                               "b": lambda: calls.append("b") or 2},
                              min_time=0.0, min_repeats=3, check=check)
    assert checked == [({"a": 1, "b": 2}, 2)]  # after the warm-up, before any timed round
    assert calls == ["a", "b"] * 4  # warm-up and three interleaved rounds
    assert timing.repeats == 3 and timing.checked == "ok"
    assert all(0 < s < math.inf for s in timing.seconds.values())


def test_best_times_does_not_time_a_failed_check():
    calls = []

    def check(outputs):
        raise RuntimeError("wrong answer")

    with pytest.raises(RuntimeError, match="wrong answer"):
        bench.best_times({"a": lambda: calls.append(1)}, check=check)
    assert calls == [1]


def test_table_ratios_exponents_and_missing_points():
    table = bench.Table("n", ["fast", "slow"], ratios={"slow/fast": ("slow", "fast")},
                        extras={"note": "s"})
    for n in (8, 16, 32, 64):
        times = {"fast": 1e-3 * n, "slow": 1e-3 * n * n} if n < 64 else {"fast": 64e-3}
        table.add(n, times, {"note": "x"})
    assert table.ratio("slow/fast")[:3] == [8.0, 16.0, 32.0]
    assert math.isnan(table.ratio("slow/fast")[3])
    n = np.array([8.0, 16.0, 32.0, 64.0])
    assert abs(table.exponents()["fast"] - 1.0) <= _slope_bound(n, 1e-3 * n)
    # The upper half of the sizes 8, 16, 32 at which "slow" was timed: 16 and 32.
    upper = table.exponents(upper_half=True)["slow"]
    assert abs(upper - 2.0) <= _slope_bound(n[1:3], 1e-3 * n[1:3] ** 2)
    text = table.format()
    assert "slow/fast" in text and "exponent" in text and "exp. upper" in text
    with pytest.raises(ValueError, match="unknown column"):
        table.add(128, {"medium": 1.0})


# -- running: text, JSON, plots ----------------------------------------------------------------

def test_quick_run_returns_finite_positive_times(quick_run):
    results, _, _, _ = quick_run
    assert [r.name for r in results] == [SMALL]
    table = results[0].table
    assert results[0].error is None and len(table.sizes) >= 3
    for series in table.series:
        times = np.asarray(table.times[series])
        assert np.all(np.isfinite(times) & (times > 0)), series
    assert all(np.isfinite(e) for e in table.exponents().values())


def test_quick_run_prints_progress_and_a_table(quick_run):
    results, text, _, _ = quick_run
    table = results[0].table
    for size in table.sizes:  # one progress line per size, as it finishes
        assert f"{SMALL}: L={size} " in text
    assert table.format() in text
    assert "exponent" in text and "dense/Alg. 1" in text


def test_quick_run_writes_valid_json(quick_run):
    results, _, path, _ = quick_run
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["quick"] is True and data["machine"]["cpus"] >= 1
    (entry,) = data["benchmarks"]
    assert entry["name"] == SMALL and entry["sizes"] == results[0].table.sizes
    assert set(entry["times_s"]) == {"Alg. 1", "dense"}
    assert all(t > 0 for t in entry["times_s"]["Alg. 1"])
    assert set(entry["exponents"]["Alg. 1"]) == {"all", "upper_half"}


def test_quick_run_writes_png_plots(quick_run):
    pytest.importorskip("matplotlib")
    _, text, _, plot_dir = quick_run
    (png,) = plot_dir.glob("*.png")
    assert png.name == SMALL.replace("/", "_") + ".png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {png}" in text


def test_plot_without_matplotlib_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes the import fail
    stream = io.StringIO()
    with pytest.raises(ImportError, match="matplotlib"):
        bench.run(quick=True, only=[SMALL], plot=tmp_path, stream=stream)
    assert stream.getvalue() == ""  # refused before any timing


def test_a_failing_benchmark_is_reported_after_the_others(monkeypatch):
    monkeypatch.setattr(_timing, "_REGISTRY", dict(_timing._REGISTRY))

    @bench.benchmark("test/broken", family="test", description="raises")
    def _broken(quick):
        raise ArithmeticError("boom")

    @bench.benchmark("test/tiny", family="test", description="one row")
    def _tiny(quick):
        table = bench.Table("n", ["t"])
        table.add(1, {"t": 1.0})
        return table

    stream = io.StringIO()
    with pytest.raises(RuntimeError, match="test/broken: ArithmeticError: boom"):
        bench.run(quick=True, only=["test"], stream=stream)
    assert "ERROR ArithmeticError: boom" in stream.getvalue()
    assert "== test/tiny" in stream.getvalue()


def test_cli_bench_quick_json(tmp_path, capsys):
    path = tmp_path / "out.json"
    assert cli.main(["bench", "--quick", "--only", SMALL, "--json", str(path)]) == 0
    assert json.loads(path.read_text(encoding="utf-8"))["benchmarks"][0]["name"] == SMALL
    assert f"== {SMALL}" in capsys.readouterr().out


def test_every_benchmark_runs_at_quick_sizes():
    results = bench.run(quick=True, stream=io.StringIO())
    assert {r.name for r in results} == {b.name for b in bench.registry()}
    for r in results:
        assert all(np.isfinite(t).all() and (np.asarray(t) > 0).all()
                   for t in r.table.times.values()), r.name
