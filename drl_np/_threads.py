"""Two independent pieces of work on two threads, when the run may use two.

The pieces are NumPy, scikit-image and SciPy calls that release the GIL, so
threads run them side by side; each piece is computed exactly as it would
be alone, so the results are the same bit for bit on one thread or two.
The thread budget is Numba's (``NUMBA_NUM_THREADS``, or
:func:`numba.set_num_threads`), the one knob that already bounds drl_np's
parallel work; while the two threads run, BLAS runs one thread under each.
"""
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numba
from threadpoolctl import ThreadpoolController

__all__ = ["map_two"]


def _two_threads():
    return numba.get_num_threads() >= 2


@lru_cache(maxsize=1)
def _blas():
    """The BLAS libraries loaded (found once: ``threadpool_limits`` looks
    them up on every call, 1.5 ms, and IRMAD calls :func:`map_two` three
    times per iteration)."""
    return ThreadpoolController()


def map_two(fn, first, second):
    """``[fn(first), fn(second)]``, the two calls on two threads when allowed."""
    if not _two_threads():
        return [fn(first), fn(second)]
    # one BLAS thread under each of ours: two of ours, each over a BLAS pool
    # of all cores, oversubscribe the cores and run slower than one
    with _blas().limit(limits=1, user_api="blas"), ThreadPoolExecutor(2) as pool:
        return list(pool.map(fn, (first, second)))
