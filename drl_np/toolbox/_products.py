"""Small matrix products for the Numba engines, as register-tiled loops.

At the toolbox's batch of 10 the products of a training step are (10 x 37) @
(37 x 100) and the like: too small for BLAS to pay off its call and packing
overhead (``benchmarks/RESULTS.md``, toolbox section). The products

    C[r, :] = sum_k op(A)[r, k] B[k, off:off + J]        (op(A) = A or A')

(:func:`gemm_nn`, :func:`gemm_tn`) are computed tile by tile: a tile of five
rows and eight columns of ``C`` lives in ten :data:`._simd.float64x4`
registers for the whole sum over ``k``, which reads per ``k`` two vectors of
``B`` and five scalars of ``op(A)`` for ten vector multiply-adds (a
microkernel in the manner of BLIS/OpenBLAS, without the packing). Five rows
because the batch is 10 and the layer widths are multiples of 5. Column
tiles are the outer loop, so that the panel of ``B`` they read stays in the
L1 cache for all row tiles. The four-column tails go through masked loads and
stores; rows left over (fewer than five) take one row per tile.

The multiply-adds are IEEE ``fma`` (one rounding each, as OpenBLAS's kernels
do), not ``fastmath`` contraction: every entry of ``C`` is the chain
``fma(a_{K-1}, b_{K-1}, ... fma(a_0, b_0, 0))``, ``k = 0, 1, 2, ...`` in
order, whatever the tile, so ``gemm_nn`` and ``gemm_tn`` give the same bits
for the same sums, and they differ from ``np.dot`` by a few ulps
(``tests/test_toolbox_products.py``).

Numba's on-disk cache (``cache=True``) is keyed by the timestamp of the file
that defines each kernel only: after editing this module, ``._simd`` or
``._exp``, delete the ``__pycache__/*.nbi``/``*.nbc`` files of ``_numba``
and ``drl_np/kernels``, or the epoch kernels keep the old code compiled in.
"""
import numba
from numba import types
from numba.extending import intrinsic

from ._simd import sload, vfma, vload, vload_masked, vstore, vstore_masked, vtranspose4, vzero

