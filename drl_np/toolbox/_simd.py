"""Four doubles in one register: a Numba type for the small products' microkernels.

Numba leaves LLVM's SLP vectoriser off, and its loop vectoriser only
vectorises innermost loops, so a product written as loops keeps its partial
sums in memory (a load and a store of ``C`` per step of ``k``). With the type
:data:`float64x4` (an LLVM ``<4 x double>``, a ymm register under AVX2) the
microkernels of :mod:`._products` hold a whole tile of ``C`` in registers
across the sum over ``k`` and issue one vector ``fma`` per four products.
Every lane is rounded as the scalar code would be: :func:`vfma` is IEEE
``fma`` (``llvm.fma.v4f64``), no ``fastmath``.

The loads and stores take a C-contiguous 1-d array (a row of a 2-d array)
and an element index; there are no bounds checks and no wraparound of
negative indices (the callers' loop bounds
keep every lane inside the row). The ``_masked`` forms touch only the first
``n`` lanes (AVX2 ``vmaskmovpd``): the tails of rows whose length is not a
multiple of four.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

__all__ = ["float64x4", "sload", "vzero", "vload", "vstore", "vload_masked", "vstore_masked", "vfma",
           "vsub", "vget", "vtranspose4"]

_V4 = ir.VectorType(ir.DoubleType(), 4)
_MASK = ir.VectorType(ir.IntType(1), 4)
_I32 = ir.IntType(32)


class Float64x4(types.Type):
    """Four float64 lanes, an LLVM ``<4 x double>`` value."""

    def __init__(self):
        super().__init__(name="float64x4")


float64x4 = Float64x4()


@register_model(Float64x4)
class _Float64x4Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _V4)


def _lane_pointer(context, builder, aryty, ary, j):
    """``&ary[j]`` as a ``<4 x double>*``."""
    data = context.make_array(aryty)(context, builder, value=ary).data
    return builder.bitcast(builder.gep(data, [j]), _V4.as_pointer())


def _lane_mask(builder, n):
    """``<lane < n>`` for the lanes 0..3."""
    n32 = builder.trunc(n, _I32) if n.type.width > 32 else n
    splat = builder.shuffle_vector(builder.insert_element(ir.Constant(ir.VectorType(_I32, 4), ir.Undefined),
                                                          n32, ir.Constant(_I32, 0)),
                                   ir.Constant(ir.VectorType(_I32, 4), ir.Undefined),
                                   ir.Constant(ir.VectorType(_I32, 4), [0, 0, 0, 0]))
    return builder.icmp_unsigned("<", ir.Constant(ir.VectorType(_I32, 4), [0, 1, 2, 3]), splat)


def _check_row(row):
    if not (isinstance(row, types.Array) and row.ndim == 1 and row.layout == "C"
            and row.dtype == types.float64):
        raise TypeError(f"a C-contiguous 1-d float64 array is needed, got {row}")


@intrinsic
def sload(typingctx, row, j):
    """``row[j]``, a scalar, read as a plain load. Numba's own ``row[j]``
    also handles a negative ``j`` (wraparound); in a microkernel that reads
    five rows of ``A'`` per step of ``k``, those checks kept a pointer per
    row and unrolled step, more than the registers, and the spills made the
    products ~1.6x slower (measured on AMD Zen 4)."""
    _check_row(row)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, value=args[0]).data
        return builder.load(builder.gep(data, [args[1]]), align=8)
    return types.float64(row, j), codegen


@intrinsic
def vzero(typingctx):
    """``(0, 0, 0, 0)``."""
    def codegen(context, builder, signature, args):
        return ir.Constant(_V4, [0.0] * 4)
    return float64x4(), codegen


@intrinsic
def vload(typingctx, row, j):
    """``row[j:j + 4]``."""
    _check_row(row)

    def codegen(context, builder, signature, args):
        return builder.load(_lane_pointer(context, builder, signature.args[0], args[0], args[1]), align=8)
    return float64x4(row, j), codegen


@intrinsic
def vstore(typingctx, row, j, v):
    """``row[j:j + 4] = v``."""
    _check_row(row)

    def codegen(context, builder, signature, args):
        builder.store(args[2], _lane_pointer(context, builder, signature.args[0], args[0], args[1]), align=8)
        return context.get_dummy_value()
    return types.none(row, j, float64x4), codegen


@intrinsic
def vload_masked(typingctx, row, j, n):
    """``row[j:j + n]`` in the first ``n`` lanes (1 <= n <= 4), zeros after;
    the memory past ``row[j + n - 1]`` is not read."""
    _check_row(row)

    def codegen(context, builder, signature, args):
        ptr = _lane_pointer(context, builder, signature.args[0], args[0], args[1])
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_V4, [_V4.as_pointer(), _I32, _MASK, _V4]),
            "llvm.masked.load.v4f64.p0v4f64")
        return builder.call(fn, [ptr, ir.Constant(_I32, 8), _lane_mask(builder, args[2]),
                                 ir.Constant(_V4, [0.0] * 4)])
    return float64x4(row, j, n), codegen


@intrinsic
def vstore_masked(typingctx, row, j, v, n):
    """``row[j:j + n] = v[:n]`` (1 <= n <= 4); nothing past it is written."""
    _check_row(row)

    def codegen(context, builder, signature, args):
        ptr = _lane_pointer(context, builder, signature.args[0], args[0], args[1])
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [_V4, _V4.as_pointer(), _I32, _MASK]),
            "llvm.masked.store.v4f64.p0v4f64")
        builder.call(fn, [args[2], ptr, ir.Constant(_I32, 8), _lane_mask(builder, args[3])])
        return context.get_dummy_value()
    return types.none(row, j, float64x4, n), codegen


@intrinsic
def vfma(typingctx, a, b, c):
    """``a * b + c`` lane by lane, rounded once (``llvm.fma.v4f64``), with the
    scalar ``a`` broadcast to the four lanes."""
    def codegen(context, builder, signature, args):
        undef = ir.Constant(_V4, ir.Undefined)
        splat = builder.shuffle_vector(builder.insert_element(undef, args[0], ir.Constant(_I32, 0)), undef,
                                       ir.Constant(ir.VectorType(_I32, 4), [0, 0, 0, 0]))
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_V4, [_V4, _V4, _V4]),
                                            "llvm.fma.v4f64")
        return builder.call(fn, [splat, args[1], args[2]])
    return float64x4(types.float64, float64x4, float64x4), codegen


@intrinsic
def vsub(typingctx, a, b):
    """``a - b`` lane by lane (IEEE subtraction)."""
    def codegen(context, builder, signature, args):
        return builder.fsub(args[0], args[1])
    return float64x4(float64x4, float64x4), codegen


@intrinsic
def vget(typingctx, v, i):
    """Lane ``i`` of ``v`` (0 <= i < 4), a scalar."""
    def codegen(context, builder, signature, args):
        return builder.extract_element(args[0], args[1])
    return types.float64(float64x4, i), codegen


@intrinsic
def vtranspose4(typingctx, v0, v1, v2, v3):
    """The columns of the 4 x 4 block whose rows are ``v0 .. v3``: a tuple of
    four vectors, ``out[c][r] = v_r[c]`` (shuffles, no arithmetic)."""
    quad = types.UniTuple(float64x4, 4)

    def codegen(context, builder, signature, args):
        def mask(lanes):
            return ir.Constant(ir.VectorType(_I32, 4), lanes)
        lo01 = builder.shuffle_vector(args[0], args[1], mask([0, 4, 2, 6]))   # v0_0 v1_0 v0_2 v1_2
        hi01 = builder.shuffle_vector(args[0], args[1], mask([1, 5, 3, 7]))   # v0_1 v1_1 v0_3 v1_3
        lo23 = builder.shuffle_vector(args[2], args[3], mask([0, 4, 2, 6]))
        hi23 = builder.shuffle_vector(args[2], args[3], mask([1, 5, 3, 7]))
        cols = [builder.shuffle_vector(lo01, lo23, mask([0, 1, 4, 5])),
                builder.shuffle_vector(hi01, hi23, mask([0, 1, 4, 5])),
                builder.shuffle_vector(lo01, lo23, mask([2, 3, 6, 7])),
                builder.shuffle_vector(hi01, hi23, mask([2, 3, 6, 7]))]
        return context.make_tuple(builder, quad, cols)
    return quad(float64x4, float64x4, float64x4, float64x4), codegen
