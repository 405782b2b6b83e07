r"""NNGP and NTK kernels of infinitely wide fully connected networks (ReLU, erf).

The recursions of spec Sec. 3(f) in the NTK parametrisation, written so that the angle
between the two inputs' representations stays accurate near the diagonal (every layer
carries :math:`r \mp \Sigma_{12}` without cancellation). Monte-Carlo estimates from
random finite networks are in :mod:`refimpl.eigen.random_networks`.

References
----------
.. [3] A. Jacot, F. Gabriel, C. Hongler, "Neural tangent kernel", NeurIPS 2018, Thm. 1;
   J. Lee et al., "Deep neural networks as Gaussian processes", ICLR 2018, Eq. (4);
   S. Arora et al., "On exact computation with an infinitely wide neural net",
   NeurIPS 2019, Sec. 3 and Appendix E.
.. [4] C. K. I. Williams, "Computing with infinite networks", NeurIPS 1997 (erf).
"""

from __future__ import annotations

import numpy as np

from .._validate import nonnegative_int, real_scalar
from .kernels import angles, point_pair

__all__ = [
    "nngp_erf_kernel",
    "nngp_kernel",
    "nngp_relu_kernel",
    "ntk_erf_kernel",
    "ntk_kernel",
    "ntk_relu_kernel",
]

ACTIVATIONS = ("relu", "erf")


# -- NNGP and NTK recursions ----------------------------------------------------------------------

def _first_layer(x, y, sw2, sb2):
    r"""State :math:`(a, b, g, h)` of :math:`\Sigma^1 = \sigma_w^2 x^\top y / d + \sigma_b^2`.

    ``a``, ``b`` are the diagonals, :math:`g = r - \Sigma_{12}` and
    :math:`h = r + \Sigma_{12}` with :math:`r = \sqrt{ab}`; both are formed without
    cancellation, so the angle :math:`2\,\mathrm{atan2}(\sqrt g, \sqrt h)` is accurate.
    """
    d = x.shape[1]
    A = sw2 * np.sum(x * x, axis=1) / d
    B = sw2 * np.sum(y * y, axis=1) / d
    theta0 = angles(x, y)
    root = np.sqrt(np.outer(A, B))
    return _state(A, B, 2 * root * np.sin(theta0 / 2) ** 2,
                  2 * root * np.cos(theta0 / 2) ** 2, sb2)


def _relu_layer(state, sw2, sb2):
    a, b, g, h = state
    r = (g + h) / 2
    theta = 2.0 * np.arctan2(np.sqrt(g), np.sqrt(h))
    s, co = np.sin(theta), np.cos(theta)
    # pi - J1 = 2 pi sin^2(theta/2) - (sin theta - theta cos theta): both terms >= 0.
    below = 2 * np.pi * np.sin(theta / 2) ** 2 - (s - theta * co)
    above = 2 * np.pi - below  # pi + J1
    A, B = sw2 * a / 2, sw2 * b / 2
    scale = sw2 * r / (2 * np.pi)
    new = _state(A, B, scale * below, scale * above, sb2)
    dot = sw2 * (np.pi - theta) / (2 * np.pi)
    return new, dot


def _state(A, B, gap_part, cogap_part, c):
    r"""State of :math:`\Sigma = \sqrt{AB}\cos\theta + c` on the diagonals ``A + c``, ``B + c``.

    ``gap_part`` is :math:`\sqrt{AB}(1 - \cos\theta)` and ``cogap_part``
    :math:`\sqrt{AB}(1 + \cos\theta)`, each formed without cancellation by the caller;
    :math:`r - \sqrt{AB} - c = c(\sqrt A - \sqrt B)^2 / (r + \sqrt{AB} + c) \ge 0`.
    """
    a, b = A + c, B + c
    r = np.sqrt(np.outer(a, b))
    root = np.sqrt(np.outer(A, B))
    num = c * (np.sqrt(A)[:, None] - np.sqrt(B)[None, :]) ** 2
    den = r + root + c
    excess = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return a, b, excess + gap_part, excess + 2 * c + cogap_part


