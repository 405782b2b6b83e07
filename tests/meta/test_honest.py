"""Honest backends must pass: refimpl itself, an independent float64 implementation, and a
float32 implementation under ``dtype="float32"``; plus the command line and the pytest
plugin end to end, and the optional PyTorch adapter where torch is installed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import honest64
from test_mutants import META_EXAMPLES

from refimpl.cli import main
from refimpl.testing import certify

HERE = Path(__file__).resolve().parent


def _assert_passed(report):
    failures = "\n\n".join(str(f) for r in report.results for f in r.failures)
    notes = "\n".join(f"{r.name}: {r.note}" for r in report.results if r.verdict == "error")
    assert report.passed, f"{report.format(details=False)}\n{failures}\n{notes}"


def test_refimpl_certifies_itself():
    report = certify("refimpl.testing.backends.reference", max_examples=META_EXAMPLES)
    _assert_passed(report)
    verdicts = {r.name: r.verdict for r in report.results}
    assert verdicts["softmax_attention"] == "pass"
    assert verdicts["rfa_attention"] == "pass"  # by its law (statistical)
    assert verdicts["nystrom"] == "not provided"
    assert sum(v == "pass" for v in verdicts.values()) >= 35


def test_independent_float64_backend_passes():
    report = certify(honest64, max_examples=META_EXAMPLES)
    _assert_passed(report)
    assert sum(r.verdict == "pass" for r in report.results) >= 25


def test_float32_backend_passes_at_float32_and_fails_at_float64():
    report = certify("refimpl.testing.backends.numpy32", max_examples=META_EXAMPLES,
                     dtype="float32")
    _assert_passed(report)
    provided = [r.name for r in report.results if r.verdict == "pass"]
    assert len(provided) == 11
    strict = certify("refimpl.testing.backends.numpy32", functions=provided, max_examples=5)
    assert all(strict[name].checks["value"] == "FAIL" for name in provided), strict


def test_refimpl_passes_at_lower_precision():
    """A float64 backend fed rounded inputs is at least as good as any float32 one."""
    for dtype in ("float32", "float16"):
        _assert_passed(certify("refimpl.testing.backends.reference", max_examples=5,
                               dtype=dtype, functions=["softmax_attention", "ToeplitzMask",
                                                       "rbf_kernel", "neuralef_loss"]))


# -- the command line --------------------------------------------------------------------------

def test_cli_rejects_a_mutant_and_prints_the_replay(tmp_path, capsys):
    json_path = tmp_path / "report.json"
    code = main(["certify", str(HERE / "cli_backend.py"), "--max-examples", "5",
                 "--replay-dir", str(tmp_path), "--json", str(json_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert re.search(r"^softmax_attention\s+FAIL", out, re.M), out
    assert "replay: " + str(tmp_path) in out
    assert "softmax_attention(q: " in out
    data = json.loads(json_path.read_text())
    assert data["passed"] is False
    failure = next(r for r in data["results"] if r["name"] == "softmax_attention")
    assert failure["failures"][0]["replay"].endswith(".npz")


def test_cli_accepts_an_honest_backend(tmp_path, capsys):
    code = main(["certify", "refimpl.testing.backends.numpy32", "--dtype", "float32",
                 "--max-examples", "5", "--functions", "softmax_attention",
                 "--functions", "CausalMask"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 passed, 0 failed" in out and out.rstrip().endswith("PASSED")


def test_cli_reports_a_missing_module(capsys):
    assert main(["certify", "no_such_backend_module"]) == 2
    assert "no_such_backend_module" in capsys.readouterr().err


# -- the pytest plugin -------------------------------------------------------------------------

def _pytest(*args, cwd):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get(
        "PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "refimpl.conformance",
                           "-p", "no:cacheprovider", "-q", "-rs", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_conformance_suite_is_inert_without_a_backend(tmp_path):
    proc = _pytest(cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "needs a backend" in proc.stdout and " passed" not in proc.stdout


def test_conformance_suite_passes_and_fails(tmp_path):
    ok = _pytest("--refimpl-backend", "refimpl.testing.backends.numpy32", "--refimpl-dtype",
                 "float32", "--refimpl-max-examples", "5", "--refimpl-functions",
                 "softmax_attention,ToeplitzMask", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "8 passed" in ok.stdout
    bad = _pytest("--refimpl-backend", str(HERE / "cli_backend.py"), "--refimpl-max-examples",
                  "5", "--refimpl-replay-dir", str(tmp_path), cwd=tmp_path)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "test_value[softmax_attention]" in bad.stdout
    assert "replay: " in bad.stdout
