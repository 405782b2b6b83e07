r"""Random features for the softmax and Gaussian kernels (Performer, FAVOR+, RFF).

The module follows Choromanski et al., "Rethinking attention with Performers" (ICLR
2021), Sec. 2.3-3: a random feature map :math:`\phi` with projections
:math:`\omega_1, \dots, \omega_m \sim \mathcal N(0, I_d)` gives an unbiased estimate
:math:`\phi(x)^\top \phi(y)` of the softmax kernel :math:`\mathrm{SM}(x, y) = e^{x^\top y}`
(or of the Gaussian kernel, for Rahimi-Recht Fourier features). It reads like the paper:
the projections (iid and orthogonal, their Eq. 5 and Sec. 2.4), the four feature maps
(Lemma 1 and Eq. 5), and the closed-form mean squared errors (Lemma 2, Theorem 2).

Inputs ``x`` are already scaled: softmax attention with temperature :math:`1/\sqrt d` is
:math:`\mathrm{SM}(d^{-1/4} q, d^{-1/4} k)`; :mod:`refimpl.estimators` folds that scale in.

Notation: :math:`a = \|x - y\|^2`, :math:`b = \|x + y\|^2`,
:math:`\Lambda = e^{-(\|x\|^2 + \|y\|^2)/2}`, so that :math:`\mathrm{SM}(x, y) = \Lambda e^{b/2}`.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, as_rng, batch_shape, nonnegative_int, positive_int

__all__ = [
    "fourier_features",
    "fourier_features_mse",
    "gaussian_omega",
    "haar_orthogonal",
    "hyperbolic_features",
    "hyperbolic_features_mse",
    "orthogonal_positive_features_mse_bound",
    "positive_features",
    "positive_features_mse",
    "trig_features",
    "trig_features_mse",
]


# -- projections -----------------------------------------------------------------------------

def _size(size) -> tuple[int, ...]:
    """``size`` (None, an int or a tuple of ints) as a shape tuple, as NumPy draws take it."""
    if size is None:
        return ()
    dims = (size,) if np.ndim(size) == 0 else tuple(size)
    return tuple(nonnegative_int(n, "size") for n in dims)


def haar_orthogonal(d, *, rng=None, sign_fix=True, size=None):
    r"""Haar-distributed (uniformly random) ``d x d`` orthogonal matrices.

    Parameters
    ----------
    d : int
        Dimension.
    rng : numpy.random.Generator, int or None
        Randomness (see ``refimpl._validate.as_rng``); the draw is
        ``rng.standard_normal(size + (d, d))``.
    sign_fix : bool, default True
        Multiply the columns of ``Q`` by the signs of ``diag(R)``. ``False`` returns the
        raw LAPACK ``Q``, which is **not** Haar (its first column always has a negative
        first entry); it exists only as a negative control.
    size : int or tuple of ints, optional
        Independent matrices to draw (like NumPy's ``size``).

    Returns
    -------
    numpy.ndarray, shape size + (d, d)

    Notes
    -----
    For :math:`G` with iid :math:`\mathcal N(0, 1)` entries and :math:`G = QR`,
    :math:`H = Q\,\mathrm{diag}(\mathrm{sign}\, R_{ii})` is Haar distributed because the
    decomposition with a positive diagonal of ``R`` is unique and commutes with left
    multiplication by a fixed orthogonal matrix (Mezzadri 2007, Sec. 5). Householder QR
    (LAPACK ``geqrf``) picks the signs of ``R`` from the data instead, so the raw ``Q`` is
    biased. (Whether PyTorch's and JAX's QR, used raw by the official Performer and
    LARA code, share LAPACK's signs was not checked.) O(d^3) time per matrix.

    References
    ----------
    F. Mezzadri, "How to generate random matrices from the classical compact groups",
    Notices of the AMS 54 (2007), Sec. 5.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.features import haar_orthogonal
    >>> H = haar_orthogonal(3, rng=0)
    >>> np.round(H @ H.T, 12) + 0.0  # orthogonal up to rounding (display rounded)
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """
    d = positive_int(d, "d")
    if not isinstance(sign_fix, (bool, np.bool_)):
        raise TypeError(f"sign_fix must be True or False; got {sign_fix!r}")
    q, r = np.linalg.qr(as_rng(rng).standard_normal(_size(size) + (d, d)))
    if sign_fix:
        # sign(0) cannot occur: R_ii = 0 has probability zero for a Gaussian G.
        q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]
    return q


def gaussian_omega(m, d, *, orthogonal=False, rng=None, size=None):
    r"""Random projections :math:`\Omega` of shape ``(m, d)`` with rows :math:`\mathcal N(0, I_d)`.

    Parameters
    ----------
    m : int
        Number of projections (features per map).
    d : int
        Dimension of the inputs.
    orthogonal : bool, default False
        ``False``: iid rows. ``True``: orthogonal random features (ORF): blocks of ``d``
        exactly orthogonal rows (the last block partial), each block the rows of a Haar
        matrix (:func:`haar_orthogonal`, sign-fixed QR) scaled by independent
        :math:`\chi_d` norms, so every row is still exactly :math:`\mathcal N(0, I_d)`.
    rng : numpy.random.Generator, int or None
        Randomness. The iid draw is ``rng.standard_normal(size + (m, d))``; the
        orthogonal draw takes ``ceil(m / d)`` Haar blocks per matrix and then the norms.
    size : int or tuple of ints, optional
        Independent projection matrices to draw (like NumPy's ``size``).

    Returns
    -------
    numpy.ndarray, shape size + (m, d)

    Notes
    -----
    Rows of one orthogonal block are dependent, which lowers the variance of the
    kernel estimates (Choromanski et al. 2021, Sec. 2.4 and Theorem 2) while each
    estimate stays unbiased (the marginal of every row is :math:`\mathcal N(0, I_d)`).
    The :math:`\chi_d` norms are the Performer code's ``scaling=0`` option (norms of iid
    Gaussian ``d``-vectors; seen in PyTorch ports of it, the original JAX file was not
    re-read), and the block rows are the columns of ``Q``, as there. O(m d^2) time for
    ORF, O(m d) iid.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.features import gaussian_omega
    >>> W = gaussian_omega(5, 3, orthogonal=True, rng=1)
    >>> W.shape  # one full block of 3 orthogonal rows and a partial block of 2
    (5, 3)
    >>> np.round(W[:3] @ W[:3].T, 12) == np.round(np.diag(np.sum(W[:3] ** 2, axis=1)), 12)
    array([[ True,  True,  True],
           [ True,  True,  True],
           [ True,  True,  True]])
    """
    m, d = positive_int(m, "m"), positive_int(d, "d")
    if not isinstance(orthogonal, (bool, np.bool_)):
        raise TypeError(f"orthogonal must be True or False; got {orthogonal!r}")
    size, rng = _size(size), as_rng(rng)
    if not orthogonal:
        return rng.standard_normal(size + (m, d))
    blocks = np.swapaxes(haar_orthogonal(d, rng=rng, size=size + (-(-m // d),)), -1, -2)
    directions = blocks.reshape(size + (-1, d))[..., :m, :]
    return directions * np.sqrt(rng.chisquare(d, size=size + (m,)))[..., None]


# -- feature maps ------------------------------------------------------------------------------

def _projected(x, omega):
    """Validated ``x (..., d)``, ``omega (..., m, d)``; returns x, omega @ x and |x|^2 / 2.

    Leading dimensions of ``omega`` (independent projections per batch element) broadcast
    with those of ``x``.
    """
    x = as_float_array(x, "x", min_ndim=1)
    omega = as_float_array(omega, "omega", min_ndim=2)
    if omega.shape[-1] != x.shape[-1]:
        raise ValueError(
            f"omega must have shape (..., m, {x.shape[-1]}) to project x of shape {x.shape}; "
            f"got shape {omega.shape}"
        )
    batch_shape({"x": x.shape[:-1], "omega": omega.shape[:-2]})
    proj = (x[..., None, :] @ np.swapaxes(omega, -1, -2))[..., 0, :]
    return x, proj, 0.5 * np.sum(x * x, axis=-1, keepdims=True)


def positive_features(x, omega):
    r"""Positive random features of the softmax kernel (FAVOR+).

    Parameters
    ----------
    x : array_like, shape (..., d)
        Inputs (already scaled by :math:`d^{-1/4}` for attention).
    omega : array_like, shape (m, d) or (..., m, d)
        Projections, e.g. from :func:`gaussian_omega`; leading dimensions (independent
        projections per batch element) broadcast with those of ``x``.

    Returns
    -------
    numpy.ndarray, shape (..., m)

    Notes
    -----
    .. math:: \phi^+(x) = \frac{1}{\sqrt m}\big(e^{\omega_i^\top x - \|x\|^2/2}\big)_{i=1}^m,
              \qquad \mathbb E[\phi^+(x)^\top \phi^+(y)] = e^{x^\top y}

    by the Gaussian tilting identity (Choromanski et al. 2021, Lemma 1). Every feature
    is positive, so attention normalisers never vanish. O(m d) per input.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.features import positive_features
    >>> positive_features(np.zeros(2), np.ones((4, 2)))
    array([0.5, 0.5, 0.5, 0.5])
    """
    _, proj, half_sq = _projected(x, omega)
    return np.exp(proj - half_sq) / np.sqrt(proj.shape[-1])


def hyperbolic_features(x, omega):
    r"""Hyperbolic positive random features of the softmax kernel (FAVOR+, ``2m`` features).

    Parameters
    ----------
    x : array_like, shape (..., d)
    omega : array_like, shape (m, d) or (..., m, d)
        As in :func:`positive_features`.

    Returns
    -------
    numpy.ndarray, shape (..., 2 m)
        ``[exp(Omega x), exp(-Omega x)] exp(-|x|^2 / 2) / sqrt(2 m)``.

    Notes
    -----
    .. math:: \phi^{\mathrm{hyp}+}(x) = \frac{e^{-\|x\|^2/2}}{\sqrt{2m}}
              \big(e^{\Omega x}, e^{-\Omega x}\big), \qquad
              \phi^{\mathrm{hyp}+}(x)^\top \phi^{\mathrm{hyp}+}(y)
              = \frac{\Lambda}{m} \sum_i \cosh(\omega_i^\top (x + y)),

    an antithetic version of :func:`positive_features` (Choromanski et al. 2021, Eq. 5
    and Lemma 1: :math:`\mathrm{SM}(x, y) = \Lambda\, \mathbb E \cosh(\omega^\top z)`).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.features import hyperbolic_features
    >>> hyperbolic_features(np.zeros(1), np.ones((2, 1)))
    array([0.5, 0.5, 0.5, 0.5])
    """
    _, proj, half_sq = _projected(x, omega)
    scale = 1.0 / np.sqrt(2 * proj.shape[-1])
    return np.concatenate([np.exp(proj - half_sq), np.exp(-proj - half_sq)], axis=-1) * scale


def trig_features(x, omega):
    r"""Trigonometric random features of the softmax kernel (``2m`` features, signed).

    Parameters
    ----------
    x : array_like, shape (..., d)
    omega : array_like, shape (m, d) or (..., m, d)
        As in :func:`positive_features`.

    Returns
    -------
    numpy.ndarray, shape (..., 2 m)
        ``[sin(Omega x), cos(Omega x)] exp(|x|^2 / 2) / sqrt(m)``.

    Notes
    -----
    .. math:: \phi^{\mathrm{trig}}(x) = \frac{e^{\|x\|^2/2}}{\sqrt m}
              \big(\sin \Omega x, \cos \Omega x\big), \qquad
              \mathbb E[\phi^{\mathrm{trig}}(x)^\top \phi^{\mathrm{trig}}(y)]
              = e^{(\|x\|^2 + \|y\|^2)/2} e^{-\|x - y\|^2/2} = e^{x^\top y}

    (Choromanski et al. 2021, Sec. 2.3). The features change sign, so attention
    normalisers built from them can vanish or turn negative.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.features import trig_features
    >>> trig_features(np.zeros(1), np.ones((1, 1)))
    array([0., 1.])
    """
    _, proj, half_sq = _projected(x, omega)
    scale = np.exp(half_sq) / np.sqrt(proj.shape[-1])
    return np.concatenate([np.sin(proj), np.cos(proj)], axis=-1) * scale


def fourier_features(x, omega):
    r"""Random Fourier features of the Gaussian kernel (Rahimi and Recht 2007).

    Parameters
    ----------
    x : array_like, shape (..., d)
    omega : array_like, shape (m, d) or (..., m, d)
        Rows :math:`\mathcal N(0, I)` for unit bandwidth; rows
        :math:`\mathcal N(0, \sigma^{-2} I)` give the kernel
        :math:`e^{-\|x - y\|^2 / (2\sigma^2)}`.

    Returns
    -------
    numpy.ndarray, shape (..., 2 m)
        ``[sin(Omega x), cos(Omega x)] / sqrt(m)``.

    Notes
    -----
    .. math:: z(x)^\top z(y) = \frac1m \sum_i \cos(\omega_i^\top (x - y)), \qquad
              \mathbb E\, z(x)^\top z(y) = e^{-\|x - y\|^2/2},

    the characteristic function of :math:`\mathcal N(0, I)` (Bochner's theorem).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.features import fourier_features
    >>> fourier_features(np.zeros(1), np.ones((4, 1)))
    array([0. , 0. , 0. , 0. , 0.5, 0.5, 0.5, 0.5])
    """
    _, proj, _ = _projected(x, omega)
    return np.concatenate([np.sin(proj), np.cos(proj)], axis=-1) / np.sqrt(proj.shape[-1])


# -- closed-form mean squared errors (Lemma 2, Theorem 2) ------------------------------------

def _pair(x, y, m):
    """Validated ``x, y (..., d)`` (broadcasting) and ``m``; returns a, b, |x|^2 + |y|^2, x.y."""
    x = as_float_array(x, "x", min_ndim=1)
    y = as_float_array(y, "y", min_ndim=1)
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"y must have the same last dimension as x ({x.shape[-1]}); "
                         f"got shape {y.shape}")
    batch_shape({"x": x.shape[:-1], "y": y.shape[:-1]})
    m = positive_int(m, "m")
    a = np.sum((x - y) ** 2, axis=-1)
    b = np.sum((x + y) ** 2, axis=-1)
    return a, b, np.sum(x * x, axis=-1) + np.sum(y * y, axis=-1), np.sum(x * y, axis=-1), m


def positive_features_mse(x, y, m):
    r"""Mean squared error of the ``m``-feature positive estimate of :math:`e^{x^\top y}`.

    Parameters
    ----------
    x, y : array_like, shape (..., d)
        Broadcasting inputs.
    m : int
        Number of iid projections.

    Returns
    -------
    numpy.ndarray, shape (...)

    Notes
    -----
    Choromanski et al. (2021), Lemma 2:

    .. math:: \mathrm{MSE}^+_m = \frac1m e^{\|x+y\|^2} \mathrm{SM}^2(x, y)
              \big(1 - e^{-\|x+y\|^2}\big) = \frac1m \mathrm{SM}^2(x, y)\big(e^{b} - 1\big),

    the variance of the log-normal :math:`\Lambda e^{\omega^\top (x + y)}` over ``m``.
    Evaluated as ``exp(2 x.y) expm1(b) / m``, accurate for small ``b``.

    Examples
    --------
    >>> from refimpl.features import positive_features_mse
    >>> float(positive_features_mse([0.0], [0.0], 3))
    0.0
    """
    _, b, _, xy, m = _pair(x, y, m)
    return np.exp(2 * xy) * np.expm1(b) / m


def trig_features_mse(x, y, m):
    r"""Mean squared error of the ``m``-feature trigonometric estimate of :math:`e^{x^\top y}`.

    Parameters
    ----------
    x, y : array_like, shape (..., d)
    m : int

    Returns
    -------
    numpy.ndarray, shape (...)

    Notes
    -----
    Choromanski et al. (2021), Lemma 2:

    .. math:: \mathrm{MSE}^{\mathrm{trig}}_m = \frac{1}{2m} e^{\|x+y\|^2}
              \mathrm{SM}^{-2}(x, y) \big(1 - e^{-\|x-y\|^2}\big)^2
              = \frac{1}{2m} e^{\|x\|^2 + \|y\|^2} \big(1 - e^{-a}\big)^2,

    since :math:`\mathrm{Var} \cos\theta = \tfrac12 (1 - e^{-a})^2` for
    :math:`\theta \sim \mathcal N(0, a)`. It grows without bound as
    :math:`\mathrm{SM} \to 0`, unlike :func:`positive_features_mse`.

    Examples
    --------
    >>> from refimpl.features import trig_features_mse
    >>> float(trig_features_mse([1.0], [1.0], 2))
    0.0
    """
    a, _, sq, _, m = _pair(x, y, m)
    return np.exp(sq) * np.expm1(-a) ** 2 / (2 * m)


def hyperbolic_features_mse(x, y, m):
    r"""Mean squared error of the hyperbolic estimate (``m`` projections, ``2m`` features).

    Parameters
    ----------
    x, y : array_like, shape (..., d)
    m : int

    Returns
    -------
    numpy.ndarray, shape (...)

    Notes
    -----
    Choromanski et al. (2021), Lemma 2:

    .. math:: \mathrm{MSE}^{\mathrm{hyp}+}_m = \tfrac12 \big(1 - e^{-\|x+y\|^2}\big)\,
              \mathrm{MSE}^+_m,

    from :math:`\mathrm{Var}[\Lambda \cosh u] = \tfrac{\Lambda^2}{2} (e^{b} - 1)^2` for
    :math:`u \sim \mathcal N(0, b)`; always below the positive estimator's MSE.

    Examples
    --------
    >>> from refimpl.features import hyperbolic_features_mse
    >>> float(hyperbolic_features_mse([0.0], [0.0], 1))
    0.0
    """
    _, b, _, xy, m = _pair(x, y, m)
    return -0.5 * np.expm1(-b) * np.exp(2 * xy) * np.expm1(b) / m


def fourier_features_mse(x, y, m):
    r"""Variance of the ``m``-feature Fourier estimate of :math:`e^{-\|x-y\|^2/2}`.

    Parameters
    ----------
    x, y : array_like, shape (..., d)
    m : int

    Returns
    -------
    numpy.ndarray, shape (...)

    Notes
    -----
    .. math:: \mathrm{MSE}^{\mathrm{RFF}}_m = \frac{1}{2m}\big(1 - e^{-\|x-y\|^2}\big)^2,

    from :math:`\mathbb E \cos^2\theta = (1 + e^{-2a})/2` (the estimate is unbiased, so
    its MSE is its variance). It vanishes as :math:`x \to y` and tends to
    :math:`1/(2m)` far apart. Rahimi and Recht (2007); derived in the spec, Sec. 6.

    Examples
    --------
    >>> from refimpl.features import fourier_features_mse
    >>> float(fourier_features_mse([0.0], [0.0], 5))
    0.0
    """
    a, _, _, _, m = _pair(x, y, m)
    return np.expm1(-a) ** 2 / (2 * m)


def orthogonal_positive_features_mse_bound(x, y, m):
    r"""Upper bound on the MSE of the positive estimate with orthogonal projections.

    Parameters
    ----------
    x, y : array_like, shape (..., d)
    m : int
        Number of projections, drawn by :func:`gaussian_omega` with ``orthogonal=True``
        (blocks of ``d``).

    Returns
    -------
    numpy.ndarray, shape (...)

    Notes
    -----
    Choromanski et al. (2021), Theorem 2, for one block of :math:`k \le d` orthogonal
    rows:

    .. math:: \mathrm{MSE}(\widehat{\mathrm{SM}}^{\mathrm{ort}+}_k) \le
              \mathrm{MSE}^+_k - \frac{2(k-1)}{k(d+2)}
              \Big(\mathrm{SM}(x, y) - e^{-(\|x\|^2 + \|y\|^2)/2}\Big)^2 .

    For ``m > d`` the blocks are independent and the estimate is their size-weighted
    mean, so [derived] :math:`\mathrm{MSE} \le \sum_b k_b^2\, B(k_b) / m^2` with
    :math:`B(k)` the one-block bound above.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.features import orthogonal_positive_features_mse_bound, positive_features_mse
    >>> x, y = np.array([0.3, 0.1, 0.0]), np.array([0.2, -0.1, 0.2])
    >>> bool(orthogonal_positive_features_mse_bound(x, y, 3) < positive_features_mse(x, y, 3))
    True
    """
    _, b, sq, xy, m = _pair(x, y, m)
    d = np.shape(x)[-1]
    sizes = [d] * (m // d) + ([m % d] if m % d else [])
    sm = np.exp(xy)
    gap = (sm - np.exp(-0.5 * sq)) ** 2
    total = 0.0
    for k in sizes:
        one_block = sm**2 * np.expm1(b) / k - 2.0 * (k - 1) / (k * (d + 2)) * gap
        total = total + k * k * one_block
    return total / m**2
