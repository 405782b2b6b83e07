r"""NeuralEF (Deng, Shi & Zhu, ICML 2022): kernel eigenfunctions learned by networks.

Output :math:`j` maximises the EigenGame-style utility (spec Sec. 1.2-1.3)

.. math::

    \ell_j = R_{jj} - \sum_{i < j}\frac{R_{ij}^2}{R_{ii}}, \qquad
    R_{ij} = \mathbb E_{x, x'}[\hat\psi_i(x)k(x, x')\hat\psi_j(x')],

subject to :math:`\mathbb E[\hat\psi_j^2] = 1` (L2 batch normalisation), with the earlier
outputs held fixed (stop-gradient). The sequential problem's maximiser is the
:math:`j`-th eigenfunction (``proofs/eigen.py``). On a batch, :math:`\hat R =
\Psi^\top K_B\Psi / B^2` and the ascent direction is :math:`G = \frac2{B^2}K_B\Psi(I - U)`,
:math:`U_{ij} = \hat R_{ij}/\hat R_{ii}` for :math:`i < j` (the official code's
``mask``). Pitfalls (spec Sec. 1.8): the batch estimate of :math:`R_{jj}` is a
V-statistic, biased by :math:`(\mathbb E[k(x,x)\psi_j^2] - \mu_j)/B`, and the noise of
:math:`\hat R_{ij}` biases the penalty, so component :math:`j` is recoverable only when
roughly :math:`B \gtrsim \mu_1/\mu_j`.
"""

from __future__ import annotations

import math
import sys
from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, as_rng, positive_int, real_scalar
from ..tolerances import summation_bound
from ._base import Eigenfunctions
from ._models import ACTIVATIONS, Adam, LinearModel, ParallelMLP
from .kernels import as_points

__all__ = ["NeuralEFLoss", "l2_batch_norm", "neuralef_fit", "neuralef_loss"]


class _ObjectiveAndGradient(NamedTuple):
    objective: np.ndarray
    gradient: np.ndarray


class NeuralEFLoss(_ObjectiveAndGradient):
    """What :func:`neuralef_loss` returns: the pair ``(objective, gradient)`` of the contract.

    It unpacks as ``objective, gradient = neuralef_loss(psi, K)``; ``R`` is an extra
    attribute.

    Attributes
    ----------
    objective : numpy.ndarray, shape (k,)
        :math:`\\ell_j` on the batch.
    gradient : numpy.ndarray, shape (B, k)
        :math:`\\partial\\ell_j/\\partial\\Psi_{bj}`, the other columns held fixed.
    R : numpy.ndarray, shape (k, k)
        :math:`\\hat R`; its diagonal is the batch eigenvalue estimate.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import neuralef_loss
    >>> out = neuralef_loss(np.ones((2, 1)), np.eye(2))
    >>> objective, gradient = out
    >>> objective, out.R
    (array([0.5]), array([[0.5]]))
    """

    def __new__(cls, objective, gradient, R):
        self = super().__new__(cls, objective, gradient)
        self.R = R
        return self


def _batch_weights(weights, B: int) -> np.ndarray:
    if weights is None:
        return np.full(B, 1.0 / B)
    w = as_float_array(weights, "weights", ndim=1)
    if w.shape != (B,) or np.any(w < 0):
        raise ValueError(f"weights must be {B} nonnegative numbers (one per row of psi); "
                         f"got shape {w.shape}")
    return w


