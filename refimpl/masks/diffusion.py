r"""Graph-kernel masks: graph diffusion ``exp(lam W)`` and the regularised Laplacian.

Tokens are the nodes of a weighted graph with adjacency ``W``. The diffusion mask
``M = exp(lam W)`` is the time-``lam`` solution operator of the linear ODE
``dy/dt = W y`` on the graph, which is where "differential equations on graphs" in the
title of Choromanski et al. (2022, Sec. 3, graph-kernel masks) comes from: ``M x`` is one
ODE solve, so the fast product never forms ``M``. The regularised-Laplacian kernel
``(I + sigma L)^{-1}``, ``L = D - W``, is the resolvent of the same generator and costs
one sparse LU factorisation plus two triangular solves per column.

``W`` may be a dense array, any :mod:`scipy.sparse` matrix or array, or a
:class:`networkx.Graph` (directed graphs and multigraphs included). A graph stands for
its weighted adjacency (edge attribute ``"weight"``, default 1; parallel edges add up,
a self-loop puts its weight on the diagonal) with the **nodes in sorted order**: token
``i`` is ``sorted(G)[i]``. Relabel the graph (:func:`networkx.convert_node_labels_to_integers`)
if its nodes do not sort.
"""

from __future__ import annotations

import contextlib
import numbers

import networkx as nx
import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from .. import tolerances
from .._validate import as_float_array, as_mask_array, real_scalar
from ._base import Mask

__all__ = ["DiffusionMask", "RegularizedLaplacianMask"]

#: Seed of the legacy global generator while ``expm_multiply`` runs (see
#: :func:`_isolated_legacy_rng`); any fixed value makes the products reproducible.
_EXPM_MULTIPLY_SEED = 20110217


# -- the graph matrix W -------------------------------------------------------------------

def _describe(x) -> str:
    return f"{type(x).__module__}.{type(x).__name__}"


def _graph_adjacency(G, name: str) -> scipy.sparse.csr_array:
    if G.number_of_nodes() == 0:
        raise ValueError(f"{name} must have at least one node; got an empty graph")
    try:
        nodes = sorted(G)
    except TypeError:
        raise TypeError(
            f"{name} must have sortable nodes (sorted order fixes the token order); got "
            f"nodes of types {sorted({type(v).__name__ for v in G})}; relabel them with "
            "networkx.convert_node_labels_to_integers"
        ) from None
    for u, v, w in G.edges(data="weight", default=1):
        if isinstance(w, (bool, np.bool_)) or not isinstance(w, (numbers.Real, np.number)):
            raise TypeError(f"{name}'s edge weights must be real numbers; edge ({u!r}, {v!r}) "
                            f"has weight {w!r}")
    return nx.to_scipy_sparse_array(G, nodelist=nodes, weight="weight", format="csr")


def _sparse_matrix(W, name: str) -> scipy.sparse.csr_array:
    if W.ndim != 2:
        raise ValueError(f"{name} must be a 2-dimensional (L, L) matrix; got shape {W.shape}")
    if W.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be real (float, int or bool); got dtype {W.dtype}")
    A = scipy.sparse.csr_array(W, dtype=np.float64, copy=True)
    A.sum_duplicates()
    if not np.all(np.isfinite(A.data)):
        coo = A.tocoo()
        bad = int(np.flatnonzero(~np.isfinite(coo.data))[0])
        raise ValueError(
            f"{name} must be finite; found {coo.data[bad]} at index "
            f"({int(coo.row[bad])}, {int(coo.col[bad])}) of a matrix of shape {A.shape}"
        )
    return A


def as_graph_matrix(W, name: str = "W"):
    """Validate a square, finite, real graph matrix.

    Returns a :class:`scipy.sparse.csr_array` for sparse and graph input (never
    densified) and a float64 :class:`numpy.ndarray` for dense input. Booleans become 0/1.
    """
    if isinstance(W, nx.Graph):
        A = _sparse_matrix(_graph_adjacency(W, name), name)
    elif scipy.sparse.issparse(W):
        A = _sparse_matrix(W, name)
    elif isinstance(W, scipy.sparse.linalg.LinearOperator):
        raise TypeError(f"{name} must be an explicit matrix or a networkx graph; got "
                        f"the LinearOperator {_describe(W)}")
    else:
        # A copy: a view of the caller's array would go stale under later edits.
        A = np.array(as_mask_array(W, name, min_ndim=2, nonnegative=False), copy=True)
        if A.ndim != 2:
            raise ValueError(f"{name} must be a 2-dimensional (L, L) matrix; got shape {A.shape}")
    if min(A.shape) == 0:
        raise ValueError(f"{name} must be non-empty; got shape {A.shape}")
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be square (L, L); got shape {A.shape}")
    return A


