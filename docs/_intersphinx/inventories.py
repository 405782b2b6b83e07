"""Offline intersphinx inventories for the external objects the refimpl docs refer to.

Sphinx's intersphinx extension normally downloads each project's ``objects.inv`` at build
time. The documentation must build without network (CI reaches only the package index),
so ``docs/conf.py`` calls :func:`write_inventories` to write small inventories, in the
same format, listing the objects that the pages and the docstrings reference (and a few
close relatives likely to be referenced next), each with its address in that project's
documentation (relative to the base URL given in
``intersphinx_mapping``). The links in the built site go to the real pages.

When the nitpicky build reports ``reference target not found: scipy.something``, add the
object to the table below with its address (open the page in the project's docs and copy
the part after the base URL, anchor included), and rebuild.

Format of an entry: ``(name, "domain:role", "relative URI", display name or "-")``. A URI
holding ``$`` stands for the URI with every ``$`` replaced by the name.
"""

from __future__ import annotations

import zlib
from pathlib import Path

# -- Python ---------------------------------------------------------------------------------

_PY_BUILTIN_CLASSES = ["int", "float", "bool", "object", "complex", "slice", "type"]
_PY_STDTYPES = ["str", "tuple", "list", "dict", "set", "frozenset", "bytes", "range"]
_PY_EXCEPTIONS = ["ValueError", "TypeError", "RuntimeError", "ImportError", "KeyError",
                  "IndexError", "NotImplementedError", "OverflowError", "AssertionError",
                  "ModuleNotFoundError", "ZeroDivisionError", "Exception", "Warning",
                  "RuntimeWarning", "UserWarning"]

PYTHON = (
    [(n, "py:class", "library/functions.html#$", "-") for n in _PY_BUILTIN_CLASSES]
    + [(n, "py:class", "library/stdtypes.html#$", "-") for n in _PY_STDTYPES]
    + [(n, "py:exception", "library/exceptions.html#$", "-") for n in _PY_EXCEPTIONS]
    + [(n, "py:data", "library/constants.html#$", "-") for n in ("None", "True", "False")]
    + [(n, "py:function", "library/functions.html#$", "-")
       for n in ("callable", "isinstance", "len", "sum", "abs", "max", "min", "sorted")]
    + [
        ("bltin-boolean-values", "std:label", "library/stdtypes.html#$", "Boolean Values"),
        ("iterable", "std:term", "glossary.html#term-iterable", "-"),
        ("sequence", "std:term", "glossary.html#term-sequence", "-"),
        ("generator", "std:term", "glossary.html#term-generator", "-"),
        ("mapping", "std:term", "glossary.html#term-mapping", "-"),
        ("contextlib.contextmanager", "py:function", "library/contextlib.html#$", "-"),
        ("collections.namedtuple", "py:function", "library/collections.html#$", "-"),
        ("collections.abc.Callable", "py:class", "library/collections.abc.html#$", "-"),
        ("collections.abc.Mapping", "py:class", "library/collections.abc.html#$", "-"),
        ("collections.abc.Sequence", "py:class", "library/collections.abc.html#$", "-"),
        ("typing.Callable", "py:data", "library/typing.html#$", "-"),
        ("typing.Protocol", "py:class", "library/typing.html#$", "-"),
        ("dataclasses.dataclass", "py:function", "library/dataclasses.html#$", "-"),
        ("time.perf_counter", "py:function", "library/time.html#$", "-"),
        ("fractions.Fraction", "py:class", "library/fractions.html#$", "-"),
        ("functools.partial", "py:function", "library/functools.html#$", "-"),
        ("pathlib.Path", "py:class", "library/pathlib.html#$", "-"),
        ("os.PathLike", "py:class", "library/os.html#$", "-"),
        ("doctest", "py:module", "library/doctest.html#module-doctest", "-"),
        ("tracemalloc", "py:module", "library/tracemalloc.html#module-tracemalloc", "-"),
        ("json", "py:module", "library/json.html#module-json", "-"),
    ]
)

# -- NumPy ----------------------------------------------------------------------------------

