"""The loop products of the Numba engine against ``@``."""
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