def _erf_layer(state, sw2, sb2):
    a, b, g, h = state
    cross = (h - g) / 2
    ta, tb = 1 + 2 * a, 1 + 2 * b
    arg = np.clip(2 * cross / np.sqrt(np.outer(ta, tb)), -1.0, 1.0)
    new_cross = sw2 * (2 / np.pi) * np.arcsin(arg) + sb2
    na = sw2 * (2 / np.pi) * np.arcsin(2 * a / ta) + sb2
    nb = sw2 * (2 / np.pi) * np.arcsin(2 * b / tb) + sb2
    r = np.sqrt(np.outer(na, nb))
    # (1 + 2a)(1 + 2b) - 4 Sigma_12^2 = 1 + 2a + 2b + 4 g h, since ab - Sigma_12^2 = g h.
    det = 1 + 2 * a[:, None] + 2 * b[None, :] + 4 * g * h
    dot = sw2 * (4 / np.pi) / np.sqrt(det)
    return (na, nb, np.maximum(r - new_cross, 0.0), np.maximum(r + new_cross, 0.0)), dot


def _recursion(x, y, depth, activation, sigma_w2, sigma_b2):
    """Yield ``(Sigma^l, dot Sigma^l)`` for ``l = 1 .. depth + 1`` (``dot`` None at l = 1)."""
    x, y = point_pair(x, y)
    depth = nonnegative_int(depth, "depth")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}")
    sw2 = real_scalar(sigma_w2, "sigma_w2", low=0.0)
    sb2 = real_scalar(sigma_b2, "sigma_b2", low=0.0)
    layer = _relu_layer if activation == "relu" else _erf_layer
    state = _first_layer(x, y, sw2, sb2)
    yield (state[3] - state[2]) / 2, None
    for _ in range(depth):
        state, dot = layer(state, sw2, sb2)
        yield (state[3] - state[2]) / 2, dot


def nngp_kernel(x, y=None, *, depth, activation="relu", sigma_w2=2.0, sigma_b2=0.0):
    r"""NNGP kernel :math:`\Sigma^{L+1}` of a fully connected network with ``depth`` = L.

    Parameters
    ----------
    x, y : array_like, shapes (n, d), (p, d) (or 1-D)
    depth : int
        Number of hidden layers :math:`L \ge 0` (0: the linear kernel :math:`\Sigma^1`).
    activation : {"relu", "erf"}
    sigma_w2, sigma_b2 : float
        Weight and bias variances :math:`\sigma_w^2, \sigma_b^2 \ge 0`.

    Returns
    -------
    numpy.ndarray, shape (n, p)

    Notes
    -----
    NTK parametrisation (spec Sec. 3(f); Lee et al., ICLR 2018, Eq. 4):
    :math:`h^1 = \tfrac{\sigma_w}{\sqrt d} W^1 x + \sigma_b b^1`,
    :math:`h^{l+1} = \tfrac{\sigma_w}{\sqrt{n_l}} W^{l+1}\phi(h^l) + \sigma_b b^{l+1}`,

    .. math::

        \Sigma^1 = \sigma_w^2 \tfrac{x^\top x'}{d} + \sigma_b^2, \qquad
        \Sigma^{l+1} = \sigma_w^2\,\mathbb E_{(u, v) \sim \mathcal N(0, \Lambda^l)}
        [\phi(u)\phi(v)] + \sigma_b^2 .

    ReLU: :math:`\mathbb E[\phi\phi] = \frac{\sqrt{\Sigma_{11}\Sigma_{22}}}{2\pi}
    (\sin\theta + (\pi - \theta)\cos\theta)`; erf (Williams, NeurIPS 1997):
    :math:`\frac2\pi\arcsin\frac{2\Sigma_{12}}{\sqrt{(1 + 2\Sigma_{11})(1 + 2\Sigma_{22})}}`.
    The state carried between layers is :math:`(\Sigma_{11}, \Sigma_{22},
    r - \Sigma_{12}, r + \Sigma_{12})`, :math:`r = \sqrt{\Sigma_{11}\Sigma_{22}}`, each
    formed without cancellation, so the angle stays accurate near the diagonal.
    With :math:`\sigma_w^2 = 2`, :math:`\sigma_b = 0` and :math:`\|x\|^2 = \|y\|^2 = d/2`
    every :math:`\Sigma^l(x, x) = 1` and :math:`\Sigma^{l+1} = \kappa_1(\Sigma^l)` (the
    order-1 arc-cosine profile); for unit vectors everything carries a factor
    :math:`2/d`. :math:`O(np(d + L))` time.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import nngp_kernel
    >>> x = np.array([[1.0, 0.0], [0.0, 1.0]])  # ||x||^2 = d / 2 = 1
    >>> np.round(nngp_kernel(x, depth=1), 12)  # kappa_1(0) = 1/pi off the diagonal
    array([[1.        , 0.31830989],
           [0.31830989, 1.        ]])
    """
    *_, (sigma, _) = _recursion(x, y, depth, activation, sigma_w2, sigma_b2)
    return sigma


