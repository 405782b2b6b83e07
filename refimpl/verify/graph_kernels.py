"""Checks of the graph-kernel masks (Choromanski et al. 2022, Sec. 3; spec Sec. 2.6, 5 D).

* the fast products (``expm_multiply``, sparse LU) against the dense oracles;
* Algorithm 1 with graph-kernel masks against the dense ``kernel_attention``;
* the oracle ``exp(lam W)`` against closed forms: hypercube, cycle, path, grid (Kronecker
  sum), complete graph;
* invariants through the fast product: the semigroup law, ``exp(0 W) = I``, row sums on
  regular graphs, the Perron vector of the normalised adjacency, the Markov property of
  the heat kernel and of the regularised Laplacian.

Every tolerance is the masks' own bound (POLICY ``expm_multiply``, ``expm``,
``lu_solve``) plus the rounding of the closed form (POLICY ``summation``).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.fft
import scipy.sparse
import scipy.sparse.csgraph

from .. import tolerances
from ..masks import DiffusionMask, RegularizedLaplacianMask
from ._common import alg1_outcome, mask_product_outcome
from ._registry import Outcome, check, compare, worst

FAMILY = "graph_kernels"
ALG1 = "Choromanski+22 Alg. 1"
SEED = 20220718  # any fixed seed makes the checks reproducible


def _rng(offset: int = 0) -> np.random.Generator:
    return np.random.default_rng(SEED + offset)


# -- graphs --------------------------------------------------------------------------------

def hypercube_adjacency(k: int) -> scipy.sparse.csr_array:
    """Adjacency of the k-cube, vertex ``i`` = the integer with binary label ``i``."""
    cube = nx.hypercube_graph(k)
    bits = {v: v if isinstance(v, tuple) else (v,) for v in cube}  # k = 1 gives plain ints
    labels = {v: int("".join(map(str, b)), 2) for v, b in bits.items()}
    return DiffusionMask(nx.relabel_nodes(cube, labels)).W


def hamming(k: int) -> np.ndarray:
    """Hamming distances between the binary labels of ``0 .. 2^k - 1``."""
    i = np.arange(2**k)
    xor = i[:, None] ^ i[None, :]
    return sum((xor >> bit) & 1 for bit in range(k))


def random_sparse(n: int, rng, *, degree=5.0, symmetric=True, signed=False):
    """A random sparse matrix with about ``degree`` weights in [0, 1) (or (-1, 1)) per row.

    A fixed expected degree keeps ``||W||`` and hence the bounds' condition factor
    ``||exp(|lam W|)||`` of unit scale at every size.
    """
    keep = rng.random((n, n)) < min(1.0, degree / n)
    values = rng.uniform(-1.0, 1.0, (n, n)) if signed else rng.random((n, n))
    A = scipy.sparse.csr_array(np.where(keep, values, 0.0))
    return ((A + A.T) / 2).tocsr() if symmetric else A


def _regular_graph(d: int, n: int, seed: int) -> nx.Graph:
    return nx.random_regular_graph(d, n, seed=seed)


def _row_sum_bound(dense: np.ndarray) -> np.ndarray:
    """Rounding of the row sums of a dense oracle."""
    return tolerances.summation_bound(dense.shape[1], np.abs(dense).sum(axis=1))


# -- fast products against the oracles ----------------------------------------------------

def _masks(quick: bool) -> dict[str, object]:
    rng = _rng(1)
    n = 61 if quick else 257  # primes
    side = 7 if quick else 15
    weighted = nx.gnp_random_graph(n, 4.0 / n, seed=SEED)
    for u, v in weighted.edges:
        weighted[u][v]["weight"] = float(rng.uniform(0.1, 3.0))
    return {
        "diffusion_symmetric": DiffusionMask(random_sparse(n, rng), 1.3),
        "diffusion_nonsymmetric": DiffusionMask(
            random_sparse(n, rng, symmetric=False, signed=True), -0.9),
        "diffusion_dense_input": DiffusionMask(rng.random((n // 4, n // 4)) / n, 2.0),
        "diffusion_grid_graph": DiffusionMask(nx.grid_2d_graph(side, side + 2), 0.7),
        "heat_torus": DiffusionMask(
            -scipy.sparse.csgraph.laplacian(DiffusionMask(nx.grid_2d_graph(
                side, side + 2, periodic=True)).W), 2.5),
        "regularized_laplacian": RegularizedLaplacianMask(weighted, 0.8),
    }


def _product_check(name):
    paper = ("Smola-Kondor03 (I+sL)^-1 by LU" if name.startswith("regularized")
             else "Al-Mohy-Higham11 expm_multiply")
    policy = "lu_solve" if name.startswith("regularized") else "expm_multiply"

    @check(f"{FAMILY}/product/{name}", family=FAMILY, paper=paper, policy=policy)
    def _run(quick: bool) -> Outcome:
        return mask_product_outcome(_masks(quick)[name], _rng(2))

    return _run


def _alg1_check(name):
    @check(f"{FAMILY}/alg1/{name}", family=FAMILY, paper=ALG1, policy="masked_linear_attention")
    def _run(quick: bool) -> Outcome:
        return alg1_outcome(_masks(quick)[name], _rng(3), m=3, dv=2)

    return _run


for _name in _masks(quick=True):
    _product_check(_name)
for _name in ("diffusion_symmetric", "heat_torus", "regularized_laplacian"):
    _alg1_check(_name)  # masks with positive entries: every normaliser is positive


# -- the oracle against closed forms ----------------------------------------------------------

def hypercube_closed_form(k: int, lam: float) -> np.ndarray:
    """``exp(lam A_{Q_k})_ij = cosh(lam)^(k - h) sinh(lam)^h``, h = Hamming distance."""
    h = hamming(k)
    return np.cosh(lam) ** (k - h) * np.sinh(lam) ** h


def cycle_closed_form(n: int, lam: float) -> np.ndarray:
    """``exp(lam A_{C_n})``: circulant with first column ``ifft(exp(2 lam cos(2 pi j / n)))``."""
    column = scipy.fft.ifft(np.exp(2 * lam * np.cos(2 * np.pi * np.arange(n) / n))).real
    offset = (np.arange(n)[:, None] - np.arange(n)[None, :]) % n
    return column[offset]


def path_closed_form(n: int, lam: float) -> np.ndarray:
    """``exp(lam A_{P_n}) = U diag(e^{lam mu}) U^T`` with the sine eigenvectors."""
    k = np.arange(1, n + 1)
    mu = 2 * np.cos(k * np.pi / (n + 1))
    # Reduce j k modulo 2(n + 1) exactly, so that sin sees an argument below 2 pi.
    phase = np.outer(k, k) % (2 * (n + 1))
    U = np.sqrt(2.0 / (n + 1)) * np.sin(phase * np.pi / (n + 1))
    return (U * np.exp(lam * mu)) @ U.T


def complete_closed_form(n: int, lam: float) -> np.ndarray:
    """``exp(lam (J - I)) = e^{-lam} [I + (e^{lam n} - 1)/n J]``."""
    return np.exp(-lam) * (np.eye(n) + np.expm1(lam * n) / n)


def _spectral_sum_bound(n: int, lam: float, weights_sum: float) -> float:
    """Rounding of an n-term eigen-sum whose terms are at most ``weights_sum`` in total.

    Each term is a product of an exponential of a rounded argument (relative error
    ``(1 + 2|lam|) u``) and two eigenvector entries (sines of reduced arguments,
    ``2 pi u`` each); the DFT of the cycle obeys the same bound (Higham Thm 24.2 gives
    less than ``n`` roundings per entry).
    """
    extra = 17 + int(np.ceil(4 * abs(lam)))
    return float(tolerances.summation_bound(n + extra, weights_sum))


def _oracle_vs(mask: DiffusionMask, desired, closed_bound) -> Outcome:
    return compare(mask.toarray(), desired, mask.oracle_error_bound() + closed_bound)


@check(f"{FAMILY}/closed/hypercube_cosh_sinh", family=FAMILY,
       paper="Q_k: cosh^(k-h) sinh^h", policy="expm")
def _hypercube(quick: bool) -> Outcome:
    outcomes = []
    for k, lam in ([(3, 0.7), (4, -1.2)] if quick else [(3, 0.7), (6, -1.2), (8, 2.5)]):
        desired = hypercube_closed_form(k, lam)
        mask = DiffusionMask(hypercube_adjacency(k), lam)
        outcomes.append(_oracle_vs(mask, desired,
                                   tolerances.summation_bound(2 * k + 2, np.abs(desired))))
    return worst(outcomes)


@check(f"{FAMILY}/closed/cycle_circulant", family=FAMILY,
       paper="C_n: ifft(e^(2 lam cos)) circulant", policy="expm")
def _cycle(quick: bool) -> Outcome:
    outcomes = []
    for n, lam in ([(7, 0.8), (16, -1.5)] if quick else [(7, 0.8), (64, -1.5), (127, 3.0)]):
        eig = np.exp(2 * lam * np.cos(2 * np.pi * np.arange(n) / n))
        mask = DiffusionMask(nx.cycle_graph(n), lam)
        outcomes.append(_oracle_vs(mask, cycle_closed_form(n, lam),
                                   _spectral_sum_bound(n, lam, eig.sum() / n)))
    return worst(outcomes)


@check(f"{FAMILY}/closed/path_eigenbasis", family=FAMILY,
       paper="P_n: U diag(e^(lam mu)) U^T", policy="expm")
def _path(quick: bool) -> Outcome:
    outcomes = []
    for n, lam in ([(1, 0.5), (9, 1.1)] if quick else [(1, 0.5), (9, 1.1), (100, -2.0)]):
        mu = 2 * np.cos(np.arange(1, n + 1) * np.pi / (n + 1))
        mask = DiffusionMask(nx.path_graph(n), lam)
        weights = 2.0 / (n + 1) * np.exp(lam * mu).sum()
        outcomes.append(_oracle_vs(mask, path_closed_form(n, lam),
                                   _spectral_sum_bound(n, lam, weights)))
    return worst(outcomes)


@check(f"{FAMILY}/closed/grid_kronecker_sum", family=FAMILY,
       paper="e^(l(A1+A2)) = e^(lA1) (x) e^(lA2)", policy="expm")
def _grid(quick: bool) -> Outcome:
    n1, n2, lam = (3, 5, 0.9) if quick else (11, 13, 0.9)
    grid = DiffusionMask(nx.grid_2d_graph(n1, n2), lam)  # sorted (r, c): row-major
    first, second = DiffusionMask(nx.path_graph(n1), lam), DiffusionMask(nx.path_graph(n2), lam)
    k1, k2 = first.toarray(), second.toarray()
    e1, e2 = first.oracle_error_bound(), second.oracle_error_bound()
    kron = np.kron(k1, k2)
    # ||K1 (x) K2 - K1^ (x) K2^||_inf <= e1 ||K2|| + ||K1|| e2 (norms of Kronecker products
    # multiply), plus one rounding per entry of the Kronecker product.
    norm1, norm2 = first.inf_norm_bound, second.inf_norm_bound
    bound = (grid.oracle_error_bound() + e1 * norm2 + norm1 * e2 + e1 * e2
             + tolerances.summation_bound(1, np.abs(kron)))
    return compare(grid.toarray(), kron, bound)


@check(f"{FAMILY}/closed/complete_graph", family=FAMILY,
       paper="K_n: e^-l [I + (e^(ln) - 1)/n J]", policy="expm")
def _complete(quick: bool) -> Outcome:
    outcomes = []
    for n, lam in ([(2, 0.4), (6, 1.3)] if quick else [(2, 0.4), (6, 1.3), (50, -0.3)]):
        desired = complete_closed_form(n, lam)
        mask = DiffusionMask(nx.complete_graph(n), lam)
        closed = tolerances.summation_bound(4, np.abs(desired) * (2 + abs(lam) * n))
        outcomes.append(_oracle_vs(mask, desired, closed))
    return worst(outcomes)


# -- invariants through the fast product ----------------------------------------------------------

@check(f"{FAMILY}/closed/semigroup", family=FAMILY,
       paper="e^(aW) e^(bW) = e^((a+b)W)", policy="expm_multiply")
def _semigroup(quick: bool) -> Outcome:
    rng = _rng(4)
    n = 53 if quick else 401
    W = random_sparse(n, rng, symmetric=False, signed=True)
    a, b = 0.6, -1.7
    X = rng.normal(size=(n, 4))
    first, second, total = DiffusionMask(W, a), DiffusionMask(W, b), DiffusionMask(W, a + b)
    inner = second @ X
    bound = (first.fast_error_bound(inner) + first.inf_norm_bound * second.fast_error_bound(X)
             + total.fast_error_bound(X))
    return compare(first @ inner, total @ X, bound)


@check(f"{FAMILY}/closed/exp_zero_is_identity", family=FAMILY,
       paper="exp(0 W) = I (exactly)", policy="expm_multiply")
def _zero(quick: bool) -> Outcome:
    rng = _rng(5)
    n = 31 if quick else 257
    mask = DiffusionMask(random_sparse(n, rng, symmetric=False, signed=True), 0.0)
    X = rng.normal(size=(n, 3))
    return worst([compare(mask @ X, X, 0.0), compare(mask.toarray(), np.eye(n), 0.0)])


@check(f"{FAMILY}/closed/regular_row_sums", family=FAMILY,
       paper="d-regular: e^(lA) 1 = e^(ld) 1", policy="expm_multiply")
def _regular(quick: bool) -> Outcome:
    outcomes = []
    for d, n, lam in ([(3, 20, 0.8)] if quick else [(3, 20, 0.8), (6, 1001, -0.5)]) + [(4, 9, 1.5)]:
        mask = DiffusionMask(_regular_graph(d, n, SEED), lam)
        ones = np.ones((n, 1))
        desired = np.full((n, 1), np.exp(lam * d))
        closed = tolerances.summation_bound(2, desired * (1 + abs(lam) * d))
        outcomes.append(compare(mask @ ones, desired, mask.fast_error_bound(ones) + closed))
        dense = mask.toarray()
        outcomes.append(compare(dense.sum(axis=1), desired[:, 0], mask.oracle_error_bound()
                                + closed[:, 0] + _row_sum_bound(dense)))
    return worst(outcomes)


def degree_one_four_sixteen_tree(n_internal: int, rng) -> nx.Graph:
    """A random tree whose degrees are 1, 4 or 16: ``D^{-1/2} A D^{-1/2}`` is exact.

    Built by growing leaves into hubs of degree 4 or 16, so every ``1/sqrt(d_i d_j)`` is
    a power of two and ``sqrt(d)`` is an integer: the normalised adjacency and its
    Perron vector carry no rounding.
    """
    tree = nx.star_graph(int(rng.choice([4, 16])))
    for _ in range(n_internal - 1):
        leaf = int(rng.choice([v for v in tree if tree.degree(v) == 1]))
        start = tree.number_of_nodes()
        children = int(rng.choice([3, 15]))
        tree.add_edges_from((leaf, start + c) for c in range(children))
    return tree


def normalized_adjacency(W) -> scipy.sparse.csr_array:
    """``D^{-1/2} W D^{-1/2}`` (rows of isolated nodes stay zero)."""
    degree = np.asarray(W.sum(axis=1)).ravel()
    scale = np.where(degree > 0, 1.0 / np.sqrt(np.where(degree > 0, degree, 1.0)), 0.0)
    return (scipy.sparse.diags_array(scale) @ W @ scipy.sparse.diags_array(scale)).tocsr()


@check(f"{FAMILY}/closed/normalized_sqrt_degree", family=FAMILY,
       paper="e^(l Ahat) sqrt d = e^l sqrt d", policy="expm_multiply")
def _normalized(quick: bool) -> Outcome:
    rng = _rng(6)
    tree = degree_one_four_sixteen_tree(4 if quick else 40, rng)
    A = DiffusionMask(tree).W
    lam = 1.4
    mask = DiffusionMask(normalized_adjacency(A), lam)
    root = np.sqrt(np.asarray(A.sum(axis=1)).ravel())[:, None]
    desired = np.exp(lam) * root
    closed = tolerances.summation_bound(2, desired * (1 + lam))
    return compare(mask @ root, desired, mask.fast_error_bound(root) + closed)


def _certified_positive(dense: np.ndarray, error: float) -> Outcome | None:
    """``None`` if every entry exceeds its error bound, else a failing Outcome."""
    worst = np.unravel_index(np.argmin(dense), dense.shape)
    if dense[worst] > error:
        return None
    return Outcome(np.inf, error, f"entry {worst} = {dense[worst]:.3e} is not certified "
                                  f"positive (error bound {error:.3e})")


def _markov_outcome(mask) -> Outcome:
    """Rows sum to one (fast product and oracle) and every oracle entry is certified > 0."""
    n = mask.shape[0]
    ones = np.ones((n, 1))
    dense = mask.toarray()
    failed = _certified_positive(dense, mask.oracle_error_bound())
    if failed is not None:
        return failed
    return worst([compare(mask @ ones, ones, mask.fast_error_bound(ones)),
                  compare(dense.sum(axis=1), ones[:, 0],
                          mask.oracle_error_bound() + _row_sum_bound(dense))])


@check(f"{FAMILY}/closed/heat_kernel_markov", family=FAMILY,
       paper="e^(t(A-D)): row sums 1, > 0", policy="expm")
def _heat(quick: bool) -> Outcome:
    n, t = (24, 0.9) if quick else (200, 0.9)
    graph = nx.connected_watts_strogatz_graph(n, 4, 0.3, seed=SEED)
    generator = -scipy.sparse.csgraph.laplacian(DiffusionMask(graph).W)
    mask = DiffusionMask(generator, t)
    return _markov_outcome(mask)


@check(f"{FAMILY}/closed/reg_laplacian_markov", family=FAMILY,
       paper="(I+sL)^-1 1 = 1, entries > 0", policy="lu_solve")
def _reglap(quick: bool) -> Outcome:
    n, sigma = (30, 0.7) if quick else (300, 0.7)
    graph = nx.connected_watts_strogatz_graph(n, 6, 0.5, seed=SEED)
    mask = RegularizedLaplacianMask(graph, sigma)
    return _markov_outcome(mask)
