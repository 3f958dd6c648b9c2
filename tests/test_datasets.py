"""Tests of drl_np.datasets: the synthetic scene and the .npz pair format."""
import os
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from drl_np._validation import InputError
from drl_np.datasets import (LAND_COVERS, TRANSITIONS, available_datasets, band_names,
                             load_pair, plant_transitions, save_pair, synthetic_pair)
from drl_np.metrics import change_analysis_accuracy

RED, GREEN, BLUE, NIR = 0, 1, 2, 3


# -- synthetic_pair --------------------------------------------------------------
def test_synthetic_pair_is_deterministic_for_a_seed():
    a = synthetic_pair((64, 80), seed=5)
    b = synthetic_pair((64, 80), seed=5)
    c = synthetic_pair((64, 80), seed=6)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_synthetic_pair_shapes_dtypes_ranges():
    t1, t2, gt = synthetic_pair((48, 70), bands=4, n_change_types=3, seed=2)
    assert t1.shape == t2.shape == (48, 70, 4)
    assert t1.dtype == t2.dtype == np.float32 and gt.dtype == np.uint8
    assert gt.shape == (48, 70) and set(np.unique(gt)) <= {0, 1, 2, 3}
    for t in (t1, t2):
        assert t.min() >= 0.0 and t.max() <= 1.0 and np.isfinite(t).all()


@pytest.mark.parametrize("seed, k", [(0, 4), (1, 4), (2, 1), (3, 7), (4, 2)])
def test_change_shares(seed, k):
    _, _, gt = synthetic_pair(n_change_types=k, seed=seed)
    share = np.bincount(gt.ravel(), minlength=k + 1) / gt.size
    assert share.size == k + 1                      # no type beyond K
    assert 0.10 <= 1 - share[0] <= 0.26
    assert share[1:].min() >= 0.02


def test_transitions_have_the_spectral_signature_of_their_covers():
    t1, t2, gt = synthetic_pair(seed=0, n_change_types=len(TRANSITIONS))
    # the knots 0.49/0.56/0.66/0.84 um are blue/green/red/nir of the library
    library_delta = {k: LAND_COVERS[b][[2, 1, 0, 3]] - LAND_COVERS[a][[2, 1, 0, 3]]
                     for k, (a, b) in enumerate(TRANSITIONS, start=1)}
    for k, expected in library_delta.items():
        measured = (t2 - t1)[gt == k].mean(axis=0)  # (B,)
        big = np.abs(expected) > 0.08
        # large library jumps show up with their sign; every band within the
        # seasonal gain/offset and per-parcel brightness spread
        assert np.all(np.sign(measured[big]) == np.sign(expected[big])), k
        np.testing.assert_allclose(measured, expected, atol=0.07, err_msg=str(k))


def test_seasonal_differences_are_smaller_than_every_transition():
    t1, t2, gt = synthetic_pair(seed=1)
    magnitude = np.linalg.norm(t2.astype(float) - t1, axis=2)
    unchanged_high = np.percentile(magnitude[gt == 0], 95)
    assert unchanged_high > 0                       # the dates do differ
    for k in range(1, 5):
        assert np.percentile(magnitude[gt == k], 5) > 2 * unchanged_high, k


def test_vegetation_is_red_dark_and_nir_bright():
    t1, _, gt = synthetic_pair(seed=0)
    veg_to_soil = gt == 1                           # vegetation at t1
    water_to_veg = gt == 3                          # water at t1
    ndvi = (t1[..., NIR] - t1[..., RED]) / (t1[..., NIR] + t1[..., RED] + 1e-6)
    assert np.median(ndvi[veg_to_soil]) > 0.6
    assert np.median(t1[..., NIR][water_to_veg]) < 0.05


def test_naive_difference_clustering_recovers_the_types():
    from skimage.filters import threshold_otsu
    from sklearn.cluster import KMeans
    t1, t2, gt = synthetic_pair((128, 128), seed=3)
    d = (t2.astype(np.float64) - t1).reshape(-1, 4)  # (M*N, B)
    changed = np.linalg.norm(d, axis=1) >= threshold_otsu(np.linalg.norm(d, axis=1))
    labels = KMeans(4, n_init=4, random_state=0).fit_predict(d[changed])
    pred = np.zeros(d.shape[0], int)
    pred[changed] = labels + 1
    assert change_analysis_accuracy(gt, pred.reshape(gt.shape)).acc > 0.9


