"""Relative radiometric normalisation, the 'auto' scaling rule and the
region statistics, on small scenes made here."""
import numpy as np
import pytest

from drl_np._validation import InputError
from drl_np.datasets import synthetic_pair
from drl_np.normalise import choose_scaling, invariant_normalise, invariant_pixels, orthogonal_regression
from drl_np.peers.mad import irmad, mad_chi2
from drl_np.regions import build_regions, scale_pair


def test_orthogonal_regression_recovers_a_line_and_is_symmetric():
    rng = np.random.default_rng(0)
    x = rng.normal(10, 3, 5000)
    y = 1.7 * x - 4.0
    b, a = orthogonal_regression(x, y)
    assert b == pytest.approx(1.7) and a == pytest.approx(-4.0)
    # with noise in both dates the slope of x on y is the inverse (not OLS)
    xn, yn = x + rng.normal(0, 0.5, x.size), y + rng.normal(0, 0.85, x.size)
    b1, _ = orthogonal_regression(xn, yn)
    b2, _ = orthogonal_regression(yn, xn)
    assert b1 * b2 == pytest.approx(1.0, abs=1e-12)


def _gain_pair(seed=0, gain=(1.3, 0.8, 1.1, 0.9), offset=(20.0, -5.0, 3.0, 8.0)):
    t1, t2, gt = synthetic_pair(seed=seed)
    t1 = 100 * t1
    t2 = 100 * t2 * np.array(gain) + np.array(offset)     # another sensor gain and offset
    return t1, t2, gt


def test_invariant_normalisation_undoes_a_gain_and_offset():
    t1, t2, gt = _gain_pair()
    valid = np.ones(gt.shape, dtype=bool)
    t2n, info = invariant_normalise(t1, t2, valid)
    assert info["n_invariant"] >= 200
    np.testing.assert_allclose(info["gain"], [1.3, 0.8, 1.1, 0.9], rtol=0.08)
    unchanged = gt == 0
    before = np.abs(t2 - t1)[unchanged].mean()
    after = np.abs(t2n - t1)[unchanged].mean()
    assert after < 0.2 * before


def test_mad_chi2_scores_the_fitted_pixels_as_irmad_does():
    t1, t2, _ = _gain_pair()
    x1, x2 = t1.reshape(-1, 4), t2.reshape(-1, 4)
    fit = irmad(x1, x2, max_iter=10)
    np.testing.assert_array_equal(mad_chi2(x1, x2, fit), fit["chi2"])


