"""What ``certify`` reports: discrepancies, per-function verdicts, replay files.

A failure becomes a :class:`Discrepancy`: the call as code, the check that failed, the
worst element with its absolute, relative and ULP errors and the tolerance, the number of
failing elements, the rule the tolerance came from, how to reproduce it with Hypothesis,
and the path of a replay file. The replay file is a plain ``.npz`` (readable from C++ with
cnpy, from Julia with NPZ.jl) holding the inputs, the expected and the obtained output:

=====================  ===============================================================
key                    content
=====================  ===============================================================
``input.NAME``         each array argument (``X`` is the operand of ``mask @ X``);
                       graphs as ``input.NAME.nodes``/``.edges``/``.weights``, offset
                       functions as ``input.NAME.table`` (``f(t) = table[t + n - 1]``)
``expected.OUT``       refimpl's float64 result on the same inputs
``obtained.OUT``       the backend's result (absent if it raised or returned nothing)
``tolerance.OUT``      the elementwise tolerance
``meta``               JSON: function, check, label, call, dtype, argument order, message
=====================  ===============================================================
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import numpy as np

from ._case import Case, unflatten

__all__ = ["Discrepancy", "FunctionResult", "Replay", "Report", "load_replay", "write_replay"]

CHECKS = ("value", "invalid-input", "invariant")


@dataclasses.dataclass
class Discrepancy:
    """One failed check of one function.

    Attributes
    ----------
    function, check, label : str
        The public name, the check (``value``, ``invalid-input``, ``invariant``) and what
        was checked (``"fully masked row"``, ``"permute keys and values"``).
    call : str
        The call as code.
    dtype : str
        The precision certified.
    message : str
        What went wrong, in one or two sentences.
    output : str, optional
        The output compared (``out``, ``pi``, ``gradient``).
    index, got, want, abs_error, rel_error, ulp_error, tolerance, n_failed, n_total
        The worst element and the count of failing ones (see :class:`~._compare.Mismatch`).
    rule : str
        Where the tolerance came from.
    reproduce : str
        Hypothesis's reproduction note (the failing example and its blob).
    replay : str, optional
        Path of the replay ``.npz`` file.
    """

    function: str
    check: str
    label: str
    call: str
    dtype: str
    message: str
    output: str | None = None
    index: tuple | None = None
    got: float | None = None
    want: float | None = None
    abs_error: float | None = None
    rel_error: float | None = None
    ulp_error: float | None = None
    tolerance: float | None = None
    n_failed: int | None = None
    n_total: int | None = None
    rule: str = ""
    reproduce: str = ""
    replay: str | None = None

    def __str__(self) -> str:
        lines = [f"{self.function}: {self.check} check failed"
                 + (f" ({self.label})" if self.label else ""),
                 f"  call:   {self.call}   [{self.dtype}]",
                 f"  {self.message}"]
        if self.rule:
            lines.append(f"  tolerance rule: {self.rule}")
        if self.replay:
            lines.append(f"  replay: {self.replay}")
        if self.reproduce:
            lines.append("  " + self.reproduce.strip().replace("\n", "\n  "))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return _jsonable(dataclasses.asdict(self))


@dataclasses.dataclass
class FunctionResult:
    """The verdict for one public name.

    Attributes
    ----------
    name : str
    verdict : str
        ``"pass"``, ``"FAIL"``, ``"not provided"``, ``"not certified"`` (provided, but
        out of the harness's reach: see ``note``) or ``"error"`` (the harness itself
        failed, e.g. refimpl raised on a generated case).
    checks : dict
        Per check: ``"pass"``, ``"FAIL"``, ``"error"`` or ``"-"`` (none for this name).
    failures : list of Discrepancy
    examples : int
        Generated cases run (all checks together).
    seconds : float
    note : str
    """

    name: str
    verdict: str
    checks: dict = dataclasses.field(default_factory=dict)
    failures: list = dataclasses.field(default_factory=list)
    examples: int = 0
    seconds: float = 0.0
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict in ("pass", "not provided", "not certified")

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["failures"] = [f.to_dict() for f in self.failures]
        return _jsonable(out)


@dataclasses.dataclass
class Report:
    """The result of :func:`~refimpl.testing.certify`: one verdict per public name.

    Attributes
    ----------
    backend : str
    dtype : str
    max_examples : int
    results : list of FunctionResult
    replay_dir : str or None
        Where replay files were written (None when nothing failed).

    Examples
    --------
    >>> import refimpl.attention
    >>> from refimpl.testing import certify
    >>> report = certify(refimpl.attention, functions=["softmax_attention"], max_examples=3)
    >>> report.passed, report["softmax_attention"].verdict
    (True, 'pass')
    """

    backend: str
    dtype: str
    max_examples: int
    results: list
    replay_dir: str | None = None

    @property
    def passed(self) -> bool:
        """True when every provided (and certifiable) name passed."""
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list:
        """Names whose verdict is ``FAIL`` or ``error``."""
        return [r.name for r in self.results if not r.passed]

    def __getitem__(self, name: str) -> FunctionResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {"backend": self.backend, "dtype": self.dtype, "max_examples": self.max_examples,
                "passed": self.passed, "replay_dir": self.replay_dir,
                "results": [r.to_dict() for r in self.results]}

    def write_json(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")

    def format(self, *, details: bool = True) -> str:
        """The table (function, verdict, one column per check, examples, time) and failures."""
        header = (f"{'function':<26} {'verdict':<14} {'value':<6} {'invalid':<8} "
                  f"{'invariant':<10} {'cases':>6} {'time':>7}")
        lines = [f"refimpl certify {self.backend}  (dtype {self.dtype}, max_examples "
                 f"{self.max_examples})", header, "-" * len(header)]
        shown = [r for r in self.results if r.verdict != "not provided"]
        for r in shown:
            c = [r.checks.get(k, "-") for k in CHECKS]
            lines.append(f"{r.name:<26} {r.verdict:<14} {c[0]:<6} {c[1]:<8} {c[2]:<10} "
                         f"{r.examples:>6} {r.seconds:>6.2f}s")
        missing = [r.name for r in self.results if r.verdict == "not provided"]
        lines.append("-" * len(header))
        counts = {v: sum(r.verdict == v for r in self.results)
                  for v in ("pass", "FAIL", "error", "not certified")}
        lines.append(f"{counts['pass']} passed, {counts['FAIL']} failed, {counts['error']} "
                     f"errors, {counts['not certified']} not certified, {len(missing)} not "
                     f"provided")
        if missing:
            lines.append("not provided: " + ", ".join(missing))
        for r in shown:
            if r.verdict == "not certified" and r.note:
                lines.append(f"not certified: {r.name}: {r.note}")
        if details:
            for r in self.results:
                for failure in r.failures:
                    lines += ["", str(failure)]
                if r.verdict == "error" and r.note:
                    lines += ["", f"{r.name}: harness error: {r.note}"]
        lines.append("")
        lines.append("PASSED" if self.passed else "FAILED: " + ", ".join(self.failed))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


# -- replay files ----------------------------------------------------------------------------

def write_replay(directory, discrepancy: Discrepancy, case: Case, expected=None,
                 obtained=None, tolerance=None, outputs=("out",)) -> str:
    """Write the replay ``.npz`` of one failure and return its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-",
                  f"{discrepancy.function}-{discrepancy.check}-{discrepancy.label}").strip("-")
    path = directory / f"{stem}.npz"
    counter = 1
    while path.exists():
        counter += 1
        path = directory / f"{stem}-{counter}.npz"
    arrays = {f"input.{k}": v for k, v in case.arrays().items()}
    for prefix, values in (("expected", expected), ("obtained", obtained),
                           ("tolerance", tolerance)):
        for name, value in zip(outputs, values or ()):
            if value is not None:
                arrays[f"{prefix}.{name}"] = np.asarray(value)
    meta = {"function": case.func, "check": discrepancy.check, "label": discrepancy.label,
            "call": discrepancy.call, "dtype": discrepancy.dtype,
            "message": discrepancy.message, "args": [k for k, _ in case.args],
            "kwargs": list(case.kwargs),
            "tuples": [k for k, v in case.values().items() if isinstance(v, tuple)],
            "outputs": list(outputs), "operand": case.operand is not None}
    arrays["meta"] = np.array(json.dumps(meta))
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return os.fspath(path)