def _first_entry(mask_matrix) -> tuple[int, int]:
    coo = scipy.sparse.coo_array(mask_matrix)
    order = np.lexsort((coo.col, coo.row))
    return int(coo.row[order[0]]), int(coo.col[order[0]])


def _check_undirected_nonnegative(A: scipy.sparse.csr_array, name: str) -> None:
    if A.nnz and A.data.min() < 0:
        i, j = _first_entry(A < 0)
        raise ValueError(f"{name} must be nonnegative (edge weights); found {A[i, j]} at "
                         f"index ({i}, {j})")
    asym = A - A.T
    asym.eliminate_zeros()
    if asym.nnz:
        i, j = _first_entry(asym)
        raise ValueError(f"{name} must be symmetric (an undirected graph); {name}[{i}, {j}] = "
                         f"{A[i, j]} but {name}[{j}, {i}] = {A[j, i]}")


# -- graph diffusion ----------------------------------------------------------------------

@contextlib.contextmanager
def _isolated_legacy_rng():
    """Run with NumPy's legacy global generator at a fixed seed, then restore it.

    :func:`scipy.sparse.linalg.expm_multiply` picks its Taylor degree and scaling from
    1-norm *estimates* (``onenormest``) whose start vectors come from ``np.random``, so
    repeated calls differ in the last bits and consume the caller's global random state
    (scipy/scipy#24188). Seeding makes the product reproducible; restoring keeps the
    caller's state untouched. (Not thread-safe against other users of ``np.random``.)
    """
    state = np.random.get_state()  # noqa: NPY002 - scipy draws from the legacy state
    np.random.seed(_EXPM_MULTIPLY_SEED)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _shift_diagonal(A, mu: float):
    """``A - mu I`` in the format of ``A`` (CSR for sparse input)."""
    n = A.shape[0]
    if scipy.sparse.issparse(A):
        return (A - mu * scipy.sparse.eye_array(n)).tocsr()
    return A - mu * np.eye(n)


def _expm_action(A, X) -> np.ndarray:
    """``exp(A) X`` by :func:`scipy.sparse.linalg.expm_multiply`, reproducibly.

    With ``mu = tr(A) / n`` and ``0 < ||A - mu I||_1 < tiny`` scipy's scaling count
    ``ceil(||A - mu I||_1 / theta_m)`` underflows to 0 and the result is NaN; there
    ``exp(A) = e^mu (I + (A - mu I))`` far below the unit roundoff, which is returned.
    """
    trace = float(A.trace())
    mu = trace / A.shape[0]
    shifted = _shift_diagonal(A, mu)
    norm1 = float(np.max(abs(shifted).sum(axis=0)))
    if 0.0 < norm1 < np.finfo(np.float64).tiny:
        return np.exp(mu) * (X + shifted @ X)
    with _isolated_legacy_rng():
        return scipy.sparse.linalg.expm_multiply(A, X, traceA=trace)


