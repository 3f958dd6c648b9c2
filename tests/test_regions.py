"""Tests of drl_np.regions: scaling, overlay, centres, windows, paint."""
import numpy as np
import pytest
from skimage.measure import label as cc_label

from drl_np._regions_geometry import (_centres, _mean_windows, _overlay, _pixel_labels,
                                      _raster_order, _symmetric_index,
                                      _windows)
from drl_np._validation import InputError
from drl_np.regions import (Regions, _regions_from_labels, _segment_pair,
                            build_regions, scale_pair)

# Hand-made overlay (4 x 5). Pairs (l1, l2) per pixel:
#   (0,0)(0,0)(0,1)(1,1)(1,1)
#   (0,0)(0,0)(0,1)(1,1)(1,1)
#   (2,0)(2,0)(2,1)(2,1)(2,0)   <- (2,0) occurs in two separate places
#   (2,3)(2,3)(2,3)(2,1)(2,0)
L1 = np.array([[0, 0, 0, 1, 1],
               [0, 0, 0, 1, 1],
               [2, 2, 2, 2, 2],
               [2, 2, 2, 2, 2]])
L2 = np.array([[0, 0, 1, 1, 1],
               [0, 0, 1, 1, 1],
               [0, 0, 1, 1, 0],
               [3, 3, 3, 1, 0]])
EXPECTED = np.array([[0, 0, 1, 2, 2],
                     [0, 0, 1, 2, 2],
                     [3, 3, 4, 4, 5],
                     [6, 6, 6, 4, 5]])
# Centres worked by hand: ties (2 x 2 block, 1 x 2 pairs) go to the first
# member in raster order; region 4 = {(2,2),(2,3),(3,3)} has centroid
# (7/3, 8/3) and squared distances 5/9, 2/9, 5/9 -> (2,3); region 6 is a
# row of three -> its middle pixel.
EXPECTED_CENTRES = np.array([[0, 0], [0, 2], [0, 3], [2, 0], [2, 3], [2, 4],
                             [3, 1]])
EXPECTED_SIZES = np.array([4, 2, 4, 2, 3, 2, 3])


