"""Elementwise comparison by the tolerance policy, and ``assert_close``.

The tolerance itself is computed by :func:`refimpl.tolerances.harness_tolerance` (the one
place where tolerances live); this module measures the errors and describes the worst.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import tolerances

__all__ = ["Mismatch", "assert_close", "measure", "mismatch"]


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """Where ``actual`` leaves its tolerance, and by how much.

    Attributes
    ----------
    index : tuple of int
        The element with the largest ``|error| / tolerance``.
    got, want : float
        ``actual`` and ``desired`` there.
    abs_error, rel_error, ulp_error : float
        ``|got - want|``, that over ``|want|``, and that in units of the spacing of
        ``want`` in the target dtype.
    tolerance : float
        The tolerance there.
    n_failed, n_total : int
        Elements out of tolerance (non-finite ones included) and all elements.
    """

    index: tuple
    got: float
    want: float
    abs_error: float
    rel_error: float
    ulp_error: float
    tolerance: float
    n_failed: int
    n_total: int

    @property
    def ratio(self) -> float:
        """``abs_error / tolerance`` at the worst element (inf for a zero tolerance)."""
        if self.tolerance > 0:
            return self.abs_error / self.tolerance
        return 0.0 if self.abs_error == 0 else float("inf")

    def describe(self, name: str = "out") -> str:
        where = f"{name}[{', '.join(map(str, self.index))}]" if self.index else name
        share = 100.0 * self.n_failed / max(self.n_total, 1)
        return (f"{where} = {self.got!r}, but should be {self.want!r}: |error| "
                f"{self.abs_error:.3e} > tolerance {self.tolerance:.3e} (relative "
                f"{self.rel_error:.3e}, {self.ulp_error:.3g} ulp); {self.n_failed} of "
                f"{self.n_total} elements ({share:.3g}%) out of tolerance")


def mismatch(actual, desired, tol, *, dtype="float64") -> Mismatch | None:
    """The worst element of ``actual`` outside ``|actual - desired| <= tol``, or None.

    Shapes must already agree. A non-finite ``actual`` where ``desired`` is finite is an
    infinite error.
    """
    found = measure(actual, desired, tol, dtype=dtype)
    return found if found.n_failed else None


def measure(actual, desired, tol, *, dtype="float64") -> Mismatch:
    """The element of ``actual`` with the largest ``|actual - desired| / tol``, failing or
    not (``n_failed`` counts the elements beyond ``tol``); shapes must already agree."""
    a = np.asarray(actual, dtype=np.float64)
    d = np.asarray(desired, dtype=np.float64)
    tol = np.broadcast_to(np.asarray(tol, dtype=np.float64), d.shape)
    with np.errstate(invalid="ignore", over="ignore"):
        # equal values (equal infinities included) agree; any other non-finite result is
        # infinitely wrong
        same = (a == d) | (np.isnan(a) & np.isnan(d))
        diff = np.where(same, 0.0, np.where(np.isfinite(a), np.abs(a - d), np.inf))
    bad = ~(diff <= tol)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(tol > 0, diff / tol, np.where(diff > 0, np.inf, 0.0))
    ratio = np.nan_to_num(ratio, nan=np.inf, posinf=np.inf)
    if d.size == 0:
        return Mismatch((), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0)
    worst = np.unravel_index(int(np.argmax(ratio)), d.shape) if d.ndim else ()
    got, want, err = float(a[worst]), float(d[worst]), float(diff[worst])
    spacing = tolerances.dtype_spacing(want, dtype) if not math.isnan(want) else math.nan
    return Mismatch(
        index=tuple(int(i) for i in worst), got=got, want=want, abs_error=err,
        rel_error=err / abs(want) if want else (0.0 if err == 0 else float("inf")),
        ulp_error=err / spacing if spacing else float("inf"),
        tolerance=float(tol[worst]), n_failed=int(bad.sum()), n_total=int(d.size),
    )


def assert_close(actual, desired, *, rtol=None, atol=None, bound=None, baseline=None,
                 dtype=None, context=""):
    r"""Assert that ``actual`` matches ``desired`` by refimpl's tolerance policy.

    Parameters
    ----------
    actual : array_like
        The result under test.
    desired : array_like
        The reference: refimpl's float64 result on the same (already rounded) inputs.
    rtol, atol : float, optional
        Explicit tolerances, ``|actual - desired| <= atol + rtol |desired|``; they
        override the policy.
    bound : array_like, optional
        The operation's float64 error bound (a function of :mod:`refimpl.tolerances`,
        e.g. :func:`~refimpl.tolerances.softmax_attention_bound`). For float64 the
        tolerance is twice it (POLICY ``harness_float64``: both sides may err by it).
    baseline : array_like, optional
        The same computation done naively at the precision of ``actual``; below float64
        the baseline rule applies (POLICY ``harness_baseline``).
    dtype : dtype, optional
        The precision of the code under test; default the dtype of ``actual`` if it is a
        floating array, else float64.
    context : str
        The call, shown first in the message (e.g. ``"softmax_attention(q: (2, 3), ...)"``).

    Raises
    ------
    AssertionError
        With the call, the shapes, the worst index, ``got`` and ``want``, the absolute,
        relative and ULP errors, the tolerance there, and how many elements failed.

    Notes
    -----
    Without ``bound``, ``baseline``, ``rtol`` or ``atol`` the tolerance is the static floor
    ``16 eps max|desired|`` of the dtype (POLICY ``harness_default``), never stricter than
    :func:`torch.testing.assert_close` below float64. The policy and its derivation:
    ``docs/tolerances.md``.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.testing import assert_close
    >>> assert_close(np.float32([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    >>> try:
    ...     assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.5]), context="f(x: (2,))")
    ... except AssertionError as e:
    ...     print(e)
    f(x: (2,))
    out[1] = 2.0, but should be 2.5: |error| 5.000e-01 > tolerance 8.882e-15
    (relative 2.000e-01, 1.13e+15 ulp); 1 of 2 elements (50%) out of tolerance
    (shape (2,), dtype float64)
    """
    __tracebackhide__ = True
    for label, value in (("rtol", rtol), ("atol", atol)):
        if value is not None and (isinstance(value, bool) or not isinstance(
                value, (int, float, np.integer, np.floating)) or not 0 <= value < math.inf):
            raise ValueError(f"{label} must be a finite number >= 0, got {value!r}")
    a, d = np.asarray(actual), np.asarray(desired, dtype=np.float64)
    if dtype is None:
        dtype = a.dtype if a.dtype.kind == "f" else np.float64
    head = context or "assert_close"
    if a.shape != d.shape:
        raise AssertionError(f"{head}\nshape {a.shape}, but should be {d.shape}")
    if a.dtype.kind not in "biuf":
        raise AssertionError(f"{head}\ndtype {a.dtype}, but should be a real number type")
    # a non-finite desired entry must be matched exactly (inf by the same inf, NaN by NaN);
    # it sets no scale for the tolerance of the others
    finite = np.isfinite(d)
    scale_d = np.where(finite, d, 0.0)
    tol = tolerances.harness_tolerance(scale_d, dtype=dtype, bound=bound, baseline=baseline,
                                       rtol=rtol, atol=atol)
    tol = np.where(finite, tol, 0.0)
    found = mismatch(a, d, tol, dtype=dtype)
    if found is not None:
        raise AssertionError(f"{head}\n{found.describe()}\n(shape {d.shape}, dtype "
                             f"{np.dtype(dtype).name})")