def test_invariant_pixels_from_a_sample_match_those_from_every_pixel():
    t1, t2, _ = _gain_pair()
    x1, x2 = t1.reshape(-1, 4), t2.reshape(-1, 4)                     # 65 536 pixels
    full = invariant_pixels(x1, x2, sample=x1.shape[0])
    sampled = invariant_pixels(x1, x2, sample=x1.shape[0] // 8)       # IRMAD on every 8th pixel
    assert full.sum() >= 200 and 0 < sampled.sum()
    assert np.mean(full == sampled) > 0.98
    # sampled pixels change the mask, so the test sees the sample at all
    assert not np.array_equal(full, sampled)
    gains = [[orthogonal_regression(x1[m, b], x2[m, b])[0] for b in range(4)] for m in (full, sampled)]
    np.testing.assert_allclose(gains[1], gains[0], rtol=0.01)


def test_auto_scaling_rule():
    t1, t2, gt = _gain_pair()
    valid = np.ones(gt.shape, dtype=bool)
    assert choose_scaling(t1, t2, valid)[0] == "invariant"
    assert choose_scaling(t1[..., :2], t2[..., :2], valid)[0] == "joint"     # 1-2 bands
    _, _, _, info = scale_pair(t1, t2, scaling="auto", return_info=True)
    assert info["scaling"] == "invariant" and info["requested"] == "auto"
    with pytest.raises(InputError, match="scaling must be one of"):
        scale_pair(t1, t2, scaling="histogram")


def test_auto_scaling_restores_the_change_contrast():
    # joint scaling of dates with different gains: unchanged land differs
    # more than with the auto (invariant) normalisation
    t1, t2, gt = _gain_pair()
    ratios = {}
    for scaling in ("joint", "auto"):
        a, b, _ = scale_pair(t1, t2, scaling=scaling)
        d = np.linalg.norm(a - b, axis=2)
        ratios[scaling] = d[gt > 0].mean() / d[gt == 0].mean()
    assert ratios["auto"] > 2 * ratios["joint"]


def _regions(labels, window=3):
    from drl_np.regions import _regions_from_labels
    t = np.zeros(labels.shape + (1,))
    return _regions_from_labels(labels, t, t, labels >= 0, window, "superpixel")


def test_interior_members_and_region_means():
    # two vertical strips: with a 3x3 window the interior pixels of each
    # strip are those not next to the other strip
    labels = np.zeros((6, 8), dtype=np.int64); labels[:, 4:] = 1
    r = _regions(labels)
    assert r.members("centre") is None
    every = r.members("mean")
    assert len(every) == 48
    inner = r.members("interior")
    assert len(inner) == 48 - 2 * 6                     # columns 3 and 4 touch the other strip
    np.testing.assert_array_equal(inner.region_mean(np.ones(len(inner))), [1.0, 1.0])
    values = np.arange(len(every), dtype=float)
    expect = [values[every.region == k].mean() for k in range(2)]
    np.testing.assert_allclose(every.region_mean(values), expect)
    with pytest.raises(InputError, match="region_statistic"):
        r.members("median")


def test_a_sliver_region_falls_back_to_its_centre():
    # a one-pixel-wide column: no pixel of it has its whole window inside it
    labels = np.zeros((7, 7), dtype=np.int64); labels[:, 3] = 1; labels[:, 4:] = 2
    r = _regions(labels)
    inner = r.members("interior")
    assert np.count_nonzero(inner.region == 1) == 1
    row, col = r.centres[1]
    assert col == 3 and len(inner) == 1 + 7 * 2 + 7 * 2   # the centre + columns 0-1 and 5-6


def test_members_cut_block_by_block_give_the_held_windows_values(monkeypatch):
    from drl_np import regions as regions_module
    from drl_np.decision import change_statistic
    from drl_np.regions import Members, build_regions

    t1, t2, _ = synthetic_pair(shape=(64, 64), seed=1)
    r = build_regions(t1, t2, window=3)
    lazy = r.members("interior")
    held = Members(*lazy.windows(), lazy.region, lazy.n_regions)
    assert lazy._held is None and len(lazy) > 1000
    monkeypatch.setattr(regions_module, "MEMBER_BLOCK", 333)          # many blocks, a ragged last one

    def stat(a, b):
        return change_statistic(a, b, "magnitude")
    np.testing.assert_array_equal(lazy.region_mean_of(stat), held.region_mean(stat(held.x1, held.x2)))
    np.testing.assert_array_equal(held.region_mean_of(stat), held.region_mean(stat(held.x1, held.x2)))


def test_pixel_members_give_the_mean_change_of_each_region_s_pixels():
    from drl_np.decision import change_statistic

    t1, t2, _ = synthetic_pair(shape=(48, 48), seed=2)
    r = build_regions(t1, t2, window=3, n_segments=30)
    members = r.members("pixels")
    assert len(members) == int(r.valid.sum()) and members.n_features == t1.shape[2]
    values = members.region_mean_of(lambda a, b: change_statistic(a, b, "magnitude"))
    pixel = np.sqrt(((r.t2s - r.t1s) ** 2).sum(axis=2))            # each pixel's own change
    expect = [pixel[r.labels == k].mean() for k in range(r.n_regions)]
    np.testing.assert_allclose(values, expect, rtol=1e-12)


def test_mean_samples_are_the_mean_of_the_members_windows():
    from drl_np._regions_geometry import _windows

    t1, t2, _ = synthetic_pair(shape=(40, 44), seed=3)
    centre = build_regions(t1, t2, window=3, n_segments=25)
    mean = build_regions(t1, t2, window=3, n_segments=25, sample="mean")
    np.testing.assert_array_equal(mean.labels, centre.labels)
    assert mean.sample == "mean" and centre.sample == "centre"
    coords = np.argwhere(mean.valid)                                  # every pixel with its window
    region = mean.labels[coords[:, 0], coords[:, 1]]
    for date, x in ((mean.t1s, mean.x1), (mean.t2s, mean.x2)):
        w = _windows(date, coords, 3)
        expect = np.stack([w[region == k].mean(axis=0) for k in range(mean.n_regions)])
        np.testing.assert_allclose(x, expect, rtol=1e-12, atol=1e-15)
    with pytest.raises(InputError, match="region_sample"):
        build_regions(t1, t2, sample="median")
