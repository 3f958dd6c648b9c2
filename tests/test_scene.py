"""Whole scenes: tiled maps against whole-image maps, windowed GeoTIFF
outputs, the Dask cluster route and a failing tile (docs/scenes.md)."""
import json
import os

import numpy as np
import pytest

import drl_np
from drl_np.cli import main
from drl_np.datasets import synthetic_pair
from drl_np.metrics import change_analysis_accuracy
from drl_np.tiles import tile_grid

rasterio = pytest.importorskip("rasterio")


def _agreement(a, b):
    """Share of pixels of map ``a`` with b's label after matching b's types to a's."""
    return change_analysis_accuracy(np.where(a < 0, 255, a), b).acc


def test_tile_grid_covers_the_scene_once():
    tiles = tile_grid((70, 45), tile=32, halo=5)
    cover = np.zeros((70, 45), int)
    for t in tiles:
        cover[t.core_slices] += 1
        r, c, h, w = t.read
        assert r <= t.core[0] and c <= t.core[1] and r + h <= 70 and c + w <= 45
        assert t.core[0] - r in (0, 5) and t.core[1] - c in (0, 5)
    assert (cover == 1).all() and len(tiles) == 3 * 2


@pytest.fixture(scope="module")
def scene():
    return synthetic_pair(shape=(256, 256))


@pytest.mark.parametrize("method", ["raw-km", "irmad", "cva", "pca-kmeans"])
def test_tiled_map_agrees_with_whole_image_map(scene, method):
    t1, t2, gt = scene
    kw = {"method": method, "schedule": (25, 15, 8, 4), "random_state": 0}
    whole = drl_np.analyse(t1, t2, **kw)
    tiled = drl_np.analyse(t1, t2, tile=128, **kw)
    assert tiled.cda_map.shape == whole.cda_map.shape and (tiled.cda_map >= 0).all()
    assert _agreement(whole.cda_map, tiled.cda_map) >= 0.98
    k_whole = change_analysis_accuracy(gt, whole.cda_map).kappa
    assert abs(change_analysis_accuracy(gt, tiled.cda_map).kappa - k_whole) <= 0.01
    again = drl_np.analyse(t1, t2, tile=128, **kw)                  # same seed, same map
    np.testing.assert_array_equal(again.cda_map, tiled.cda_map)
    np.testing.assert_array_equal(again.ci_map, tiled.ci_map)


def test_tiled_drlnet_fits_on_the_sample_size(scene):
    t1, t2, _ = scene
    res = drl_np.analyse(t1[:160, :160], t2[:160, :160], method="drlnet2", schedule=(8, 6, 4), tile=96,
                         sample_size=300,
                         sae_epochs=1, pretrain_epochs=1, finetune_epochs=1)
    assert res.params["sample_size"] == 300 and list(res.maps) == [4]
    assert set(np.unique(res.cda_map)) <= set(range(5)) and res.cda_map.max() > 0


def _write_pair(tmp_path, shape=(300, 280), block=64):
    from affine import Affine
    from rasterio.crs import CRS

    t1, t2, gt = synthetic_pair(shape=shape)
    profile = {"driver": "GTiff", "height": shape[0], "width": shape[1], "count": 4, "dtype": "uint16",
               "tiled": True, "blockxsize": block, "blockysize": block, "compress": "deflate",
               "crs": CRS.from_epsg(32650), "transform": Affine(10, 0, 500000, 0, -10, 3500000)}
    paths = []
    for name, t in (("t1", t1), ("t2", t2)):
        path = str(tmp_path / f"{name}.tif")
        with rasterio.open(path, "w", **profile) as ds:
            ds.write(np.moveaxis((t * 1000).astype(np.uint16), -1, 0))
        paths.append(path)
    return paths, profile


def _run(paths, out, *extra):
    return main(["run", *paths, "--out", str(out), "--method", "raw-km", "--schedule", "25,15,8,4",
                 "--tile", "128", "-q", *extra])