def _blocky_pair(shape=(40, 48), bands=3, seed=1):
    """Piecewise-constant parcels plus noise, a few parcels changed."""
    rng = np.random.default_rng(seed)
    rows, cols = shape
    parcel = (np.arange(rows)[:, None] // 8) * 7 + np.arange(cols)[None, :] // 12
    spectra = rng.random((parcel.max() + 1, bands))
    t1 = spectra[parcel] + 0.03 * rng.standard_normal(shape + (bands,))
    changed = np.isin(parcel, [3, 9, 16])
    t2 = t1.copy()
    t2[changed] = 1.0 - t2[changed]
    t2 += 0.03 * rng.standard_normal(shape + (bands,))
    return t1, t2


# -- scaling --------------------------------------------------------------------
def test_scale_pair_exact_values_and_validity():
    # band 0: t1 = [0, 5, 1], t2 = [10, 2.5, -9999(nodata)] -> lo 0, hi 10
    # band 1: constant 7 on valid pixels -> scales to 0
    t1 = np.array([[[0.0, 7.0], [5.0, 7.0], [1.0, 7.0], [np.inf, 7.0]]])
    t2 = np.array([[[10.0, 7.0], [2.5, 7.0], [3.0, -9999.0], [4.0, 7.0]]])
    t1s, t2s, valid = scale_pair(t1, t2, nodata=-9999)
    np.testing.assert_array_equal(valid, [[True, True, False, False]])
    np.testing.assert_array_equal(t1s[..., 0], [[0.0, 0.5, 0.0, 0.0]])
    np.testing.assert_array_equal(t2s[..., 0], [[1.0, 0.25, 0.0, 0.0]])
    np.testing.assert_array_equal(t1s[..., 1], 0.0)
    np.testing.assert_array_equal(t2s[..., 1], 0.0)


def test_scale_pair_mask_excludes_extremes():
    t1 = np.array([[1.0, 2.0, 100.0]])
    t2 = np.array([[3.0, 2.0, -50.0]])
    mask = np.array([[True, True, False]])
    t1s, t2s, valid = scale_pair(t1, t2, mask=mask)
    np.testing.assert_array_equal(valid, mask)
    np.testing.assert_array_equal(t1s[..., 0], [[0.0, 0.5, 0.0]])
    np.testing.assert_array_equal(t2s[..., 0], [[1.0, 0.5, 0.0]])


def test_scale_pair_joint_range_is_unit_per_band():
    t1, t2 = _blocky_pair()
    t2 = t2 * np.array([1.0, 3.0, 0.1]) + 5.0
    t1s, t2s, valid = scale_pair(t1, t2)
    both = np.concatenate([t1s[valid], t2s[valid]])           # (2p, B)
    np.testing.assert_allclose(both.min(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(both.max(axis=0), 1.0, rtol=1e-15)


@pytest.mark.parametrize("kwargs, match", [
    (dict(mask=np.ones((3, 3), bool)), "mask has shape"),
    (dict(mask=np.zeros((2, 3), bool)), "no valid pixel"),
    (dict(nodata=1.0), "no valid pixel"),
    (dict(mask=np.full((2, 3), 2)), "boolean"),
    (dict(nodata="x"), "nodata"),
])
def test_scale_pair_errors(kwargs, match):
    t = np.ones((2, 3, 2))
    with pytest.raises(InputError, match=match):
        scale_pair(t, t, **kwargs)


def test_scale_pair_all_nan_and_shape_mismatch():
    with pytest.raises(InputError, match="no valid pixel"):
        scale_pair(np.full((2, 2), np.nan), np.ones((2, 2)))
    with pytest.raises(InputError, match="differ in size"):
        scale_pair(np.ones((2, 2)), np.ones((2, 3)))


# -- overlay, centres, windows on hand-written label maps ------------------------
def test_overlay_hand_made():
    np.testing.assert_array_equal(_overlay(L1, L2), EXPECTED)


def test_overlay_diagonal_is_not_connected_and_masked_is_minus_one():
    l1 = np.array([[0, 1, 0], [1, 0, 1]])
    l2 = np.array([[0, 0, 0], [0, -1, 0]])
    np.testing.assert_array_equal(_overlay(l1, l2), [[0, 1, 2], [3, -1, 4]])


def test_raster_order_renumbers_by_first_pixel():
    scrambled = np.array([[5, 5, 2], [-1, 0, 2], [7, 0, 0]])
    np.testing.assert_array_equal(_raster_order(scrambled),
                                  [[0, 0, 1], [-1, 2, 1], [3, 2, 2]])
    np.testing.assert_array_equal(_raster_order(EXPECTED), EXPECTED)


def test_centres_hand_made():
    sizes, centres = _centres(EXPECTED, 7)
    np.testing.assert_array_equal(sizes, EXPECTED_SIZES)
    np.testing.assert_array_equal(centres, EXPECTED_CENTRES)


def test_centre_is_a_member_when_centroid_is_outside():
    # A ring: centroid (1, 1) is not a member; the four edge midpoints are
    # at distance 1, the first in raster order is (0, 1).
    ring = np.zeros((3, 3), dtype=np.int64)
    ring[1, 1] = -1
    sizes, centres = _centres(ring, 1)
    np.testing.assert_array_equal(sizes, [8])
    np.testing.assert_array_equal(centres, [[0, 1]])


def test_window_order_and_symmetric_padding_hand_made():
    # band 0 = 10 r + c, band 1 = -(10 r + c); image 3 x 4.
    base = 10.0 * np.arange(3)[:, None] + np.arange(4)[None, :]
    image = np.stack([base, -base], axis=2)                   # (3, 4, 2)
    x = _windows(image, np.array([[0, 0], [1, 2], [2, 3]]), 3)
    # corner (0, 0): rows -1,0,1 -> 0,0,1; cols -1,0,1 -> 0,0,1
    corner = np.array([[0, 0, 1], [0, 0, 1], [10, 10, 11]], float)
    inner = np.array([[1, 2, 3], [11, 12, 13], [21, 22, 23]], float)
    # corner (2, 3): rows 1,2,3 -> 1,2,2; cols 2,3,4 -> 2,3,3
    far = np.array([[12, 13, 13], [22, 23, 23], [22, 23, 23]], float)
    for i, win in enumerate([corner, inner, far]):
        # element (dy*w + dx)*B + b
        np.testing.assert_array_equal(x[i, 0::2], win.ravel())
        np.testing.assert_array_equal(x[i, 1::2], -win.ravel())


@pytest.mark.parametrize("shape, window", [((6, 8, 2), 3), ((6, 8, 2), 5),
                                           ((2, 3, 1), 7), ((1, 1, 3), 3)])
def test_windows_equal_np_pad_route(shape, window):
    rng = np.random.default_rng(0)
    image = rng.random(shape)
    half = window // 2
    padded = np.pad(image, ((half, half), (half, half), (0, 0)),
                    mode="symmetric")
    rr, cc = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]),
                         indexing="ij")
    centres = np.stack([rr.ravel(), cc.ravel()], axis=1)
    x = _windows(image, centres, window)
    expected = np.stack([padded[r:r + window, c:c + window].ravel()
                         for r, c in centres])
    np.testing.assert_array_equal(x, expected)