__all__ = ["fma", "gemm_nn", "gemm_tn", "transpose"]


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (IEEE 754 fusedMultiplyAdd, ``llvm.fma``)."""
    def codegen(context, builder, signature, args):
        return builder.fma(*args)
    return types.float64(types.float64, types.float64, types.float64), codegen


def _make_gemm(trans):
    """The compiled product for a fixed ``trans`` (a compile-time constant)."""
    @numba.njit(inline="always", error_model="numpy")
    def a_at(A, r, k):
        return sload(A[k], r) if trans else sload(A[r], k)      # one row pointer per k (see sload)

    @numba.njit(inline="always", error_model="numpy")
    def tile_5x8(A, B, jb, C, r, j, K):
        """C[r:r+5, j:j+8] = op(A)[r:r+5, :] @ B[:, jb:jb+8]."""
        c00, c01, c10, c11, c20 = vzero(), vzero(), vzero(), vzero(), vzero()
        c21, c30, c31, c40, c41 = vzero(), vzero(), vzero(), vzero(), vzero()
        for k in range(K):
            bk = B[k]
            b0 = vload(bk, jb)
            b1 = vload(bk, jb + 4)
            x = a_at(A, r, k)
            c00 = vfma(x, b0, c00)
            c01 = vfma(x, b1, c01)
            x = a_at(A, r + 1, k)
            c10 = vfma(x, b0, c10)
            c11 = vfma(x, b1, c11)
            x = a_at(A, r + 2, k)
            c20 = vfma(x, b0, c20)
            c21 = vfma(x, b1, c21)
            x = a_at(A, r + 3, k)
            c30 = vfma(x, b0, c30)
            c31 = vfma(x, b1, c31)
            x = a_at(A, r + 4, k)
            c40 = vfma(x, b0, c40)
            c41 = vfma(x, b1, c41)
        vstore(C[r], j, c00)
        vstore(C[r], j + 4, c01)
        vstore(C[r + 1], j, c10)
        vstore(C[r + 1], j + 4, c11)
        vstore(C[r + 2], j, c20)
        vstore(C[r + 2], j + 4, c21)
        vstore(C[r + 3], j, c30)
        vstore(C[r + 3], j + 4, c31)
        vstore(C[r + 4], j, c40)
        vstore(C[r + 4], j + 4, c41)

    @numba.njit(inline="always", error_model="numpy")
    def tile_5xw(A, B, jb, C, r, j, K, w):
        """C[r:r+5, j:j+w] for a tail of w <= 4 columns (masked)."""
        c0, c1, c2, c3, c4 = vzero(), vzero(), vzero(), vzero(), vzero()
        for k in range(K):
            b0 = vload_masked(B[k], jb, w)
            c0 = vfma(a_at(A, r, k), b0, c0)
            c1 = vfma(a_at(A, r + 1, k), b0, c1)
            c2 = vfma(a_at(A, r + 2, k), b0, c2)
            c3 = vfma(a_at(A, r + 3, k), b0, c3)
            c4 = vfma(a_at(A, r + 4, k), b0, c4)
        vstore_masked(C[r], j, c0, w)
        vstore_masked(C[r + 1], j, c1, w)
        vstore_masked(C[r + 2], j, c2, w)
        vstore_masked(C[r + 3], j, c3, w)
        vstore_masked(C[r + 4], j, c4, w)

    @numba.njit(inline="always", error_model="numpy")
    def tile_1xw(A, B, jb, C, r, j, K, w):
        """C[r, j:j+w], w <= 4: a row left over below the five-row tiles."""
        c0 = vzero()
        for k in range(K):
            c0 = vfma(a_at(A, r, k), vload_masked(B[k], jb, w), c0)
        vstore_masked(C[r], j, c0, w)

    @numba.njit(cache=True, error_model="numpy")
    def product(A, B, off, C):
        m, J = C.shape
        K = A.shape[0] if trans else A.shape[1]
        m5 = m - m % 5
        j = 0
        while j + 8 <= J:                  # full column tiles, all row tiles each
            for r in range(0, m5, 5):
                tile_5x8(A, B, off + j, C, r, j, K)
            for r in range(m5, m):
                tile_1xw(A, B, off + j, C, r, j, K, 4)
                tile_1xw(A, B, off + j + 4, C, r, j + 4, K, 4)
            j += 8
        while j < J:                       # the last 1..7 columns, four at a time
            w = min(4, J - j)
            for r in range(0, m5, 5):
                tile_5xw(A, B, off + j, C, r, j, K, w)
            for r in range(m5, m):
                tile_1xw(A, B, off + j, C, r, j, K, w)
            j += w
    return product


#: ``gemm_nn(A, B, off, C)``: ``C = A @ B[:, off:off + J]``; A (m, K), C (m, J).
gemm_nn = _make_gemm(False)
#: ``gemm_tn(A, B, off, C)``: ``C = A' @ B[:, off:off + J]``; A (K, m), C (m, J).
gemm_tn = _make_gemm(True)


@numba.njit(cache=True, error_model="numpy")
def transpose(A, AT):
    """``AT[:] = A'`` (the ``W'`` operand of the forward products ``a W'``),
    in 4 x 4 blocks held in registers (four vector loads, shuffles, four
    vector stores: a quarter of the memory operations of an element-wise
    copy, which took a tenth of an epoch); the edges that do not fill a
    block element by element."""
    m, k = A.shape
    m4 = m - m % 4
    k4 = k - k % 4
    for r in range(0, m4, 4):
        for c in range(0, k4, 4):
            cols = vtranspose4(vload(A[r], c), vload(A[r + 1], c), vload(A[r + 2], c), vload(A[r + 3], c))
            vstore(AT[c], r, cols[0])
            vstore(AT[c + 1], r, cols[1])
            vstore(AT[c + 2], r, cols[2])
            vstore(AT[c + 3], r, cols[3])
        for c in range(k4, k):
            for i in range(4):
                AT[c, r + i] = A[r + i, c]
    for r in range(m4, m):
        for c in range(k):
            AT[c, r] = A[r, c]
