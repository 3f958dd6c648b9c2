"""The vectorisable ``exp`` of the Numba engine against NumPy's."""
import numpy as np
import pytest

from drl_np.toolbox._exp import exp_array


def _exp(values):
    x = np.asarray(values, dtype=np.float64)
    return exp_array(x, np.empty_like(x))


def _ulps(a, b):
    return np.abs(a - b) / np.spacing(np.abs(b))


def test_hand_worked_values():
    # exp(0) = 1 and exp(k ln 2) = 2^k: the polynomial and the scaling alone
    out = _exp([0.0, -0.0, np.log(2.0), -np.log(2.0), 10 * np.log(2.0)])
    assert out[0] == 1.0 and out[1] == 1.0
    assert _ulps(out[2:], np.array([2.0, 0.5, 1024.0])).max() <= 1


def test_edges_overflow_underflow_and_nan():
    x = np.array([709.78, 709.79, 710.0, 1e4, np.inf,           # last finite, then inf
                  -708.4, -720.0, -745.1, -745.2, -1e4, -np.inf,  # subnormal, then 0
                  np.nan])
    with np.errstate(over="ignore", under="ignore"):
        expected = np.exp(x)
    out = _exp(x)
    np.testing.assert_array_equal(out[[1, 2, 3, 4, 8, 9, 10]], expected[[1, 2, 3, 4, 8, 9, 10]])
    assert np.isnan(out[-1])
    finite = [0, 5, 6, 7]
    assert _ulps(out[finite], expected[finite]).max() <= 1


@pytest.mark.parametrize("low, high", [(-1, 1), (-40, 40), (-745, 709)])
def test_within_one_ulp_of_numpy(low, high):
    x = np.random.default_rng(0).uniform(low, high, 200_000)
    out, expected = _exp(x), np.exp(x)
    u = _ulps(out, expected)
    assert u.max() <= 1
    assert np.mean(u > 0) < 0.15          # most values are the same double
