"""The loop products of the Numba engines against ``@``, and their SIMD pieces."""
import numpy as np
import pytest

from drl_np.toolbox._products import gemm_nn, gemm_tn


def test_hand_worked_product():
    A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])          # odd row count
    B = np.array([[9.0, 1.0, 0.0], [9.0, 0.0, 1.0]])            # column 0 skipped by off=1
    C = np.full((3, 2), np.nan)
    gemm_nn(A, B, 1, C)
    np.testing.assert_array_equal(C, A)                           # A @ I
    Ct = np.full((2, 2), np.nan)
    gemm_tn(A, np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), 0, Ct)
    np.testing.assert_array_equal(Ct, [[6.0, 8.0], [8.0, 10.0]])  # A' @ [[1 0], [0 1], [1 1]]


@pytest.mark.parametrize("m, K, J, off", [(10, 37, 100, 0), (10, 101, 50, 0), (10, 25, 50, 1),
                                          (7, 5, 3, 2), (1, 1, 1, 0), (10, 0, 4, 0)])
def test_equal_to_matmul(m, K, J, off):
    r = np.random.default_rng(m * 1000 + K)
    A, B = r.standard_normal((m, K)), r.standard_normal((K, J + off))
    C = np.empty((m, J))
    gemm_nn(A, B, off, C)
    np.testing.assert_allclose(C, A @ B[:, off:], rtol=0, atol=1e-13)
    At = np.ascontiguousarray(A.T)                               # (K, m)
    Ct = np.empty((m, J))
    gemm_tn(At, B, off, Ct)
    np.testing.assert_array_equal(Ct, C)                         # same sums, same order


@pytest.mark.parametrize("m, K, J", [(10, 37, 100), (100, 10, 37), (12, 6, 13), (3, 4, 7), (6, 2, 5)])
def test_tiles_tails_and_leftover_rows(m, K, J):
    # every tile kind: 5 x 8, the masked tails (J % 8 != 0) and the rows
    # left below the five-row tiles (m % 5 != 0); the entries outside C untouched
    r = np.random.default_rng(K)
    A, B = r.standard_normal((m, K)), r.standard_normal((K, J + 3))
    big = np.full((m + 1) * J, 7.0)
    C = big[:m * J].reshape(m, J)                  # the row after C must stay untouched
    gemm_nn(A, B, 3, C)
    np.testing.assert_allclose(C, A @ B[:, 3:], rtol=0, atol=1e-13)
    assert np.all(big[m * J:] == 7.0)


@pytest.mark.parametrize("shape", [(100, 37), (50, 101), (25, 51), (4, 4), (5, 9), (3, 2), (1, 1), (0, 3)])
def test_block_transpose(shape):
    from drl_np.toolbox._products import transpose
    A = np.random.default_rng(shape[0]).standard_normal(shape)
    AT = np.full(shape[::-1], np.nan)
    transpose(A, AT)
    np.testing.assert_array_equal(AT, A.T)


def test_masked_tail_reads_and_writes_only_its_lanes():
    import numba
    from drl_np.toolbox._simd import vload_masked, vstore_masked

    @numba.njit
    def copy_tail(src, dst, j, n):
        vstore_masked(dst, j, vload_masked(src, j, n), n)

    for n in (1, 2, 3, 4):
        src, dst = np.arange(8.0), np.full(8, -1.0)
        copy_tail(src, dst, 3, n)
        expected = np.full(8, -1.0)
        expected[3:3 + n] = src[3:3 + n]
        np.testing.assert_array_equal(dst, expected)
