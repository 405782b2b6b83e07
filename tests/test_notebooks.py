"""Execute every notebook in ``notebooks/`` and fail on the first cell that raises.

Each notebook runs top to bottom in a fresh kernel of *this* interpreter (so the kernel
imports the refimpl under test), with ``notebooks/`` as its working directory and a
per-cell timeout. The executed notebook stays in memory: nothing is written back to the
repository. A failure names the cell, shows its source and the kernel's error.

Run only these with ``pytest -m notebooks``; deselect them with ``-m "not notebooks"``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
kernelspec = pytest.importorskip("ipykernel.kernelspec")

from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError  # noqa: E402

import refimpl  # noqa: E402

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL_NAME = "python3"
CELL_TIMEOUT_S = 120

# Run first in the kernel (not part of the notebook): which interpreter and which refimpl.
PROBE = """\
import json as _json, sys as _sys
try:
    import refimpl as _refimpl
    _where = _refimpl.__file__
except Exception as _error:
    _where = f"import refimpl failed: {_error!r}"
print(_json.dumps({"executable": _sys.executable, "refimpl": _where}))
del _json, _sys, _where
"""

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@pytest.fixture
def this_interpreter_kernel(tmp_path, monkeypatch):
    """Make kernel ``python3`` this interpreter's ipykernel, whatever else is installed.

    A ``python3`` kernelspec in the user's or system's Jupyter directories may point at
    another Python; a spec written to a temporary directory on ``JUPYTER_PATH`` (searched
    first) with ``argv[0] = sys.executable`` takes precedence over it.
    """
    kernelspec.write_kernel_spec(path=tmp_path / "kernels" / KERNEL_NAME)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    # The kernel runs in notebooks/, so it would import an installed copy of refimpl even
    # when the tests import the checkout (``python -m pytest`` puts the checkout first):
    # put the directory of the refimpl the tests use first on the kernel's path too.
    package_root = str(Path(refimpl.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p))
    return KERNEL_NAME


def _describe(cell, exc: BaseException) -> str:
    """What went wrong in ``cell``: the kernel's error (name, value, traceback) if any."""
    if isinstance(exc, CellTimeoutError):
        return f"timed out: the per-cell limit is {CELL_TIMEOUT_S} s"
    if isinstance(exc, DeadKernelError):
        return f"the kernel died: {exc}"
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            lines = [f"{output['ename']}: {output['evalue']}", *output.get("traceback", [])]
            return ANSI.sub("", "\n".join(lines))
    return ANSI.sub("", f"{type(exc).__name__}: {exc}")


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, this_interpreter_kernel):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    nb.cells.insert(0, nbformat.v4.new_code_cell(PROBE))
    current = {}

    def record(cell, cell_index, **_):
        current.update(cell=cell, index=cell_index)

    client = nbclient.NotebookClient(
        nb,
        kernel_name=this_interpreter_kernel,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
        on_cell_execute=record,
    )
    failure = None
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        cell = current.get("cell") or nbformat.v4.new_code_cell("<not started>")
        index = current.get("index", 0) - 1  # the probe is cell -1
        where = "the probe cell" if index < 0 else f"cell {index} (0-based, markdown included)"
        failure = (
            f"{path.name}: {where} failed\n---- source ----\n{cell.source}\n"
            f"---- error ----\n{_describe(cell, exc)}"
        )
    if failure is not None:  # outside the except block: no chained nbclient traceback
        pytest.fail(failure, pytrace=False)

    probe_out = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.output_type == "stream")
    probe = json.loads(probe_out.strip().splitlines()[-1])
    assert probe["executable"] == sys.executable, (
        f"the kernel ran {probe['executable']}, not the test's interpreter {sys.executable}"
    )
    assert probe["refimpl"] == refimpl.__file__, (
        f"the kernel imported refimpl from {probe['refimpl']}, the tests from {refimpl.__file__}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_clean(path):
    """Committed notebooks are valid and carry no outputs, so diffs stay small."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: clear the outputs of cells {dirty} before committing"
