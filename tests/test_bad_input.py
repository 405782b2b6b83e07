"""Bad input for every public function of issue 3: each is refused loudly and by name.

The contract (``CONTRACT.md``, "Conventions for every function") asks that a wrong
shape, NaN or infinity, an empty array, a zero or negative size, or a value out of range
is a ``ValueError``, and a wrong type (complex, string, object, ``None`` for an array,
``bool`` for an int) a ``TypeError``, whose message *names the argument*. The tables below
hold one row per bad input: (callable, keyword arguments, exception class, regex). The
regex checks that the message names the argument (``q``, ``mask``, ``gamma``, ``row 2``)
and, where it is cheap to say, the offending shape or value.

Three further rules are checked on every row:

* no silent NaN path: a call that returns instead of raising fails the test, and the
  failure says whether the result held NaN or infinity;
* the documented exception comes without floating-point ``RuntimeWarning`` s first (the
  project turns warnings into errors, which would otherwise replace the ``ValueError``);
* positive controls: the same calls with the bad entry fixed return finite float64
  arrays of the documented shape, so a function that raised on everything would fail.

Where the exact result of finite input overflows an intermediate (features of size
``1e200``, values of size ``1e308``), refusing with a ``ValueError`` naming the argument
and returning the finite answer are both accepted; NaN or infinity is not.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from scipy.sparse.linalg import aslinearoperator

from refimpl._validate import as_rng
from refimpl.attention import kernel_attention, masked_linear_attention, softmax_attention
from refimpl.masks import CausalMask, GridRPEMask, RippleMask, ToeplitzMask, stick_breaking

# -- shared valid inputs ---------------------------------------------------------------------

L, S, D, DV = 4, 5, 3, 2
_GEN = np.random.default_rng(20220717)
Q = _GEN.standard_normal((L, D))
K = _GEN.standard_normal((S, D))
V = _GEN.standard_normal((S, DV))
BIAS = _GEN.standard_normal((L, S))
MASK = np.where(np.arange(L * S).reshape(L, S) % 3 == 0, 0.5, 1.0)  # positive weights
PHI_Q = np.abs(Q) + 0.5  # positive features: every normaliser is positive
PHI_K = np.abs(K) + 0.5

SOFTMAX = {"q": Q, "k": K, "v": V, "bias": BIAS, "mask": MASK}
KERNEL = {"phi_q": PHI_Q, "phi_k": PHI_K, "v": V, "mask": MASK}
LINEAR = {"phi_q": PHI_Q, "phi_k": PHI_K, "v": V, "mask": MASK}


def _f1(t):
    """A valid 1-D offset function: 0.5^|t|."""
    return 0.5 ** np.abs(t)


def _grid_f(t):
    """A valid grid offset function: 0.5^(l1 norm of the offset)."""
    return 0.5 ** np.abs(t).sum(axis=-1)


def _toeplitz_rect():
    """A (L, S) = (4, 5) Toeplitz operator, so that L != S catches transposed shapes."""
    return ToeplitzMask([1.0, 0.5, 0.25, 0.125], [1.0, 0.8, 0.6, 0.4, 0.2])


def _square_masks():
    """One mask of each family with L = 4 tokens."""
    return {
        "toeplitz": ToeplitzMask([1.0, 0.5, 0.25, 0.125]),
        "causal": CausalMask(4, gamma=0.5),
        "grid": GridRPEMask((2, 2), _grid_f),
        "ripple": RippleMask((2, 2), [1.0, 0.5]),
    }


def _with(a, index, value):
    """A float copy of ``a`` with one entry replaced."""
    b = np.array(a, dtype=np.float64)
    b[index] = value
    return b


def _operator(matrix):
    """A plain scipy LinearOperator (no ``toarray``) wrapping ``matrix``."""
    return aslinearoperator(np.asarray(matrix))


def matmul(mask, X):
    """``mask @ X``, the mask product under test."""
    return mask @ X


def dense_of(factory, **kwargs):
    """Build a mask and return its dense oracle (for positive controls)."""
    return factory(**kwargs).toarray()


# -- the checks ----------------------------------------------------------------------------

def _describe(result) -> str:
    if isinstance(result, np.ndarray):
        flags = []
        if result.dtype.kind in "fc" and np.any(np.isnan(result)):
            flags.append("NaN: a silent NaN path")
        if result.dtype.kind in "fc" and np.any(np.isinf(result)):
            flags.append("infinity")
        held = f" holding {' and '.join(flags)}" if flags else ""
        return f"an array of shape {result.shape} and dtype {result.dtype}{held}"
    return f"{type(result).__name__} {result!r}"


def _must_raise(func, kwargs):
    """Call ``func``; returning at all fails the test (pytest.fail is not an Exception)."""
    result = func(**kwargs)
    pytest.fail(
        f"{getattr(func, '__qualname__', func)} returned {_describe(result)} "
        "instead of raising",
        pytrace=False,
    )


def _runtime_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


def _bad(func, exc, match, id, /, **kwargs):
    return pytest.param(func, kwargs, exc, match, id=id)


def _good(func, out_shape, id, /, **kwargs):
    return pytest.param(func, kwargs, out_shape, id=id)


# -- generic row generators ------------------------------------------------------------------

_NONFINITE = (("nan", np.nan, "nan"), ("inf", np.inf, "inf"), ("-inf", -np.inf, "-inf"))


def _nonfinite_rows(prefix, func, base, names):
    """NaN, +inf and -inf in the middle entry of each named array argument."""
    for name in names:
        arr = np.asarray(base[name])
        middle = tuple(n // 2 for n in arr.shape)
        for label, value, shown in _NONFINITE:
            kwargs = {**base, name: _with(arr, middle, value)}
            yield _bad(func, ValueError, rf"\b{name}\b.*{shown}", f"{prefix}-{name}-{label}",
                       **kwargs)


def _type_rows(prefix, func, base, names, *, optional=()):
    """Complex, string, string-array, object-array and (for required ones) None inputs."""
    for name in names:
        arr = np.asarray(base[name], dtype=np.float64)
        bad = {
            "complex": arr + 1j,
            "str": "abc",
            "str-array": arr.astype(str),
            "object-array": arr.astype(object),
        }
        if name not in optional:
            bad["None"] = None
        for label, value in bad.items():
            yield _bad(func, TypeError, rf"\b{name}\b", f"{prefix}-{name}-{label}",
                       **{**base, name: value})


# -- softmax_attention -----------------------------------------------------------------------

def _softmax_rows():
    f, base = softmax_attention, SOFTMAX
    qkv = {"q": Q, "k": K, "v": V}
    sq = {"q": Q, "k": K[:L], "v": V[:L]}  # square, for causal
    row2_off = _with(MASK, (2, slice(None)), 0.0)
    yield from [
        # shapes
        _bad(f, ValueError, r"\bq\b.*\(3,\)", "softmax-q-1d", **{**base, "q": Q[0]}),
        _bad(f, ValueError, r"\bq\b", "softmax-q-scalar", **{**base, "q": 1.0}),
        _bad(f, ValueError, r"\bk\b.*\(3,\)", "softmax-k-1d", **{**base, "k": K[0]}),
        _bad(f, ValueError, r"\bv\b.*\(5,\)", "softmax-v-1d", **{**base, "v": V[:, 0]}),
        _bad(f, ValueError, r"\bk\b.*\(5, 2\)", "softmax-d-mismatch",
             **{**base, "k": K[:, :2]}),
        _bad(f, ValueError, r"\bv\b.*\(4, 2\)", "softmax-S-mismatch-k-v",
             **{**base, "v": V[:4]}),
        _bad(f, ValueError, r"\bq\b.*\bk\b", "softmax-batch-not-broadcastable",
             q=np.stack([Q, Q]), k=np.stack([K, K, K]), v=V),
        _bad(f, ValueError, r"\bbias\b.*\(5, 4\)", "softmax-bias-trailing-transposed",
             **{**base, "bias": BIAS.T}),
        _bad(f, ValueError, r"\bbias\b.*\(5,\)", "softmax-bias-1d",
             **{**base, "bias": BIAS[0]}),
        _bad(f, ValueError, r"\bmask\b.*\(4, 6\)", "softmax-mask-trailing",
             **{**base, "mask": np.ones((L, S + 1))}),
        _bad(f, ValueError, r"\bmask\b.*\(5,\)", "softmax-mask-1d",
             **{**base, "mask": MASK[0]}),
        _bad(f, ValueError, r"\bbias\b", "softmax-bias-batch-not-broadcastable",
             **{**qkv, "q": np.stack([Q, Q]), "bias": np.stack([BIAS] * 3)}),
        _bad(f, ValueError, r"\bmask\b", "softmax-mask-batch-not-broadcastable",
             **{**qkv, "q": np.stack([Q, Q]), "mask": np.stack([MASK] * 3)}),
        _bad(f, ValueError, r"\bq\b", "softmax-q-ragged", **{**qkv, "q": [[1.0, 2.0, 3.0], [1.0]]}),
        _bad(f, ValueError, r"\bcausal\b.*L=4.*S=5", "softmax-causal-L-ne-S",
             **qkv, causal=True),
        # empty arrays (size-0 axes)
        _bad(f, ValueError, r"\bq\b.*\(0, 3\)", "softmax-q-L0", **{**qkv, "q": np.zeros((0, D))}),
        _bad(f, ValueError, r"\bk\b.*\(0, 3\)", "softmax-k-S0", **{**qkv, "k": np.zeros((0, D))}),
        _bad(f, ValueError, r"\bq\b.*\(4, 0\)", "softmax-d0",
             q=np.zeros((L, 0)), k=np.zeros((S, 0)), v=V),
        _bad(f, ValueError, r"\bv\b.*\(5, 0\)", "softmax-dv0", **{**qkv, "v": np.zeros((S, 0))}),
        _bad(f, ValueError, r"\bq\b.*\(0, 4, 3\)", "softmax-batch0",
             **{**qkv, "q": np.zeros((0, L, D))}),
        _bad(f, ValueError, r"\bbias\b.*\(0, 4, 5\)", "softmax-bias-empty",
             **{**qkv, "bias": np.zeros((0, L, S))}),
        _bad(f, ValueError, r"\bmask\b.*\(0, 4, 5\)", "softmax-mask-empty",
             **{**qkv, "mask": np.ones((0, L, S))}),
        # scale
        _bad(f, ValueError, r"\bscale\b.*nan", "softmax-scale-nan", **qkv, scale=np.nan),
        _bad(f, ValueError, r"\bscale\b.*inf", "softmax-scale-inf", **qkv, scale=np.inf),
        _bad(f, TypeError, r"\bscale\b", "softmax-scale-complex", **qkv, scale=1j),
        _bad(f, TypeError, r"\bscale\b", "softmax-scale-str", **qkv, scale="1"),
        _bad(f, TypeError, r"\bscale\b", "softmax-scale-bool", **qkv, scale=True),
        _bad(f, TypeError, r"\bscale\b", "softmax-scale-array", **qkv, scale=np.array([1.0])),
        # causal is a bool flag
        _bad(f, TypeError, r"\bcausal\b", "softmax-causal-str", **sq, causal="no"),
        _bad(f, TypeError, r"\bcausal\b", "softmax-causal-array", **sq,
             causal=np.array([True, False])),
        # negative masks
        _bad(f, ValueError, r"\bmask\b.*-0\.5", "softmax-mask-negative",
             **{**base, "mask": _with(MASK, (1, 2), -0.5)}),
        _bad(f, ValueError, r"\bmask\b", "softmax-mask-all-negative",
             **{**qkv, "mask": -np.ones((L, S))}),
        # fully masked rows
        _bad(f, ValueError, r"\brow 2\b", "softmax-mask-zero-row-2", **{**base, "mask": row2_off}),
        _bad(f, ValueError, r"\brow 2\b", "softmax-bool-mask-false-row-2",
             **{**qkv, "mask": row2_off > 0}),
        _bad(f, ValueError, r"\brow 2\b.*batch element \(1,\)", "softmax-batched-mask-zero-row",
             **{**qkv, "mask": np.stack([MASK, row2_off])}),
        _bad(f, ValueError, r"\brow 0\b", "softmax-causal-mask-kills-row-0",
             **sq, causal=True, mask=_with(np.ones((L, L)), (0, 0), 0.0)),
        _bad(f, ValueError, r"\brow 3\b", "softmax-causal-mask-kills-row-3",
             **sq, causal=True, mask=np.triu(np.ones((L, L)), 1) + np.diag([1.0, 1.0, 1.0, 0.0])),
        # logits that overflow float64
        _bad(f, ValueError, r"(?s)overflow.*\bq\b", "softmax-q-1e200-logits-overflow",
             q=np.full((L, D), 1e200), k=np.full((S, D), 1e200), v=V),
        _bad(f, ValueError, r"(?s)overflow.*\bq\b", "softmax-q-minus-1e200-logits-to-minus-inf",
             q=np.full((L, D), -1e200), k=np.full((S, D), 1e200), v=V),
        _bad(f, ValueError, r"\bscale\b", "softmax-scale-1e308-overflow",
             q=np.ones((L, D)), k=np.ones((S, D)), v=V, scale=1e308),
        _bad(f, ValueError, r"\bbias\b", "softmax-bias-plus-logits-overflow",
             q=np.ones((L, 1)), k=np.ones((S, 1)), v=V, scale=1.7e308,
             bias=np.full((L, S), 1.7e308)),
    ]
    yield from _nonfinite_rows("softmax", f, base, ["q", "k", "v", "bias", "mask"])
    yield from _type_rows("softmax", f, base, ["q", "k", "v", "bias", "mask"],
                          optional=("bias", "mask"))


# -- kernel_attention and masked_linear_attention ---------------------------------------------

def _linear_common_rows(prefix, f, *, mask_kw):
    """Rows shared by kernel_attention and masked_linear_attention."""
    feats = {"phi_q": PHI_Q, "phi_k": PHI_K, "v": V}

    def call(**kw):
        return {**feats, **kw} if "mask" in kw or not mask_kw else {**feats, "mask": MASK, **kw}

    row1_off = _with(MASK, (1, slice(None)), 0.0)
    yield from [
        _bad(f, ValueError, r"\bphi_q\b.*\(3,\)", f"{prefix}-phi_q-1d", **call(phi_q=PHI_Q[0])),
        _bad(f, ValueError, r"\bphi_k\b.*\(3,\)", f"{prefix}-phi_k-1d", **call(phi_k=PHI_K[0])),
        _bad(f, ValueError, r"\bv\b.*\(5,\)", f"{prefix}-v-1d", **call(v=V[:, 0])),
        _bad(f, ValueError, r"\bphi_k\b.*\(5, 2\)", f"{prefix}-m-mismatch",
             **call(phi_k=PHI_K[:, :2])),
        _bad(f, ValueError, r"\bv\b.*\(4, 2\)", f"{prefix}-S-mismatch-phi_k-v", **call(v=V[:4])),
        _bad(f, ValueError, r"\bphi_q\b.*\bphi_k\b", f"{prefix}-batch-not-broadcastable",
             **call(phi_q=np.stack([PHI_Q] * 2), phi_k=np.stack([PHI_K] * 3))),
        _bad(f, ValueError, r"\bmask\b.*\(4, 6\)", f"{prefix}-mask-trailing",
             **call(mask=np.ones((L, S + 1)))),
        _bad(f, ValueError, r"\bmask\b.*\(5, 4\)", f"{prefix}-mask-transposed",
             **call(mask=MASK.T)),
        _bad(f, ValueError, r"\bmask\b.*\(5,\)", f"{prefix}-mask-1d", **call(mask=MASK[0])),
        _bad(f, ValueError, r"\bmask\b", f"{prefix}-mask-batch-not-broadcastable",
             **call(phi_q=np.stack([PHI_Q] * 2), mask=np.stack([MASK] * 3))),
        _bad(f, ValueError, r"\bmask\b.*\(5, 5\)", f"{prefix}-mask-operator-wrong-shape",
             **call(mask=CausalMask(S))),
        _bad(f, ValueError, r"\bmask\b.*\(0, 4, 5\)", f"{prefix}-mask-empty",
             **call(mask=np.ones((0, L, S)))),
        _bad(f, ValueError, r"\bphi_q\b.*\(0, 3\)", f"{prefix}-phi_q-L0",
             **call(phi_q=np.zeros((0, D)))),
        _bad(f, ValueError, r"\bphi_k\b.*\(0, 3\)", f"{prefix}-phi_k-S0",
             **call(phi_k=np.zeros((0, D)))),
        _bad(f, ValueError, r"\bphi_q\b.*\(4, 0\)", f"{prefix}-m0",
             **call(phi_q=np.zeros((L, 0)), phi_k=np.zeros((S, 0)))),
        _bad(f, ValueError, r"\bv\b.*\(5, 0\)", f"{prefix}-dv0", **call(v=np.zeros((S, 0)))),
        _bad(f, ValueError, r"\bmask\b", f"{prefix}-mask-operator-nan",
             **call(mask=_operator(np.full((L, S), np.nan)))),
        _bad(f, ValueError, r"\bmask\b", f"{prefix}-mask-operator-inf",
             **call(mask=_operator(_with(np.ones((L, S)), (0, 0), np.inf)))),
        _bad(f, TypeError, r"\bmask\b", f"{prefix}-mask-operator-complex",
             **call(mask=_operator(np.ones((L, S)) * (1 + 1j)))),
        # zero normaliser rows
        _bad(f, ValueError, r"\brow 2\b", f"{prefix}-phi_q-zero-row-2",
             **call(phi_q=_with(PHI_Q, (2, slice(None)), 0.0))),
        _bad(f, ValueError, r"\brow 1\b", f"{prefix}-mask-zero-row-1", **call(mask=row1_off)),
        _bad(f, ValueError, r"\brow 1\b.*batch element \(1,\)", f"{prefix}-batched-mask-zero-row",
             **call(mask=np.stack([MASK, row1_off]))),
        _bad(f, ValueError, r"\brow 0\b", f"{prefix}-signed-features-cancel",
             phi_q=np.array([[1.0]]), phi_k=np.array([[1.0], [-1.0]]), v=np.array([[1.0], [2.0]]),
             **({"mask": np.ones((1, 2))} if mask_kw else {})),
    ]
    yield from _nonfinite_rows(prefix, f, {**feats, "mask": MASK}, ["phi_q", "phi_k", "v", "mask"])


def _kernel_rows():
    f = kernel_attention
    yield from _linear_common_rows("kernel", f, mask_kw=False)
    sq = {"phi_q": PHI_Q, "phi_k": PHI_K[:L], "v": V[:L]}
    yield from [
        _bad(f, ValueError, r"\bcausal\b.*L=4.*S=5", "kernel-causal-L-ne-S",
             phi_q=PHI_Q, phi_k=PHI_K, v=V, causal=True),
        _bad(f, ValueError, r"\brow 0\b", "kernel-causal-phi_k-zero-row-0",
             **{**sq, "phi_k": _with(PHI_K[:L], (0, slice(None)), 0.0)}, causal=True),
        _bad(f, TypeError, r"\bcausal\b", "kernel-causal-str", **sq, causal="no"),
        _bad(f, TypeError, r"\bcausal\b", "kernel-causal-array", **sq,
             causal=np.array([True, False])),
        _bad(f, TypeError, r"\bmask\b", "kernel-mask-str", **{**KERNEL, "mask": "abc"}),
        _bad(f, TypeError, r"\bmask\b", "kernel-mask-complex", **{**KERNEL, "mask": MASK * 1j}),
        _bad(f, TypeError, r"\bmask\b", "kernel-mask-object",
             **{**KERNEL, "mask": MASK.astype(object)}),
    ]
    yield from _type_rows("kernel", f, {"phi_q": PHI_Q, "phi_k": PHI_K, "v": V},
                          ["phi_q", "phi_k", "v"])


def _linear_rows():
    f = masked_linear_attention
    yield from _linear_common_rows("linear", f, mask_kw=True)
    sq = {"phi_q": PHI_Q, "phi_k": PHI_K[:L], "v": V[:L]}
    yield from [
        _bad(f, ValueError, r"\brow 0\b", "linear-causal-mask-phi_k-zero-row-0",
             **{**sq, "phi_k": _with(PHI_K[:L], (0, slice(None)), 0.0)}, mask=CausalMask(L)),
        _bad(f, ValueError, r"\brow 3\b", "linear-identity-mask-phi_k-zero-row-3",
             **{**sq, "phi_k": _with(PHI_K[:L], (3, slice(None)), 0.0)},
             mask=CausalMask(L, gamma=0.0)),
        _bad(f, ValueError, r"\bmask\b", "linear-mask-toeplitz-transposed",
             phi_q=PHI_Q, phi_k=PHI_K, v=V, mask=_toeplitz_rect().T),
    ]
    yield from _type_rows("linear", f, LINEAR, ["phi_q", "phi_k", "v", "mask"])


# -- masks --------------------------------------------------------------------------------------

def _f_nan_at_2(t):
    return np.where(t == 2, np.nan, 1.0)


def _f_nan_at_minus_2(t):
    return np.where(t == -2, np.nan, 1.0)


def _f_inf_at_0(t):
    return np.where(t == 0, np.inf, 1.0)


def _f_not_vectorised(t):
    return 1.0


def _f_complex(t):
    return t * 1j


def _f_str(t):
    return np.full(np.shape(t), "a")


def _f_none(t):
    return None


def _g_nan(t):
    return np.where(np.abs(t).sum(axis=-1) == 1, np.nan, 1.0)


def _g_inf(t):
    return np.where(np.abs(t).sum(axis=-1) == 0, np.inf, 1.0)


def _g_not_summed(t):
    return 0.5 ** np.abs(t)  # shape (..., k): forgot to reduce the offset axis


def _g_complex(t):
    return 1j * t.sum(axis=-1)


def _g_str(t):
    return np.full(t.shape[:-1], "a")


def _toeplitz_rows():
    T, ff = ToeplitzMask, ToeplitzMask.from_function
    c, r = np.array([1.0, 0.5, 0.25]), np.array([1.0, 2.0, 4.0, 8.0])
    yield from [
        _bad(T, ValueError, r"\bc\b.*\(2, 2\)", "toeplitz-c-2d", c=np.ones((2, 2))),
        _bad(T, ValueError, r"\bc\b.*\(\)", "toeplitz-c-scalar", c=1.0),
        _bad(T, ValueError, r"\bc\b.*\(0,\)", "toeplitz-c-empty", c=[]),
        _bad(T, ValueError, r"\br\b.*\(0,\)", "toeplitz-r-empty", c=c, r=[]),
        _bad(T, ValueError, r"\br\b.*\(2, 2\)", "toeplitz-r-2d", c=c, r=np.ones((2, 2))),
        _bad(T, TypeError, r"\br\b", "toeplitz-r-complex", c=c, r=r + 1j),
        _bad(T, TypeError, r"\br\b", "toeplitz-r-str", c=c, r="abc"),
        _bad(T, TypeError, r"\br\b", "toeplitz-r-object", c=c, r=r.astype(object)),
        # from_function: L and f
        _bad(ff, ValueError, r"\bL\b.*0", "from_function-L0", f=_f1, L=0),
        _bad(ff, ValueError, r"\bL\b.*-1", "from_function-L-1", f=_f1, L=-1),
        _bad(ff, TypeError, r"\bL\b", "from_function-L-bool", f=_f1, L=True),
        _bad(ff, TypeError, r"\bL\b", "from_function-L-float", f=_f1, L=3.0),
        _bad(ff, TypeError, r"\bL\b", "from_function-L-str", f=_f1, L="3"),
        _bad(ff, TypeError, r"\bL\b", "from_function-L-None", f=_f1, L=None),
        _bad(ff, TypeError, r"\bf\b", "from_function-f-not-callable", f=np.ones(3), L=3),
        _bad(ff, TypeError, r"\bf\b", "from_function-f-None", f=None, L=3),
        _bad(ff, ValueError, r"\bf\b.*nan", "from_function-f-nan-lower", f=_f_nan_at_2, L=3),
        _bad(ff, ValueError, r"\bf\b.*nan", "from_function-f-nan-upper", f=_f_nan_at_minus_2,
             L=3),
        _bad(ff, ValueError, r"\bf\b.*inf", "from_function-f-inf", f=_f_inf_at_0, L=3),
        _bad(ff, ValueError, r"\bf\b.*\(3,\)", "from_function-f-not-vectorised",
             f=_f_not_vectorised, L=3),
        _bad(ff, TypeError, r"\bf\b", "from_function-f-complex", f=_f_complex, L=3),
        _bad(ff, TypeError, r"\bf\b", "from_function-f-str", f=_f_str, L=3),
        _bad(ff, TypeError, r"\bf\b", "from_function-f-None-values", f=_f_none, L=3),
    ]
    yield from _nonfinite_rows("toeplitz", T, {"c": c, "r": r}, ["c", "r"])
    for label, value in {"complex": c + 1j, "str": "abc", "str-array": c.astype(str),
                         "object": c.astype(object), "None": None}.items():
        yield _bad(T, TypeError, r"\bc\b", f"toeplitz-c-{label}", c=value)


def _causal_rows():
    C = CausalMask
    for label, L_ in {"0": 0, "-1": -1}.items():
        yield _bad(C, ValueError, rf"\bL\b.*{L_}", f"causal-L{label}", L=L_)
    for label, L_ in {"bool": True, "float": 3.0, "str": "3", "None": None}.items():
        yield _bad(C, TypeError, r"\bL\b", f"causal-L-{label}", L=L_)
    for label, g in {"-0.1": -0.1, "1.5": 1.5, "1+1e-12": 1.0 + 1e-12, "nan": np.nan,
                     "inf": np.inf, "-inf": -np.inf}.items():
        yield _bad(C, ValueError, r"\bgamma\b", f"causal-gamma-{label}", L=4, gamma=g)
    for label, g in {"complex": 0.5j, "str": "0.5", "bool": True, "None": None,
                     "list": [0.5]}.items():
        yield _bad(C, TypeError, r"\bgamma\b", f"causal-gamma-{label}", L=4, gamma=g)


def _grid_rows():
    G = GridRPEMask
    for label, shape in {"(0,3)": (0, 3), "(2,-1)": (2, -1), "()": (), "0": 0, "-2": -2}.items():
        yield _bad(G, ValueError, r"\bshape\b", f"grid-shape-{label}", shape=shape, f=_grid_f)
    for label, shape in {"None": None, "str": "ab", "(2.0,3)": (2.0, 3), "(True,2)": (True, 2),
                         "(2,None)": (2, None)}.items():
        yield _bad(G, TypeError, r"\bshape\b", f"grid-shape-{label}", shape=shape, f=_grid_f)
    yield from [
        _bad(G, TypeError, r"\bf\b", "grid-f-not-callable", shape=(2, 2), f=3.0),
        _bad(G, TypeError, r"\bf\b", "grid-f-None", shape=(2, 2), f=None),
        _bad(G, ValueError, r"\bf\b.*nan", "grid-f-nan", shape=(2, 3), f=_g_nan),
        _bad(G, ValueError, r"\bf\b.*inf", "grid-f-inf", shape=(2, 3), f=_g_inf),
        _bad(G, ValueError, r"\bf\b", "grid-f-not-vectorised", shape=(2, 3),
             f=_f_not_vectorised),
        _bad(G, ValueError, r"\bf\b", "grid-f-offset-axis-not-reduced", shape=(2, 3),
             f=_g_not_summed),
        _bad(G, TypeError, r"\bf\b", "grid-f-complex", shape=(2, 3), f=_g_complex),
        _bad(G, TypeError, r"\bf\b", "grid-f-str", shape=(2, 3), f=_g_str),
    ]


def _ripple_rows():
    R = RippleMask
    alpha = [1.0, 0.5]
    for label, shape in {"(0,3)": (0, 3), "(2,-1)": (2, -1), "(2,)": (2,), "(2,3,4)": (2, 3, 4),
                         "()": ()}.items():
        yield _bad(R, ValueError, r"\bshape\b", f"ripple-shape-{label}", shape=shape, alpha=alpha)
    for label, shape in {"int": 5, "None": None, "(2.0,3)": (2.0, 3),
                         "(True,2)": (True, 2)}.items():
        yield _bad(R, TypeError, r"\bshape\b", f"ripple-shape-{label}", shape=shape, alpha=alpha)
    bad_shapes = {"empty": np.zeros(0), "(4,0)": np.zeros((4, 0)), "(5,2)": np.ones((5, 2)),
                  "(1,2)": np.ones((1, 2)), "(4,2,1)": np.ones((4, 2, 1)), "scalar": 1.0}
    for label, a in bad_shapes.items():
        yield _bad(R, ValueError, r"\balpha\b", f"ripple-alpha-{label}", shape=(2, 2), alpha=a)
    yield from _nonfinite_rows("ripple", R, {"shape": (2, 2), "alpha": np.array(alpha)},
                               ["alpha"])
    for label, a in {"complex": np.array(alpha) + 1j, "str": "ab", "None": None,
                     "object": np.array(alpha, dtype=object)}.items():
        yield _bad(R, TypeError, r"\balpha\b", f"ripple-alpha-{label}", shape=(2, 2), alpha=a)


def _stick_rows():
    f = stick_breaking
    for label, lg in {"empty": [], "(3,0)": np.zeros((3, 0)), "scalar": 0.0}.items():
        yield _bad(f, ValueError, r"\blogits\b", f"stick-logits-{label}", logits=lg)
    yield from _nonfinite_rows("stick", f, {"logits": np.zeros(3)}, ["logits"])
    for label, lg in {"complex": [1j, 0.0], "str": "ab", "None": None,
                      "object": np.array([0.0, None])}.items():
        yield _bad(f, TypeError, r"\blogits\b", f"stick-logits-{label}", logits=lg)


def _matmul_rows():
    for name, M in _square_masks().items():
        p = f"matmul-{name}"
        x = r"(?i)\bx\b"  # a 2-D operand is X, a vector (or (L, 1) column) is x
        yield from [
            _bad(matmul, ValueError, rf"{x}.*\(3, 2\)", f"{p}-X-3-rows", mask=M, X=np.ones((3, 2))),
            _bad(matmul, ValueError, rf"{x}.*\(5,\)", f"{p}-x-5-rows", mask=M, X=np.ones(5)),
            _bad(matmul, ValueError, rf"{x}.*\(4, 2, 2\)", f"{p}-X-3d", mask=M,
                 X=np.ones((4, 2, 2))),
            _bad(matmul, ValueError, rf"{x}.*\(3, 2, 2\)", f"{p}-X-3d-wrong-rows", mask=M,
                 X=np.ones((3, 2, 2))),
            _bad(matmul, ValueError, rf"{x}.*\(4, 0\)", f"{p}-X-empty", mask=M, X=np.ones((4, 0))),
            _bad(matmul, ValueError, rf"{x}.*nan", f"{p}-X-nan", mask=M,
                 X=_with(np.ones((4, 2)), (2, 1), np.nan)),
            _bad(matmul, ValueError, rf"{x}.*inf", f"{p}-X-inf", mask=M,
                 X=_with(np.ones((4, 2)), (0, 0), np.inf)),
            _bad(matmul, ValueError, rf"{x}.*-inf", f"{p}-x-minus-inf", mask=M,
                 X=_with(np.ones(4), 3, -np.inf)),
            _bad(matmul, TypeError, x, f"{p}-X-complex", mask=M, X=np.ones((4, 2)) * 1j),
            _bad(matmul, TypeError, x, f"{p}-x-complex", mask=M, X=np.ones(4) + 1j),
            _bad(matmul, TypeError, x, f"{p}-X-str", mask=M, X="abcd"),
            _bad(matmul, TypeError, x, f"{p}-X-str-array", mask=M, X=np.full((4, 2), "a")),
            _bad(matmul, TypeError, x, f"{p}-X-object", mask=M, X=np.ones((4, 2), dtype=object)),
            _bad(matmul, TypeError, x, f"{p}-X-None", mask=M, X=None),
        ]


BAD = [
    *_softmax_rows(),
    *_kernel_rows(),
    *_linear_rows(),
    *_toeplitz_rows(),
    *_causal_rows(),
    *_grid_rows(),
    *_ripple_rows(),
    *_stick_rows(),
    *_matmul_rows(),
]


@pytest.mark.parametrize(("func", "kwargs", "exc", "match"), BAD)
def test_bad_input_raises_the_documented_error(func, kwargs, exc, match):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(exc, match=match):
            _must_raise(func, kwargs)
    noisy = _runtime_warnings(caught)
    assert not noisy, f"raised {exc.__name__} as documented, but first warned: {noisy}"


def test_bad_input_ids_are_unique():
    ids = [p.id for p in BAD]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


# -- positive controls: the same calls with the bad entry fixed ---------------------------------

def _good_rows():
    sa, ka, mla = softmax_attention, kernel_attention, masked_linear_attention
    qkv = {"q": Q, "k": K, "v": V}
    sq = {"q": Q, "k": K[:L], "v": V[:L]}
    feats = {"phi_q": PHI_Q, "phi_k": PHI_K, "v": V}
    fsq = {"phi_q": PHI_Q, "phi_k": PHI_K[:L], "v": V[:L]}
    row2_one_key = _with(_with(MASK, (2, slice(None)), 0.0), (2, 4), 1e-300)
    masks = _square_masks()
    yield from [
        _good(sa, (L, DV), "softmax-plain", **qkv),
        _good(sa, (L, DV), "softmax-bias-and-mask", **SOFTMAX),
        _good(sa, (L, DV), "softmax-bias-broadcast-(L,1)", **qkv, bias=BIAS[:, :1]),
        _good(sa, (L, DV), "softmax-mask-broadcast-(1,S)", **qkv, mask=MASK[:1]),
        _good(sa, (L, DV), "softmax-bool-mask", **qkv, mask=MASK > 0.75),
        _good(sa, (L, DV), "softmax-row-2-one-tiny-key", **qkv, mask=row2_one_key),
        _good(sa, (L, DV), "softmax-causal", **sq, causal=True),
        _good(sa, (2, L, DV), "softmax-batched-q", **{**qkv, "q": np.stack([Q, Q])}),
        _good(sa, (2, L, DV), "softmax-batched-bias", **qkv, bias=np.stack([BIAS, BIAS])),
        _good(sa, (1, DV), "softmax-logits-1e4", q=np.array([[100.0]]),
              k=np.array([[100.0], [-100.0], [99.0], [0.0], [1.0]]), v=V, scale=1.0),
        _good(sa, (L, DV), "softmax-bias-huge-but-finite-logits", **qkv,
              bias=np.where(MASK > 0.75, -1e300, 1e300)),
        _good(sa, (L, DV), "softmax-scale-0", **qkv, scale=0),
        _good(sa, (L, DV), "softmax-scale-numpy-float", **qkv, scale=np.float32(0.5)),
        _good(sa, (2, 1), "softmax-int-lists", q=[[1, 2], [3, 4]], k=[[1, 0], [0, 1]],
              v=[[1], [2]]),
        _good(ka, (L, DV), "kernel-plain", **feats),
        _good(ka, (L, DV), "kernel-dense-mask", **KERNEL),
        _good(ka, (L, DV), "kernel-bool-mask", **feats, mask=MASK > 0.75),
        _good(ka, (L, DV), "kernel-operator-mask", **feats, mask=_toeplitz_rect()),
        _good(ka, (L, DV), "kernel-scipy-operator-mask", **feats, mask=_operator(MASK)),
        _good(ka, (L, DV), "kernel-causal", **fsq, causal=True),
        _good(ka, (L, DV), "kernel-causal-mask-operator", **fsq, mask=CausalMask(L)),
        _good(ka, (2, L, DV), "kernel-batched-mask", **feats, mask=np.stack([MASK, MASK])),
        _good(mla, (L, DV), "linear-dense-mask", **LINEAR),
        _good(mla, (L, DV), "linear-bool-mask", **feats, mask=MASK > 0.75),
        _good(mla, (L, DV), "linear-toeplitz-operator", **feats, mask=_toeplitz_rect()),
        _good(mla, (L, DV), "linear-scipy-operator", **feats, mask=_operator(MASK)),
        _good(mla, (2, L, DV), "linear-batched-dense-mask", **feats,
              mask=np.stack([MASK, MASK])),
        _good(mla, (2, L, DV), "linear-batched-features-operator",
              **{**feats, "phi_q": np.stack([PHI_Q, PHI_Q])}, mask=_toeplitz_rect()),
        *(_good(mla, (L, DV), f"linear-{name}-mask", **fsq, mask=M) for name, M in masks.items()),
        # masks
        _good(dense_of, (3, 3), "toeplitz-symmetric", factory=ToeplitzMask, c=[1.0, 0.5, 0.25]),
        _good(dense_of, (3, 4), "toeplitz-rectangular", factory=ToeplitzMask, c=[1, 2, 3],
              r=[1, 4, 5, 6]),
        _good(dense_of, (4, 4), "from_function-numpy-int-L",
              factory=ToeplitzMask.from_function, f=_f1, L=np.int64(4)),
        _good(dense_of, (1, 1), "from_function-L1", factory=ToeplitzMask.from_function,
              f=_f1, L=1),
        _good(dense_of, (4, 4), "causal-default", factory=CausalMask, L=4),
        _good(dense_of, (4, 4), "causal-gamma-0", factory=CausalMask, L=4, gamma=0.0),
        _good(dense_of, (4, 4), "causal-gamma-1", factory=CausalMask, L=4, gamma=1),
        _good(dense_of, (4, 4), "causal-gamma-0d-array", factory=CausalMask, L=4,
              gamma=np.array(0.5)),
        _good(dense_of, (4, 4), "grid-int-shape", factory=GridRPEMask, shape=4, f=_grid_f),
        _good(dense_of, (6, 6), "grid-array-shape", factory=GridRPEMask,
              shape=np.array([2, 3]), f=_grid_f),
        _good(dense_of, (6, 6), "ripple-list-shape", factory=RippleMask, shape=[2, 3],
              alpha=[1.0, 0.5, 0.25]),
        _good(dense_of, (6, 6), "ripple-per-query-alpha", factory=RippleMask, shape=(2, 3),
              alpha=np.ones((6, 3))),
        _good(stick_breaking, (3,), "stick-zeros", logits=[0.0, 0.0, 0.0]),
        _good(stick_breaking, (1,), "stick-one-ring", logits=[5.0]),
        _good(stick_breaking, (2, 3), "stick-batched", logits=np.zeros((2, 3))),
        _good(stick_breaking, (4,), "stick-logits-1e308", logits=[1e308, 1e308, 1e308, 0.0]),
        _good(stick_breaking, (4,), "stick-logits-minus-1e308", logits=[-1e308] * 4),
        _good(stick_breaking, (4,), "stick-logits-mixed-1e308",
              logits=[-1e308, 1e308, -1e308, 1e308]),
    ]
    for name, M in masks.items():
        yield from [
            _good(matmul, (4, 2), f"matmul-{name}-X", mask=M, X=np.ones((4, 2))),
            _good(matmul, (4, 1), f"matmul-{name}-column", mask=M, X=np.ones((4, 1))),
            _good(matmul, (4,), f"matmul-{name}-vector", mask=M, X=np.arange(4.0)),
            _good(matmul, (4, 2), f"matmul-{name}-int-X", mask=M, X=np.ones((4, 2), dtype=int)),
            _good(matmul, (4, 1), f"matmul-{name}-list", mask=M, X=[[1.0], [2.0], [3.0], [4.0]]),
        ]


GOOD = list(_good_rows())


@pytest.mark.parametrize(("func", "kwargs", "shape"), GOOD)
def test_positive_control_returns_finite_float64(func, kwargs, shape):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = func(**kwargs)
    assert isinstance(result, np.ndarray), type(result)
    assert result.dtype == np.float64, result.dtype
    assert result.shape == shape
    assert np.all(np.isfinite(result)), _describe(result)
    noisy = _runtime_warnings(caught)
    assert not noisy, f"valid input, but warned: {noisy}"


def test_stick_breaking_extreme_logits_still_sum_to_one():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        alpha = stick_breaking([1e308, 1e308, 1e308, 0.0])
    np.testing.assert_array_equal(alpha, [1.0, 0.0, 0.0, 0.0])
    assert not _runtime_warnings(caught), _runtime_warnings(caught)


# -- overflowing intermediates: an error naming the argument, or a finite answer -------------

_HUGE_V = np.array([[1e308], [1e308], [-1e308], [-1e308]])  # exact attention output: 0


def _overflow_rows():
    sa, ka, mla = softmax_attention, kernel_attention, masked_linear_attention
    big_q, big_k = PHI_Q * 1e200, PHI_K * 1e200  # scores ~1e400; output = that of PHI_Q, PHI_K
    phi = r"\bphi_[qk]\b"
    ones1, ones4 = np.ones((1, 1)), np.ones((4, 1))
    yield from [
        pytest.param(ka, {"phi_q": big_q, "phi_k": big_k, "v": V}, phi,
                     id="kernel-features-1e200"),
        pytest.param(ka, {"phi_q": big_q, "phi_k": big_k[:L], "v": V[:L], "causal": True}, phi,
                     id="kernel-features-1e200-causal"),
        pytest.param(mla, {"phi_q": big_q, "phi_k": big_k, "v": V, "mask": MASK}, phi,
                     id="linear-features-1e200-dense-mask"),
        pytest.param(mla, {"phi_q": big_q, "phi_k": big_k, "v": V, "mask": _toeplitz_rect()},
                     phi, id="linear-features-1e200-toeplitz"),
        pytest.param(mla, {"phi_q": big_q, "phi_k": big_k[:L], "v": V[:L],
                           "mask": CausalMask(L)}, phi, id="linear-features-1e200-causal"),
        pytest.param(ka, {**KERNEL, "mask": MASK * 1e308}, r"\bmask\b",
                     id="kernel-mask-1e308"),
        pytest.param(mla, {**LINEAR, "mask": MASK * 1e308}, r"\bmask\b",
                     id="linear-mask-1e308"),
        pytest.param(sa, {"q": ones1, "k": ones4, "v": _HUGE_V}, r"\bv\b",
                     id="softmax-values-pm-1e308"),
        pytest.param(sa, {"q": ones1, "k": ones4[:2], "v": _HUGE_V[:2]}, r"\bv\b",
                     id="softmax-values-1e308-equal"),
        pytest.param(ka, {"phi_q": ones1, "phi_k": ones4, "v": _HUGE_V}, r"\bv\b",
                     id="kernel-values-pm-1e308"),
        pytest.param(mla, {"phi_q": ones1, "phi_k": ones4, "v": _HUGE_V,
                           "mask": np.ones((1, 4))}, r"\bv\b", id="linear-values-pm-1e308"),
    ]


@pytest.mark.parametrize(("func", "kwargs", "match"), list(_overflow_rows()))
def test_overflow_is_an_error_or_a_finite_answer(func, kwargs, match):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = func(**kwargs)
        except ValueError as exc:
            assert re.search(match, str(exc)), f"message does not name {match!r}: {exc}"
            result = None
    if result is not None:
        assert np.all(np.isfinite(result)), f"finite input returned {_describe(result)}"
    noisy = _runtime_warnings(caught)
    assert not noisy, f"warned: {noisy}"


# -- product_error_bound must check X like the product does ----------------------------------

@pytest.mark.parametrize("name", list(_square_masks()))
def test_product_error_bound_rejects_wrong_rows(name):
    M = _square_masks()[name]
    with pytest.raises(ValueError, match=r"\bX\b.*\(3, 2\)"):
        _must_raise(M.product_error_bound, {"X": np.ones((3, 2))})


# -- the rng normaliser ----------------------------------------------------------------------

def test_as_rng_returns_a_given_generator_itself():
    gen = np.random.default_rng(3)
    assert as_rng(gen) is gen


@pytest.mark.parametrize("seed", [0, 7, 2**70, np.int64(7), np.uint32(7)],
                         ids=["0", "7", "2**70", "np.int64", "np.uint32"])
def test_as_rng_same_seed_same_stream(seed):
    a, b = as_rng(seed), as_rng(seed)
    assert isinstance(a, np.random.Generator)
    assert a is not b
    np.testing.assert_array_equal(a.random(8), b.random(8))
    expected = np.random.default_rng(int(seed)).random(8)
    np.testing.assert_array_equal(as_rng(seed).random(8), expected)


def test_as_rng_different_seeds_differ_and_none_is_fresh():
    assert not np.array_equal(as_rng(1).random(8), as_rng(2).random(8))
    a, b = as_rng(None), as_rng(None)
    assert isinstance(a, np.random.Generator)
    assert not np.array_equal(a.random(8), b.random(8))  # fresh entropy: collision ~2^-400


def test_as_rng_leaves_global_state_alone():
    before = np.random.get_state()[1].copy()  # noqa: NPY002 (the legacy state itself)
    as_rng(5).random(4)
    as_rng(None).random(4)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002


@pytest.mark.parametrize(
    ("rng", "exc"),
    [
        pytest.param(-1, ValueError, id="negative-int"),
        pytest.param(np.int64(-3), ValueError, id="negative-np.int64"),
        pytest.param(1.5, TypeError, id="float"),
        pytest.param(1.0, TypeError, id="integral-float"),
        pytest.param(np.float64(2.0), TypeError, id="np.float64"),
        pytest.param("1", TypeError, id="str"),
        pytest.param(True, TypeError, id="bool"),
        pytest.param(np.random.RandomState(0), TypeError, id="RandomState"),
        pytest.param(np.random, TypeError, id="numpy.random-module"),
    ],
)
def test_as_rng_rejects(rng, exc):
    with pytest.raises(exc, match=r"\brng\b"):
        _must_raise(as_rng, {"rng": rng})
