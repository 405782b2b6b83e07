"""Argument validation shared by every public function.

Every public function of refimpl checks its arguments through this module, so that
messages read alike: they name the argument, say what was expected and what came.

The rules (see ``CONTRACT.md``, "Conventions for every function"):

* arrays are converted with ``np.asarray(x, dtype=np.float64)``; complex, object,
  string and other non-real inputs are a :class:`TypeError`;
* NaN and infinity are a :class:`ValueError` naming the first offending index;
* empty arrays and wrong numbers of dimensions are a :class:`ValueError`;
* ``rng`` is normalised with :func:`numpy.random.default_rng` (a Generator, an int
  seed or None), as SciPy does.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

__all__ = [
    "as_float_array",
    "as_mask_array",
    "as_rng",
    "batch_shape",
    "bool_flag",
    "check_finite",
    "check_finite_result",
    "choice",
    "check_trailing",
    "nonnegative_int",
    "positive_int",
    "real_scalar",
]


def _describe(x) -> str:
    """A short description of ``x`` for error messages."""
    if isinstance(x, np.ndarray):
        return f"array of shape {x.shape} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}" if np.isscalar(x) else type(x).__name__


def check_finite(a: np.ndarray, name: str) -> np.ndarray:
    """Raise ``ValueError`` naming the first NaN or infinite entry of ``a``."""
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        where = tuple(int(i) for i in bad)
        value = a[where] if a.ndim else a
        raise ValueError(
            f"{name} must be finite; found {value} at index {where} "
            f"of an array of shape {a.shape}"
        )
    return a


def check_finite_result(a, what: str, *, cause: str):
    """Refuse a non-finite result computed from finite input: an overflow.

    refimpl never returns a silent infinity or NaN. When a result computed from finite,
    valid arguments overflows float64 (or becomes NaN through ``inf - inf``), this raises a
    :class:`ValueError` that says which result overflowed and which argument to reduce
    (``cause``, e.g. ``"lam * max|W| = 2000 is beyond log(float max) = 709.78"``).
    Returns ``a`` unchanged when it is finite.
    """
    arr = np.asarray(a)
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))
        where = tuple(int(i) for i in bad[0]) if arr.ndim else ()
        value = arr[where] if arr.ndim else arr
        raise ValueError(
            f"{what} is not representable in float64 ({value} at index {where}); {cause}"
        )
    return a


def bool_flag(x, name: str) -> bool:
    """Return ``x`` as a Python bool, refusing anything but ``True``/``False``.

    ``'no'``, ``0`` or ``None`` are a :class:`TypeError`: a truthy string silently
    switching a flag on is the kind of mistake this catches.
    """
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    raise TypeError(f"{name} must be True or False; got {_describe(x)}")


def choice(x, name: str, options) -> str:
    """Return ``x`` if it is one of the strings ``options``; else a clear error."""
    options = tuple(options)
    if not isinstance(x, str):
        raise TypeError(f"{name} must be one of {options}; got {_describe(x)}")
    if x not in options:
        raise ValueError(f"{name} must be one of {options}; got {x!r}")
    return x


def _to_float64(x, name: str, *, allow_bool: bool) -> np.ndarray:
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a real array-like; got {_describe(x)}")
    try:
        raw = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} must be a rectangular real array; {exc}") from None
    kind = raw.dtype.kind
    if kind == "b" and not allow_bool:
        raise TypeError(f"{name} must be a real floating or integer array; got dtype bool")
    if kind not in "biuf":
        raise TypeError(
            f"{name} must be a real floating or integer array; got {_describe(raw)}"
        )
    return raw.astype(np.float64, copy=False)


def as_float_array(
    x,
    name: str,
    *,
    ndim: int | None = None,
    min_ndim: int = 0,
    allow_empty: bool = False,
) -> np.ndarray:
    """Convert ``x`` to a finite float64 array and check its number of dimensions.

    Parameters
    ----------
    x : array_like
        The argument.
    name : str
        The argument's name, used in error messages.
    ndim : int, optional
        Exact number of dimensions required.
    min_ndim : int
        Minimum number of dimensions (for arrays with leading batch dimensions).
    allow_empty : bool
        Whether an array with a zero-length axis is acceptable.

    Returns
    -------
    numpy.ndarray
        A float64 array (a view of ``x`` when no conversion was needed).

    Raises
    ------
    TypeError
        For complex, object or string input (booleans become 0 and 1, as
        ``np.asarray(x, dtype=np.float64)`` makes them).
    ValueError
        For a wrong number of dimensions, an empty array, NaN or infinity.
    """
    a = _to_float64(x, name, allow_bool=True)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional; got shape {a.shape}")
    if a.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions; got shape {a.shape}"
        )
    if not allow_empty and a.size == 0:
        raise ValueError(f"{name} must be non-empty; got shape {a.shape}")
    return check_finite(a, name)


def as_mask_array(x, name: str, *, min_ndim: int = 2, nonnegative: bool = True) -> np.ndarray:
    """Convert a multiplicative mask (booleans or real weights) to float64.

    Booleans become 0/1. NaN and infinity are a ``ValueError``, and so are negative
    entries when ``nonnegative`` (the default).
    """
    a = _to_float64(x, name, allow_bool=True)
    if a.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions (..., L, S); got shape {a.shape}"
        )
    if a.size == 0:
        raise ValueError(f"{name} must be non-empty; got shape {a.shape}")
    check_finite(a, name)
    if nonnegative and np.any(a < 0):
        where = tuple(int(i) for i in np.argwhere(a < 0)[0])
        raise ValueError(
            f"{name} must be nonnegative (a multiplicative mask); found {a[where]} at index {where}"
        )
    return a


def check_trailing(a: np.ndarray, name: str, expected: tuple[int, ...], *,
                   broadcast: bool = False, what: str = "") -> None:
    """Check the trailing dimensions of ``a`` against ``expected``.

    With ``broadcast=True`` a trailing dimension of size 1 also matches (NumPy rules).
    """
    core = a.shape[a.ndim - len(expected):] if a.ndim >= len(expected) else a.shape
    ok = len(core) == len(expected) and all(
        c == e or (broadcast and c == 1) for c, e in zip(core, expected)
    )
    if not ok:
        rule = " (or 1, to broadcast)" if broadcast else ""
        hint = f" {what}" if what else ""
        raise ValueError(
            f"{name} must have trailing dimensions {expected}{rule}{hint}; got shape {a.shape}"
        )


def batch_shape(name_shapes: dict[str, tuple[int, ...]]) -> tuple[int, ...]:
    """Broadcast the leading (batch) shapes of several arguments, by NumPy rules.

    ``name_shapes`` maps each argument name to its batch shape (the shape without its
    trailing core dimensions). Incompatible batch shapes are a ``ValueError``.
    """
    try:
        return np.broadcast_shapes(*name_shapes.values())
    except ValueError:
        listed = ", ".join(f"{n} {s}" for n, s in name_shapes.items())
        raise ValueError(
            f"batch dimensions do not broadcast by NumPy rules: {listed}"
        ) from None


def _as_int(n, name: str) -> int:
    if isinstance(n, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer; got {_describe(n)}")
    try:
        return operator.index(n)
    except TypeError:
        raise TypeError(f"{name} must be an integer; got {_describe(n)}") from None


def positive_int(n, name: str) -> int:
    """Return ``n`` as an int, requiring ``n >= 1``."""
    n = _as_int(n, name)
    if n < 1:
        raise ValueError(f"{name} must be a positive integer; got {n}")
    return n


def nonnegative_int(n, name: str) -> int:
    """Return ``n`` as an int, requiring ``n >= 0``."""
    n = _as_int(n, name)
    if n < 0:
        raise ValueError(f"{name} must be a nonnegative integer; got {n}")
    return n


def real_scalar(x, name: str, *, low: float | None = None, high: float | None = None,
                low_open: bool = False) -> float:
    """Return a finite real scalar as float, optionally within ``[low, high]``.

    ``low_open=True`` makes the lower bound strict.
    """
    if isinstance(x, (bool, np.bool_, str, bytes)) or np.ndim(x) != 0:
        raise TypeError(f"{name} must be a real number; got {_describe(x)}")
    if np.asarray(x).dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real number; got {_describe(x)}")
    value = float(x)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    if low is not None and (value <= low if low_open else value < low):
        bound = ">" if low_open else ">="
        raise ValueError(f"{name} must be {bound} {low}; got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}; got {value}")
    return value


def as_rng(rng) -> np.random.Generator:
    """Normalise ``rng`` (a Generator, an int seed or None) to a Generator.

    A ``numpy.random.RandomState`` or the legacy global state is refused, so that no
    function depends on global state.
    """
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None; got {rng!r}")
    if isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(rng, numbers.Integral) and rng < 0:
            raise ValueError(f"rng seed must be a nonnegative integer; got {rng}")
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng must be a numpy.random.Generator, an int seed or None; got {_describe(rng)}"
    )