def test_windowed_geotiff_outputs(tmp_path):
    paths, profile = _write_pair(tmp_path)
    out = tmp_path / "out"
    assert _run(paths, out) == 0
    with rasterio.open(out / "cda_map.tif") as ds:
        assert ds.crs == profile["crs"] and ds.transform == profile["transform"]
        assert (ds.height, ds.width) == (300, 280) and ds.nodata == 255 and ds.dtypes == ("uint8",)
        assert ds.profile["tiled"] and ds.compression.name == "deflate"
        assert ds.overviews(1) == [2]
        assert ds.colormap(1)[0][:3] == (20, 20, 20)
        cda = ds.read(1)
        overview = ds.read(1, out_shape=(150, 140))                  # read from the overview
    np.testing.assert_array_equal(overview, cda[::2, ::2])          # nearest: a label of its block
    with rasterio.open(out / "ci_map.tif") as ds:
        assert ds.dtypes == ("float32",) and ds.overviews(1) == [2] and ds.crs == profile["crs"]
        ci = ds.read(1)
    assert np.nanmin(ci) >= 0 and np.nanmax(ci) <= 1
    rep = json.loads((out / "report.json").read_text())
    assert rep["totals"]["valid_pixels"] == 300 * 280
    assert rep["totals"]["changed_pixels"] == int((cda > 0).sum())
    assert [r["pixels"] for r in rep["change_types"]] == [int((cda == k).sum()) for k in range(1, 5)]
    assert rep["pixel_area"]["value"] == 100.0 and rep["scene"]["tiles"] == 9
    assert (out / "areas.csv").read_text().count("\n") == 5
    # the file route maps what the array route maps from the same values
    t1 = np.moveaxis(rasterio.open(paths[0]).read(), 0, -1)
    t2 = np.moveaxis(rasterio.open(paths[1]).read(), 0, -1)
    res = drl_np.analyse(t1, t2, method="raw-km", schedule=(25, 15, 8, 4), tile=128)
    np.testing.assert_array_equal(cda, res.cda_map)


def _write_gt(path, gt, profile, dtype="uint8"):
    prof = dict(profile, count=1, dtype=dtype)
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(gt.astype(dtype)[None])
    return str(path)


def test_tiled_run_scores_the_ground_truth_tile_by_tile(tmp_path, capsys):
    from drl_np import metrics
    from drl_np.labels import decode_labels

    paths, profile = _write_pair(tmp_path)
    gt = synthetic_pair(shape=(300, 280))[2].astype(np.int64)
    gt[:10, :20] = 255                                                    # unlabelled
    out = tmp_path / "out"
    assert _run(paths, out, "--gt", _write_gt(tmp_path / "gt.tif", gt, profile)) == 0
    assert "change types vs ground truth: ACC" in capsys.readouterr().out
    rep = json.loads((out / "report.json").read_text())
    with rasterio.open(out / "cda_map.tif") as ds:
        cda = ds.read(1).astype(np.int64)
    whole = metrics.change_analysis_accuracy(gt, np.where(cda == 255, -1, cda))
    assert rep["metrics"]["multiclass"]["kappa"] == whole.kappa        # the whole-map score, exactly
    assert rep["metrics"]["multiclass"]["n_pixels"] == 300 * 280 - 200
    assert rep["metrics"]["binary"] == metrics.binary_change_accuracy(gt, cda).as_dict()
    assert rep["inputs"]["gt_encoding"].startswith("multi-class") and rep["inputs"]["gt"].endswith("gt.tif")
    # OSCD's 1/2 encoding is read from the whole file's histogram, as the small path reads it
    oscd = np.where(gt == 255, 0, (gt > 0) + 1)
    out2 = tmp_path / "out2"
    assert _run(paths, out2, "--gt", _write_gt(tmp_path / "cm.tif", oscd, profile)) == 0
    rep2 = json.loads((out2 / "report.json").read_text())
    assert rep2["inputs"]["gt_encoding"] == decode_labels(oscd)[1]
    assert rep2["metrics"]["binary"]["kappa"] == metrics.binary_change_accuracy(decode_labels(oscd)[0], cda).kappa


def test_tiled_run_refuses_a_ground_truth_of_another_size_before_the_work(tmp_path, capsys):
    paths, profile = _write_pair(tmp_path, shape=(64, 64))
    bad = _write_gt(tmp_path / "gt.tif", np.zeros((32, 64)), dict(profile, height=32))
    out = tmp_path / "o"
    assert _run(paths, out, "--gt", bad) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("drl-np: error: ground truth") and "is 32x64 but the images are 64x64" in err
    assert "\n" not in err and not out.exists()


def test_dask_local_cluster_gives_the_in_process_map(tmp_path):
    pytest.importorskip("distributed")
    paths, _ = _write_pair(tmp_path)
    assert _run(paths, tmp_path / "local") == 0
    assert _run(paths, tmp_path / "dask", "--workers", "2") == 0
    for name in ("cda_map.tif", "ci_map.tif"):                       # the same bytes
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes()
    rep = json.loads((tmp_path / "dask" / "report.json").read_text())
    assert rep["scene"]["workers"] == 2 and len(rep["peak_memory_mib"]) == 3


def test_local_cluster_workers_run_one_thread_each():
    pytest.importorskip("distributed")
    from drl_np.runners import make_runner

    def budget():
        import numba
        return numba.get_num_threads()

    runner = make_runner(workers=1)
    try:
        assert list(runner.client.run(budget).values()) == [1]    # no threads of drl_np._threads
    finally:
        runner.close()


