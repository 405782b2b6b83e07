r"""NumPy models and optimiser behind :func:`refimpl.eigen.neuralef_fit`.

* :class:`ParallelMLP`: ``k`` independent MLPs with one scalar output each (the official
  code's ``ParallelMLP``: weights :math:`\mathcal N(0, 2/\text{fan-in})`, zero biases,
  the ``sin_and_cos`` activation), with manual backpropagation;
* :class:`LinearModel`: :math:`h = \phi(x)W` on user features;
* :class:`Adam`: Kingma & Ba (2015), Alg. 1, PyTorch's defaults.

Every model maps a batch ``x (B, d)`` to raw outputs ``h (B, k)``; ``backward(g)`` takes
:math:`\partial L/\partial h` ``(B, k)`` and returns the parameter gradients, in the
order of ``params``. Output ``j`` depends only on the parameters of copy ``j``, so
backpropagating the whole ``(B, k)`` matrix gives each copy its own column's gradient.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.special

__all__ = ["ACTIVATIONS", "Adam", "LinearModel", "ParallelMLP"]


def _sin_cos(z):
    half = z.shape[-1] // 2
    out = np.empty_like(z)
    np.sin(z[..., :half], out=out[..., :half])
    np.cos(z[..., half:], out=out[..., half:])
    return out


def _sin_cos_grad(z):
    half = z.shape[-1] // 2
    out = np.empty_like(z)
    np.cos(z[..., :half], out=out[..., :half])
    np.sin(z[..., half:], out=out[..., half:])
    np.negative(out[..., half:], out=out[..., half:])
    return out


#: name -> (activation, derivative)
ACTIVATIONS = {
    "sin_cos": (_sin_cos, _sin_cos_grad),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(np.float64)),
    "erf": (scipy.special.erf, lambda z: 2.0 / np.sqrt(np.pi) * np.exp(-z * z)),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
}


class ParallelMLP:
    """``k`` independent MLPs ``d -> hidden[0] -> ... -> 1`` evaluated together.

    Parameters
    ----------
    d : int
        Input dimension.
    k : int
        Number of copies (one per eigenfunction).
    hidden : tuple of int
        Hidden widths (even for ``sin_cos``, which applies sin to the first half of
        the units and cos to the second, as the official ``SinAndCos``).
    activation : str
        A key of :data:`ACTIVATIONS`.
    rng : numpy.random.Generator
    """

    def __init__(self, d: int, k: int, hidden, activation: str, rng: np.random.Generator):
        widths = [d, *hidden, 1]
        self.act, self.act_grad = ACTIVATIONS[activation]
        self.params = []
        for n_in, n_out in itertools.pairwise(widths):
            self.params.append(rng.normal(0.0, np.sqrt(2.0 / n_in), size=(k, n_in, n_out)))
            self.params.append(np.zeros((k, 1, n_out)))
        self._cache = None

    @property
    def n_layers(self) -> int:
        return len(self.params) // 2

    def forward(self, x: np.ndarray, *, keep: bool = False) -> np.ndarray:
        """Raw outputs ``(B, k)``; ``keep=True`` stores what :meth:`backward` needs."""
        a = x[None]  # (1, B, d): broadcast over the copies
        inputs, pre = [], []
        for layer in range(self.n_layers):
            W, b = self.params[2 * layer], self.params[2 * layer + 1]
            z = np.matmul(a, W) + b
            inputs.append(a)
            if layer < self.n_layers - 1:
                pre.append(z)
                a = self.act(z)
            else:
                a = z
        if keep:
            self._cache = (inputs, pre)
        return a[:, :, 0].T

    def backward(self, grad_h: np.ndarray) -> list[np.ndarray]:
        """Parameter gradients for ``dL/dh = grad_h`` ``(B, k)``, after ``forward(keep=True)``."""
        inputs, pre = self._cache
        g = grad_h.T[:, :, None]  # (k, B, 1)
        grads = [None] * len(self.params)
        for layer in reversed(range(self.n_layers)):
            W, a = self.params[2 * layer], inputs[layer]
            grads[2 * layer] = np.matmul(np.swapaxes(a, 1, 2), g) if a.shape[0] > 1 \
                else np.einsum("bi,kbo->kio", a[0], g)
            grads[2 * layer + 1] = g.sum(axis=1, keepdims=True)
            if layer > 0:
                g = np.matmul(g, np.swapaxes(W, 1, 2)) * self.act_grad(pre[layer - 1])
        return grads


class LinearModel:
    r"""The linear model :math:`h = \phi(x)W` on fixed features ``phi (B, p)``.

    ``forward`` takes the feature matrix itself (the caller evaluates the features once
    per batch); :math:`W` starts :math:`\mathcal N(0, 1/p)`.
    """

    def __init__(self, p: int, k: int, rng: np.random.Generator):
        self.params = [rng.normal(0.0, np.sqrt(1.0 / p), size=(p, k))]
        self._phi = None

    def forward(self, phi: np.ndarray, *, keep: bool = False) -> np.ndarray:
        if keep:
            self._phi = phi
        return phi @ self.params[0]

    def backward(self, grad_h: np.ndarray) -> list[np.ndarray]:
        return [self._phi.T @ grad_h]


class Adam:
    r"""Adam (Kingma & Ba 2015, Alg. 1) with PyTorch's defaults, minimising.

    :math:`m \leftarrow \beta_1 m + (1 - \beta_1)g`, :math:`v \leftarrow \beta_2 v +
    (1 - \beta_2)g^2`, :math:`\theta \leftarrow \theta - \eta_t\,\hat m/(\sqrt{\hat v} +
    \varepsilon)` with bias-corrected :math:`\hat m, \hat v`.
    """

    def __init__(self, params, *, beta1=0.9, beta2=0.999, eps=1e-8):
        self.params = params
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads, lr: float) -> None:
        """Update ``params`` in place along ``-grads`` with learning rate ``lr``."""
        self.t += 1
        c1, c2 = 1.0 - self.beta1**self.t, 1.0 - self.beta2**self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * g * g
            p -= lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
