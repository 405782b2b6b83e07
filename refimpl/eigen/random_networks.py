r"""Monte-Carlo NNGP and NTK kernels from random finite networks (the paper's route).

NeuralEF never forms an analytic NN-GP kernel: it writes :math:`k(x, x') =
\mathbb E_\omega[g(x; \omega)g(x'; \omega)]` for a random network :math:`g` at
initialisation and averages over sampled networks (spec Sec. 1.6, the official
``neuralef-toy-nngpkernels.py``); the NTK is :math:`\mathbb E[J(x)J(x')^\top]`, and the
empirical NTK of one network is :math:`\mathbb E_v[(Jv)(x)(Jv)(x')]` over random
projections :math:`v` with :math:`\mathbb E vv^\top = I`.

Networks use the NTK parametrisation of :func:`~refimpl.eigen.nngp_kernel`: entries
:math:`\mathcal N(0, 1)`, :math:`h^{l+1} = \frac{\sigma_w}{\sqrt{n_l}}W^{l+1}\phi(h^l) +
\sigma_b b^{l+1}`. Every estimator here is an average of independent, identically
distributed per-network terms, hence **unbiased for its expectation**, which is:

* exactly the analytic kernel (:func:`~refimpl.eigen.nngp_kernel`,
  :func:`~refimpl.eigen.ntk_kernel`) for one hidden layer (``depth=1``), at every width:
  the first-layer pre-activations are exactly Gaussian and the read-out (or its
  gradient) enters linearly;
* for ``depth >= 2``, the kernel of the finite-width prior, which differs from the
  infinite-width recursion by :math:`O(1/\text{width})` (inner layers are only
  conditionally Gaussian).
"""

from __future__ import annotations

import numpy as np

from .._validate import as_rng, nonnegative_int, positive_int, real_scalar
from ._models import ACTIVATIONS
from .kernels import as_points, point_pair

__all__ = ["RandomMLP", "nngp_monte_carlo", "ntk_monte_carlo"]


