"""An ``exp`` that LLVM can vectorise without ``fastmath``.

A call to libm's ``exp`` inside a loop keeps the loop scalar: at the
toolbox's batch of 10 the sigmoids cost a third of a Numba epoch. :func:`exp`
is the same function written out in plain IEEE arithmetic (no call, no
branch), so a loop over it compiles to SIMD code, and every operation is
rounded as written (no reassociation, no contraction; the multiply-adds
are explicit IEEE ``fma``, one rounding each):

    exp(x) = 2^k exp(r),  k = round(x / ln 2),  r = (x - k ln2_hi) - k ln2_lo

with ``ln2_hi`` holding the top 32 bits of ln 2 (so ``k ln2_hi`` is exact for
|k| < 2^21) and ``|r| <= ln(2)/2``; ``exp(r)`` is its Taylor polynomial of
degree 13 (truncation error below 2^-60 relative), evaluated as
``1 + (r + r^2 q(r))`` with ``q`` by Estrin's scheme in ``fma`` (about a
dozen vector operations: a vectorised loop over :func:`exp` is bound by
their number, and Horner's rule would also chain 22 of them). ``2^k`` is
built from its bits, split as ``2^k1 2^k2`` so that results in the
subnormal range round once, as libm's do, and overflow gives ``inf``; the
integers come out of the bits by subtraction, not by the int64 arithmetic
shifts that AVX2 lacks (they kept the loop scalar). Measured against NumPy's ``exp``: at most
1 ulp apart (``tests/test_toolbox_exp.py``); the training runs that use it
stay within 1e-10 of the NumPy engine and of the Octave golden data.
"""
import numba
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._products import fma

__all__ = ["exp", "exp_array"]

_LOG2E = 1.4426950408889634            # 1 / ln 2
_LN2_HI = 0.6931471803691238            # ln 2 rounded to 32 significant bits
_LN2_LO = 1.9082149292705877e-10        # ln 2 - _LN2_HI
_ROUND = 6755399441055744.0             # 1.5 * 2^52: adding it rounds to an integer
_ROUND_BITS = 0x4338000000000000        # its bits; bits(_ROUND + k) = _ROUND_BITS + k for |k| < 2^51
# below this exp rounds to 0, above this it overflows (clamping keeps 2^k1, 2^k2 normal)
_X_MIN = -746.0
_X_MAX = 710.0
# 1 / n! for n = 2 .. 13
_C2, _C3, _C4, _C5 = 1 / 2, 1 / 6, 1 / 24, 1 / 120
_C6, _C7, _C8, _C9 = 1 / 720, 1 / 5040, 1 / 40320, 1 / 362880
_C10, _C11, _C12, _C13 = 1 / 3628800, 1 / 39916800, 1 / 479001600, 1 / 6227020800


@intrinsic
def _float_bits(typingctx, x):
    """The int64 whose bits are the float64 ``x``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _bits_float(typingctx, i):
    """The float64 whose bits are the int64 ``i``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@numba.njit(inline="always", error_model="numpy")
def exp(x):
    """``e^x`` for a float64 ``x`` in branch-free arithmetic (module docstring)."""
    xc = min(max(x, _X_MIN), _X_MAX)
    t = xc * _LOG2E + _ROUND              # k in the low bits of t
    k = t - _ROUND                         # round(x / ln 2), as a float
    r = fma(-k, _LN2_LO, xc - k * _LN2_HI)   # k ln2_hi is exact
    # (e^r - 1 - r) / r^2 = C2 + C3 r + ... + C13 r^11 by Estrin's scheme in
    # fma: the same terms as Horner's rule, but a dependency chain of depth 5
    # instead of 22 and half the operations (the loops are bound by the
    # number of vector operations, and each fma rounds once)
    r2 = r * r
    r4 = r2 * r2
    q01 = fma(r2, fma(_C5, r, _C4), fma(_C3, r, _C2))
    q23 = fma(r2, fma(_C9, r, _C8), fma(_C7, r, _C6))
    q45 = fma(r2, fma(_C13, r, _C12), fma(_C11, r, _C10))
    p = fma(r4, fma(r4, q45, q23), q01)
    p = 1.0 + fma(r2, p, r)
    # 2^k = 2^k1 2^k2 with k1 = round(k / 2) by the same trick; the integers
    # come from the bits as differences (bits(t) = bits(_ROUND) + k), not as
    # arithmetic right shifts, which AVX2 has no instruction for on int64
    # (they would keep the loops scalar)
    h = k * 0.5 + _ROUND
    k1 = _float_bits(h) - _ROUND_BITS
    k2 = (_float_bits(t) - _ROUND_BITS) - k1
    s1 = _bits_float((k1 + 1023) << 52)
    s2 = _bits_float((k2 + 1023) << 52)
    y = (p * s1) * s2
    return x if x != x else y             # NaN stays NaN


@numba.njit(error_model="numpy")
def exp_array(x, out):
    """``out[:] = exp(x)`` element-wise over flat float64 arrays (a test hook)."""
    for i in range(x.shape[0]):
        out[i] = exp(x[i])
    return out
