"""The documentation builds, warnings as errors, and documents every public name.

``sphinx-build -W`` runs once per session (module fixture) in a subprocess of this
interpreter, into a temporary directory: nitpicky cross-references, numpydoc docstrings,
and the notebooks of ``notebooks/`` executed by myst-nb (a cell that raises fails the
build). The other tests read the built site's ``objects.inv`` to check that every public
name of refimpl is in the API reference, and inspect the package itself for docstrings
and examples.

Run only these with ``pytest -m docs``; deselect them with ``-m "not docs"``. The build
needs the ``docs`` extra (included in the ``test`` extra); without Sphinx the tests are
skipped with that reason.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import re
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

pytestmark = pytest.mark.docs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# The whole build, notebooks included, takes about a minute on 2 cores; the issue asks for
# well under 5 minutes. The limit leaves room for a loaded CI machine.
BUILD_TIMEOUT_S = 420

# The modules of the project contract: every name in their __all__ must be in the API
# reference with a docstring, and every public function must have an example.
CONTRACT_MODULES = [
    "refimpl.attention",
    "refimpl.masks",
    "refimpl.walks",
    "refimpl.graphs",
    "refimpl.features",
    "refimpl.estimators",
    "refimpl.eigen",
    "refimpl.testing",
    "refimpl.testing.strategies",
]
# Also documented (API pages), with docstrings required, examples not.
OTHER_DOCUMENTED_MODULES = ["refimpl.tolerances", "refimpl.mp", "refimpl.verify",
                            "refimpl.bench"]
PAGES = ["index", "api/index", "theory/index", "theory/masked_attention",
         "theory/graph_masks", "theory/sparse_graphs", "theory/random_features",
         "theory/eigen", "theory/harness", "tolerances", "certify", "benchmarks", "cli",
         "notebooks", "provenance"]

def _have_sphinx() -> bool:
    return importlib.util.find_spec("sphinx") is not None


@pytest.fixture(scope="module")
def built_docs(tmp_path_factory):
    """Build the HTML docs once: ``(returncode, stderr, html directory, seconds)``.

    Sphinx writes its warnings and errors to stderr, its progress to stdout.
    """
    if not _have_sphinx():
        pytest.skip("Sphinx is not installed; install the docs extra: "
                    'python -m pip install ".[docs]"')
    tmp = tmp_path_factory.mktemp("docs")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    # The notebooks run in kernel "python3": make it this interpreter, whatever python3
    # kernelspec the user's Jupyter directories hold (JUPYTER_PATH is searched first).
    kernelspec = importlib.import_module("ipykernel.kernelspec")
    kernelspec.write_kernel_spec(path=tmp / "jupyter" / "kernels" / "python3")
    env["JUPYTER_PATH"] = os.pathsep.join(
        [str(tmp / "jupyter"), *filter(None, [os.environ.get("JUPYTER_PATH")])])
    out = tmp / "html"
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
           "-d", str(tmp / "doctrees"), str(DOCS), str(out)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"sphinx-build did not finish in {BUILD_TIMEOUT_S} s:\n"
                    f"{(exc.stdout or b'')[-4000:]!r}\n{(exc.stderr or b'')[-4000:]!r}",
                    pytrace=False)
    seconds = time.perf_counter() - start
    return proc.returncode, proc.stderr or proc.stdout, out, seconds


def _problems(stderr: str) -> str:
    """The warnings and errors (the kernels' notice about TCP transport left out)."""
    lines = [line for line in stderr.splitlines() if "Kernel is running over TCP" not in line]
    return "\n".join(lines[:300]) or "(no output on stderr)"


def _inventory(html: Path) -> dict[str, set[str]]:
    """The built site's objects.inv (Sphinx inventory version 2): role -> names."""
    header, _, body = (html / "objects.inv").read_bytes().partition(
        b"# The remainder of this file is compressed using zlib.\n")
    assert header.startswith(b"# Sphinx inventory version 2"), header[:80]
    roles: dict[str, set[str]] = {}
    for line in zlib.decompress(body).decode().splitlines():
        match = re.match(r"(.+?)\s+(\S+:\S+)\s+(-?\d+)\s+(\S*)\s+(.*)", line)
        if match:
            roles.setdefault(match[2], set()).add(match[1])
    return roles


def _public(module_name: str):
    module = importlib.import_module(module_name)
    for name in module.__all__:
        yield name, getattr(module, name)


def test_docs_build_without_warnings(built_docs):
    returncode, output, html, seconds = built_docs
    assert returncode == 0, (
        f"sphinx-build -W failed (exit {returncode}, {seconds:.0f} s); warnings and errors:\n"
        f"{_problems(output)}"
    )
    missing = [page for page in PAGES if not (html / f"{page}.html").is_file()]
    assert not missing, f"pages missing from the built site: {missing}"
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    rendered = [n for n in notebooks if (html / "notebooks" / f"{n}.html").is_file()]
    assert rendered == notebooks, f"notebooks not rendered: {set(notebooks) - set(rendered)}"


@pytest.mark.parametrize("module_name", CONTRACT_MODULES + OTHER_DOCUMENTED_MODULES)
def test_every_public_name_is_in_the_api_reference(built_docs, module_name):
    *_, html, _ = built_docs
    if not (html / "objects.inv").is_file():
        pytest.fail("the build wrote no objects.inv", pytrace=False)
    inventory = _inventory(html)
    python_names = set().union(*(v for k, v in inventory.items() if k.startswith("py:")))
    documented_objects = {}  # a re-exported object counts where it is documented
    for other in CONTRACT_MODULES + OTHER_DOCUMENTED_MODULES:
        for name, obj in _public(other):
            if f"{other}.{name}" in python_names:
                documented_objects.setdefault(id(obj), f"{other}.{name}")
    missing = [
        f"{module_name}.{name}"
        for name, obj in _public(module_name)
        if f"{module_name}.{name}" not in python_names and id(obj) not in documented_objects
    ]
    assert not missing, (
        f"public names of {module_name} missing from the API reference (docs/api/): "
        f"{missing}; a function or class needs a docstring, a constant a #: comment"
    )


@pytest.mark.parametrize("module_name", CONTRACT_MODULES + OTHER_DOCUMENTED_MODULES)
def test_every_public_name_has_a_docstring(module_name):
    missing = [name for name, obj in _public(module_name)
               if (inspect.isroutine(obj) or inspect.isclass(obj) or inspect.ismodule(obj))
               and not inspect.getdoc(obj)]
    assert not missing, f"public names of {module_name} without a docstring: {missing}"


@pytest.mark.parametrize("module_name", CONTRACT_MODULES)
def test_every_public_function_has_an_example(module_name):
    """Every public function documents itself with an example (run by test_doctests.py)."""
    missing = [name for name, obj in _public(module_name)
               if inspect.isroutine(obj) and ">>>" not in (inspect.getdoc(obj) or "")]
    assert not missing, f"public functions of {module_name} without an example: {missing}"


def test_landing_page_example_runs():
    """The ten-line example on the landing page (docs/index.md) runs as written."""
    text = (DOCS / "index.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 1, "docs/index.md should hold exactly one python example"
    assert len(blocks[0].strip().splitlines()) <= 12
    exec(compile(blocks[0], "docs/index.md", "exec"), {})


def test_offline_inventories_are_well_formed():
    """Every intersphinx entry has a role and an address; no name is listed twice."""
    sys.path.insert(0, str(DOCS / "_intersphinx"))
    try:
        inventories = importlib.import_module("inventories")
    finally:
        sys.path.remove(str(DOCS / "_intersphinx"))
    for project, (_, _, entries) in inventories.INVENTORIES.items():
        keys = [(name, role) for name, role, _, _ in entries]
        assert len(keys) == len(set(keys)), f"{project}: duplicate entries"
        for name, role, uri, _ in entries:
            assert re.fullmatch(r"(py|std):[a-z]+", role), (project, name, role)
            assert uri and " " not in uri and not uri.startswith("http"), (project, name)