@dataclasses.dataclass
class Replay:
    """A replay file, read back (see :func:`load_replay`)."""

    case: Case
    meta: dict
    expected: dict
    obtained: dict
    tolerance: dict

    def run(self, fn):
        """Call ``fn`` (a function or mask class) on the recorded inputs."""
        return self.case.call(fn)


def load_replay(path) -> Replay:
    """Read a replay ``.npz`` written by :func:`~refimpl.testing.certify`.

    Parameters
    ----------
    path : str or path

    Returns
    -------
    Replay
        ``.case`` (the call, with ``.describe()`` and ``.call(fn)``), ``.meta``, and
        ``.expected``, ``.obtained``, ``.tolerance`` (dicts by output name).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from refimpl.testing._case import Case
    >>> from refimpl.testing._report import Discrepancy, write_replay
    >>> case = Case("softmax_attention", (("q", np.ones((1, 2))), ("k", np.ones((3, 2))),
    ...             ("v", np.ones((3, 1)))), {"causal": False})
    >>> d = Discrepancy("softmax_attention", "value", "", case.describe(), "float64", "")
    >>> path = write_replay(tempfile.mkdtemp(), d, case, expected=[np.ones((1, 1))])
    >>> replay = load_replay(path)
    >>> replay.case.describe(), replay.expected["out"].shape
    ('softmax_attention(q: (1, 2), k: (3, 2), v: (3, 1), causal=False)', (1, 1))
    """
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays.pop("meta")))
    groups = {"input": {}, "expected": {}, "obtained": {}, "tolerance": {}}
    for key, value in arrays.items():
        prefix, _, name = key.partition(".")
        groups[prefix][name] = value
    inputs = unflatten(groups["input"])
    for name in meta["tuples"]:
        inputs[name] = tuple(int(n) for n in np.atleast_1d(inputs[name]))
    for name, value in inputs.items():
        if isinstance(value, np.generic):
            inputs[name] = value.item()
    case = Case(meta["function"], tuple((k, inputs[k]) for k in meta["args"]),
                {k: inputs[k] for k in meta["kwargs"]},
                operand=inputs.get("X") if meta["operand"] else None)
    return Replay(case, meta, groups["expected"], groups["obtained"], groups["tolerance"])
