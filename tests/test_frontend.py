"""The scene's front end from a streaming pass equals scale_pair on the whole image."""
import numpy as np
import pytest

from drl_np.datasets import synthetic_pair
from drl_np.frontend import BandStats, fit_front_end
from drl_np.regions import scale_pair


def test_band_stats_merge_equals_one_pass():
    rng = np.random.default_rng(0)
    t1, t2 = rng.normal(1e4, 3.0, (2, 30, 20, 3))               # large offset: no cancellation
    valid = rng.random((30, 20)) > 0.2
    whole = BandStats.of(t1, t2, valid)
    parts = BandStats(3)
    for rows in (slice(0, 7), slice(7, 8), slice(8, 30)):
        parts.merge(BandStats.of(t1[rows], t2[rows], valid[rows]))
    assert parts.n == whole.n == valid.sum()
    np.testing.assert_allclose(parts.mean, whole.mean, rtol=1e-14)
    np.testing.assert_allclose(parts.std, np.stack([t1[valid].std(0), t2[valid].std(0)]), rtol=1e-10)
    np.testing.assert_array_equal(parts.lo, whole.lo)


@pytest.mark.parametrize("scaling", ["joint", "per-date", "invariant", "auto"])
def test_front_end_is_scale_pair(scaling):
    t1, t2, _ = synthetic_pair(shape=(64, 64))
    t2 = 1.3 * t2 + 0.1
    valid = np.ones((64, 64), bool)
    valid[3:9, 5:7] = False
    ref1, ref2, _, info = scale_pair(t1, t2, mask=valid, scaling=scaling, return_info=True)
    stats = BandStats.of(t1[:20], t2[:20], valid[:20]).merge(BandStats.of(t1[20:], t2[20:], valid[20:]))
    fe = fit_front_end(stats, t1[valid], t2[valid], scaling)
    assert fe.scaling == info["scaling"]
    s1, s2 = fe.apply(t1, t2, valid)
    np.testing.assert_allclose(s1, ref1, atol=1e-13)
    np.testing.assert_allclose(s2, ref2, atol=1e-13)