_NP_GENERATED = [  # reference/generated/<name>.html#<name>
    ("numpy.ndarray", "py:class"), ("numpy.dtype", "py:class"),
    ("numpy.random.RandomState", "py:class"), ("numpy.random.SeedSequence", "py:class"),
    ("numpy.asarray", "py:function"), ("numpy.cumsum", "py:function"),
    ("numpy.einsum", "py:function"), ("numpy.allclose", "py:function"),
    ("numpy.isclose", "py:function"), ("numpy.spacing", "py:function"),
    ("numpy.finfo", "py:class"), ("numpy.linalg.qr", "py:function"),
    ("numpy.linalg.eigh", "py:function"), ("numpy.linalg.matrix_power", "py:function"),
    ("numpy.polynomial.hermite.hermgauss", "py:function"),
    ("numpy.polynomial.legendre.leggauss", "py:function"),
    ("numpy.testing.assert_allclose", "py:function"),
    ("numpy.random.default_rng", "py:function"), ("numpy.printoptions", "py:function"),
    ("numpy.errstate", "py:class"), ("numpy.broadcast_shapes", "py:function"),
    ("numpy.ufunc.reduceat", "py:method"),
    ("numpy.lib.stride_tricks.sliding_window_view", "py:function"),
]
NUMPY = (
    [(n, role, "reference/generated/$.html#$", "-") for n, role in _NP_GENERATED]
    + [
        ("numpy", "py:module", "reference/index.html#module-numpy", "-"),
        ("numpy.random.Generator", "py:class", "reference/random/generator.html#$", "-"),
        ("numpy.inf", "py:data", "reference/constants.html#$", "-"),
        ("numpy.nan", "py:data", "reference/constants.html#$", "-"),
        ("numpy.pi", "py:data", "reference/constants.html#$", "-"),
        ("numpy.float64", "py:class", "reference/arrays.scalars.html#$", "-"),
        ("numpy.float32", "py:class", "reference/arrays.scalars.html#$", "-"),
        ("numpy.float16", "py:class", "reference/arrays.scalars.html#$", "-"),
        ("array_like", "std:term", "glossary.html#term-array_like", "-"),
        ("arrays.scalars", "std:label", "reference/arrays.scalars.html#$", "Scalars"),
    ]
)

# -- SciPy ----------------------------------------------------------------------------------

_SCIPY_GENERATED = [  # reference/generated/<name>.html#<name>
    ("scipy.sparse.linalg.LinearOperator", "py:class"),
    ("scipy.sparse.linalg.aslinearoperator", "py:function"),
    ("scipy.sparse.linalg.expm_multiply", "py:function"),
    ("scipy.sparse.linalg.expm", "py:function"),
    ("scipy.sparse.linalg.splu", "py:function"),
    ("scipy.sparse.linalg.spsolve", "py:function"),
    ("scipy.sparse.linalg.cg", "py:function"),
    ("scipy.sparse.linalg.eigsh", "py:function"),
    ("scipy.sparse.csr_array", "py:class"), ("scipy.sparse.csr_matrix", "py:class"),
    ("scipy.sparse.coo_array", "py:class"), ("scipy.sparse.sparray", "py:class"),
    ("scipy.sparse.spmatrix", "py:class"), ("scipy.sparse.kron", "py:function"),
    ("scipy.sparse.issparse", "py:function"), ("scipy.sparse.diags_array", "py:function"),
    ("scipy.sparse.identity", "py:function"), ("scipy.sparse.eye_array", "py:function"),
    ("scipy.sparse.csgraph.dijkstra", "py:function"),
    ("scipy.sparse.csgraph.shortest_path", "py:function"),
    ("scipy.sparse.csgraph.connected_components", "py:function"),
    ("scipy.linalg.expm", "py:function"), ("scipy.linalg.toeplitz", "py:function"),
    ("scipy.linalg.matmul_toeplitz", "py:function"),
    ("scipy.linalg.lu_factor", "py:function"), ("scipy.linalg.lu_solve", "py:function"),
    ("scipy.linalg.eigh", "py:function"), ("scipy.linalg.cholesky", "py:function"),
    ("scipy.linalg.qr", "py:function"), ("scipy.linalg.solve", "py:function"),
    ("scipy.linalg.circulant", "py:function"),
    ("scipy.fft.rfft", "py:function"), ("scipy.fft.irfft", "py:function"),
    ("scipy.fft.rfftn", "py:function"), ("scipy.fft.irfftn", "py:function"),
    ("scipy.fft.fft", "py:function"), ("scipy.fft.ifft", "py:function"),
    ("scipy.fft.next_fast_len", "py:function"),
    ("scipy.signal.lfilter", "py:function"), ("scipy.signal.fftconvolve", "py:function"),
    ("scipy.special.softmax", "py:function"), ("scipy.special.logsumexp", "py:function"),
    ("scipy.special.log_softmax", "py:function"),
    ("scipy.special.log_expit", "py:function"), ("scipy.special.expit", "py:function"),
    ("scipy.special.eval_hermite", "py:function"),
    ("scipy.special.eval_legendre", "py:function"),
    ("scipy.special.eval_gegenbauer", "py:function"),
    ("scipy.special.roots_hermite", "py:function"),
    ("scipy.special.roots_legendre", "py:function"),
    ("scipy.special.roots_jacobi", "py:function"),
    ("scipy.special.ive", "py:function"), ("scipy.special.iv", "py:function"),
    ("scipy.special.gammaln", "py:function"), ("scipy.special.erf", "py:function"),
    ("scipy.special.ndtr", "py:function"), ("scipy.special.ndtri", "py:function"),
    ("scipy.stats.norm", "py:data"), ("scipy.stats.binomtest", "py:function"),
    ("scipy.stats.kstest", "py:function"), ("scipy.stats.chi", "py:data"),
    ("scipy.integrate.quad", "py:function"),
    ("scipy.integrate.dblquad", "py:function"),
    ("scipy.integrate.nquad", "py:function"),
    ("scipy.optimize.brentq", "py:function"),
]
SCIPY = (
    [(n, role, "reference/generated/$.html#$", "-") for n, role in _SCIPY_GENERATED]
    + [
        ("scipy.sparse", "py:module", "reference/sparse.html#module-scipy.sparse", "-"),
        ("scipy.sparse.linalg", "py:module",
         "reference/sparse.linalg.html#module-scipy.sparse.linalg", "-"),
        ("scipy.sparse.csgraph", "py:module",
         "reference/sparse.csgraph.html#module-scipy.sparse.csgraph", "-"),
        ("scipy.fft", "py:module", "reference/fft.html#module-scipy.fft", "-"),
        ("scipy.linalg", "py:module", "reference/linalg.html#module-scipy.linalg", "-"),
        ("scipy.special", "py:module", "reference/special.html#module-scipy.special", "-"),
    ]
)