class DiffusionMask(Mask):
    r"""Graph diffusion mask ``M = exp(lam W)``.

    Parameters
    ----------
    W : array_like, scipy.sparse matrix or networkx.Graph, shape (L, L)
        The generator: an adjacency (``W = A``), a normalised adjacency
        ``D^{-1/2} A D^{-1/2}``, or the negative Laplacian ``A - D`` (the heat kernel
        proper). A graph means its weighted adjacency with nodes in sorted order (see
        ``refimpl.masks.diffusion``). Need not be symmetric.
    lam : float, default 1.0
        The diffusion time :math:`\lambda` (any finite real).

    Attributes
    ----------
    W : scipy.sparse.csr_array or numpy.ndarray
        The validated float64 generator (sparse input stays sparse).
    lam : float

    Notes
    -----
    :math:`y(\lambda) = e^{\lambda W}x` solves :math:`y' = Wy`, :math:`y(0) = x` [1]_
    (Sec. 3, graph-kernel masks). The fast product is :func:`scipy.sparse.linalg.expm_multiply`, the
    truncated-Taylor algorithm of Al-Mohy and Higham [2]_: with
    :math:`\mu = \operatorname{tr}(\lambda W)/L` and :math:`B = \lambda W - \mu I`,

    .. math:: e^{\lambda W}X = e^{\mu}\big(T_m(B/s)\big)^s X,
              \qquad T_m(z) = \textstyle\sum_{k \le m} z^k/k!,

    with ``m`` and ``s`` chosen so that the truncation is a backward error of at most
    :math:`2^{-53}\lVert B\rVert_1`. Only products with the sparse ``W`` occur: O(s m
    nnz(W)) per column, i.e. O(nnz(W) (1 + \|\lambda W\|_1)) [2]_. The oracle
    :meth:`.toarray` is :math:`e^{\mu}\big(\mathrm{expm}(2^{-k}B)\big)^{2^k}` of the
    dense matrix, :func:`scipy.linalg.expm` (Pade scaling and squaring [3]_) after an
    exact scaling by :math:`2^k \ge \lVert B\rVert_1`, O(L^3). The scalar shift is
    exact, :math:`e^{\lambda W} = e^{\mu}e^{B}` (Higham's preprocessing); the pre-scaling
    keeps the Pade approximant where it is accurate (:func:`scipy.linalg.expm` alone,
    which scales by norms of powers of ``B``, showed relative errors near ``4e-13`` on
    13 x 13 shifted adjacencies).
    Error bounds: :data:`refimpl.tolerances.POLICY` ``["expm_multiply"]`` and
    ``["expm"]``, both relative to :attr:`inf_norm_bound`
    :math:`= e^{\mu}\lVert e^{|B|}\rVert_\infty \ge \lVert e^{\lambda W}\rVert_\infty`.

    References
    ----------
    .. [1] K. Choromanski et al., "From block-Toeplitz matrices to differential
       equations on graphs: towards a general theory for scalable masked
       Transformers", ICML 2022, Sec. 3 (graph diffusion masks; the section number
       is from memory, see ``spec/masked_attention.md`` Sec. 7).
    .. [2] A. H. Al-Mohy and N. J. Higham, "Computing the action of the matrix
       exponential, with an application to exponential integrators", SIAM J. Sci.
       Comput. 33(2), 2011, Alg. 3.2 and Table 3.1.
    .. [3] A. H. Al-Mohy and N. J. Higham, "A new scaling and squaring algorithm for
       the matrix exponential", SIAM J. Matrix Anal. Appl. 31(3), 2009.

    Examples
    --------
    The path 0 - 1: :math:`e^{\lambda A} = [[\cosh\lambda, \sinh\lambda],
    [\sinh\lambda, \cosh\lambda]]`.

    >>> import networkx as nx, numpy as np
    >>> from refimpl.masks import DiffusionMask
    >>> M = DiffusionMask(nx.path_graph(2), lam=0.5)
    >>> np.allclose(M.toarray(), [[np.cosh(0.5), np.sinh(0.5)], [np.sinh(0.5), np.cosh(0.5)]])
    True
    >>> np.allclose(M @ np.eye(2), M.toarray())
    True
    """

    def __init__(self, W, lam=1.0):
        self.W = as_graph_matrix(W, "W")
        self.lam = real_scalar(lam, "lam")
        n = self.W.shape[0]
        super().__init__((n, n))
        with np.errstate(over="ignore"):  # an overflow is reported below, by name
            self._generator = self.lam * self.W
        values = self._generator.data if scipy.sparse.issparse(self.W) else self._generator
        if not np.all(np.isfinite(values)):
            raise ValueError(f"lam * W must be finite; lam = {self.lam} times the largest "
                             f"|W| = {abs(self.W).max()} overflows")
        self._shift = float(self._generator.trace()) / n  # mu, as expm_multiply computes it
        self._bound_data = None

    def _apply(self, X):
        return _expm_action(self._generator, X)

    def _dense(self):
        W = self.W.toarray() if scipy.sparse.issparse(self.W) else self.W
        n = self.shape[0]
        shifted = self.lam * W - self._shift * np.eye(n)
        # scipy's own choice of scaling may leave ||B / 2^s||_1 well above theta_13 (it
        # goes by ||B^k||^(1/k)), where the Pade denominator loses accuracy (relative
        # errors near 4e-13 at L = 13); scaling by 2^k first keeps ||B / 2^k||_1 <= 1.
        norm1 = float(np.max(np.abs(shifted).sum(axis=0)))
        squarings = max(0, int(np.ceil(np.log2(norm1)))) if norm1 > 1.0 else 0
        result = scipy.linalg.expm(np.ldexp(shifted, -squarings))
        for _ in range(squarings):
            result = result @ result
        return np.exp(self._shift) * result

    def _bounds(self):
        """``(||B||_1, max nonzeros in a row of B, e^mu ||exp(|B|)||_inf)``, cached."""
        if self._bound_data is None:
            B = _shift_diagonal(self._generator, self._shift)
            abs_b = abs(B)
            norm1 = float(np.max(abs_b.sum(axis=0)))
            if scipy.sparse.issparse(B):
                nnz_row = int(np.max(np.diff(B.indptr)))
            else:
                nnz_row = B.shape[1]
            row_sums = _expm_action(abs_b, np.ones((self.shape[0], 1)))
            self._bound_data = (norm1, nnz_row, float(np.exp(self._shift) * row_sums.max()))
        return self._bound_data

    @property
    def inf_norm_bound(self) -> float:
        r""":math:`e^{\mu}\lVert e^{|\lambda W - \mu I|}\rVert_\infty`, an upper bound on
        :math:`\lVert e^{\lambda W}\rVert_\infty` and the condition factor of both error
        bounds (:math:`|e^{B}| \le e^{|B|}` entrywise)."""
        return self._bounds()[2]

    def fast_error_bound(self, X) -> np.ndarray:
        """Bound on ``|mask @ X - exp(lam W) X|`` (exact right-hand side), shape ``(L, k)``.

        :data:`refimpl.tolerances.POLICY` ``["expm_multiply"]``: normwise per column.
        """
        X = as_float_array(X, "X", ndim=2)
        norm1, nnz_row, growth = self._bounds()
        per_column = tolerances.expm_multiply_bound(norm1, nnz_row, growth, X)
        return np.broadcast_to(per_column, (self.shape[0], X.shape[1]))

    def oracle_error_bound(self) -> float:
        """Bound on ``max_i sum_j |toarray() - exp(lam W)|_ij`` (POLICY ``["expm"]``)."""
        norm1, _, growth = self._bounds()
        return float(tolerances.expm_bound(self.shape[0], norm1, growth))

    def product_error_bound(self, X):
        """Bound on ``|mask @ X - toarray() @ X|`` without the dense product's rounding.

        The sum of :meth:`fast_error_bound` and :meth:`oracle_error_bound` times the
        column max-norms of ``X``: the oracle is itself computed in floating point.
        """
        X = as_float_array(X, "X", ndim=2)
        oracle = self.oracle_error_bound() * np.max(np.abs(X), axis=0)
        return self.fast_error_bound(X) + oracle

    def _transpose(self):
        return DiffusionMask(self.W.T, self.lam)

    _adjoint = _transpose

    def __repr__(self) -> str:
        kind = "sparse" if scipy.sparse.issparse(self.W) else "dense"
        return f"<DiffusionMask exp({self.lam:g} W) of shape {self.shape}, {kind} W>"