def test_symmetric_index_matches_np_pad():
    a = np.arange(3)
    padded = np.pad(a, 7, mode="symmetric")
    np.testing.assert_array_equal(_symmetric_index(np.arange(-7, 10), 3),
                                  padded)


def test_regions_from_hand_labels():
    # 4 x 5, 2 bands; band 0 = pixel number, band 1 = its square.
    t1 = np.arange(20.0).reshape(4, 5)
    t1 = np.stack([t1, t1 ** 2], axis=2)
    t2 = t1[::-1, ::-1]
    t1s, t2s, valid = scale_pair(t1, t2)
    r = _regions_from_labels(_overlay(L1, L2), t1s, t2s, valid, 3,
                             "superpixel")
    assert len(r) == r.n_regions == 7
    np.testing.assert_array_equal(r.labels, EXPECTED)
    np.testing.assert_array_equal(r.sizes, EXPECTED_SIZES)
    np.testing.assert_array_equal(r.centres, EXPECTED_CENTRES)
    assert r.x1.shape == r.x2.shape == (7, 18)
    # region 4, centre (2, 3): an interior window, read by plain slicing
    np.testing.assert_array_equal(r.x1[4], t1s[1:4, 2:5].ravel())
    np.testing.assert_array_equal(r.x2[4], t2s[1:4, 2:5].ravel())


# -- pixel mode and masking ------------------------------------------------------
def test_pixel_mode_6x8_with_mask():
    rng = np.random.default_rng(3)
    t1 = rng.random((6, 8, 2))
    t2 = rng.random((6, 8, 2))
    t2[0, 0, 1] = np.nan
    mask = np.ones((6, 8), bool)
    mask[2:4, 3:5] = False
    r = build_regions(t1, t2, mask=mask, unit="pixel", window=1)
    valid = mask.copy()
    valid[0, 0] = False
    np.testing.assert_array_equal(r.valid, valid)
    assert r.n_regions == valid.sum() == 6 * 8 - 5
    np.testing.assert_array_equal(r.labels[valid], np.arange(r.n_regions))
    assert np.all(r.labels[~valid] == -1)
    np.testing.assert_array_equal(r.sizes, 1)
    np.testing.assert_array_equal(r.centres, np.argwhere(valid))
    np.testing.assert_array_equal(r.x1, r.t1s[valid])
    np.testing.assert_array_equal(r.x2, r.t2s[valid])
    np.testing.assert_array_equal(_pixel_labels(valid), r.labels)


def test_masked_pixels_never_become_samples():
    t1, t2 = _blocky_pair()
    mask = np.ones(t1.shape[:2], bool)
    mask[10:20, 5:30] = False
    t1[0, :, 1] = -1.0          # nodata row
    r = build_regions(t1, t2, mask=mask, nodata=-1.0, n_segments=12)
    valid = mask.copy()
    valid[0] = False
    np.testing.assert_array_equal(r.valid, valid)
    np.testing.assert_array_equal(r.labels >= 0, valid)
    assert r.sizes.sum() == valid.sum()
    assert valid[r.centres[:, 0], r.centres[:, 1]].all()