def neuralef_loss(psi, K, *, weights=None) -> NeuralEFLoss:
    r"""NeuralEF objective per output and its exact gradient with respect to the batch outputs.

    Parameters
    ----------
    psi : array_like, shape (B, k)
        :math:`\Psi_{bj} = \hat\psi_j(x_b)`.
    K : array_like, shape (B, B)
        :math:`k(x_a, x_b)` on the batch.
    weights : array_like, shape (B,), optional
        Quadrature weights :math:`w_b` in place of :math:`1/B` (the population objective
        on a rule); default :math:`1/B`.

    Returns
    -------
    NeuralEFLoss
        The pair ``(objective (k,), gradient (B, k))``, with ``.R`` the ``(k, k)`` matrix
        :math:`\\hat R`.

    Notes
    -----
    Deng et al. 2022, Sec. 3 (spec Sec. 1.3). With :math:`W = \mathrm{diag}(w)`:

    .. math::

        \hat R = \Psi^\top WKW\Psi, \qquad
        \ell_j = \hat R_{jj} - \sum_{i<j}\hat R_{ij}^2/\hat R_{ii}, \qquad
        G = 2\,WKW\Psi\,(I - U),

    :math:`U_{ij} = \hat R_{ij}/\hat R_{ii}` for :math:`i < j`, else 0. :math:`G_{bj}` is
    the derivative of :math:`\ell_j` in :math:`\Psi_{bj}` with columns :math:`i \ne j`
    fixed (the stop-gradient); with :math:`w = 1/B` it is :math:`\frac2{B^2}K\Psi(I - U)`,
    the official code's ``K_psis @ mask`` times :math:`2/B^2` (a constant Adam ignores).
    Because :math:`\ell_j` is quadratic in column :math:`j`, central differences of any
    step reproduce :math:`G` up to rounding. :math:`O(B^2k + Bk^2)`.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import neuralef_loss
    >>> out = neuralef_loss(np.eye(2), np.array([[2.0, 0.0], [0.0, 1.0]]))
    >>> out.objective, out.gradient
    (array([0.5 , 0.25]), array([[1. , 0. ],
           [0. , 0.5]]))
    """
    psi = as_float_array(psi, "psi", ndim=2)
    B, k = psi.shape
    K = as_float_array(K, "K", ndim=2)
    if K.shape != (B, B):
        raise ValueError(f"K must be ({B}, {B}), the kernel on the batch of psi; "
                         f"got shape {K.shape}")
    w = _batch_weights(weights, B)
    KWpsi = K @ (w[:, None] * psi)
    R = (w[:, None] * psi).T @ KWpsi
    diag = np.diag(R).copy()
    if k > 1 and np.any(diag[:-1] <= 0):
        j = int(np.argmax(diag[:-1] <= 0))
        raise ValueError(f"R_jj = psi_j^T K psi_j / B^2 must be positive for every output "
                         f"but the last; got R[{j}, {j}] = {diag[j]:.3g}")
    U = np.triu(R, 1) / np.where(diag > 0, diag, 1.0)[:, None]
    objective = diag - np.sum(np.triu(R, 1) * U, axis=0)
    gradient = 2.0 * w[:, None] * (KWpsi - KWpsi @ U)
    return NeuralEFLoss(objective, gradient, R)


def l2_batch_norm(h, weights=None) -> tuple[np.ndarray, np.ndarray]:
    r"""L2 batch normalisation :math:`\hat\psi_j = h_j/\|h_j\|_{w}`; returns ``(psi, norms)``.

    Notes
    -----
    :math:`\|h_j\|_w = (\sum_b w_b h_{bj}^2)^{1/2}` (root mean square for
    :math:`w = 1/B`): no centring and no affine parameters, since eigenfunctions need
    not have zero mean (spec Sec. 1.4). The Jacobian is
    :math:`(I - \hat\psi\hat\psi^\top W)/\|h\|_w`; see :func:`neuralef_fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import l2_batch_norm
    >>> psi, norms = l2_batch_norm(np.array([[3.0], [4.0]]))
    >>> norms, float(np.mean(psi**2))
    (array([3.53553391]), 1.0)
    """
    h = as_float_array(h, "h", ndim=2)
    w = _batch_weights(weights, h.shape[0])
    norms = np.sqrt(w @ (h * h))
    if np.any(norms == 0):
        raise ValueError(f"h must have a nonzero column for every output; column "
                         f"{int(np.argmax(norms == 0))} is zero on this batch")
    return h / norms, norms


def _norm_backward(grad_psi, psi, norms, w):
    """Backpropagate through :func:`l2_batch_norm`: ``(g - W psi (psi . g)) / norm``."""
    return (grad_psi - w[:, None] * psi * np.sum(grad_psi * psi, axis=0)) / norms


# -- training ---------------------------------------------------------------------------------

class _Source:
    """Where batches come from: a sampler, an empirical data set, or a quadrature rule."""

    def __init__(self, kernel, sampler, batch_size: int):
        if not callable(kernel):
            raise TypeError(f"kernel must be a callable kernel(x, y); got {type(kernel).__name__}")
        self.kernel, self.batch_size = kernel, batch_size
        self.fixed = None  # (x, w, K) of a quadrature rule, used at every step
        self.data = None
        if isinstance(sampler, tuple):
            if len(sampler) != 2:
                raise ValueError("sampler given as a tuple must be (nodes, weights)")
            x = as_points(sampler[0], "sampler nodes")
            w = as_float_array(sampler[1], "sampler weights", ndim=1)
            if w.shape != (x.shape[0],) or np.any(w <= 0):
                raise ValueError(f"sampler weights must be {x.shape[0]} positive numbers; "
                                 f"got shape {w.shape}")
            total = float(w.sum())
            if abs(total - 1.0) > float(summation_bound(w.size, total)):
                raise ValueError(f"sampler weights must sum to 1 (a probability measure); "
                                 f"got {total!r}")
            self.fixed = (x, w, self._kernel(x))
        elif callable(sampler):
            self.sampler = sampler
        else:
            self.data = as_points(sampler, "sampler")
            if self.data.shape[0] < batch_size:
                raise ValueError(f"batch_size must be at most the {self.data.shape[0]} rows of "
                                 f"the data set; got {batch_size}")

    def _kernel(self, x):
        K = np.asarray(self.kernel(x, x), dtype=np.float64)
        if K.shape != (x.shape[0],) * 2 or not np.all(np.isfinite(K)):
            raise ValueError(f"kernel(x, x) must return a finite ({x.shape[0]}, {x.shape[0]}) "
                             f"matrix; got shape {K.shape}")
        return K

    def batch(self, rng):
        if self.fixed is not None:
            return self.fixed
        if self.data is not None:
            x = self.data[rng.choice(self.data.shape[0], self.batch_size, replace=False)]
        else:
            x = as_points(self.sampler(self.batch_size, rng), "sampler(n, rng)")
            if x.shape[0] != self.batch_size:
                raise ValueError(f"sampler(n, rng) must return n={self.batch_size} points; "
                                 f"got shape {x.shape}")
        return x, np.full(x.shape[0], 1.0 / x.shape[0]), self._kernel(x)