@pytest.mark.parametrize("bands", [3, 6, 9])
def test_band_counts(bands):
    t1, t2, _ = synthetic_pair((32, 32), bands=bands, n_change_types=7, seed=0)
    assert t1.shape == (32, 32, bands)
    names = band_names(bands)
    assert len(names) == bands and names[:3] == ("red", "green", "blue")
    assert len(set(names)) == bands


def test_swir_bands_follow_the_library():
    t1, _, gt = synthetic_pair(bands=6, seed=0)
    soil_later = gt == 1                            # vegetation at t1
    veg = t1[soil_later].mean(axis=0)
    # vegetation: SWIR1 below NIR, SWIR2 below SWIR1
    assert veg[4] < veg[3] and veg[5] < veg[4]


@pytest.mark.parametrize("kwargs, match", [
    (dict(shape=(31, 64)), "shape"), (dict(shape=(64,)), "shape"),
    (dict(shape="64"), "shape"), (dict(bands=2), "bands"),
    (dict(n_change_types=0), "n_change_types"),
    (dict(n_change_types=len(TRANSITIONS) + 1), "n_change_types"),
    (dict(seed=-1), "seed"), (dict(seed=1.5), "seed")])
def test_synthetic_pair_rejects_bad_arguments(kwargs, match):
    with pytest.raises(InputError, match=match) as err:
        synthetic_pair(**kwargs)
    assert "\n" not in str(err.value)


# -- plant_transitions -------------------------------------------------------------
#: Mean spectra of the six blocks of the test scene (4 bands, in [0, 1]).
_BLOCK_SPECTRA = np.array([[0.10, 0.20, 0.10, 0.60], [0.30, 0.30, 0.35, 0.40],
                           [0.05, 0.05, 0.04, 0.02], [0.60, 0.60, 0.62, 0.65],
                           [0.20, 0.35, 0.15, 0.80], [0.45, 0.30, 0.20, 0.30]])


