"""The drl-np command line, run in-process on a small georeferenced scene with
the real ``drl_np.analyse`` (``--method raw-km``, fast)."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import rasterio
import tifffile

import drl_np
from drl_np import metrics
from drl_np.cli import main
from drl_np.datasets import save_pair, synthetic_pair

NODATA = -9999.0
# UTM zone 50N (EPSG:32650), 8 m pixels, upper-left corner at (500000, 3800000)
GEOKEYS = (1, 1, 0, 4, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32650, 3076, 0, 1, 9001)
GEO_TAGS = [(33550, "d", 3, (8.0, 8.0, 0.0), True),
            (33922, "d", 6, (0.0, 0.0, 0.0, 500000.0, 3800000.0, 0.0), True),
            (34735, "H", len(GEOKEYS), GEOKEYS, True)]
FAST = ["--method", "raw-km", "--schedule", "8,4", "-q"]


def write_geotiff(path, img, nodata=None):
    tags = list(GEO_TAGS)
    if nodata is not None:
        tags.append((42113, "s", 0, str(nodata), True))
    tifffile.imwrite(path, img, photometric="minisblack", planarconfig="contig",
                     extratags=tags, metadata=None)


@pytest.fixture(scope="module")
def scene():
    t1, t2, gt = synthetic_pair(shape=(64, 64), bands=4, n_change_types=4, seed=0)
    t1 = np.asarray(t1, np.float32).copy()
    t1[:2, :3, 1] = NODATA                     # 6 nodata pixels (one band is enough)
    return t1, np.asarray(t2, np.float32), np.asarray(gt, np.uint8)


@pytest.fixture
def files(tmp_path, scene):
    t1, t2, gt = scene
    paths = {k: tmp_path / f"{k}.tif" for k in ("t1", "t2", "gt")}
    write_geotiff(paths["t1"], t1, nodata=NODATA)
    write_geotiff(paths["t2"], t2, nodata=NODATA)
    write_geotiff(paths["gt"], gt)
    return {k: str(v) for k, v in paths.items()}


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_analyse_is_exported():
    assert callable(getattr(drl_np, "analyse", None))


def test_help_subprocess_and_examples(capsys):
    proc = subprocess.run([sys.executable, "-m", "drl_np.cli", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "drl-np run" in proc.stdout and not proc.stderr
    for cmd in ("run", "demo", "evaluate", "plant"):
        code, out, _ = run([cmd, "--help"], capsys)
        assert code == 0 and "examples:" in out and f"drl-np {cmd}" in out


def test_run_geotiff_end_to_end(tmp_path, files, scene, capsys):
    out = tmp_path / "out"
    code, stdout, err = run(["run", files["t1"], files["t2"], "--out", out,
                             "--gt", files["gt"], "--seed", 3] + FAST, capsys)
    assert code == 0, err
    assert err == ""                                    # -q: no progress
    rep = json.loads((out / "report.json").read_text())
    assert 4 in rep["schedule_maps"]                   # raw-km: one map, K_T = 4
    names = {"cda_map.tif", "cda_map.tif.aux.xml", "cda_map.png", "ci_map.tif", "ci_map.png",
             "summary.png", "report.json", "areas.csv", "drl_np_manifest.json"}
    names |= {f"map_K{k}.{e}" for k in rep["schedule_maps"] for e in ("tif", "png")}
    assert set(os.listdir(out)) == names               # no temporary left-overs
    assert str(out) in stdout and "OA" in stdout

    t1, t2, gt = scene
    invalid = (t1 == NODATA).any(axis=2)
    with rasterio.open(out / "cda_map.tif") as ds:      # independent reader
        assert ds.crs.to_epsg() == 32650
        assert ds.transform.almost_equals(rasterio.Affine(8, 0, 500000, 0, -8, 3800000))
        assert ds.nodata == 255 and ds.dtypes[0] == "uint8"
        cda = ds.read(1)
    assert (cda[invalid] == 255).all() and (cda[~invalid] <= 4).all()
    with rasterio.open(out / "ci_map.tif") as ds:
        assert ds.crs.to_epsg() == 32650 and ds.dtypes[0] == "float32"
        ci = ds.read(1)
    assert np.isnan(ci[invalid]).all()
    assert np.nanmin(ci) >= 0 and np.nanmax(ci) <= 1
    with rasterio.open(out / "map_K4.tif") as ds:
        np.testing.assert_array_equal(ds.read(1), cda)  # last K_t map is the final map

    assert rep["method"] == "raw-km" and rep["seed"] == 3
    assert rep["inputs"]["t1"] == files["t1"] and rep["inputs"]["nodata"] == NODATA
    assert rep["pixel_area"] == {"value": 64.0, "unit": "m2"}
    assert rep["totals"]["masked_pixels"] == invalid.sum() == 6
    k = int(cda[cda != 255].max())
    assert rep["n_change_types"] == k and len(rep["change_types"]) == k
    d = t2.astype(float) - t1.astype(float)
    for row in rep["change_types"]:
        sel = cda == row["type"]
        assert row["pixels"] == sel.sum() and row["area_m2"] == 64.0 * sel.sum()
        np.testing.assert_allclose(list(row["mean_change"].values()), d[sel].mean(0))
    assert set(rep["metrics"]["binary"]) >= {"oa", "kappa", "f1", "precision", "recall"}
    assert set(rep["metrics"]["multiclass"]) >= {"acc", "kappa", "matching"}
    types = rep["metrics"]["type_accuracy"]
    assert types["acc"] == rep["metrics"]["multiclass"]["acc"]
    assert types["matching"] == rep["metrics"]["multiclass"]["matching"]
    assert [r["type"] for r in types["rows"] if r["type"] is not None] == list(range(k + 1))
    assert "producer's" in stdout
    pred = np.where(cda == 255, -1, cda)
    assert rep["metrics"]["binary"]["oa"] == pytest.approx(
        metrics.binary_change_accuracy(gt, pred).oa)
    assert set(rep["versions"]) >= {"drl_np", "numpy", "scipy", "skimage", "sklearn", "numba"}
    assert rep["timings"] and rep["peak_memory_mib"] > 0

    with open(out / "areas.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["type"]) for r in rows] == list(range(1, k + 1))
    assert [int(r["pixels"]) for r in rows] == [r["pixels"] for r in rep["change_types"]]

    # evaluate scores the written map like the run did
    code, stdout, err = run(["evaluate", out / "cda_map.tif", files["gt"], "--json"], capsys)
    assert code == 0, err
    ev = json.loads(stdout)
    assert ev["binary"]["oa"] == pytest.approx(rep["metrics"]["binary"]["oa"])
    assert ev["multiclass"]["acc"] == pytest.approx(rep["metrics"]["multiclass"]["acc"])


def test_run_is_reproducible_and_logs(tmp_path, files, capsys):
    args = ["run", files["t1"], files["t2"], "--method", "raw-km", "--schedule", "8,4"]
    code, _, err = run(args + ["--out", tmp_path / "a"], capsys)
    assert code == 0 and "drl-np: analysing" in err      # progress on stderr by default
    code, _, _ = run(args + ["--out", tmp_path / "b", "-q"], capsys)
    assert code == 0
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "a" / "cda_map.tif"),
                                  tifffile.imread(tmp_path / "b" / "cda_map.tif"))


def test_run_pair_with_bands_and_pixel_size(tmp_path, scene, capsys):
    t1, t2, gt = scene
    t1 = np.where(t1 == NODATA, 0, t1)
    save_pair(tmp_path / "p.npz", t1, t2, gt=gt, bands=["red", "green", "blue", "nir"])
    out = tmp_path / "out"
    code, _, err = run(["run", "--pair", tmp_path / "p.npz", "--out", out,
                        "--bands", "4,1", "--pixel-size", 2] + FAST, capsys)
    assert code == 0, err
    rep = json.loads((out / "report.json").read_text())
    assert rep["inputs"]["bands"] == [4, 1] and rep["inputs"]["band_names"] == ["nir", "red"]
    assert rep["pixel_area"] == {"value": 4.0, "unit": "m2"}
    assert list(rep["change_types"][0]["mean_change"]) == ["nir", "red"]
    assert "metrics" in rep                               # the pair's own gt


def test_run_drlnet2_tiny_writes_every_schedule_map(tmp_path, files, capsys):
    out = tmp_path / "out"
    code, _, err = run(["run", files["t1"], files["t2"], "--out", out, "--method", "drlnet2",
                        "--schedule", "6,4", "-p", "sae_epochs=1", "-p", "pretrain_epochs=1",
                        "-p", "finetune_epochs=1", "-q"], capsys)
    assert code == 0, err
    rep = json.loads((out / "report.json").read_text())
    assert rep["schedule_maps"] == [4, 6] and rep["params"]["finetune_epochs"] == 1
    assert rep["regions"] > 6
    # the fit of the pseudo labels per stage, as the estimator measured it
    fit = rep["fit_of_pseudo_labels"]
    assert set(fit) == {"pretrain", "K=4"} and 0 <= fit["K=4"]["train_accuracy"] <= 1
    assert fit["K=4"]["trivial_loss"] > 0 and fit["K=4"]["branch_change"] > 0
    assert {"map_K6.tif", "map_K4.tif", "map_K6.png", "map_K4.png"} <= set(os.listdir(out))
    with rasterio.open(out / "map_K6.tif") as ds:
        k6 = ds.read(1)
    assert k6[k6 != 255].max() <= 6 and ds.crs.to_epsg() == 32650


def test_param_option_parsing(tmp_path, files, capsys):
    base = ["run", files["t1"], files["t2"], "--out", tmp_path / "o"] + FAST
    code, _, err = run(base + ["-p", "schedule=3,2"], capsys)
    assert code == 2 and "use --schedule" in err
    code, _, err = run(base + ["-p", "nonsense"], capsys)
    assert code == 2 and "KEY=VALUE" in err
    code, _, err = run(base + ["-p", "no_such_option=1"], capsys)   # analyse rejects it
    assert code == 2 and "no_such_option" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_evaluate_binary_only(tmp_path, capsys):
    gt = np.array([[0, 1, 1, 255]], np.uint8)
    np.save(tmp_path / "gt.npy", gt)
    np.save(tmp_path / "m.npy", np.array([[0, 2, 0, 1]], np.uint8))
    code, out, err = run(["evaluate", tmp_path / "m.npy", tmp_path / "gt.npy", "--json"], capsys)
    assert code == 0, err
    ev = json.loads(out)
    assert "multiclass" not in ev and "type_accuracy" not in ev   # one change class
    code, out, _ = run(["evaluate", tmp_path / "m.npy", tmp_path / "gt.npy"], capsys)
    assert "producer's" not in out and "binary vs ground truth" in out
    assert ev["binary"]["oa"] == pytest.approx(2 / 3) and ev["binary"]["recall"] == 0.5


def test_evaluate_prints_the_type_table(tmp_path, capsys):
    # hand-worked: types 1 -> class 2, 2 -> class 1, type 3 has no class
    # class 0: pixels 0-2 -> types 0, 0, 1 ; class 1: 1, 2, 2 ; class 2: 1, 1, 1
    gt = np.array([[0, 0, 0, 1, 2, 2, 2, 1, 1, 255]], np.uint8)
    pred = np.array([[0, 0, 1, 1, 1, 1, 1, 2, 2, 3]], np.uint8)
    np.save(tmp_path / "gt.npy", gt)
    np.save(tmp_path / "m.npy", pred)
    code, out, err = run(["evaluate", tmp_path / "m.npy", tmp_path / "gt.npy"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if "producer's" in line)
    assert lines[head].split() == ["type", "class", "pixels", "producer's", "user's"]
    table = [line.split() for line in lines[head + 1:head + 5]]
    assert table == [["0", "0", "2", "0.6667", "1.0000"],    # 2/3 of class 0 kept, 2/2
                     ["1", "2", "5", "1.0000", "0.6000"],    # class 2: 3/3 ; type 1: 3/5
                     ["2", "1", "2", "0.6667", "1.0000"],    # class 1: 2/3 ; type 2: 2/2
                     ["3", "-", "0", "-", "-"]]              # only on the ignored pixel
    assert "ACC 0.7778" in out
    code, out, _ = run(["evaluate", tmp_path / "m.npy", tmp_path / "gt.npy", "--json"], capsys)
    ev = json.loads(out)
    assert ev["type_accuracy"]["confusion"] == [[2, 0, 1, 0], [0, 2, 1, 0], [0, 0, 3, 0]]
    assert ev["type_accuracy"]["types"] == [0, 2, 1, 3]
    assert ev["type_accuracy"]["users"]["1"] == pytest.approx(0.6)


# -- bad input: exit 2, one line naming the problem, nothing written ------------

def _bad(tmp_path, files, scene, case):
    t1, t2, gt = scene
    out = tmp_path / "out"
    base = ["run", files["t1"], files["t2"], "--out", out] + FAST
    if case == "missing file":
        return ["run", tmp_path / "nope.tif", files["t2"], "--out", out] + FAST, "does not exist"
    if case == "pixels statistic with feature flags":
        return base + ["--preset", "paper", "--region-statistic", "pixels"], "--region-statistic interior"
    if case == "unreadable file":
        (tmp_path / "junk.tif").write_bytes(b"\x00not a tiff at all")
        return ["run", tmp_path / "junk.tif", files["t2"], "--out", out] + FAST, "cannot read t1"
    if case == "different size":
        write_geotiff(tmp_path / "small.tif", t2[:60, :50])
        return ["run", files["t1"], tmp_path / "small.tif", "--out", out] + FAST, "differ in size"
    if case == "different band count":
        write_geotiff(tmp_path / "b3.tif", t2[:, :, :3])
        return ["run", files["t1"], tmp_path / "b3.tif", "--out", out] + FAST, "band count"
    if case == "band out of range":
        return base + ["--bands", "1,7"], "band 7 is out of range"
    if case == "all nodata":
        write_geotiff(tmp_path / "nd.tif", np.full_like(t1, NODATA), nodata=NODATA)
        return ["run", tmp_path / "nd.tif", files["t2"], "--out", out] + FAST, "nodata"
    if case == "too few regions":
        few = np.full_like(t1, NODATA)
        few[:2, :2] = t1[10:12, 10:12]                  # 4 valid pixels, 8 clusters asked
        write_geotiff(tmp_path / "few.tif", few, nodata=NODATA)
        return (["run", tmp_path / "few.tif", files["t2"], "--out", out, "--unit", "pixel"]
                + FAST, "cluster")
    if case == "schedule not decreasing":
        return base + ["--schedule", "4,8"], "not strictly decreasing"
    if case == "gt of another size":
        write_geotiff(tmp_path / "gt_small.tif", gt[:32])
        return base + ["--gt", tmp_path / "gt_small.tif"], "ground truth"
    if case == "out is a file":
        (tmp_path / "out").write_text("I am a file")
        return base, "is a file"
    if case == "output is an input":
        os.mkdir(out)
        write_geotiff(out / "cda_map.tif", t1, nodata=NODATA)
        return (["run", out / "cda_map.tif", files["t2"], "--out", out] + FAST,
                "also an input")
    if case == "a schedule map is an input":
        os.mkdir(out)
        write_geotiff(out / "map_K8.tif", t1, nodata=NODATA)
        return (["run", out / "map_K8.tif", files["t2"], "--out", out] + FAST,
                "also an input")
    if case.startswith("-p "):
        return base + ["-p", case[3:]], "-p " + case[3:].split("=")[0]
    if case == "unknown -p key lists the true keys":
        return base + ["-p", "learning_rate=0.1"], "accepted: compactness, n_segments, " \
            "threshold_statistic, window"
    if case == "negative seed":
        return base + ["--seed", "-1"], "seed '-1'"
    if case == "pca-kmeans on 5x5":
        np.save(tmp_path / "a.npy", t1[10:15, 10:15])
        np.save(tmp_path / "b.npy", t2[10:15, 10:15])
        return (["run", tmp_path / "a.npy", tmp_path / "b.npy", "--out", out,
                 "--method", "pca-kmeans", "-q"], "too small for two 5x5 blocks")
    if case in ("different CRS", "shifted grid", "10 m vs 30 m"):
        import rasterio as rio
        from rasterio.transform import from_origin

        crs, x0, res = {"different CRS": (32651, 500000, 8), "shifted grid": (32650, 503000, 8),
                        "10 m vs 30 m": (32650, 500000, 30)}[case]
        with rio.open(tmp_path / "t2b.tif", "w", driver="GTiff", height=64, width=64,
                      count=4, dtype="float32", crs=rio.crs.CRS.from_epsg(crs),
                      transform=from_origin(x0, 3800000, res, res)) as ds:
            ds.write(np.moveaxis(t2, -1, 0))
        expected = {"different CRS": "EPSG:32650, t2 in EPSG:32651",
                    "shifted grid": "+3000, +0 map units", "10 m vs 30 m": "t1 8 x 8, t2 30 x 30"}
        return ["run", files["t1"], tmp_path / "t2b.tif", "--out", out] + FAST, expected[case]
    if case == "corrupt tiff":
        (tmp_path / "cut.tif").write_bytes(open(files["t2"], "rb").read()[:3000])
        return ["run", files["t1"], tmp_path / "cut.tif", "--out", out] + FAST, "cannot read t2"
    if case == "unwritable output folder":
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return ["run", files["t1"], files["t2"], "--out", ro / "out"] + FAST, "cannot write"
    if case == "gt value outside its encoding":
        write_geotiff(tmp_path / "gt7.tif", np.where(gt > 0, 7, 0).astype(np.uint8))
        return (base + ["--gt", tmp_path / "gt7.tif", "--gt-encoding", "0-1"],
                "value 7, which the 0-1 encoding")
    raise AssertionError(case)


BAD_CASES = ["missing file", "unreadable file", "different size", "different band count",
             "band out of range", "all nodata", "too few regions",
             "schedule not decreasing", "gt of another size", "out is a file",
             "output is an input",
             # issue 12: each of these ended in a traceback, was accepted, or was
             # found only after the analysis
             "a schedule map is an input", "unwritable output folder",
             "-p finetune_epochs=1.5", "-p learning_rate=abc", "-p alpha=abc", "-p head=abc",
             "-p branch=abc", "-p batchsize=1e9", "-p learning_rate=-1", "-p sae_epochs=-1",
             "-p sparsity_target=2", "-p recompute_flags=maybe", "-p window=4",
             "unknown -p key lists the true keys", "negative seed", "pca-kmeans on 5x5",
             "different CRS", "shifted grid", "10 m vs 30 m", "corrupt tiff",
             "gt value outside its encoding", "pixels statistic with feature flags"]
_DRL = {"pixels statistic with feature flags", "-p finetune_epochs=1.5", "-p learning_rate=abc",
        "-p alpha=abc", "-p head=abc",
        "-p branch=abc", "-p batchsize=1e9", "-p learning_rate=-1", "-p sae_epochs=-1",
        "-p sparsity_target=2", "-p recompute_flags=maybe"}


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input(tmp_path, files, scene, capsys, monkeypatch, case):
    argv, expected = _bad(tmp_path, files, scene, case)
    if case in _DRL:                            # DRLnet's parameters, on DRLnet
        argv = [a if a != "raw-km" else "drlnet2" for a in argv]
    if case == "unwritable output folder" and os.geteuid() == 0:
        real = os.access                        # root may write anywhere: deny as the OS would
        monkeypatch.setattr(os, "access", lambda p, m, **kw: False if str(p).endswith("ro")
                            else real(p, m, **kw))
    before = {p: os.path.getmtime(p) for p in map(str, tmp_path.rglob("*"))}
    code, out, err = run(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("drl-np: error: "), err
    assert expected in lines[0], lines[0]
    assert "Traceback" not in err and out == ""
    after = {p: os.path.getmtime(p) for p in map(str, tmp_path.rglob("*"))}
    assert after == before                                # nothing written or changed


def test_demo_raw_km(tmp_path, capsys):
    out = tmp_path / "demo"
    code, stdout, err = run(["demo", "--out", out, "--method", "raw-km", "-q"], capsys)
    assert code == 0, err
    rep = json.loads((out / "report.json").read_text())
    assert rep["inputs"]["scene"] == "drl_np.datasets.synthetic_pair"
    assert rep["params"]["schedule"] == [25, 15, 8, 4] and rep["n_change_types"] == 4
    acc = rep["metrics"]["multiclass"]["acc"]
    assert f"ACC {acc:.4f}" in stdout and str(out) in stdout
    assert list(rep["change_types"][0]["mean_change"]) == ["red", "green", "blue", "nir"]


@pytest.mark.parametrize("method,rule", [("raw-km", "otsu"), ("raw-km", "kmeans"), ("cva", "ggki"),
                                         ("c2va", "otsu")])
def test_threshold_option_reaches_the_method(tmp_path, files, capsys, method, rule):
    out = tmp_path / "out"
    code, _, err = run(["run", files["t1"], files["t2"], "--out", out, "--method", method,
                        "--threshold", rule, "--schedule", "8,4", "-q"], capsys)
    assert code == 0, err
    rep = json.loads((out / "report.json").read_text())
    assert rep["params"]["threshold"] == rule


def test_scaling_option_reaches_the_analysis(tmp_path, files, capsys):
    out = tmp_path / "out"
    code, _, err = run(["run", files["t1"], files["t2"], "--out", out, "--scaling", "per-date"]
                       + FAST, capsys)
    assert code == 0, err
    assert json.loads((out / "report.json").read_text())["params"]["scaling"] == "per-date"


def test_rerun_into_the_same_directory_leaves_one_consistent_result(tmp_path, files, capsys):
    out = tmp_path / "out"
    drl = ["--method", "drlnet2", "--schedule", "6,4", "-q", "-p", "sae_epochs=1",
           "-p", "pretrain_epochs=1", "-p", "finetune_epochs=1"]
    assert run(["run", files["t1"], files["t2"], "--out", out] + drl, capsys)[0] == 0
    assert (out / "map_K6.tif").exists()
    (out / "notes.txt").write_text("mine")
    assert run(["run", files["t1"], files["t2"], "--out", out] + FAST, capsys)[0] == 0
    assert not (out / "map_K6.tif").exists() and not (out / "map_K6.png").exists()
    assert (out / "map_K4.tif").exists() and (out / "notes.txt").read_text() == "mine"


# -- issue 12 -----------------------------------------------------------------------

def test_a_run_never_removes_files_it_did_not_write(tmp_path, files, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "map_K12.tif").write_text("the user's own map")     # named like ours, not ours
    (out / "map_K3.png").write_text("another")
    assert run(["run", files["t1"], files["t2"], "--out", out] + FAST, capsys)[0] == 0
    assert run(["run", files["t1"], files["t2"], "--out", out] + FAST, capsys)[0] == 0
    assert (out / "map_K12.tif").read_text() == "the user's own map"
    assert (out / "map_K3.png").read_text() == "another"


@pytest.mark.parametrize("encoding,code", [("0/255", lambda g: 255 * g),
                                           ("1/2", lambda g: g + 1),
                                           ("0/1", lambda g: g)])
def test_run_reads_common_gt_encodings(tmp_path, files, scene, capsys, encoding, code):
    _, _, gt = scene
    binary = (gt > 0).astype(np.uint8)
    write_geotiff(tmp_path / "g.tif", code(binary).astype(np.uint8))
    # the paper preset: on this 64 x 64 scene (27 regions) its map is the better one, and
    # the test is about reading the ground truth
    c, stdout, err = run(["run", files["t1"], files["t2"], "--out", tmp_path / "o",
                          "--gt", tmp_path / "g.tif", "--preset", "paper"] + FAST, capsys)
    assert c == 0, err
    rep = json.loads((tmp_path / "o" / "report.json").read_text())
    assert rep["inputs"]["gt_encoding"].startswith(encoding)
    assert f"ground truth read as {encoding}" in stdout
    assert rep["metrics"]["binary"]["oa"] > 0.8            # 0.05 / no changed pixel before
    assert rep["metrics"]["binary"]["recall"] > 0.5
    code2, ev, _ = run(["evaluate", tmp_path / "o" / "cda_map.tif", tmp_path / "g.tif",
                        "--json"], capsys)
    assert code2 == 0 and json.loads(ev)["binary"]["oa"] == rep["metrics"]["binary"]["oa"]


def test_run_bands_first_npy(tmp_path, scene, capsys):
    t1, t2, _ = scene
    t1 = np.where(t1 == NODATA, 0, t1)
    for name, t in (("a", t1), ("b", t2)):
        np.save(tmp_path / f"{name}.npy", np.moveaxis(t, -1, 0))      # (4, 64, 64)
    code, _, err = run(["run", tmp_path / "a.npy", tmp_path / "b.npy", "--out", tmp_path / "o",
                        "--method", "raw-km", "--schedule", "8,4"], capsys)
    assert code == 0, err and "bands-first" in err
    rep = json.loads((tmp_path / "o" / "report.json").read_text())
    assert rep["shape"] == [64, 64] and rep["inputs"]["layout"] == "bands-first (inferred)"
    code, _, err = run(["run", tmp_path / "a.npy", tmp_path / "b.npy", "--out", tmp_path / "p",
                        "--bands-first"] + FAST, capsys)
    assert code == 0, err


def test_evaluate_uint16_map_keeps_type_255(tmp_path, capsys):
    pred = np.array([[255, 255, 0, 65535]], np.uint16)             # type 255 twice, 1 masked
    gt = np.array([[1, 1, 0, 1]], np.uint8)
    np.save(tmp_path / "m.npy", pred)
    np.save(tmp_path / "g.npy", gt)
    code, out, err = run(["evaluate", tmp_path / "m.npy", tmp_path / "g.npy", "--json"], capsys)
    assert code == 0, err
    ev = json.loads(out)
    assert ev["binary"]["n_unpredicted"] == 1 and ev["binary"]["recall"] == pytest.approx(2 / 3)


def test_peer_finding_nothing_says_so(tmp_path, files, scene, capsys):
    code, stdout, err = run(["run", files["t1"], files["t1"], "--out", tmp_path / "o",
                             "--method", "irmad", "-q"], capsys)
    assert code == 0, err
    assert "irmad: 0 change types, 0 changed pixels" in stdout
    rep = json.loads((tmp_path / "o" / "report.json").read_text())
    assert rep["n_change_types"] == 0 and rep["change_types"] == []


def test_geotiff_band_descriptions_name_the_csv_columns(tmp_path, scene, capsys):
    from rasterio.transform import from_origin

    t1, t2, _ = scene
    t1 = np.where(t1 == NODATA, 0, t1)
    for name, t in (("a", t1), ("b", t2)):
        with rasterio.open(tmp_path / f"{name}.tif", "w", driver="GTiff", height=64, width=64,
                           count=4, dtype="float32", compress="lzw",
                           crs=rasterio.crs.CRS.from_epsg(32650),
                           transform=from_origin(500000, 3800000, 10, 10)) as ds:
            ds.write(np.moveaxis(t, -1, 0))
            ds.descriptions = ("B2", "B3", "B4", "B8")
    code, _, err = run(["run", tmp_path / "a.tif", tmp_path / "b.tif", "--out", tmp_path / "o"]
                       + FAST, capsys)
    assert code == 0, err
    with open(tmp_path / "o" / "areas.csv") as f:
        header = next(csv.reader(f))
    assert header[-4:] == [f"mean_t2_minus_t1_{b}" for b in ("B2", "B3", "B4", "B8")]
    with rasterio.open(tmp_path / "o" / "cda_map.tif") as ds:
        cmap = ds.colormap(1)
        assert ds.crs.to_epsg() == 32650 and ds.nodata == 255
    png = np.asarray(__import__("imageio.v3", fromlist=["x"]).imread(tmp_path / "o" / "summary.png"))
    assert png.shape[0] > 300 and cmap[0][:3] == (20, 20, 20)


def test_sigterm_mid_write_leaves_nothing(tmp_path, files, capsys, monkeypatch):
    import signal

    from drl_np import figures

    def killed(*a, **k):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not stop the run")

    monkeypatch.setattr(figures, "summary_figure", killed)
    out = tmp_path / "out"
    code, _, err = run(["run", files["t1"], files["t2"], "--out", out] + FAST, capsys)
    assert code == 143 and "terminated" in err
    assert not out.exists()                                  # staged parts removed too


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "drl_np", *map(str, args)], capture_output=True,
                          text=True, timeout=120, **kw)


def test_version_and_python_m():
    proc = _cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"drl-np {drl_np.__version__}"


def test_start_up_loads_no_heavy_module():
    code = ("import sys, drl_np.cli; "
            "print(sorted(m for m in ('sklearn', 'scipy', 'numba', 'matplotlib', 'rasterio', "
            "'skimage') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_broken_pipe_is_quiet(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "drl_np", "run", "--help"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                                       # 'drl-np ... | head' gone
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Broken pipe" not in err and "Traceback" not in err


def test_progress_bar_on_a_terminal_plain_lines_in_a_log():
    import io as _io
    import logging

    from drl_np.cli import _ProgressHandler
    from drl_np.progress import step

    class Tty(_io.StringIO):
        def isatty(self):
            return True

    log = logging.getLogger("drl_np")
    old = log.level
    log.setLevel(logging.INFO)
    streams = {"tty": Tty(), "log": _io.StringIO()}
    handlers = [_ProgressHandler(s) for s in streams.values()]
    for h in handlers:
        log.addHandler(h)
    try:
        for i in (1, 2, 3):
            step("IRMAD iteration", i, 3)
        log.info("next stage")
    finally:
        for h in handlers:
            log.removeHandler(h)
        log.setLevel(old)
    tty, plain = streams["tty"].getvalue(), streams["log"].getvalue()
    assert tty.count("\r") == 3 and "[########################]" in tty
    assert tty.endswith("next stage\n") and tty.count("\n") == 2
    assert plain.splitlines() == ["IRMAD iteration 1/3", "IRMAD iteration 2/3",
                                  "IRMAD iteration 3/3", "next stage"]


def test_irmad_iterations_and_kmeans_report_progress(caplog):
    import logging

    from drl_np import clustering
    from drl_np.peers.mad import irmad
    from drl_np.rng import check_random_state

    rng = np.random.default_rng(0)
    x1 = rng.normal(size=(300, 3))
    x2 = x1 + 0.3 * rng.normal(size=x1.shape)
    with caplog.at_level(logging.INFO, logger="drl_np"):
        out = irmad(x1, x2, max_iter=5)
    steps = [r.progress for r in caplog.records if hasattr(r, "progress")]
    assert steps == [(i, 5) for i in range(1, out["n_iter"] + 1)]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="drl_np"):
        clustering.kmeans(rng.normal(size=(20000, 2)), 3, check_random_state(0), n_init=1)
    assert any("k-means of 20000" in r.getMessage() and "done" in r.getMessage()
               for r in caplog.records)


def test_readme_data_example_runs_from_a_fresh_clone(tmp_path):
    import shlex

    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
    lines = [ln.strip() for ln in readme.splitlines()]
    make = next(ln for ln in lines if ln.startswith("python -c \"from drl_np.datasets"))
    use = next(ln for ln in lines if ln.startswith("drl-np run --pair scene.npz"))
    subprocess.run([sys.executable] + shlex.split(make)[1:], cwd=tmp_path, check=True,
                   timeout=120)
    proc = subprocess.run([sys.executable, "-m", "drl_np"] + shlex.split(use)[1:] + ["-q"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "cva:" in proc.stdout and "OA" in proc.stdout


def test_repeated_warnings_print_once(capsys):
    import logging

    from drl_np.cli import _OnceFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_OnceFilter())
    log = logging.getLogger("drl_np.test_once")
    log.addHandler(handler)
    try:
        for _ in range(3):
            log.warning("only 0 changed regions for 4 change types")
        log.warning("another")
    finally:
        log.removeHandler(handler)
    err = capsys.readouterr().err
    assert err.count("only 0 changed regions") == 1 and "another" in err


# -- plant: a test pair from one image ------------------------------------------

@pytest.fixture
def one_image(tmp_path):
    from test_datasets import _blocks

    img = _blocks(np.uint16)                              # (96, 96, 4) textured blocks
    path = tmp_path / "scene.tif"
    write_geotiff(path, img)
    return img, str(path)


def test_plant_npz_round_trip(tmp_path, one_image, capsys):
    from drl_np.datasets import load_pair, plant_transitions

    img, path = one_image
    out = tmp_path / "sub" / "pair.npz"
    code, stdout, err = run(["plant", path, "--out", out, "--n-types", 3, "--seed", 2, "-q"],
                            capsys)
    assert code == 0, err
    assert sorted(os.listdir(out.parent)) == ["pair.json", "pair.npz"]
    pair = load_pair(out)
    np.testing.assert_array_equal(pair.t1, img)
    assert pair.t2.dtype == np.uint16
    _, t2, gt, info = plant_transitions(img, n_types=3, seed=2)  # the API gives the same
    assert pair.t2.tobytes() == t2.tobytes() and pair.gt.tobytes() == gt.tobytes()
    rep = json.loads((tmp_path / "sub" / "pair.json").read_text())
    assert [r["pixels"] for r in rep["types"]] == list(info.pixels)
    assert [(r["source_class"], r["target_class"]) for r in rep["types"]] == \
        list(info.transitions)
    for k, (s, t) in enumerate(info.transitions, start=1):
        assert f"type {k}: class {s} -> class {t}, {info.pixels[k - 1]} px" in stdout


def test_plant_geotiff_directory_keeps_georeferencing(tmp_path, one_image, capsys):
    img, path = one_image
    out = tmp_path / "planted"
    code, _, err = run(["plant", path, "--out", out, "--bands", "4,1", "-q"], capsys)
    assert code == 0, err
    assert sorted(os.listdir(out)) == ["gt.tif", "planted.json", "t1.tif", "t2.tif"]
    with rasterio.open(out / "t1.tif") as ds:
        assert ds.count == 2 and ds.dtypes == ("uint16", "uint16")
        assert ds.crs.to_epsg() == 32650
        assert ds.transform.almost_equals(rasterio.Affine(8, 0, 500000, 0, -8, 3800000))
        np.testing.assert_array_equal(np.moveaxis(ds.read(), 0, -1), img[..., [3, 0]])
    with rasterio.open(out / "gt.tif") as ds:
        gt = ds.read(1)
        assert ds.crs.to_epsg() == 32650 and ds.dtypes[0] == "uint8"
    rep = json.loads((out / "planted.json").read_text())
    assert [r["pixels"] for r in rep["types"]] == \
        [int((gt == k).sum()) for k in range(1, 5)]


@pytest.mark.parametrize("case", ["too small", "output is the input", "nodata pixels",
                                  "too many types", "missing image"])
def test_plant_bad_input(tmp_path, one_image, capsys, case):
    img, path = one_image
    out, argv = tmp_path / "out.npz", None
    if case == "too small":
        write_geotiff(tmp_path / "small.tif", img[:20])
        argv, expected = ["plant", tmp_path / "small.tif", "--out", out], "at least 32x32"
    elif case == "output is the input":
        argv, expected = ["plant", path, "--out", tmp_path], "also an input"
        write_geotiff(tmp_path / "t1.tif", img)
        argv[1] = tmp_path / "t1.tif"
    elif case == "nodata pixels":
        bad = img.copy()
        bad[0, 0] = 9999
        write_geotiff(tmp_path / "nd.tif", bad, nodata=9999)
        argv, expected = ["plant", tmp_path / "nd.tif", "--out", out], "nodata"
    elif case == "too many types":
        argv, expected = ["plant", path, "--out", out, "--n-types", 40], "n_types"
    else:
        argv, expected = ["plant", tmp_path / "nope.tif", "--out", out], "does not exist"
    before = {p: os.path.getmtime(p) for p in map(str, tmp_path.rglob("*"))}
    code, stdout, err = run(argv + ["-q"], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("drl-np: error: "), err
    assert expected in lines[0] and stdout == ""
    after = {p: os.path.getmtime(p) for p in map(str, tmp_path.rglob("*"))}
    assert after == before