class _Progress:
    def __init__(self, progress, steps: int):
        self.callback = progress if callable(progress) else None
        if progress is True:
            self.every = max(1, steps // 10)
        elif progress in (None, False) or self.callback is not None:
            self.every = 0
        else:
            self.every = positive_int(progress, "progress")

    def __call__(self, step: int, steps: int, objective, eigenvalues, lr: float) -> None:
        if self.callback is not None:
            self.callback(step, objective, eigenvalues)
        if self.every and ((step + 1) % self.every == 0 or step + 1 == steps):
            shown = np.array2string(eigenvalues, precision=4, max_line_width=200)
            print(f"neuralef: step {step + 1}/{steps}  lr {lr:.2e}  eigenvalues {shown}",
                  file=sys.stderr, flush=True)


def _learning_rate(lr: float, step: int, steps: int, schedule: str) -> float:
    if schedule == "constant":
        return lr
    return lr * 0.5 * (1.0 + math.cos(math.pi * step / steps))


def _check_options(k, steps, batch_size, lr, schedule, momentum, hidden, activation):
    k, steps = positive_int(k, "k"), positive_int(steps, "steps")
    batch_size = positive_int(batch_size, "batch_size")
    lr = real_scalar(lr, "lr", low=0.0, low_open=True)
    momentum = real_scalar(momentum, "momentum", low=0.0, high=1.0)
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"schedule must be 'cosine' or 'constant'; got {schedule!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}")
    hidden = tuple(positive_int(h, "hidden") for h in hidden)
    if activation == "sin_cos" and any(h % 2 for h in hidden):
        raise ValueError(f"hidden widths must be even for the sin_cos activation; got {hidden}")
    return k, steps, batch_size, lr, momentum, hidden


def _ema(old, new, momentum: float):
    return new.copy() if old is None else momentum * old + (1.0 - momentum) * new


