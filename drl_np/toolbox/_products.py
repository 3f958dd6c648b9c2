"""Small matrix products for the Numba engine, written as loops.

At the toolbox's batch of 10 the products of a training step are (10 x 37) @
(37 x 100) and the like: too small for BLAS to pay off its call and packing
overhead (``benchmarks/RESULTS.md``, toolbox section). The products

    C[r, :] = sum_k op(A)[r, k] B[k, off:off + J]        (op(A) = A or A')

(:func:`gemm_nn`, :func:`gemm_tn`) two rows of ``C`` at a time, ``k`` unrolled by four, so that the innermost
loop over the contiguous ``j`` axis does eight multiply-adds per load and
store of ``C`` and LLVM vectorises it. The odd last row (if any) is a plain
rank-1 loop. The multiply-adds are IEEE ``fma``
(one rounding each, as OpenBLAS's kernels do), not ``fastmath``
contraction: the result is fixed by the source, the order of the sum is
``k = 0, 1, 2, ...``, and it differs from ``np.dot``'s by a few ulps
(``tests/test_toolbox_products.py``).
"""
import numba
from numba import types
from numba.extending import intrinsic

__all__ = ["fma", "gemm_nn", "gemm_tn"]


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
        return A[k, r] if trans else A[r, k]

    @numba.njit(cache=True, error_model="numpy")
    def product(A, B, off, C):
        m, J = C.shape
        K = A.shape[0] if trans else A.shape[1]
        r = 0
        while r + 2 <= m:
            c0 = C[r]                      # row views: the inner loops vectorise
            c1 = C[r + 1]
            for j in range(J):
                c0[j] = 0.0
                c1[j] = 0.0
            k = 0
            while k + 4 <= K:
                x0 = a_at(A, r, k)
                x1 = a_at(A, r, k + 1)
                x2 = a_at(A, r, k + 2)
                x3 = a_at(A, r, k + 3)
                y0 = a_at(A, r + 1, k)
                y1 = a_at(A, r + 1, k + 1)
                y2 = a_at(A, r + 1, k + 2)
                y3 = a_at(A, r + 1, k + 3)
                b0 = B[k, off:off + J]
                b1 = B[k + 1, off:off + J]
                b2 = B[k + 2, off:off + J]
                b3 = B[k + 3, off:off + J]
                for j in range(J):
                    w0 = b0[j]
                    w1 = b1[j]
                    w2 = b2[j]
                    w3 = b3[j]
                    c0[j] = fma(x3, w3, fma(x2, w2, fma(x1, w1, fma(x0, w0, c0[j]))))
                    c1[j] = fma(y3, w3, fma(y2, w2, fma(y1, w1, fma(y0, w0, c1[j]))))
                k += 4
            while k < K:
                x0 = a_at(A, r, k)
                y0 = a_at(A, r + 1, k)
                b0 = B[k, off:off + J]
                for j in range(J):
                    c0[j] = fma(x0, b0[j], c0[j])
                    c1[j] = fma(y0, b0[j], c1[j])
                k += 1
            r += 2
        if r < m:                          # an odd last row
            c0 = C[r]
            for j in range(J):
                c0[j] = 0.0
            for k in range(K):
                x0 = a_at(A, r, k)
                b0 = B[k, off:off + J]
                for j in range(J):
                    c0[j] = fma(x0, b0[j], c0[j])
    return product


#: ``gemm_nn(A, B, off, C)``: ``C = A @ B[:, off:off + J]``; A (m, K), C (m, J).
gemm_nn = _make_gemm(False)
#: ``gemm_tn(A, B, off, C)``: ``C = A' @ B[:, off:off + J]``; A (K, m), C (m, J).
gemm_tn = _make_gemm(True)