class RandomMLP:
    r"""A fully connected network at random initialisation, NTK parametrisation.

    Parameters
    ----------
    d : int
        Input dimension.
    depth : int
        Hidden layers :math:`L \ge 0`.
    width : int
        Units per hidden layer.
    activation : {"relu", "erf", "tanh", "sin_cos"}
    sigma_w2, sigma_b2 : float
        :math:`\sigma_w^2` and :math:`\sigma_b^2`.
    rng : numpy.random.Generator, int or None

    Notes
    -----
    ``weights[l]`` is :math:`W^{l+1}` of shape ``(n_l, n_{l+1})`` and ``biases[l]`` is
    :math:`b^{l+1}`; all entries :math:`\mathcal N(0, 1)`. :math:`O(n\,\sum_l n_ln_{l+1})`
    per forward pass over :math:`n` points.

    Examples
    --------
    >>> from refimpl.eigen import RandomMLP
    >>> net = RandomMLP(3, depth=2, width=16, rng=0)
    >>> net([[1.0, 0.0, 0.0]]).shape, net.ntk([[1.0, 0.0, 0.0]]).shape
    ((1,), (1, 1))
    """

    def __init__(self, d, *, depth, width, activation="relu", sigma_w2=2.0, sigma_b2=0.0,
                 rng=None):
        self.d = positive_int(d, "d")
        self.depth = nonnegative_int(depth, "depth")
        width = positive_int(width, "width")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}; "
                             f"got {activation!r}")
        self.act, self.act_grad = ACTIVATIONS[activation]
        self.sw = np.sqrt(real_scalar(sigma_w2, "sigma_w2", low=0.0))
        self.sb = np.sqrt(real_scalar(sigma_b2, "sigma_b2", low=0.0))
        rng = as_rng(rng)
        self.widths = [self.d] + [width] * self.depth + [1]
        self.weights = [rng.standard_normal((a, b)) for a, b in zip(self.widths, self.widths[1:])]
        self.biases = [rng.standard_normal(b) for b in self.widths[1:]]

    def _forward(self, x):
        """Layer inputs ``a^0 = x, ..., a^L`` and pre-activations ``h^1, ..., h^{L+1}``."""
        inputs, pre = [x], []
        for layer, (W, b) in enumerate(zip(self.weights, self.biases)):
            h = self.sw / np.sqrt(W.shape[0]) * (inputs[-1] @ W) + self.sb * b
            pre.append(h)
            if layer < self.depth:
                inputs.append(self.act(h))
        return inputs, pre

    def __call__(self, x) -> np.ndarray:
        """The scalar output :math:`f(x)`, shape ``(n,)``."""
        x = as_points(x, "x", self.d)
        return self._forward(x)[1][-1][:, 0]

    def features(self, x) -> np.ndarray:
        r"""Read-out features :math:`\frac{\sigma_w}{\sqrt{n_L}}\phi(h^L(x))`, ``(n, n_L)``.

        :math:`\Phi(x)\Phi(y)^\top + \sigma_b^2` is :math:`\mathbb E[f(x)f(y)]` over the
        read-out layer, this network's inner layers fixed.
        """
        x = as_points(x, "x", self.d)
        a = self._forward(x)[0][-1]
        return self.sw / np.sqrt(a.shape[1]) * a

    def _deltas(self, inputs, pre):
        """:math:`\\delta^l = \\partial f / \\partial h^l` for every layer, ``(n, n_l)``."""
        deltas = [np.ones((inputs[0].shape[0], 1))]
        for layer in range(self.depth, 0, -1):
            W = self.weights[layer]
            back = self.sw / np.sqrt(W.shape[0]) * (deltas[0] @ W.T)
            deltas.insert(0, back * self.act_grad(pre[layer - 1]))
        return deltas

    def ntk(self, x, y=None) -> np.ndarray:
        r"""The empirical NTK :math:`J(x)J(y)^\top` of this network, ``(n, p)``, exactly.

        Notes
        -----
        With :math:`\partial f/\partial W^l_{ij} = \frac{\sigma_w}{\sqrt{n_{l-1}}}
        a^{l-1}_i\delta^l_j` and :math:`\partial f/\partial b^l_j = \sigma_b\delta^l_j`,
        :math:`J(x)J(y)^\top = \sum_l \big(\frac{\sigma_w^2}{n_{l-1}}a^{l-1}(x)^\top
        a^{l-1}(y) + \sigma_b^2\big)\,\delta^l(x)^\top\delta^l(y)`, without forming
        :math:`J`. :math:`O(np\sum_l n_l)` after the passes.
        """
        x, y = point_pair(x, y)
        (ax, hx), (ay, hy) = self._forward(x), self._forward(y)
        dx, dy = self._deltas(ax, hx), self._deltas(ay, hy)
        total = np.zeros((x.shape[0], y.shape[0]))
        for a1, a2, d1, d2 in zip(ax, ay, dx, dy):
            total += (self.sw**2 / a1.shape[1] * (a1 @ a2.T) + self.sb**2) * (d1 @ d2.T)
        return total

    def jvp(self, x, tangent_weights, tangent_biases) -> np.ndarray:
        r"""Forward-mode :math:`Jv` at ``x`` for a parameter direction ``v``, shape ``(n,)``.

        ``tangent_weights`` and ``tangent_biases`` have the shapes of ``weights`` and
        ``biases``; :math:`\dot h^{l} = \frac{\sigma_w}{\sqrt{n_{l-1}}}(\dot a^{l-1}W^l +
        a^{l-1}V^l) + \sigma_b\dot b^l`, :math:`\dot a = \phi'(h)\,\dot h`.
        """
        x = as_points(x, "x", self.d)
        a, da = x, np.zeros_like(x)
        for layer, (W, b) in enumerate(zip(self.weights, self.biases)):
            scale = self.sw / np.sqrt(W.shape[0])
            h = scale * (a @ W) + self.sb * b
            dh = scale * (da @ W + a @ tangent_weights[layer]) + self.sb * tangent_biases[layer]
            if layer < self.depth:
                a, da = self.act(h), self.act_grad(h) * dh
        return dh[:, 0]

    def ntk_projections(self, x, y=None, *, n_projections, rng=None,
                        per_projection=False) -> np.ndarray:
        r"""Unbiased estimate of this network's empirical NTK from random projections.

        :math:`\frac1P\sum_p (Jv_p)(x)(Jv_p)(y)` with Rademacher :math:`v_p`
        (:math:`\mathbb E vv^\top = I`), as the paper forms the NTK of a ResNet
        (spec Sec. 1.6), with exact forward-mode :math:`Jv` instead of finite differences.
        ``per_projection=True`` returns the ``(P, n, p)`` terms.
        """
        x, y = point_pair(x, y)
        n_projections = positive_int(n_projections, "n_projections")
        rng = as_rng(rng)
        terms = []
        for _ in range(n_projections):
            vw = [rng.choice([-1.0, 1.0], size=W.shape) for W in self.weights]
            vb = [rng.choice([-1.0, 1.0], size=b.shape) for b in self.biases]
            terms.append(np.outer(self.jvp(x, vw, vb), self.jvp(y, vw, vb)))
        terms = np.stack(terms)
        return terms if per_projection else terms.mean(axis=0)