# -- the regularised Laplacian --------------------------------------------------------------

class RegularizedLaplacianMask(Mask):
    r"""Regularised-Laplacian kernel mask ``M = (I + sigma L)^{-1}``, ``L = D - W``.

    Parameters
    ----------
    W : array_like, scipy.sparse matrix or networkx.Graph, shape (L, L)
        Symmetric nonnegative edge weights (an undirected graph; nodes of a graph in
        sorted order). Self-loops are allowed and cancel in ``L``.
    sigma : float, default 1.0
        The regularisation :math:`\sigma \ge 0` (``sigma = 0`` gives ``I``).

    Attributes
    ----------
    W : scipy.sparse.csr_array
        The validated float64 weights.
    sigma : float

    Notes
    -----
    With :math:`D = \operatorname{diag}(W\mathbf{1})`, :math:`A = I + \sigma(D - W)` is
    a symmetric, strictly diagonally dominant M-matrix with :math:`A\mathbf{1} =
    \mathbf{1}`, so :math:`M = A^{-1}` is entrywise nonnegative, doubly stochastic and
    :math:`\lVert M\rVert_\infty = 1` [1]_, [2]_ (``spec/masked_attention.md`` Sec. 2.6,
    "other graph kernels"). It is the heat kernel averaged over an exponential time,
    :math:`(I + \sigma L)^{-1} = \int_0^\infty e^{-t} e^{-t\sigma L}\,dt`. The fast
    product factorises ``A`` once with :func:`scipy.sparse.linalg.splu` (symmetric
    mode, minimum-degree ordering of :math:`A + A^T`; no pivoting is needed for a
    diagonally dominant matrix) and then solves, O(nnz(LU)) per column. The oracle
    :meth:`.toarray` builds the dense ``A`` from the definition and solves :math:`AM = I`
    by LAPACK LU (:func:`scipy.linalg.lu_factor`), O(L^3). Both are held to
    :data:`refimpl.tolerances.POLICY` ``["lu_solve"]`` with their own factors.

    References
    ----------
    .. [1] K. Choromanski et al., ICML 2022 (see :class:`DiffusionMask`), Sec. 3.
    .. [2] A. J. Smola and R. Kondor, "Kernels and regularization on graphs", COLT 2003,
       Sec. 3 (the regularised Laplacian kernel).

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> from refimpl.masks import RegularizedLaplacianMask
    >>> M = RegularizedLaplacianMask(nx.path_graph(3), sigma=1.0)
    >>> M.toarray() * 8
    array([[5., 2., 1.],
           [2., 4., 2.],
           [1., 2., 5.]])
    >>> np.allclose(M @ np.ones(3), 1.0)
    True
    """

    def __init__(self, W, sigma=1.0):
        A = as_graph_matrix(W, "W")
        self.W = scipy.sparse.csr_array(A)
        _check_undirected_nonnegative(self.W, "W")
        self.sigma = real_scalar(sigma, "sigma", low=0.0)
        n = self.W.shape[0]
        super().__init__((n, n))
        degree = np.asarray(self.W.sum(axis=1)).ravel()
        laplacian = scipy.sparse.diags_array(degree) - self.W
        system = (scipy.sparse.eye_array(n) + self.sigma * laplacian).tocsc()
        self._lu = scipy.sparse.linalg.splu(
            system, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
            options={"SymmetricMode": True})
        self._oracle_factor = None
        self._fast_factor_data = None

    def _apply(self, X):
        return self._lu.solve(np.asfortranarray(X))

    @property
    def factor_nnz(self) -> int:
        """Nonzeros of the sparse LU factors (``L`` and ``U``): the memory of the fast path."""
        return int(self._lu.L.nnz + self._lu.U.nnz)

    def _dense_system(self) -> np.ndarray:
        n = self.shape[0]
        W = self.W.toarray()
        laplacian = np.diag(W.sum(axis=1)) - W
        return np.eye(n) + self.sigma * laplacian

    def _oracle_lu(self):
        if self._oracle_factor is None:
            self._oracle_factor = scipy.linalg.lu_factor(self._dense_system())
        return self._oracle_factor

    def _dense(self):
        return scipy.linalg.lu_solve(self._oracle_lu(), np.eye(self.shape[0]))

    def fast_error_bound(self, X) -> np.ndarray:
        """Bound on ``|mask @ X - (I + sigma L)^{-1} X|``, shape ``(L, k)``.

        :data:`refimpl.tolerances.POLICY` ``["lu_solve"]`` with the sparse factors.
        """
        X = as_float_array(X, "X", ndim=2)
        if self._fast_factor_data is None:
            lower, upper = abs(self._lu.L), abs(self._lu.U)
            lu_norm = float(np.max(lower @ (upper @ np.ones(self.shape[0]))))
            terms = 3 * max(int(np.max(np.diff(lower.tocsr().indptr))),
                            int(np.max(np.diff(upper.tocsc().indptr))))
            self._fast_factor_data = (terms, lu_norm)
        terms, lu_norm = self._fast_factor_data
        per_column = tolerances.lu_solve_bound(terms, lu_norm, 1.0, X)
        return np.broadcast_to(per_column, (self.shape[0], X.shape[1]))

    def oracle_error_bound(self) -> float:
        """Bound on ``max_i sum_j |toarray() - (I + sigma L)^{-1}|_ij``.

        POLICY ``["lu_solve"]`` with the dense LAPACK factors of the oracle.
        """
        packed, _ = self._oracle_lu()
        n = self.shape[0]
        lower = np.abs(np.tril(packed, -1) + np.eye(n))
        lu_norm = float(np.max(lower @ np.abs(np.triu(packed)).sum(axis=1)))
        # |M_hat - M| <= gamma A^{-1} |L||U| |M_hat| and ||M_hat||_inf = 1 + O(u).
        return float(tolerances.lu_solve_bound(3 * n, lu_norm, 1.0, np.ones((n, 1)))[0])

    def product_error_bound(self, X):
        """Bound on ``|mask @ X - toarray() @ X|`` without the dense product's rounding."""
        X = as_float_array(X, "X", ndim=2)
        oracle = self.oracle_error_bound() * np.max(np.abs(X), axis=0)
        return self.fast_error_bound(X) + oracle

    def _transpose(self):
        return self  # symmetric by construction

    _adjoint = _transpose

    def __repr__(self) -> str:
        return f"<RegularizedLaplacianMask (I + {self.sigma:g} L)^-1 of shape {self.shape}>"