def test_damaged_block_stops_with_one_line_and_writes_nothing(tmp_path, capsys):
    paths, _ = _write_pair(tmp_path)
    with rasterio.open(paths[1]) as ds:
        offset = int(ds.get_tag_item("BLOCK_OFFSET_2_1", "TIFF", bidx=1))
    with open(paths[1], "r+b") as f:                                  # garbage in one deflate block
        f.seek(offset)
        f.write(b"\xff" * 64)
    out = tmp_path / "out"
    assert _run(paths, out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("drl-np: error: cannot read rows")
    assert "t2" in err[0] and "Traceback" not in err[0]
    assert not out.exists()


def test_failing_tile_while_mapping_leaves_no_output(tmp_path, capsys, monkeypatch):
    from drl_np import scene
    from drl_np._validation import InputError

    paths, _ = _write_pair(tmp_path)
    real = scene.map_tile

    def flaky(shared, tile):
        if tile.index == 4:
            raise InputError("cannot read tile 4")
        return real(shared, tile)
    monkeypatch.setattr(scene, "map_tile", flaky)
    out = tmp_path / "out"
    os.makedirs(out)
    (out / "keep.txt").write_text("not ours")
    assert _run(paths, out) == 2
    assert capsys.readouterr().err.strip() == "drl-np: error: cannot read tile 4"
    assert sorted(os.listdir(out)) == ["keep.txt"]                   # no map, no .part file


def test_large_geotiffs_go_the_tiled_way_by_themselves(tmp_path):
    paths, _ = _write_pair(tmp_path, shape=(140, 150))
    out = tmp_path / "out"
    assert main(["run", *paths, "--out", str(out), "--method", "cva", "--tiled-above", "20000",
                 "--halo", "0", "-q"]) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["scene"]["tiles"] == 1 and rep["params"]["halo"] == 0
    assert sorted(os.listdir(out)) == ["areas.csv", "cda_map.tif", "cda_map.tif.aux.xml", "ci_map.tif",
                                       "drl_np_manifest.json", "report.json"]


def test_scene_route_refuses_what_it_cannot_do(tmp_path, capsys):
    paths, _ = _write_pair(tmp_path, shape=(64, 64))
    np.savez(tmp_path / "pair.npz", t1=np.zeros((8, 8, 2)), t2=np.ones((8, 8, 2)))
    cases = [(["--gt", paths[0], "--tile", "32"], "has 4 bands; expected one band of integer labels"),
             (["--bands", "7", "--tile", "32"], "band 7 is out of range")]
    for extra, message in cases:
        assert main(["run", *paths, "--out", str(tmp_path / "o"), "-q", *extra]) == 2
        assert message in capsys.readouterr().err
    assert main(["run", "--pair", str(tmp_path / "pair.npz"), "--out", str(tmp_path / "o"), "--workers",
                 "2"]) == 2
    assert "need two GeoTIFF files" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_nodata_of_the_files_is_masked(tmp_path):
    from drl_np.sources import RasterSource

    paths, profile = _write_pair(tmp_path, shape=(40, 50))
    with rasterio.open(paths[0], "r+") as ds:
        data = ds.read()
        data[:, :5, :7] = 9
        ds.write(data)
        ds.nodata = 9
    source = RasterSource(*paths)
    t1, t2, valid = source.read((0, 0, 40, 50))
    assert t1.shape == (40, 50, 4) and t1.dtype == np.float64
    assert not valid[:5, :7].any() and valid[5:, 7:].all()
    assert source.georef["crs"] == profile["crs"] and source.block_shape == (64, 64)


def test_scheduler_address_uses_a_running_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    paths, _ = _write_pair(tmp_path, shape=(200, 180))
    assert _run(paths, tmp_path / "local") == 0
    # a cluster in this process (threads): quick to start; --workers tests processes
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        assert _run(paths, tmp_path / "remote", "--scheduler", cluster.scheduler_address) == 0
        rep = json.loads((tmp_path / "remote" / "report.json").read_text())
        assert cluster.scheduler_address in rep["scene"]["runner"]
        # the run's client has left (else it keeps reconnecting to the scheduler)
        assert set(cluster.scheduler.clients) <= {"fire-and-forget"}
    assert (tmp_path / "local" / "cda_map.tif").read_bytes() == (tmp_path / "remote" / "cda_map.tif").read_bytes()


def test_unreachable_scheduler_is_one_line(tmp_path, capsys):
    pytest.importorskip("distributed")
    paths, _ = _write_pair(tmp_path, shape=(64, 64))
    assert _run(paths, tmp_path / "o", "--scheduler", "tcp://127.0.0.1:9") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach the Dask scheduler" in err[0]
    assert not (tmp_path / "o").exists()
