"""Sphinx configuration for the refimpl documentation.

Build (from the repository root, after ``python -m pip install ".[docs]"``)::

    sphinx-build -W docs docs/_build

``-W`` turns every warning into an error and ``nitpicky`` below makes every unresolved
cross-reference a warning, so a broken reference, a public name without a docstring or a
notebook cell that raises fails the build. ``tests/test_docs.py`` runs this build.

The build needs no network: the intersphinx inventories are read from files in
``docs/_intersphinx/`` (see the comment at ``intersphinx_mapping``), and the notebooks run
in a local kernel.
"""

from __future__ import annotations

import filecmp
import inspect
import re
import shutil
import sys
from pathlib import Path

from sphinx.util import logging

import refimpl

LOGGER = logging.getLogger("refimpl.docs")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

# -- project -------------------------------------------------------------------------------

project = "refimpl"
author = "refimpl developers"
copyright = "refimpl developers"
release = refimpl.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",  # Markdown pages (MyST) and notebooks; it loads myst_parser itself
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
# myst-nb writes the executed notebooks to jupyter_execute/ next to the output directory,
# which is docs/ itself for ``sphinx-build docs docs/_build``: never read them as sources.
exclude_patterns = ["_build", "_intersphinx", "jupyter_execute", "Thumbs.db", ".DS_Store",
                    "**.ipynb_checkpoints"]
templates_path: list[str] = []
html_static_path = ["_static"]

# -- strictness ----------------------------------------------------------------------------

# Every cross-reference must resolve (with -W, an unresolved one fails the build). There is
# no nitpick_ignore list: references to other projects resolve through the offline
# inventories below, and the shape symbols of parameter types are not references at all
# (see numpydoc_xref_ignore).
nitpicky = True

# -- MyST and notebooks ---------------------------------------------------------------------

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# The notebooks in notebooks/ are committed without outputs; they are executed, in a fresh
# kernel each, on every build (JAX's settings: force, errors fail the build, per-cell
# timeout). tests/test_notebooks.py executes them as well.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 120  # seconds per cell
nb_execution_show_tb = True
nb_execution_allow_errors = False
nb_merge_streams = True

# Sphinx reads sources only from docs/, so the notebooks are copied from notebooks/ into
# docs/notebooks/ (gitignored) before the build reads its sources. A copy whose content is
# unchanged is left alone, so an incremental build does not re-read it.
NOTEBOOK_SRC = ROOT / "notebooks"
NOTEBOOK_DST = DOCS / "notebooks"


def _copy_notebooks() -> None:
    NOTEBOOK_DST.mkdir(exist_ok=True)
    sources = {p.name: p for p in sorted(NOTEBOOK_SRC.glob("*.ipynb"))}
    for name, src in sources.items():
        dst = NOTEBOOK_DST / name
        if not dst.exists() or not filecmp.cmp(src, dst, shallow=False):
            shutil.copyfile(src, dst)
    for stale in NOTEBOOK_DST.glob("*.ipynb"):  # a notebook removed from notebooks/
        if stale.name not in sources:
            stale.unlink()


_copy_notebooks()

# -- autodoc and numpydoc -------------------------------------------------------------------

autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc Parameters sections carry the types
autoclass_content = "class"
add_module_names = False

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# Parameter types ("array_like, shape (L, d)", "int or None", ...) link their known types:
# numpydoc's defaults (int, float, bool, None, array_like, ndarray, ...) and the aliases
# below. Every other word of a type string (the shape symbols L, d, dv, ..., and prose
# such as "matrix" or "ints") stays plain text ("all"): otherwise each shape symbol would
# become a reference that cannot resolve. Explicit roles in the docstrings (:func:, :class:,
# ...) are not affected and must all resolve.
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "Generator": "numpy.random.Generator",
    "numpy.random.Generator": "numpy.random.Generator",
    "np.random.Generator": "numpy.random.Generator",
    "numpy.ndarray": "numpy.ndarray",
    "LinearOperator": "scipy.sparse.linalg.LinearOperator",
    "scipy.sparse.linalg.LinearOperator": "scipy.sparse.linalg.LinearOperator",
    "scipy.sparse": ":mod:`scipy.sparse`",
    "csr_array": "scipy.sparse.csr_array",
    "scipy.sparse.csr_array": "scipy.sparse.csr_array",
    "networkx.Graph": "networkx.Graph",
    "nx.Graph": "networkx.Graph",
    "Mask": "refimpl.masks.Mask",
    "Eigenfunctions": "refimpl.eigen.Eigenfunctions",
}
numpydoc_xref_ignore = "all"

# -- cross-references to other projects ----------------------------------------------------

# Intersphinx without network. CI reaches only the package index, so the projects'
# objects.inv files cannot be downloaded at build time. docs/_intersphinx/inventories.py
# holds a table of exactly the external objects these pages and the docstrings refer to,
# with the address of each in its project's documentation; the inventories written from
# it below (same format as objects.inv, into docs/_intersphinx/, gitignored) are read
# instead of downloaded, and the links in the built site go to the real pages. A
# reference to an external object missing from the table fails the nitpicky build, which
# names it; add it to the table.
sys.path.insert(0, str(DOCS / "_intersphinx"))
from inventories import write_inventories  # noqa: E402

_URLS = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "scipy": "https://docs.scipy.org/doc/scipy/",
    "networkx": "https://networkx.org/documentation/stable/",
    "sympy": "https://docs.sympy.org/latest/",
    "mpmath": "https://mpmath.org/doc/current/",
    "hypothesis": "https://hypothesis.readthedocs.io/en/latest/",
    "matplotlib": "https://matplotlib.org/stable/",
    "torch": "https://pytorch.org/docs/stable/",
}
_INVENTORIES = write_inventories(DOCS / "_intersphinx")
intersphinx_mapping = {name: (url, str(_INVENTORIES[name])) for name, url in _URLS.items()}
intersphinx_timeout = 1  # never used for a download: every inventory is a local file

# -- HTML ----------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"refimpl {release}"
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_last_updated_fmt = None
html_show_sourcelink = False


def _public_names_need_docstrings(app, what, name, obj, skip, options):
    """Fail the build (a warning under -W) on a public function or class without docstring.

    autodoc offers a module's members from its ``__all__`` only, so every module-level
    member seen here is public; autodoc would silently leave out an undocumented one.
    (Public constants are documented by a ``#:`` comment above their assignment.)
    """
    if what == "module" and (inspect.isclass(obj) or inspect.isroutine(obj)):
        if not inspect.getdoc(obj):
            LOGGER.warning("public name %r (in a module's __all__) has no docstring", name,
                           type="refimpl", subtype="docstring")
    return None


_SECTION = re.compile(r"^(?P<title>[A-Z][A-Za-z ]+)\n(?P<rule>-{3,})$", re.MULTILINE)


def _module_sections_as_rubrics(app, what, name, obj, options, lines):
    """Render the numpydoc sections of a module docstring (Examples, Notes, ...) as rubrics.

    numpydoc turns the sections of function and class docstrings into rubrics but leaves
    those of module docstrings as reST section titles, which would nest inside the API
    page's own headings and give every module's "Examples" the same anchor.
    """
    if what != "module":
        return
    text = "\n".join(lines)
    text = _SECTION.sub(lambda m: f".. rubric:: {m['title']}\n"
                        if len(m["rule"]) == len(m["title"]) else m[0], text)
    lines[:] = text.split("\n")


def setup(app):
    app.connect("autodoc-skip-member", _public_names_need_docstrings)
    app.connect("autodoc-process-docstring", _module_sections_as_rubrics)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