# -- superpixel mode: structure on a random-ish scene ----------------------------
def test_every_valid_pixel_in_exactly_one_connected_maximal_region():
    t1, t2 = _blocky_pair()
    mask = np.ones(t1.shape[:2], bool)
    mask[5:9, 30:40] = False
    t1s, t2s, valid = scale_pair(t1, t2, mask=mask)
    l1, l2 = _segment_pair(t1s, t2s, valid, 20, 0.3)
    labels = _overlay(l1, l2)
    n = labels.max() + 1
    assert n > max(l1.max(), l2.max()) + 1          # overlay is finer
    np.testing.assert_array_equal(labels >= 0, valid)
    np.testing.assert_array_equal(np.unique(labels[valid]), np.arange(n))
    # each region is one 4-connected component
    for k in range(n):
        assert cc_label(labels == k, connectivity=1).max() == 1
    # each region lies in one segment of each date ...
    pair = l1 * (l2.max() + 1) + l2
    first = np.zeros(n, dtype=np.int64)
    first[labels[valid]] = pair[valid]
    np.testing.assert_array_equal(pair[valid], first[labels[valid]])
    # ... and is maximal: 4-neighbours with one pair share one region
    for a, b in [(np.s_[:, :-1], np.s_[:, 1:]), (np.s_[:-1, :], np.s_[1:, :])]:
        both = valid[a] & valid[b]
        same_pair = pair[a] == pair[b]
        same_region = labels[a] == labels[b]
        np.testing.assert_array_equal(same_pair[both], same_region[both])


def test_build_regions_superpixel_windows_and_determinism():
    t1, t2 = _blocky_pair()
    r = build_regions(t1, t2, n_segments=20, random_state=5)
    r2 = build_regions(t1, t2, n_segments=20)
    np.testing.assert_array_equal(r.labels, r2.labels)
    np.testing.assert_array_equal(r.x1, r2.x1)
    assert r.labels.dtype == np.int64 and r.centres.dtype.kind == "i"
    assert r.x1.shape == (r.n_regions, 9 * 3) and r.x1.dtype == np.float64
    assert r.sizes.sum() == t1.shape[0] * t1.shape[1]
    np.testing.assert_array_equal(r.labels[r.centres[:, 0], r.centres[:, 1]],
                                  np.arange(r.n_regions))
    pad1 = np.pad(r.t1s, ((1, 1), (1, 1), (0, 0)), mode="symmetric")
    pad2 = np.pad(r.t2s, ((1, 1), (1, 1), (0, 0)), mode="symmetric")
    for i in range(0, r.n_regions, max(1, r.n_regions // 25)):
        y, x = r.centres[i]
        np.testing.assert_array_equal(r.x1[i], pad1[y:y + 3, x:x + 3].ravel())
        np.testing.assert_array_equal(r.x2[i], pad2[y:y + 3, x:x + 3].ravel())


# -- paint ------------------------------------------------------------------------
def test_paint_round_trip_and_fill():
    t1, t2 = _blocky_pair(shape=(20, 24))
    mask = np.ones((20, 24), bool)
    mask[3:6, 4:9] = False
    r = build_regions(t1, t2, mask=mask, n_segments=6)
    np.testing.assert_array_equal(r.paint(np.arange(len(r))), r.labels)
    f = r.paint(np.arange(len(r)) + 0.5)
    assert np.isnan(f[~mask]).all() and f.dtype == np.float64
    np.testing.assert_array_equal(f[mask], r.labels[mask] + 0.5)
    two = r.paint(np.stack([np.arange(len(r)), -np.arange(len(r))], axis=1))
    assert two.shape == (20, 24, 2)
    np.testing.assert_array_equal(two[..., 1][mask], -r.labels[mask])
    np.testing.assert_array_equal(two[~mask], -1)
    np.testing.assert_array_equal(r.paint(np.ones(len(r), bool))[~mask], -1)
    assert r.paint(np.ones(len(r), np.float32)).dtype == np.float32
    u = r.paint(np.arange(len(r), dtype=np.uint8), fill=255)
    assert u.dtype == np.uint8 and (u[~mask] == 255).all()
    with pytest.raises(InputError, match="one entry per region"):
        r.paint(np.arange(len(r) + 1))


def test_regions_constructor_only_stores():
    labels = np.array([[0, -1]])
    r = Regions(labels, np.array([1]), np.array([[0, 0]]), np.zeros((1, 1)),
                np.zeros((1, 1)), 1, labels >= 0, np.zeros((1, 2, 1)),
                np.zeros((1, 2, 1)), "pixel")
    assert len(r) == 1 and "n_regions=1" in repr(r)
    np.testing.assert_array_equal(r.paint([7]), [[7, -1]])


# -- argument errors ---------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    (dict(window=4), "window must be odd"),
    (dict(window=0), "window must be an integer"),
    (dict(unit="segment"), "unit must be"),
    (dict(n_segments=0), "n_segments must be"),
    (dict(compactness=0.0), "compactness must be"),
    (dict(compactness=np.inf), "compactness must be"),
    (dict(mask=np.ones((4, 4), bool)), "mask has shape"),
])
def test_build_regions_errors(kwargs, match):
    t = np.random.default_rng(0).random((5, 6, 2))
    with pytest.raises(InputError, match=match):
        build_regions(t, t, **kwargs)


