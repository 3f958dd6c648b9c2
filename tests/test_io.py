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
    assert r.georef["crs"].to_epsg() == 32650
    assert tuple(r.georef["transform"])[:6] == (8.0, 0.0, 500000.0, 0.0, -8.0, 3800000.0)
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

def test_pixel_area_from_georef():
    from rasterio.crs import CRS
    from rasterio.transform import Affine

    utm = CRS.from_epsg(32650)
    assert io.pixel_area({"crs": utm, "transform": Affine(8, 0, 5e5, 0, -8, 3.8e6)}) == (64.0, "m2")
    # rotated grid: |a e - b d|
    geo = {"crs": utm, "transform": Affine(3.0, 1.0, 10, 1.0, -2.0, 20)}
    assert io.pixel_area(geo)[0] == pytest.approx(7.0)
    area, unit = io.pixel_area({"crs": CRS.from_epsg(4326),
                                "transform": Affine(0.1, 0, 0, 0, -0.1, 0)})
    assert area is None and "degrees" in unit
    # US survey feet (EPSG:2229): 10 ft pixels are 9.29 m2
    feet = {"crs": CRS.from_epsg(2229), "transform": Affine(10, 0, 0, 0, -10, 0)}
    assert io.pixel_area(feet)[0] == pytest.approx(100 * 0.3048006096 ** 2)
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


# -- issue 12: nothing of the user's lost, real GeoTIFFs read right ---------------

def _write_rio(path, img, compress=None, crs=32650, x0=500000.0, res=8.0, names=None,
               tiled=False):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin

    bands = np.moveaxis(img, -1, 0)                                   # (B, M, N)
    profile = dict(driver="GTiff", height=bands.shape[1], width=bands.shape[2],
                   count=bands.shape[0], dtype=bands.dtype.name,
                   crs=rasterio.crs.CRS.from_epsg(crs),
                   transform=from_origin(x0, 3800000.0, res, res))
    if compress:
        profile["compress"] = compress
    if tiled:
        profile.update(tiled=True, blockxsize=16, blockysize=16)
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(bands)
        if names:
            ds.descriptions = tuple(names)


@pytest.mark.parametrize("compress", ["lzw", "zstd", "jpeg", "deflate"])
def test_compressed_and_tiled_geotiffs_are_read(tmp_path, compress):
    img = image(m=32, n=48, b=3, dtype=np.uint8)
    p = tmp_path / f"{compress}.tif"
    _write_rio(p, img, compress=compress, tiled=True, names=["B4", "B3", "B2"])
    r = io.read_image(p)
    assert r.data.shape == (32, 48, 3)
    if compress == "jpeg":                                    # lossy
        assert np.abs(r.data - img).mean() < 20
    else:
        np.testing.assert_array_equal(r.data, img)
    assert r.band_names == ["B4", "B3", "B2"]                 # band descriptions kept
    assert io.pixel_area(r.georef) == (64.0, "m2")


def test_corrupt_tiff_is_one_quiet_error(tmp_path, capfd):
    p = tmp_path / "full.tif"
    _write_rio(p, image(m=64, n=64, b=6, dtype=np.uint16), compress="lzw")
    cut = tmp_path / "cut.tif"
    cut.write_bytes(p.read_bytes()[:3000])
    with pytest.raises(InputError, match="cannot read t1 file"):
        io.read_image(cut, name="t1")
    out, err = capfd.readouterr()
    assert out == "" and err == ""                            # no reader log


@pytest.mark.parametrize("t2_kw,what", [({"crs": 32651}, "different coordinate systems"),
                                        ({"x0": 503000.0}, "shifted grids"),
                                        ({"res": 30.0}, "different pixel sizes")])
def test_dates_on_different_grids_are_refused(tmp_path, t2_kw, what):
    img = image()
    _write_rio(tmp_path / "a.tif", img)
    _write_rio(tmp_path / "b.tif", img, **t2_kw)
    r1, r2 = io.read_image(tmp_path / "a.tif"), io.read_image(tmp_path / "b.tif")
    with pytest.raises(InputError, match=f"{what}.*gdalwarp"):
        io.check_same_grid(r1, r2)
    io.check_same_grid(r1, io.read_image(tmp_path / "a.tif"))      # same grid: fine


def test_bands_first_arrays_are_detected_or_forced(tmp_path):
    img = image(m=40, n=30, b=6)
    np.save(tmp_path / "bf.npy", np.moveaxis(img, -1, 0))         # (6, 40, 30)
    r = io.read_image(tmp_path / "bf.npy")
    assert r.data.shape == (40, 30, 6) and r.layout == "bands-first (inferred)"
    np.testing.assert_array_equal(r.data, img)
    np.save(tmp_path / "bl.npy", img)
    assert io.read_image(tmp_path / "bl.npy").data.shape == (40, 30, 6)
    cube = image(m=4, n=4, b=4)                                    # ambiguous: as given
    np.save(tmp_path / "c.npy", cube)
    np.testing.assert_array_equal(io.read_image(tmp_path / "c.npy").data, cube)
    r = io.read_image(tmp_path / "c.npy", channel_axis=0)
    np.testing.assert_array_equal(r.data, np.moveaxis(cube, 0, -1))
    assert io.infer_channel_axis((6, 400, 400)) == 0
    assert io.infer_channel_axis((400, 400, 6)) == 2


def test_manifest_removes_only_what_an_earlier_run_wrote(tmp_path):
    (tmp_path / "map_K7.tif").write_text("the user's own file")
    with io.AtomicOutputs(tmp_path, manifest=True) as out:
        for name in ("map_K6.tif", "a.txt"):
            open(out.stage(name), "w").close()
    assert io.read_manifest(tmp_path) == ["a.txt", "map_K6.tif"]
    with io.AtomicOutputs(tmp_path, manifest=True) as out:
        open(out.stage("a.txt"), "w").close()
    assert not (tmp_path / "map_K6.tif").exists()             # ours, listed: removed
    assert (tmp_path / "map_K7.tif").read_text() == "the user's own file"
    assert sorted(os.listdir(tmp_path)) == ["a.txt", io.MANIFEST, "map_K7.tif"]


def test_stale_parts_of_dead_runs_are_removed(tmp_path):
    dead = 2 ** 22 + 12345                                    # above Linux's pid_max default
    (tmp_path / f".a.txt.{dead}.part").write_text("left by a killed run")
    (tmp_path / f".notes.txt.{dead}.part").write_text("not ours")
    (tmp_path / f".a.txt.{os.getppid()}.part").write_text("a live run's")
    with io.AtomicOutputs(tmp_path, ["a.txt"], manifest=True) as out:
        open(out.stage("a.txt"), "w").close()
    left = sorted(os.listdir(tmp_path))
    assert f".a.txt.{dead}.part" not in left
    assert f".notes.txt.{dead}.part" in left and f".a.txt.{os.getppid()}.part" in left


def test_written_map_carries_colour_table(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    from drl_np import figures

    labels = (np.arange(30).reshape(6, 5) % 4).astype(np.uint8)
    colours = figures.label_colours(3)
    io.write_geotiff(tmp_path / "m.tif", labels, nodata=255, colormap=colours)
    with rasterio.open(tmp_path / "m.tif") as ds:
        cmap = ds.colormap(1)
    for v, rgb in colours.items():
        assert cmap[v][:3] == rgb
    png = figures.label_rgb(labels)
    for v in range(4):
        assert tuple(png[labels == v][0]) == colours[v]
    xml = io.category_aux_xml({0: "unchanged", 2: "change type 2"})
    assert xml.count("<Category>") == 3 and "change type 2" in xml