def neuralef_fit(kernel, sampler, k, *, features=None, hidden=(32, 32), activation="sin_cos",
                 steps=2000, batch_size=256, lr=1e-3, schedule="cosine", momentum=0.9,
                 rng=None, progress=None) -> Eigenfunctions:
    r"""Learn the top-``k`` eigenfunctions of ``kernel`` with NeuralEF, in NumPy.

    Parameters
    ----------
    kernel : callable
        ``kernel(x (n, d), y (p, d)) -> (n, p)``, evaluated on each batch.
    sampler : callable, array_like or (nodes, weights)
        ``sampler(n, rng) -> (n, d)`` draws from the input measure; an ``(N, d)`` array
        is an empirical measure (batches drawn without replacement, as the official
        code does); a pair ``(nodes, weights)`` is a quadrature rule used whole at every
        step, which optimises the population objective deterministically (positive
        weights summing to one).
    k : int
        Number of eigenfunctions.
    features : callable, optional
        ``phi(x (n, d)) -> (n, p)``: a linear model :math:`h = \phi(x)W` instead of MLPs.
    hidden : tuple of int
        Hidden widths of each eigenfunction's MLP (default: 3 layers of width 32).
    activation : {"sin_cos", "relu", "erf", "tanh"}
        MLP activation; ``sin_cos`` is the official code's ``SinAndCos``.
    steps, batch_size, lr : int, int, float
        Adam iterations, batch size :math:`B` and learning rate (the paper's 2000, 256,
        1e-3).
    schedule : {"cosine", "constant"}
        Cosine annealing to zero over ``steps`` (the classic-kernel script) or constant.
    momentum : float
        EMA momentum of the batch norms and eigenvalue estimates (0.9 in the code).
    rng : numpy.random.Generator, int or None
        Initialisation and batches; the same seed gives the same result.
    progress : None, bool, int or callable
        ``True``: a line on stderr every ``steps // 10`` steps; an int: every that many
        steps; a callable ``progress(step, objective, eigenvalues)`` is called every step.

    Returns
    -------
    Eigenfunctions
        Eigenvalues: the EMA of :math:`\hat R_{jj}`, sorted decreasingly (``info["order"]``
        maps each returned function to its network output, identity when training
        succeeded). Evaluation uses the EMA norms (eval mode). ``info["history"]`` has,
        per step and in network order, ``eigenvalues`` (the EMA), ``batch_eigenvalues``
        (:math:`\hat R_{jj}`), ``objective``, ``norms`` (EMA), ``batch_norms``, and ``lr``.

    Notes
    -----
    Deng, Shi & Zhu (ICML 2022), Alg. 1 as in the official ``neuralef-classic-kernels.py``:
    per step draw a batch, normalise the raw outputs by their batch root mean square
    (:func:`l2_batch_norm`; gradients flow through the normaliser with Jacobian
    :math:`(I - \hat\psi\hat\psi^\top W)/\|h\|_w`), form :math:`G` of
    :func:`neuralef_loss`, backpropagate :math:`-G` by hand and take an Adam step. EMAs:
    :math:`\hat\mu \leftarrow 0.9\hat\mu + 0.1\hat R_{jj}` and the same for the norms, the
    first call copying. Each step costs :math:`O(B^2(d + k))` for the kernel and the loss
    plus :math:`O(Bk\sum_l n_l n_{l+1})` for the networks. See the module docstring for
    the biases of minibatch training.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import gauss_legendre_rule, neuralef_fit, polynomial_kernel
    >>> from numpy.polynomial import legendre
    >>> rule = gauss_legendre_rule(8, -1.0, 1.0)
    >>> kern = lambda x, y: polynomial_kernel(x, y, degree=4, c=1.5)
    >>> ef = neuralef_fit(kern, rule, 2, features=lambda x: legendre.legvander(x[:, 0], 4),
    ...                   steps=3000, lr=0.05, rng=0)
    >>> np.round(ef.eigenvalues, 4)  # 6.94413437, 5.23935296 (spec Sec. 5)
    array([6.9441, 5.2394])
    """
    k, steps, batch_size, lr, momentum, hidden = _check_options(
        k, steps, batch_size, lr, schedule, momentum, hidden, activation)
    if features is not None and not callable(features):
        raise TypeError(f"features must be a callable phi(x) or None; got "
                        f"{type(features).__name__}")
    rng = as_rng(rng)
    source = _Source(kernel, sampler, batch_size)
    report = _Progress(progress, steps)
    model = optimiser = None
    norm_ema = mu_ema = None
    history = {name: np.empty((steps, k)) for name in
               ("eigenvalues", "objective", "batch_eigenvalues", "norms", "batch_norms")}
    history["lr"] = np.empty(steps)
    for step in range(steps):
        x, w, K = source.batch(rng)
        inputs = x if features is None else _features(features, x)
        if model is None:
            model = (ParallelMLP(x.shape[1], k, hidden, activation, rng) if features is None
                     else LinearModel(inputs.shape[1], k, rng))
            optimiser = Adam(model.params)
        h = model.forward(inputs, keep=True)
        psi, norms = l2_batch_norm(h, w)
        loss = neuralef_loss(psi, K, weights=w)
        norm_ema = _ema(norm_ema, norms, momentum)
        mu_ema = _ema(mu_ema, np.diag(loss.R), momentum)
        rate = _learning_rate(lr, step, steps, schedule)
        optimiser.step(model.backward(-_norm_backward(loss.gradient, psi, norms, w)), rate)
        for name, value in (("eigenvalues", mu_ema), ("objective", loss.objective),
                            ("batch_eigenvalues", np.diag(loss.R)), ("norms", norm_ema),
                            ("batch_norms", norms), ("lr", rate)):
            history[name][step] = value
        report(step, steps, loss.objective, mu_ema, rate)
    return _result(model, features, norm_ema, mu_ema, history, x.shape[1])


def _features(features, x):
    phi = np.asarray(features(x), dtype=np.float64)
    if phi.ndim != 2 or phi.shape[0] != x.shape[0] or not np.all(np.isfinite(phi)):
        raise ValueError(f"features(x) must return finite (n, p) values with n={x.shape[0]}; "
                         f"got shape {phi.shape}")
    return phi


def _result(model, features, norm_ema, mu_ema, history, dim) -> Eigenfunctions:
    order = np.argsort(-mu_ema, kind="stable")
    scale = norm_ema.copy()

    def evaluate(x):
        inputs = x if features is None else _features(features, x)
        return (model.forward(inputs) / scale)[:, order]

    info = {"order": order, "history": history, "norms": scale, "model": model}
    return Eigenfunctions(mu_ema[order], evaluate, dim=dim, method="neuralef", info=info)