# -- networkx -------------------------------------------------------------------------------

_NX_ALGO = "reference/algorithms/generated/networkx.algorithms"
NETWORKX = [
    ("networkx", "py:module", "index.html", "-"),
    ("networkx.Graph", "py:class", "reference/classes/graph.html#$", "-"),
    ("networkx.DiGraph", "py:class", "reference/classes/digraph.html#$", "-"),
    ("networkx.MultiGraph", "py:class", "reference/classes/multigraph.html#$", "-"),
    ("networkx.all_pairs_dijkstra_path_length", "py:function",
     f"{_NX_ALGO}.shortest_paths.weighted.all_pairs_dijkstra_path_length.html"
     "#networkx.algorithms.shortest_paths.weighted.all_pairs_dijkstra_path_length", "-"),
    ("networkx.diameter", "py:function",
     f"{_NX_ALGO}.distance_measures.diameter.html"
     "#networkx.algorithms.distance_measures.diameter", "-"),
    ("networkx.is_tree", "py:function",
     f"{_NX_ALGO}.tree.recognition.is_tree.html#networkx.algorithms.tree.recognition.is_tree",
     "-"),
    ("networkx.is_connected", "py:function",
     f"{_NX_ALGO}.components.is_connected.html"
     "#networkx.algorithms.components.is_connected", "-"),
    ("networkx.to_scipy_sparse_array", "py:function",
     "reference/generated/networkx.convert_matrix.to_scipy_sparse_array.html"
     "#networkx.convert_matrix.to_scipy_sparse_array", "-"),
    ("networkx.hypercube_graph", "py:function",
     "reference/generated/networkx.generators.lattice.hypercube_graph.html"
     "#networkx.generators.lattice.hypercube_graph", "-"),
    ("networkx.grid_2d_graph", "py:function",
     "reference/generated/networkx.generators.lattice.grid_2d_graph.html"
     "#networkx.generators.lattice.grid_2d_graph", "-"),
    ("networkx.random_labeled_tree", "py:function",
     "reference/generated/networkx.generators.trees.random_labeled_tree.html"
     "#networkx.generators.trees.random_labeled_tree", "-"),
]

# -- sympy, mpmath, Hypothesis, matplotlib --------------------------------------------------

# Only the modules: no page or docstring names a deeper object yet. Add objects with their
# addresses when one does.
SYMPY = [("sympy", "py:module", "index.html", "-")]
MPMATH = [("mpmath", "py:module", "index.html", "-")]
HYPOTHESIS = [("hypothesis", "py:module", "index.html", "-")]
MATPLOTLIB = [("matplotlib", "py:module", "index.html", "-")]

TORCH = [  # named by refimpl.testing, which compares other backends with refimpl
    ("torch", "py:module", "index.html", "-"),
    ("torch.testing.assert_close", "py:function", "testing.html#$", "-"),
    ("torch.Tensor", "py:class", "tensors.html#$", "-"),
]

INVENTORIES = {
    "python": ("Python", "3", PYTHON),
    "numpy": ("NumPy", "2", NUMPY),
    "scipy": ("SciPy", "1", SCIPY),
    "networkx": ("NetworkX", "3", NETWORKX),
    "sympy": ("SymPy", "1", SYMPY),
    "mpmath": ("mpmath", "1", MPMATH),
    "hypothesis": ("Hypothesis", "6", HYPOTHESIS),
    "matplotlib": ("Matplotlib", "3", MATPLOTLIB),
    "torch": ("PyTorch", "2", TORCH),
}


def inventory_bytes(project: str, version: str, entries) -> bytes:
    """One ``objects.inv`` (Sphinx inventory version 2) holding ``entries``."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    ).encode()
    lines = []
    for name, role, uri, display in entries:
        uri = uri.replace("$", name)
        lines.append(f"{name} {role} 1 {uri} {display}\n")
    return header + zlib.compress("".join(lines).encode())


def write_inventories(directory) -> dict[str, Path]:
    """Write ``<name>.inv`` for every project into ``directory``; return the paths.

    A file is rewritten only when its content changes, so incremental builds stay valid.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (project, version, entries) in INVENTORIES.items():
        path = directory / f"{name}.inv"
        data = inventory_bytes(project, version, entries)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        paths[name] = path
    return paths
