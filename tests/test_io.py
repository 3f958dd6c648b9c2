"""drl_np.io: reading every format, georeferencing kept, atomic writing."""
import os

import numpy as np
import pytest
import scipy.io
import tifffile
import imageio.v3 as iio

from drl_np import io
from drl_np._validation import InputError

# UTM zone 50N (EPSG:32650), 8 m pixels, upper-left corner at (500000, 3800000)
GEOKEYS = (1, 1, 0, 4,
           1024, 0, 1, 1,        # GTModelType = projected
           1025, 0, 1, 1,        # GTRasterType = PixelIsArea
           3072, 0, 1, 32650,    # ProjectedCSType = EPSG:32650
           3076, 0, 1, 9001)     # ProjLinearUnits = metre
GEO_TAGS = [(33550, "d", 3, (8.0, 8.0, 0.0), True),
            (33922, "d", 6, (0.0, 0.0, 0.0, 500000.0, 3800000.0, 0.0), True),
            (34735, "H", len(GEOKEYS), GEOKEYS, True)]


def write_geotiff(path, img, nodata=None, planar=False):
    """Write an (M, N, B) image as a georeferenced GeoTIFF with tifffile."""
    tags = list(GEO_TAGS)
    if nodata is not None:
        tags.append((42113, "s", 0, str(nodata), True))
    if planar:
        tifffile.imwrite(path, np.moveaxis(img, -1, 0), photometric="minisblack",
                         planarconfig="separate", extratags=tags, metadata=None)
    else:
        tifffile.imwrite(path, img, photometric="minisblack", planarconfig="contig",
                         extratags=tags, metadata=None)


def image(m=6, n=5, b=4, dtype=np.uint16):
    return (np.arange(m * n * b).reshape(m, n, b) * 7 % 1000 + 1).astype(dtype)


# -- reading ---------------------------------------------------------------

@pytest.mark.parametrize("planar", [False, True])
def test_geotiff_read_bands_last_and_tags(tmp_path, planar):
    img = image()
    p = tmp_path / "t1.tif"
    write_geotiff(p, img, planar=planar)
    r = io.read_image(p)
    assert r.data.shape == (6, 5, 4) and r.data.dtype == np.float64
    np.testing.assert_array_equal(r.data, img)
    assert r.valid.all()
    assert set(r.georef) == {33550, 33922, 34735}
    assert tuple(r.georef[34735]) == GEOKEYS
    assert r.n_file_bands == 4


def test_geotiff_nodata_tag_and_override(tmp_path):
    img = image()
    img[1, 2, 3] = 0      # one band nodata is enough to mask the pixel
    img[4, 0, :] = 0
    p = tmp_path / "t1.tif"
    write_geotiff(p, img, nodata=0)
    r = io.read_image(p)
    assert r.nodata == 0
    expected = np.ones((6, 5), bool)
    expected[1, 2] = expected[4, 0] = False
    np.testing.assert_array_equal(r.valid, expected)
    # --nodata overrides the tag
    r = io.read_image(p, nodata=float(img[0, 0, 0]))
    assert not r.valid[0, 0] and r.valid[1, 2]


def test_nonfinite_pixels_are_invalid(tmp_path):
    img = image(dtype=np.float32)
    img[2, 3, 1] = np.nan
    img[0, 0, 0] = np.inf
    p = tmp_path / "f.npy"
    np.save(p, img)
    r = io.read_image(p)
    assert r.valid.sum() == 30 - 2 and not r.valid[2, 3] and not r.valid[0, 0]


def test_band_selection_order_and_range(tmp_path):
    img = image()
    p = tmp_path / "t1.tif"
    write_geotiff(p, img)
    r = io.read_image(p, bands=[3, 1])
    np.testing.assert_array_equal(r.data, img[:, :, [2, 0]])
    with pytest.raises(InputError, match=r"band 5 is out of range.*4 bands.*1\.\.4"):
        io.read_image(p, bands=[1, 5])


def test_png_npy_and_2d(tmp_path):
    rgb = image(b=3, dtype=np.uint8)
    iio.imwrite(tmp_path / "a.png", rgb)
    np.testing.assert_array_equal(io.read_image(tmp_path / "a.png").data, rgb)
    iio.imwrite(tmp_path / "a.bmp", rgb)
    np.testing.assert_array_equal(io.read_image(tmp_path / "a.bmp").data, rgb)
    np.save(tmp_path / "g.npy", rgb[:, :, 0])
    assert io.read_image(tmp_path / "g.npy").data.shape == (6, 5, 1)


def test_mat_single_ambiguous_and_var(tmp_path):
    a, b = image(), image() + 1
    scipy.io.savemat(tmp_path / "one.mat", {"im": a})
    np.testing.assert_array_equal(io.read_image(tmp_path / "one.mat").data, a)
    scipy.io.savemat(tmp_path / "two.mat", {"im1": a, "im2": b, "note": np.array([1.0])})
    with pytest.raises(InputError, match=r"several arrays \['im1', 'im2'\].*--var"):
        io.read_image(tmp_path / "two.mat")
    np.testing.assert_array_equal(io.read_image(tmp_path / "two.mat", var="im2").data, b)
    with pytest.raises(InputError, match="no image array named 'x'.*im1"):
        io.read_image(tmp_path / "two.mat", var="x")


def test_missing_unreadable_and_directory(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        io.read_image(tmp_path / "nope.tif", name="t1")
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"this is not a tiff")
    with pytest.raises(InputError, match=r"cannot read t1 file .*bad\.tif.* as TIF"):
        io.read_image(bad, name="t1")
    with pytest.raises(InputError, match="is a directory"):
        io.read_image(tmp_path)


