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

#: The aspects of a verdict, in the order the report shows them.
ASPECTS = ("value", "invariant", "non-finite", "error-contract")
CHECKS = ASPECTS


@dataclasses.dataclass
class Discrepancy:
    """One failed check of one function.

    Attributes
    ----------
    function, check, label : str
        The public name, the aspect (``value``, ``invariant``, ``non-finite``,
        ``error-contract``) and what was checked (``"fully masked row"``,
        ``"permute keys and values"``).
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
        ``"pass"``, ``"FAIL"``, ``"insufficient"`` (too few value cases certified: the
        backend refused the others), ``"not provided"``, ``"not certified"`` (provided,
        but out of the harness's reach: see ``note``) or ``"error"`` (the harness itself
        failed, e.g. refimpl raised on a generated case).
    checks : dict
        Per aspect (``value``, ``invariant``, ``non-finite``, ``error-contract``):
        ``"pass"``, ``"FAIL"``, ``"not required"`` (the error contract differs; required
        only with ``strict``) or ``"-"``; and ``unsupported``: ``"none"``, ``"noted"`` or
        ``"FAIL"`` (``strict``).
    aspects : dict
        Per aspect: counts (``passed``, ``failed``, ``refused``, ``deviated``), the
        backend's ``outcomes`` and the ``worst`` case (its error over its tolerance).
    unsupported : list of dict
        Input features the backend refused (``feature``, ``cases``, an example ``call``
        and the ``error`` it raised).
    conventions : dict
        For inputs whose result is undefined (a fully masked row): what the backend does.
    certified, required : int
        Value cases certified, and the number needed for a verdict.
    failures : list of Discrepancy
        The worst failing case of each failing aspect.
    examples : int
        Cases run (all aspects together).
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
    aspects: dict = dataclasses.field(default_factory=dict)
    unsupported: list = dataclasses.field(default_factory=list)
    conventions: dict = dataclasses.field(default_factory=dict)
    certified: int = 0
    required: int = 0

    @property
    def passed(self) -> bool:
        return self.verdict in ("pass", "not provided", "not certified")

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["failures"] = [f.to_dict() for f in self.failures]
        return _jsonable(out)

    def cell(self, aspect: str) -> str:
        """The aspect's counts for the table: ``ok 41``, ``FAIL 3/41``, ``-``."""
        status = self.checks.get(aspect, "-")
        counts = self.aspects.get(aspect)
        if not counts or status == "-":
            return "-"
        judged = counts["passed"] + counts["failed"]
        if status == "FAIL":
            bad = counts["failed"] or counts["deviated"]
            return f"FAIL {bad}/{judged if counts['failed'] else counts['passed'] + bad}"
        if status == "not required":
            return f"{counts['passed']}/{counts['passed'] + counts['deviated']} doc"
        return f"ok {judged}"


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
    strict : bool
        Whether refimpl's error contract was required and unsupported features failed.
    required : int
        Certified value cases each provided name needed.

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
    strict: bool = False
    required: int = 1

    @property
    def certified(self) -> list:
        """Names that passed."""
        return [r.name for r in self.results if r.verdict == "pass"]

    @property
    def passed(self) -> bool:
        """True when no provided name failed or was insufficient and at least one passed."""
        return not self.failed and bool(self.certified)

    @property
    def failed(self) -> list:
        """Names whose verdict is ``FAIL``, ``insufficient`` or ``error``."""
        return [r.name for r in self.results if not r.passed]

    @property
    def reason(self) -> str:
        """Why the report did not pass (empty when it passed)."""
        if self.failed:
            return "failed: " + ", ".join(
                f"{r.name} ({r.verdict})" for r in self.results if not r.passed)
        if self.certified:
            return ""
        uncertifiable = [r.name for r in self.results if r.verdict == "not certified"]
        if uncertifiable:
            return (f"nothing was certified: {self.backend} provides only names the harness "
                    f"does not certify ({', '.join(uncertifiable)})")
        return (f"nothing was certified: {self.backend} provides none of refimpl's public "
                f"names (is it the right module? names are matched exactly, e.g. "
                f"softmax_attention)")

    def __getitem__(self, name: str) -> FunctionResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {"backend": self.backend, "dtype": self.dtype, "max_examples": self.max_examples,
                "strict": self.strict, "required": self.required, "passed": self.passed,
                "reason": self.reason, "replay_dir": self.replay_dir,
                "results": [r.to_dict() for r in self.results]}

    def write_json(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")

    def format(self, *, details: bool = True) -> str:
        """The table (one row per name, one column per aspect) and what stands out."""
        header = (f"{'function':<24} {'verdict':<13} {'value':<11} {'invariant':<11} "
                  f"{'non-finite':<11} {'contract':<11} {'unsupported':<11} {'time':>7}")
        mode = ", strict" if self.strict else ""
        lines = [f"refimpl certify {self.backend}  (dtype {self.dtype}, max_examples "
                 f"{self.max_examples}{mode}; a verdict needs {self.required} certified "
                 f"value cases)", header, "-" * len(header)]
        shown = [r for r in self.results if r.verdict != "not provided"]
        for r in shown:
            if r.verdict == "not certified":
                lines.append(f"{r.name:<24} {r.verdict}")
                continue
            unsupported = str(len(r.unsupported)) if r.unsupported else "-"
            if r.checks.get("unsupported") == "FAIL":
                unsupported = f"FAIL {unsupported}"
            lines.append(f"{r.name:<24} {r.verdict:<13} {r.cell('value'):<11} "
                         f"{r.cell('invariant'):<11} {r.cell('non-finite'):<11} "
                         f"{r.cell('error-contract'):<11} {unsupported:<11} "
                         f"{r.seconds:>6.1f}s")
        missing = [r.name for r in self.results if r.verdict == "not provided"]
        lines.append("-" * len(header))
        counts = {v: sum(r.verdict == v for r in self.results)
                  for v in ("pass", "FAIL", "insufficient", "error", "not certified")}
        lines.append(f"{counts['pass']} passed, {counts['FAIL']} failed, "
                     f"{counts['insufficient']} insufficient, {counts['error']} errors, "
                     f"{counts['not certified']} not certified, {len(missing)} not provided")
        if missing:
            lines.append("not provided: " + ", ".join(missing))
        if details:
            lines += self._details(shown)
        lines.append("")
        lines.append("PASSED" if self.passed else f"FAILED: {self.reason}")
        return "\n".join(lines)

    def _details(self, shown) -> list:
        lines = []
        for r in shown:
            if r.verdict == "not certified":
                lines.append(f"not certified: {r.name}: {r.note}")
                continue
            for feature in r.unsupported:
                lines.append(f"unsupported: {r.name}: {feature['feature']} ({feature['cases']} "
                             f"case(s) refused; e.g. {feature['call']} raised "
                             f"{feature['error']})")
            for label, outcomes in r.conventions.items():
                said = ", ".join(f"{o} ({n})" for o, n in outcomes.items())
                lines.append(f"convention: {r.name}: {label}: {said}")
            contract = r.aspects.get("error-contract") or {}
            if contract.get("deviated"):
                said = ", ".join(f"{o} ({n})" for o, n in contract["outcomes"].items())
                lines.append(f"error contract: {r.name}: {contract['deviated']} invalid input(s) "
                             f"handled otherwise than refimpl's ValueError/TypeError: {said}")
            worst = (r.aspects.get("value") or {}).get("worst")
            if worst and r.checks.get("value") == "pass" and worst.get("ratio") is not None:
                lines.append(f"worst value case: {r.name}: error {worst['ratio']:.3g} x its "
                             f"tolerance at {worst['call']}")
            if r.verdict in ("insufficient", "error") and r.note:
                lines.append(f"{r.verdict}: {r.name}: {r.note.strip()}")
        for r in shown:
            for failure in r.failures:
                lines += ["", str(failure)]
        return [""] + lines if lines else lines

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
