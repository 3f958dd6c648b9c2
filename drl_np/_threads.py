"""Two independent pieces of work on two threads, when the run may use two.

The pieces are NumPy, scikit-image and SciPy calls and ``nogil`` Numba
kernels, all of which release the GIL, so threads run them side by side;
each piece is computed exactly as it would be alone, so the results are the
same bit for bit on one thread or two.
The thread budget is Numba's (``NUMBA_NUM_THREADS``, or
:func:`numba.set_num_threads`), the one knob that already bounds drl_np's
parallel work; while the two threads run, BLAS runs one thread under each.
"""
import os
import threading
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
    them up on every call, 1.5 ms, and IRMAD calls :func:`map_two` four
    times per iteration)."""
    return ThreadpoolController()


def map_two(fn, first, second):
    """``[fn(first), fn(second)]``, the two calls on two threads when allowed:
    ``first`` on a helper thread, ``second`` on the calling one."""
    if not _two_threads() or threading.current_thread().name.startswith(_HELPER_NAME):
        return [fn(first), fn(second)]                     # one thread, or nested in the helper
    helper = _helper()
    # one BLAS thread under each of ours: two of ours, each over a BLAS pool
    # of all cores, oversubscribe the cores and run slower than one
    with _blas().limit(limits=1, user_api="blas"):
        pending = helper.submit(fn, first)
        try:
            out_second = fn(second)
        finally:
            out_first = pending.result()                   # never leave the helper running
    return [out_first, out_second]


_HELPER_NAME = "drl_np-map_two"
_pool = {}                        # {process id: its one-thread executor}
_pool_lock = threading.Lock()


def _helper():
    """The helper thread of this process, started once (IRMAD calls
    :func:`map_two` four times per iteration, and starting two threads per
    call cost a tenth of its time), and again in a forked child, where the
    parent's thread does not run."""
    pid = os.getpid()
    with _pool_lock:
        if pid not in _pool:
            _pool.clear()
            _pool[pid] = ThreadPoolExecutor(1, thread_name_prefix=_HELPER_NAME)
        return _pool[pid]