def ntk_kernel(x, y=None, *, depth, activation="relu", sigma_w2=2.0, sigma_b2=0.0):
    r"""Neural tangent kernel :math:`\Theta^{L+1}` of a fully connected network.

    Parameters and parametrisation as :func:`nngp_kernel`.

    Returns
    -------
    numpy.ndarray, shape (n, p)

    Notes
    -----
    Jacot et al. (NeurIPS 2018) Thm. 1 (spec Sec. 3(f)):

    .. math::

        \Theta^1 = \Sigma^1, \qquad \Theta^{l+1} = \Theta^l\,\dot\Sigma^{l+1} +
        \Sigma^{l+1}, \qquad \dot\Sigma^{l+1} = \sigma_w^2\,\mathbb E[\phi'(u)\phi'(v)],

    ReLU: :math:`\dot\Sigma = \sigma_w^2 (\pi - \theta) / (2\pi)`; erf:
    :math:`\sigma_w^2 \frac4\pi \big((1 + 2\Sigma_{11})(1 + 2\Sigma_{22}) -
    4\Sigma_{12}^2\big)^{-1/2}`. On :math:`\|x\|^2 = d/2` with :math:`\sigma_w^2 = 2`,
    :math:`\sigma_b = 0`: :math:`\Theta(x, x) = L + 1`, and for ``depth=1``
    :math:`\Theta = t\kappa_0(t) + \kappa_1(t)`. :math:`O(np(d + L))` time.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import ntk_kernel
    >>> x = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> np.round(ntk_kernel(x, depth=2), 12)
    array([[3.        , 0.68570864],
           [0.68570864, 3.        ]])
    """
    theta = None
    for sigma, dot in _recursion(x, y, depth, activation, sigma_w2, sigma_b2):
        theta = sigma if dot is None else theta * dot + sigma
    return theta


def nngp_relu_kernel(x, y=None, *, depth, sigma_w2=2.0, sigma_b2=0.0):
    """:func:`nngp_kernel` with ``activation="relu"`` (the ``CONTRACT.md`` name).

    Examples
    --------
    >>> from refimpl.eigen import nngp_relu_kernel
    >>> float(nngp_relu_kernel([[1.0]], depth=3, sigma_w2=2.0)[0, 0])  # 2 |x|^2 / d
    2.0
    """
    return nngp_kernel(x, y, depth=depth, activation="relu", sigma_w2=sigma_w2,
                       sigma_b2=sigma_b2)


def ntk_relu_kernel(x, y=None, *, depth, sigma_w2=2.0, sigma_b2=0.0):
    """:func:`ntk_kernel` with ``activation="relu"`` (the ``CONTRACT.md`` name).

    Examples
    --------
    >>> from refimpl.eigen import ntk_relu_kernel
    >>> float(ntk_relu_kernel([[1.0]], depth=3)[0, 0])  # (L + 1) 2 |x|^2 / d
    8.0
    """
    return ntk_kernel(x, y, depth=depth, activation="relu", sigma_w2=sigma_w2,
                      sigma_b2=sigma_b2)


def nngp_erf_kernel(x, y=None, *, depth, sigma_w2=2.0, sigma_b2=0.0):
    """:func:`nngp_kernel` with ``activation="erf"`` (as in the official ``nngpk.py``).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.eigen import nngp_erf_kernel
    >>> k = nngp_erf_kernel([[1.0], [-1.0]], depth=1, sigma_w2=1.0)
    >>> bool(np.isclose(k[0, 1], -k[0, 0]))  # erf is odd
    True
    """
    return nngp_kernel(x, y, depth=depth, activation="erf", sigma_w2=sigma_w2,
                       sigma_b2=sigma_b2)


def ntk_erf_kernel(x, y=None, *, depth, sigma_w2=2.0, sigma_b2=0.0):
    """:func:`ntk_kernel` with ``activation="erf"``.

    Examples
    --------
    >>> from refimpl.eigen import ntk_erf_kernel
    >>> ntk_erf_kernel([[1.0], [0.5]], depth=1).shape
    (2, 2)
    """
    return ntk_kernel(x, y, depth=depth, activation="erf", sigma_w2=sigma_w2,
                      sigma_b2=sigma_b2)