def _networks(d, depth, width, n_networks, activation, sigma_w2, sigma_b2, rng):
    n_networks = positive_int(n_networks, "n_networks")
    rng = as_rng(rng)
    for _ in range(n_networks):
        yield RandomMLP(d, depth=depth, width=width, activation=activation,
                        sigma_w2=sigma_w2, sigma_b2=sigma_b2, rng=rng)


def nngp_monte_carlo(x, y=None, *, depth, n_networks, width=256, activation="relu",
                     sigma_w2=2.0, sigma_b2=0.0, readout=False, rng=None,
                     per_network=False) -> np.ndarray:
    r"""Monte-Carlo NNGP kernel from ``n_networks`` random networks.

    Parameters
    ----------
    x, y : array_like, shapes (n, d), (p, d)
    depth, activation, sigma_w2, sigma_b2
        As :func:`~refimpl.eigen.nngp_kernel`.
    n_networks : int
        Number of independent networks :math:`S`.
    width : int
        Hidden width of each network.
    readout : bool
        ``True``: the paper's estimator :math:`\frac1S\sum_s f_s(x)f_s(y)` from the scalar
        outputs. ``False`` (default): the read-out integrated out,
        :math:`\frac1S\sum_s \Phi_s(x)\Phi_s(y)^\top + \sigma_b^2` with the last hidden
        layer's features (:meth:`RandomMLP.features`): the same expectation, less noise.
    rng : numpy.random.Generator, int or None
    per_network : bool
        Return the ``(S, n, p)`` per-network terms instead of their mean.

    Returns
    -------
    numpy.ndarray, shape (n, p) (or (S, n, p))

    Notes
    -----
    Unbiased; its expectation is the analytic NNGP exactly for ``depth <= 1`` and up to
    :math:`O(1/\text{width})` beyond (module docstring). With a fixed integer ``rng`` the
    same networks are drawn at every call, so it can serve as the ``kernel`` of
    :func:`~refimpl.eigen.neuralef_fit`. :math:`O(S\,n\,\text{width}(d + L\,\text{width}))`.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import nngp_monte_carlo, nngp_relu_kernel
    >>> x = np.array([[1.0, 0.0], [0.6, 0.8]])
    >>> est = nngp_monte_carlo(x, depth=1, n_networks=20, width=2000, rng=0)
    >>> bool(np.all(np.abs(est - nngp_relu_kernel(x, depth=1)) < 0.05))
    True
    """
    x, y = point_pair(x, y)
    terms = []
    for net in _networks(x.shape[1], depth, width, n_networks, activation, sigma_w2,
                         sigma_b2, rng):
        if readout:
            terms.append(np.outer(net(x), net(y)))
        else:
            terms.append(net.features(x) @ net.features(y).T + net.sb**2)
    terms = np.stack(terms)
    return terms if per_network else terms.mean(axis=0)


def ntk_monte_carlo(x, y=None, *, depth, n_networks, width=256, activation="relu",
                    sigma_w2=2.0, sigma_b2=0.0, rng=None, per_network=False) -> np.ndarray:
    r"""Monte-Carlo NTK: the empirical NTK averaged over ``n_networks`` random networks.

    Parameters
    ----------
    x, y, depth, n_networks, width, activation, sigma_w2, sigma_b2, rng, per_network
        As :func:`nngp_monte_carlo`.

    Returns
    -------
    numpy.ndarray, shape (n, p) (or (S, n, p))

    Notes
    -----
    :math:`\frac1S\sum_s J_s(x)J_s(y)^\top` with exact per-network Jacobian products
    (:meth:`RandomMLP.ntk`). For one hidden layer its expectation is
    :math:`\Sigma^2 + \dot\Sigma^2\Sigma^1 = \Theta^2` at any width, because the read-out
    weights are independent of the hidden units (:math:`\mathbb E[v_i^2] = 1`).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import ntk_monte_carlo, ntk_relu_kernel
    >>> x = np.array([[1.0, 0.0], [0.6, 0.8]])
    >>> est = ntk_monte_carlo(x, depth=1, n_networks=20, width=2000, rng=0)
    >>> bool(np.all(np.abs(est - ntk_relu_kernel(x, depth=1)) < 0.1))
    True
    """
    x, y = point_pair(x, y)
    terms = np.stack([net.ntk(x, y) for net in _networks(
        x.shape[1], depth, width, n_networks, activation, sigma_w2, sigma_b2, rng)])
    return terms if per_network else terms.mean(axis=0)
