r"""The action of a graph heat kernel, :math:`\exp(tW)x`, by continuous-time random walks.

For :math:`W` with nonnegative off-diagonal entries, write :math:`W = (A - D) +
\mathrm{diag}(g)`: ``A`` is the off-diagonal part, :math:`D = \mathrm{diag}(A\mathbf 1)`
and :math:`g = \mathrm{diag}(W) + A\mathbf 1`. ``A - D`` is the generator of a
continuous-time Markov chain (CTMC) that jumps along ``(u, w)`` at rate :math:`A_{uw}`,
and the Feynman--Kac formula turns the potential ``g`` into a multiplicative weight.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.sparse

from .._validate import as_float_array, as_rng, positive_int, real_scalar
from ._engine import as_graph, degrees

__all__ = ["heat_kernel_action"]

#: exp overflows float64 above this exponent.
_MAX_EXPONENT = math.log(np.finfo(np.float64).max)


class _Chain(NamedTuple):
    """``W = (A - D) + diag(g)`` split for the continuous-time walk."""

    jumps: scipy.sparse.csr_array  # A, the off-diagonal part (rates, nonnegative)
    max_rate: np.ndarray  # a_u = max_w A_uw, 0 for a node without neighbours
    potential: np.ndarray  # g = diag(W) + A 1


def _split(W) -> _Chain:
    coo = as_graph(W, "W").tocoo()
    off = coo.row != coo.col
    negative = np.flatnonzero(off & (coo.data < 0))
    if negative.size:
        b = negative[0]
        raise ValueError(
            f"W must have nonnegative off-diagonal entries (they are jump rates); found "
            f"{coo.data[b]} at index ({coo.row[b]}, {coo.col[b]})")
    L = coo.shape[0]
    jumps = scipy.sparse.csr_array((coo.data[off], (coo.row[off], coo.col[off])), shape=(L, L))
    jumps.sort_indices()
    max_rate = np.zeros(L)
    np.maximum.at(max_rate, coo.row[off], coo.data[off])
    diagonal = np.zeros(L)
    np.add.at(diagonal, coo.row[~off], coo.data[~off])
    return _Chain(jumps, max_rate, diagonal + np.asarray(jumps.sum(axis=1)).reshape(-1))


def _run_chain(chain: _Chain, starts, t, rng):
    r"""Run continuous-time walks from ``starts`` to time ``t``.

    Returns the end nodes and :math:`\int_0^t g(X_s)\,ds`. Thinning: at ``u`` each of
    the ``n_u`` neighbour slots proposes a jump at rate :math:`a_u = \max_w A_{uw}`
    (holding time :math:`\mathrm{Exp}(n_u a_u)`, then a uniform slot), and a proposal
    to ``w`` is accepted with probability :math:`A_{uw}/a_u`, else the walk stays: the
    accepted jumps to ``w`` form a Poisson process of rate :math:`A_{uw}`, exactly the
    CTMC, with uniform draws only. Unweighted graphs never reject.
    """
    slots = degrees(chain.jumps)
    rate = slots * chain.max_rate
    node, integral = starts.copy(), np.zeros(starts.size)
    remaining = np.full(starts.size, float(t))
    active = np.arange(starts.size)
    while active.size:
        u = node[active]
        draws = rng.standard_exponential(active.size)
        wait = np.full(active.size, np.inf)
        can_jump = rate[u] > 0
        wait[can_jump] = draws[can_jump] / rate[u[can_jump]]
        done = wait >= remaining[active]
        spent = np.where(done, remaining[active], wait)
        integral[active] += chain.potential[u] * spent
        remaining[active] -= spent
        active, u = active[~done], u[~done]
        if active.size == 0:
            break
        index = chain.jumps.indptr[u] + rng.integers(0, slots[u])
        accept = rng.random(active.size) * chain.max_rate[u] < chain.jumps.data[index]
        node[active[accept]] = chain.jumps.indices[index[accept]]
    return node, integral


def heat_kernel_action(W, x, t, *, n_walks, rng=None, return_stderr=False):
    r"""Monte-Carlo :math:`\exp(tW)x` by continuous-time random walks (Feynman--Kac).

    Parameters
    ----------
    W : array_like, scipy.sparse matrix or networkx graph, shape (L, L)
        Off-diagonal entries must be nonnegative (jump rates); the diagonal is any real.
        The contract names symmetric ``W``; the estimator does not need symmetry (row
        ``u`` holds the rates out of ``u``), so any such ``W`` is accepted.
    x : array_like, shape (L,) or (L, k)
    t : float
        Time, ``>= 0``.
    n_walks : int
        Walks per start node (``>= 2`` with ``return_stderr``).
    rng : numpy.random.Generator, int or None
    return_stderr : bool, default False
        Also return the standard error of each entry: the sample standard deviation
        over the walks (``ddof=1``) over :math:`\sqrt{n_{\mathrm{walks}}}`.

    Returns
    -------
    estimate : numpy.ndarray, shape of ``x``
    stderr : numpy.ndarray, shape of ``x``
        Only with ``return_stderr=True``.

    Notes
    -----
    With :math:`W = (A - D) + \mathrm{diag}(g)` as in the module docstring, let
    :math:`X` be the CTMC with generator :math:`A - D`: at ``u`` it waits
    :math:`\mathrm{Exp}(\deg_u)`, :math:`\deg_u = \sum_w A_{uw}`, then jumps to ``w``
    with probability :math:`A_{uw}/\deg_u`. By the Feynman--Kac formula

    .. math:: [\exp(tW)x]_i = \mathbb{E}_i\Big[\exp\Big(\int_0^t g(X_s)\,ds\Big)\,
              x(X_t)\Big],

    and the estimate averages ``n_walks`` independent walks from each ``i`` (all
    ``L * n_walks`` walks advance together, by thinning; see ``_run_chain``). For
    :math:`W = A - D` (a Laplacian heat kernel) the weight is 1 and
    :math:`[\exp(tW)x]_i = \mathbb{E}_i\, x(X_t)`; for :math:`W = A` the potential is
    ``g = deg``. A node without neighbours keeps its walks: :math:`\exp(t g_u) x_u`.
    Each entry is an average of bounded variables (the weight is at most
    :math:`e^{t \max g}`), so its error is :math:`O(n_{\mathrm{walks}}^{-1/2})`. Expected
    time O(L n_walks (1 + t max_u n_u a_u)). A ``ValueError`` if :math:`t\max g`
    would overflow ``exp``. Spec Sec. 2.8 and Sec. 5 item 33; what Choromanski et al.
    (ICML 2022) state about their Markov-process estimator is [recall only].

    References
    ----------
    .. [1] J. R. Norris, *Markov Chains*, Cambridge University Press, 1997, Ch. 2-3
       (continuous-time chains, jump chain and holding times).
    .. [2] K. Choromanski et al., "From block-Toeplitz matrices to differential
       equations on graphs", ICML 2022, arXiv 2107.07999 (abstract: "Markov processes
       on graphs"; the estimator statement is not checked here).

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.linalg
    >>> from refimpl.walks import heat_kernel_action
    >>> A = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 2.0], [0.0, 2.0, 0.0]])
    >>> W = A - np.diag(A.sum(axis=1)) + np.diag([0.1, -0.2, 0.0])
    >>> x = np.array([1.0, -1.0, 2.0])
    >>> est, se = heat_kernel_action(W, x, 0.5, n_walks=4000, rng=0, return_stderr=True)
    >>> bool(np.all(np.abs(est - scipy.linalg.expm(0.5 * W) @ x) < 5 * se))
    True
    """
    chain = _split(W)
    L = chain.potential.size
    x = as_float_array(x, "x")
    if x.ndim not in (1, 2) or x.shape[0] != L:
        raise ValueError(f"x must have shape ({L},) or ({L}, k) to match W; got shape {x.shape}")
    t = real_scalar(t, "t", low=0.0)
    n_walks = positive_int(n_walks, "n_walks")
    if return_stderr and n_walks < 2:
        raise ValueError(f"n_walks must be >= 2 for a standard error; got {n_walks}")
    if t * chain.potential.max() > _MAX_EXPONENT:
        raise ValueError(
            f"t * max(g) = {t * chain.potential.max():.4g} overflows exp; g = diag(W) + "
            f"off-diagonal row sums of W; use a smaller t")
    rng = as_rng(rng)
    if t == 0.0:  # exp(0 W) = I exactly; an average of identical values need not be
        return (x.copy(), np.zeros_like(x)) if return_stderr else x.copy()
    node, integral = _run_chain(chain, np.repeat(np.arange(L), n_walks), t, rng)
    columns = x.reshape(L, -1)
    values = (np.exp(integral)[:, None] * columns[node]).reshape(L, n_walks, -1)
    estimate = values.mean(axis=1).reshape(x.shape)
    if not return_stderr:
        return estimate
    stderr = values.std(axis=1, ddof=1) / math.sqrt(n_walks)
    return estimate, stderr.reshape(x.shape)