def test_per_date_scaling_removes_gain_and_offset():
    rng = np.random.default_rng(3)
    t1 = rng.random((12, 10, 3))
    t2 = 2.5 * t1 + np.array([4.0, -1.0, 0.5])          # same scene, other radiometry
    j1, j2, _ = scale_pair(t1, t2)
    assert np.abs(j1 - j2).max() > 0.1                   # joint scaling keeps the shift
    p1, p2, valid = scale_pair(t1, t2, scaling="per-date")
    np.testing.assert_allclose(p1, p2, atol=1e-12)
    assert p1.min() == 0.0 and np.isclose(max(p1.max(), p2.max()), 1.0)


def test_per_date_scaling_ignores_invalid_pixels():
    t1 = np.array([[[0.0], [1.0], [2.0], [1e9]]])
    t2 = np.array([[[1.0], [2.0], [3.0], [5.0]]])
    mask = np.array([[True, True, True, False]])
    p1, p2, valid = scale_pair(t1, t2, mask=mask, scaling="per-date")
    np.testing.assert_allclose(p1[valid], p2[valid])
    assert p1[0, 3, 0] == 0 and p2[0, 3, 0] == 0


def test_unknown_scaling_is_named():
    with pytest.raises(InputError, match="scaling must be one of"):
        scale_pair(np.zeros((2, 2)), np.zeros((2, 2)), scaling="global")


def test_default_compactness_follows_land_cover_on_narrow_data():
    # uint16-like data: two covers 1 % of the range apart, split along a
    # diagonal, plus a few bright outliers that stretch the min-max scaling
    m = n = 60
    rr, cc = np.mgrid[:m, :n]
    cover = (rr + 0.5 * cc > 40).astype(float)                       # (M, N)
    rng = np.random.default_rng(0)
    t = 1000 + 100 * cover[:, :, None] + rng.normal(0, 2, (m, n, 3))
    t[0, 0] = 10000.0
    t1, t2 = t, t + rng.normal(0, 2, t.shape)
    from drl_np.regions import COMPACTNESS, default_compactness, scale_pair

    a, b, v = scale_pair(t1, t2)
    assert default_compactness(a, b, v) < COMPACTNESS / 10
    full = rng.random((m, n, 3))
    assert default_compactness(full, full, np.ones((m, n), bool)) == COMPACTNESS

    def impurity(regions):
        lab = regions.labels
        bad = 0
        for k in np.unique(lab[lab >= 0]):
            share = cover[lab == k].mean()
            bad += min(share, 1 - share) * (lab == k).sum()
        return bad / lab.size

    default = build_regions(t1, t2, n_segments=24)
    fixed = build_regions(t1, t2, n_segments=24, compactness=COMPACTNESS)
    assert impurity(default) < 0.5 * impurity(fixed)


@pytest.mark.parametrize("shape, window", [((40, 57, 4), 3), ((9, 11, 2), 5), ((2, 3, 1), 7)])
def test_compiled_mean_windows_equal_the_bincount_twin_bit_for_bit(shape, window):
    rng = np.random.default_rng(sum(shape) + window)
    image = rng.normal(size=shape)
    labels = rng.integers(0, 12, shape[:2])
    labels[rng.random(shape[:2]) < 0.2] = -1               # masked pixels are no members
    labels[labels == 5] = -1                               # region 5 has no member: a row of zeros
    fast = _mean_windows(image, labels, 12, window, engine="numba")
    twin = _mean_windows(image, labels, 12, window, engine="numpy")
    assert np.array_equal(fast, twin)
    assert np.all(fast[5] == 0.0)
    # and the mean of the members' own windows, read with symmetric padding
    members = np.argwhere(labels == 3)
    if members.size:
        np.testing.assert_allclose(fast[3], _windows(image, members, window).mean(axis=0), rtol=1e-12)
