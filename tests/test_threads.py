"""Work split over two threads gives the same values, bit for bit, as on one."""
import multiprocessing
import os

import numpy as np
import pytest
from scipy.stats import chi2

from drl_np import _threads
from drl_np.datasets import synthetic_pair
from drl_np.peers._stats import chi2_sf
from drl_np.peers.mad import irmad
from drl_np.regions import _segment_pair


@pytest.fixture(params=[False, True], ids=["one thread", "two threads"])
def threads(request, monkeypatch):
    monkeypatch.setattr(_threads, "_two_threads", lambda: request.param)
    return request.param


def test_map_two_keeps_the_order(threads):
    assert _threads.map_two(lambda x: x * 10, 1, 2) == [10, 20]


@pytest.mark.parametrize("size", [0, 1, 2, 7, 1000])
def test_chi2_sf_is_scipy_stats_bit_for_bit(threads, size):
    z = np.random.default_rng(size).chisquare(4, size) * 1.5
    if size >= 7:
        z[:4] = [0.0, np.inf, np.nan, 1e-300]
    for df in (1, 3, 4, 6):
        assert np.array_equal(chi2_sf(z, df), chi2.sf(z, df), equal_nan=True)


def test_irmad_and_segmentation_do_not_depend_on_the_threads(monkeypatch):
    t1, t2, _ = synthetic_pair(shape=(192, 192), seed=1)      # 2.25 blocks of IRMAD's sums
    x1, x2 = t1.reshape(-1, 4), t2.reshape(-1, 4)
    valid = np.ones(t1.shape[:2], dtype=bool)
    out = {}
    for two in (False, True):
        monkeypatch.setattr(_threads, "_two_threads", lambda two=two: two)
        fit = irmad(x1, x2, max_iter=10)
        out[two] = (fit["chi2"], fit["weights"], fit["a"], *_segment_pair(t1, t2, valid, 40, 0.1))
    for one, two in zip(out[False], out[True]):
        assert np.array_equal(one, two)


def _double_pair(queue):
    queue.put(_threads.map_two(lambda x: 2 * x, 3, 4))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_gets_its_own_helper_thread(monkeypatch):
    monkeypatch.setattr(_threads, "_two_threads", lambda: True)
    assert _threads.map_two(lambda x: x + 1, 1, 2) == [2, 3]     # the parent's helper exists now
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_double_pair, args=(queue,))
    child.start()
    child.join(timeout=60)
    if child.is_alive():                                          # the parent's dead helper waited on
        child.kill()
    assert queue.get(timeout=1) == [6, 8]


def test_work_nested_in_the_helper_runs_in_place(monkeypatch):
    monkeypatch.setattr(_threads, "_two_threads", lambda: True)
    inner = lambda x: _threads.map_two(lambda y: y * x, 1, 2)      # noqa: E731
    assert _threads.map_two(inner, 10, 100) == [[10, 20], [100, 200]]