def _blocks(dtype=np.float32, shape=(96, 96), bands=4, seed=0):
    """A scene of six textured blocks (3 x 2 grid), values in the dtype's units:
    [0, 1] for floats, x 250 for uint8, x 10000 for other integers."""
    rng = np.random.default_rng(seed)
    rows, cols = shape
    block = (np.arange(rows)[:, None] * 3 // rows) * 2 + np.arange(cols)[None, :] * 2 // cols
    x = _BLOCK_SPECTRA[block][..., :bands]  # (M, N, B)
    x = x * (1 + 0.08 * rng.standard_normal((rows, cols, 1))) \
        + 0.01 * rng.standard_normal(x.shape)  # texture and per-band noise
    x = np.clip(x, 0.0, 1.0)
    if np.issubdtype(dtype, np.integer):
        return np.rint(x * (250 if dtype == np.uint8 else 10000)).astype(dtype)
    return x.astype(dtype)


def _ramp_model(info, shape):
    """The illumination field recomputed from scratch: 1 + gradient * u with u
    linear, so it is a plane; returns the plane's least-squares residual."""
    r, c = np.mgrid[0:shape[0], 0:shape[1]]
    design = np.stack([np.ones(r.size), r.ravel(), c.ravel()], 1)  # (M*N, 3)
    coef, *_ = np.linalg.lstsq(design, info.illumination.ravel(), rcond=None)
    return np.abs(design @ coef - info.illumination.ravel()).max()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_plant_counts_equal_info_and_parcels_are_source_land(seed):
    img = _blocks()
    t1, t2, gt, info = plant_transitions(img, n_types=3, seed=seed)
    assert len(info.transitions) == len(info.pixels) == len(info.parcels) == 3
    assert gt.dtype == np.uint8 and set(np.unique(gt)) == {0, 1, 2, 3}
    for k, ((source, target), n) in enumerate(zip(info.transitions, info.pixels), start=1):
        assert n == (gt == k).sum() > 0
        assert source != target
        assert (info.cover[gt == k] == source).all()       # whole parcels of the source
        assert 0.005 < n / gt.size < 0.08                   # 1-3 % within a superpixel
    assert len(set(info.transitions)) == 3
    np.testing.assert_array_equal(t1, img)                  # t1 is the image itself


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_plant_pasted_pixels_are_real_target_class_pixels(dtype):
    img = _blocks(dtype)
    # identity radiometry: t2 is the image with the parcels replaced
    t1, t2, gt, info = plant_transitions(img, n_types=4, seed=3, gain=1.0, offset=0.0,
                                         gradient=0.0, noise=0.0)
    np.testing.assert_array_equal(t2[gt == 0], img[gt == 0])
    for k, (_, target) in enumerate(info.transitions, start=1):
        pool = {tuple(v) for v in img[info.cover == target]}  # pixels of the target class
        pasted = t2[gt == k]
        assert all(tuple(v) in pool for v in pasted), k
        assert (pasted != img[gt == k]).any(axis=1).mean() > 0.9   # they did change
        assert (info.cover.ravel()[info.donor[gt == k]] == target).all()
    np.testing.assert_array_equal(t2, img.reshape(-1, img.shape[2])[info.donor.ravel()]
                                  .reshape(img.shape))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_plant_second_date_is_gain_offset_and_illumination(dtype):
    img = _blocks(dtype)
    t1, t2, gt, info = plant_transitions(img, n_types=2, seed=4, gain=(0.75, 1.25),
                                         offset=0.05, gradient=0.1, noise=0.0)
    assert t2.dtype == t1.dtype == img.dtype and t2.shape == img.shape
    assert ((0.75 <= info.gain) & (info.gain <= 1.25)).all() and np.ptp(info.gain) > 0
    lo, hi = np.percentile(img.reshape(-1, 4).astype(float), [2, 98], axis=0)
    assert (np.abs(info.offset) <= 0.05 * (hi - lo) + 1e-9).all()
    # the illumination is a plane going from 1 - 0.1 to 1 + 0.1 across the scene
    assert _ramp_model(info, gt.shape) < 1e-9
    assert info.illumination.min() == pytest.approx(0.9)
    assert info.illumination.max() == pytest.approx(1.1)
    # every pixel, unchanged or pasted, is L * (gain * x + offset) of its donor
    x = img.reshape(-1, 4).astype(np.float64)[info.donor.ravel()].reshape(img.shape)
    expected = info.illumination[..., None] * (info.gain * x + info.offset)
    if np.issubdtype(dtype, np.integer):
        expected = np.clip(np.rint(expected), 0, np.iinfo(dtype).max)
        np.testing.assert_array_equal(t2, expected.astype(dtype))
    else:
        np.testing.assert_allclose(t2, expected, rtol=1e-6, atol=1e-7)
    unchanged = gt == 0
    np.testing.assert_array_equal(info.donor.ravel()[unchanged.ravel()],
                                  np.flatnonzero(unchanged))


def test_plant_noise_has_the_requested_spread():
    img = _blocks(np.float32)
    _, t2, gt, info = plant_transitions(img, n_types=1, seed=0, noise=0.02)
    _, clean, _, _ = plant_transitions(img, n_types=1, seed=0, noise=0.0)
    lo, hi = np.percentile(img.reshape(-1, 4).astype(float), [2, 98], axis=0)
    residual = (t2.astype(float) - clean)[gt == 0]          # (n, B)
    np.testing.assert_allclose(residual.std(axis=0), 0.02 * (hi - lo), rtol=0.1)
    np.testing.assert_allclose(info.noise, 0.02 * (hi - lo))


def test_plant_is_deterministic_for_a_seed():
    img = _blocks(np.uint16)
    a = plant_transitions(img, seed=7)
    b = plant_transitions(img, seed=7)
    c = plant_transitions(img, seed=8)
    for x, y in zip(a[:3], b[:3]):
        assert x.tobytes() == y.tobytes()
    assert a[3].transitions == b[3].transitions
    assert a[1].tobytes() != c[1].tobytes() and a[2].tobytes() != c[2].tobytes()


def test_plant_keeps_2d_images_and_clips_integers():
    img = _blocks(np.uint8)[..., 3]                          # (M, N), values up to 250
    t1, t2, gt, info = plant_transitions(img, n_types=2, n_classes=4, seed=0,
                                         gain=(1.2, 1.25), noise=0.0)
    assert t1.shape == t2.shape == (96, 96, 1) and t2.dtype == np.uint8
    assert t2.max() == 255                                   # bright land saturates


@pytest.mark.parametrize("kwargs, match", [
    (dict(image=np.zeros((20, 96, 3))), "at least 32x32"),
    (dict(image=np.zeros((4, 40, 40, 3))), "shape"),
    (dict(image=np.zeros((40, 40), bool)), "dtype"),
    (dict(image=np.full((40, 40), np.nan)), "NaN"),
    (dict(image=np.zeros((40, 40, 2))), "too uniform"),
    (dict(n_types=0), "n_types"), (dict(seed=-1), "seed"), (dict(seed=1.5), "seed"),
    (dict(n_classes=2, n_types=3), "n_classes"),
    (dict(gain=(1.2, 0.8)), "gain"), (dict(noise=-0.1), "noise"),
    (dict(gradient=0.9), "gradient"), (dict(change_fraction=0.3), "change_fraction"),
    (dict(n_types=3, change_fraction=0.2), "over half"),
    # 17 % blocks cannot each give 2 x 20 % of the scene
    (dict(n_types=2, change_fraction=0.2), "transitions fit"),
    (dict(n_segments=2), "n_segments")])
def test_plant_rejects_bad_input(kwargs, match):
    kwargs = {"image": _blocks(), **kwargs}
    with pytest.raises(InputError, match=match) as err:
        plant_transitions(**kwargs)
    assert "\n" not in str(err.value)


def test_plant_needs_well_populated_classes():
    img = np.zeros((96, 96, 3), np.float32)
    img += np.random.default_rng(0).normal(0.5, 0.01, img.shape).astype(np.float32)
    img[:8, :8] = 0.05                                       # under 1 % of the scene
    img[-8:, -8:] = 0.95
    with pytest.raises(InputError, match="hold 4% of the scene"):
        plant_transitions(img, n_types=1, n_classes=3)


# -- load_pair / save_pair ---------------------------------------------------------
def _tiny():
    t1 = np.arange(2 * 3 * 2, dtype=np.uint16).reshape(2, 3, 2)
    t2 = t1[::-1].copy()
    gt = np.array([[0, 1, 255], [2, 0, 0]], dtype=np.uint8)
    return t1, t2, gt


def test_round_trip(tmp_path):
    t1, t2, gt = _tiny()
    path = save_pair(tmp_path / "tiny.npz", t1, t2, gt=gt, bands=["b", "nir"])
    pair = load_pair(path)
    np.testing.assert_array_equal(pair.t1, t1)
    np.testing.assert_array_equal(pair.t2, t2)
    np.testing.assert_array_equal(pair.gt, gt)
    assert pair.t1.dtype == np.uint16
    np.testing.assert_array_equal(pair.mask, gt != 255)   # derived from gt
    assert pair.bands == ("b", "nir") and pair.name == "tiny"
    assert os.listdir(tmp_path) == ["tiny.npz"]           # no temporary left


def test_round_trip_with_mask_and_2d_images(tmp_path):
    t1, t2, gt = _tiny()
    mask = np.array([[True, False, False], [True, True, False]])
    save_pair(tmp_path / "p.npz", t1[..., 0], t2[..., 0], mask=mask)
    pair = load_pair(tmp_path / "p.npz")
    assert pair.t1.shape == (2, 3, 1) and pair.gt is None and pair.bands is None
    np.testing.assert_array_equal(pair.mask, mask)
    # overwriting an existing file replaces it
    save_pair(tmp_path / "p.npz", t1, t2)
    pair = load_pair(tmp_path / "p.npz")
    assert pair.t1.shape == (2, 3, 2) and pair.mask.all()


def test_load_pair_errors(tmp_path):
    with pytest.raises(InputError, match="no pair file"):
        load_pair(tmp_path / "absent.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable"):
        load_pair(tmp_path / "junk.npz")
    t1, t2, gt = _tiny()
    np.savez(tmp_path / "only_t1.npz", t1=t1)
    with pytest.raises(InputError, match="lacks array\\(s\\) t2"):
        load_pair(tmp_path / "only_t1.npz")
    np.savez(tmp_path / "bad_gt.npz", t1=t1, t2=t2, gt=gt[:, :2])
    with pytest.raises(InputError, match="gt in bad_gt.npz has shape"):
        load_pair(tmp_path / "bad_gt.npz")
    np.savez(tmp_path / "bad_t2.npz", t1=t1, t2=t2[:1])
    with pytest.raises(InputError, match="both dates"):
        load_pair(tmp_path / "bad_t2.npz")
    np.savez(tmp_path / "bad_bands.npz", t1=t1, t2=t2, bands=np.array(["a"]))
    with pytest.raises(InputError, match="bands"):
        load_pair(tmp_path / "bad_bands.npz")


def test_save_pair_errors(tmp_path):
    t1, t2, gt = _tiny()
    with pytest.raises(InputError, match="does not exist"):
        save_pair(tmp_path / "nodir" / "x.npz", t1, t2)
    with pytest.raises(InputError, match="0..255"):
        save_pair(tmp_path / "x.npz", t1, t2, gt=gt.astype(int) * 2)
    with pytest.raises(InputError, match="mask"):
        save_pair(tmp_path / "x.npz", t1, t2, mask=np.ones((2, 3), int))
    assert os.listdir(tmp_path) == []


def test_available_datasets(tmp_path, monkeypatch):
    for name in ("b_set", "a_set"):
        (tmp_path / name).mkdir()
        t1, t2, gt = _tiny()
        save_pair(tmp_path / name / f"{name}.npz", t1, t2, gt=gt)
    (tmp_path / "empty").mkdir()
    (tmp_path / "c_set").mkdir()
    (tmp_path / "c_set" / "other.npz").write_bytes(b"")
    found = available_datasets(tmp_path)
    assert list(found) == ["a_set", "b_set"]
    assert found["a_set"] == (tmp_path / "a_set" / "a_set.npz").resolve()
    monkeypatch.setenv("DRL_NP_DATA", str(tmp_path))
    assert list(available_datasets()) == ["a_set", "b_set"]
    with pytest.raises(InputError, match="not a directory"):
        available_datasets(tmp_path / "nope")


SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "taizhou" / "taizhou.npz"


@pytest.mark.skipif(not SHARED.is_file(), reason="optional data check: taizhou.npz absent")
def test_load_shared_taizhou():
    pair = load_pair(SHARED)
    assert pair.t1.shape == pair.t2.shape and pair.t1.shape[:2] == pair.gt.shape
    assert len(pair.bands) == pair.t1.shape[2]
    np.testing.assert_array_equal(pair.mask, pair.gt != 255)
    assert pair.name == "taizhou"


# -- the planting steps, on hand-worked cases --------------------------------------
def test_find_donor_places_pieces_then_fills_from_the_nearest_target_pixel():
    from drl_np._planting import find_donor

    target = np.zeros((12, 12), bool)
    target[1, 1] = target[9, 9] = target[1, 9] = True       # three lone target pixels
    parcel = np.zeros((12, 12), bool)
    parcel[5:7, 5:7] = True                                 # a 2 x 2 parcel
    idx = ndimage.distance_transform_edt(~target, return_distances=False,
                                         return_indices=True)
    nearest = idx[0] * 12 + idx[1]
    rows, cols, donor, n_fill = find_donor(parcel, target, nearest,
                                           np.random.default_rng(0), rounds=3)
    # each of the three placements covers one lone pixel (placements may reuse
    # one); the fourth parcel pixel takes the nearest target pixel
    assert n_fill == 1 and rows.size == 4
    assert set(donor.tolist()) <= {1 * 12 + 1, 9 * 12 + 9, 1 * 12 + 9}
    _, _, _, n_fill = find_donor(parcel, target, nearest, np.random.default_rng(0), rounds=1)
    assert n_fill == 3                                      # one placement covers one pixel


def test_illumination_field_is_the_documented_ramp():
    from drl_np._planting import illumination_field

    field = illumination_field((3, 5), 0.1, 0.0)            # along the rows
    np.testing.assert_allclose(field[:, 0], [0.9, 1.0, 1.1])
    np.testing.assert_allclose(field, field[:, :1] * np.ones((1, 5)))
    field = illumination_field((3, 5), 0.2, np.pi / 2)      # along the columns
    np.testing.assert_allclose(field[0], [0.8, 0.9, 1.0, 1.1, 1.2])
