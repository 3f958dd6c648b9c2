"""Tests of drl_np.datasets: the synthetic scene and the .npz pair format."""
import os
from pathlib import Path

import numpy as np
import pytest

from drl_np._validation import InputError
from drl_np.datasets import (LAND_COVERS, TRANSITIONS, available_datasets, band_names,
                             load_pair, save_pair, synthetic_pair)
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