def test_read_labels(tmp_path):
    gt = np.array([[0, 1], [2, 255]], np.uint8)
    iio.imwrite(tmp_path / "gt.png", np.repeat(gt[:, :, None], 3, axis=2))
    np.testing.assert_array_equal(io.read_labels(tmp_path / "gt.png"), gt)
    np.save(tmp_path / "f.npy", np.array([[0.0, 0.5]]))
    with pytest.raises(InputError, match="non-integer"):
        io.read_labels(tmp_path / "f.npy")
    np.save(tmp_path / "c.npy", np.dstack([gt, gt + 1]))
    with pytest.raises(InputError, match="2 different bands"):
        io.read_labels(tmp_path / "c.npy")


def test_read_pair_mask_becomes_ignore(tmp_path):
    from drl_np.datasets import save_pair

    t1, t2 = image(), image() + 3
    gt = np.zeros((6, 5), np.uint8)
    gt[0, :] = 1
    mask = np.ones((6, 5), bool)
    mask[5, 4] = False
    save_pair(tmp_path / "p.npz", t1, t2, gt=gt, mask=mask, bands=["b", "g", "r", "n"])
    r1, r2, g, name = io.read_pair(tmp_path / "p.npz", bands=[3, 2, 1])
    np.testing.assert_array_equal(r2.data, t2[:, :, [2, 1, 0]])
    assert r1.band_names == ["r", "g", "b"] and name == "p"
    assert g[5, 4] == 255 and g[0, 0] == 1 and g[1, 1] == 0


# -- georeferencing ----------------------------------------------------------

def test_pixel_area_from_tags():
    geo = {33550: (8.0, 8.0, 0.0), 34735: GEOKEYS}
    assert io.pixel_area(geo) == (64.0, "m2")
    # ModelTransformation with rotation: |a e - b d|
    geo = {34264: (3.0, 1.0, 0, 10, 1.0, -2.0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 1), 34735: GEOKEYS}
    assert io.pixel_area(geo)[0] == pytest.approx(7.0)
    geographic = (1, 1, 0, 1, 1024, 0, 1, 2)
    area, unit = io.pixel_area({33550: (0.1, 0.1, 0.0), 34735: geographic})
    assert area is None and "degrees" in unit
    feet = GEOKEYS[:-1] + (9002,)
    assert io.pixel_area({33550: (8.0, 8.0, 0.0), 34735: feet})[0] is None
    assert io.pixel_area({})[0] is None


def test_written_geotiff_opens_in_rasterio(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    src = tmp_path / "t1.tif"
    write_geotiff(src, image(), nodata=-1)
    r = io.read_image(src)
    labels = (np.arange(30).reshape(6, 5) % 4).astype(np.uint8)
    labels[0, 0] = 255
    io.write_geotiff(tmp_path / "map.tif", labels, r.georef, nodata=255)
    with rasterio.open(tmp_path / "map.tif") as ds:
        assert ds.crs.to_epsg() == 32650
        assert ds.transform.almost_equals(rasterio.Affine(8, 0, 500000, 0, -8, 3800000))
        assert ds.nodata == 255 and ds.count == 1 and ds.dtypes[0] == "uint8"
        np.testing.assert_array_equal(ds.read(1), labels)
    ci = np.linspace(0, 1, 30, dtype=np.float32).reshape(6, 5)
    ci[1, 1] = np.nan
    io.write_geotiff(tmp_path / "ci.tif", ci, r.georef, nodata=float("nan"))
    with rasterio.open(tmp_path / "ci.tif") as ds:
        assert np.isnan(ds.nodata) and ds.dtypes[0] == "float32"
        np.testing.assert_array_equal(ds.read(1), ci)


# -- atomic writing ------------------------------------------------------------

def test_atomic_commit_writes_all(tmp_path):
    out = io.AtomicOutputs(tmp_path / "new" / "out", ["a.txt", "b.txt"])
    with out:
        for name in ("a.txt", "b.txt"):
            with open(out.stage(name), "w") as f:
                f.write(name)
        assert not (tmp_path / "new" / "out" / "a.txt").exists()   # not before commit
    assert sorted(os.listdir(tmp_path / "new" / "out")) == ["a.txt", "b.txt"]
    assert (tmp_path / "new" / "out" / "b.txt").read_text() == "b.txt"


def test_atomic_failure_leaves_nothing(tmp_path):
    out = io.AtomicOutputs(tmp_path / "new" / "out", ["a.txt"])
    with pytest.raises(RuntimeError):
        with out:
            with open(out.stage("a.txt"), "w") as f:
                f.write("x")
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []
    # in an existing directory, only the staged files go
    (tmp_path / "keep.txt").write_text("k")
    out = io.AtomicOutputs(tmp_path, ["a.txt"])
    with pytest.raises(RuntimeError):
        with out:
            open(out.stage("a.txt"), "w").close()
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == ["keep.txt"]


def test_atomic_refuses_file_dir_and_input_overwrite(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        io.AtomicOutputs(f).check()
    with pytest.raises(InputError, match="under the file"):
        io.AtomicOutputs(f / "sub").check()
    inp = tmp_path / "cda_map.tif"
    inp.write_text("input")
    with pytest.raises(InputError, match="is also an input"):
        io.AtomicOutputs(tmp_path, ["cda_map.tif"], protected=[str(inp)]).check()
    assert inp.read_text() == "input"
