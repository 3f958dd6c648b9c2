"""drl_np.report (report.json, areas.csv) and drl_np.figures (colour PNGs)."""
import csv
import io as _io
import json

import numpy as np
import pytest

from drl_np import figures, report
from drl_np.result import AnalysisResult


def hand_result():
    """A 2x3 map: types 1 and 2, one unchanged and one masked pixel."""
    cda = np.array([[0, 1, 1], [2, -1, 1]])
    ci = np.array([[0.0, 0.9, 0.8], [0.5, np.nan, 1.0]])
    return AnalysisResult(method="raw-km", cda_map=cda, ci_map=ci,
                          maps={2: cda}, thresholds={"ci": np.float64(0.3)},
                          timings={"regions": 0.5}, params={"random_state": 7},
                          n_change_types=2)


def hand_dates():
    t1 = np.zeros((2, 3, 2))
    t2 = np.zeros((2, 3, 2))
    # type 1 pixels (0,1), (0,2), (1,2): band-1 change 1, 2, 6; band-2 change -3 each
    t2[0, 1] = (1, -3)
    t2[0, 2] = (2, -3)
    t2[1, 2] = (6, -3)
    t1[1, 0] = (10, 10)      # type 2 pixel: change (-10, -10)
    return t1, t2


def test_change_types_hand_worked():
    t1, t2 = hand_dates()
    rows = report.change_types(hand_result().cda_map, t1, t2, pixel_area_m2=64.0)
    assert [r["type"] for r in rows] == [1, 2]
    assert [r["pixels"] for r in rows] == [3, 1]
    assert rows[0]["fraction"] == pytest.approx(3 / 5)      # 5 valid pixels
    assert rows[0]["area_m2"] == 192.0 and rows[1]["area_m2"] == 64.0
    assert rows[0]["mean_change"] == pytest.approx({"band1": 3.0, "band2": -3.0})
    assert rows[1]["mean_change"] == pytest.approx({"band1": -10.0, "band2": -10.0})


def test_change_types_without_area_and_empty_type():
    t1, t2 = hand_dates()
    cda = np.array([[0, 3, 3], [0, 0, 1]])           # type 2 absent
    rows = report.change_types(cda, t1, t2, band_labels=["red", "nir"])
    assert [r["pixels"] for r in rows] == [1, 0, 2]
    assert rows[1]["mean_change"] == {"red": None, "nir": None}
    assert all(r["area_m2"] is None for r in rows)


def test_areas_csv_one_row_per_type():
    t1, t2 = hand_dates()
    rows = report.change_types(hand_result().cda_map, t1, t2, pixel_area_m2=64.0)
    table = list(csv.DictReader(_io.StringIO(report.areas_csv(rows))))
    assert len(table) == 2
    assert table[0]["type"] == "1" and table[0]["pixels"] == "3"
    assert float(table[0]["area_m2"]) == 192.0
    assert float(table[0]["area_ha"]) == pytest.approx(0.0192)
    assert float(table[1]["mean_t2_minus_t1_band2"]) == -10.0
    no_area = report.areas_csv(report.change_types(hand_result().cda_map, t1, t2))
    assert list(csv.DictReader(_io.StringIO(no_area)))[0]["area_m2"] == ""


def test_build_report_is_json_and_complete():
    t1, t2 = hand_dates()
    rep = report.build_report(hand_result(), t1=t1, t2=t2, inputs={"t1": "a.tif"},
                              pixel_area=(None, "unknown (no georeferencing)"),
                              metrics={"binary": {"oa": np.float32(0.5)}},
                              timings={"read": 0.1})
    text = json.dumps(rep, allow_nan=False)          # plain JSON, no NaN
    back = json.loads(text)
    assert back["method"] == "raw-km" and back["seed"] == 7
    assert back["params"] == {"random_state": 7}
    assert back["thresholds"] == {"ci": 0.3}
    assert back["totals"] == {"valid_pixels": 5, "masked_pixels": 1,
                              "unchanged_pixels": 1, "changed_pixels": 4,
                              "changed_area_m2": None}
    assert back["pixel_area"]["value"] is None and "unknown" in back["pixel_area"]["unit"]
    assert back["timings"] == {"regions": 0.5, "read": 0.1}
    assert back["metrics"]["binary"]["oa"] == 0.5
    assert set(back["versions"]) >= {"drl_np", "numpy", "scipy", "skimage", "sklearn", "numba"}
    assert back["versions"]["numpy"] == np.__version__
    assert back["peak_memory_mib"] > 1


def test_nothing_changed_reports_no_type():
    t1, t2 = hand_dates()
    res = hand_result()
    res.cda_map = np.where(res.cda_map > 0, 0, res.cda_map)     # a peer that found nothing
    res.n_change_types = 5                                       # ... asked for 5 types
    rep = report.build_report(res, t1=t1, t2=t2, inputs={})
    assert rep["n_change_types"] == 0 and rep["change_types"] == []
    assert rep["n_change_types_requested"] == 5


def test_areas_csv_full_precision_and_says_t2_minus_t1():
    t1, t2 = hand_dates()
    rows = report.change_types(hand_result().cda_map, t1, t2, pixel_area_m2=38542666.6 / 3)
    text = report.areas_csv(rows)
    table = list(csv.DictReader(_io.StringIO(text)))
    assert float(table[0]["area_m2"]) == rows[0]["area_m2"]       # round-trips exactly
    assert "e+" not in text
    assert "mean_t2_minus_t1_band1" in table[0]


def test_to_jsonable_nonfinite_and_numpy():
    out = report.to_jsonable({1: np.array([1.5, np.nan]), "b": (np.int8(3), np.bool_(True))})
    assert out == {"1": [1.5, None], "b": [3, True]}


# -- figures -------------------------------------------------------------------

def test_label_rgb_fixed_palette():
    lab = np.array([[0, 1, 2], [-1, 2, 255]])
    rgb = figures.label_rgb(lab, masked_value=255)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 0]) == figures.UNCHANGED_RGB
    assert tuple(rgb[1, 0]) == tuple(rgb[1, 2]) == figures.MASKED_RGB
    assert tuple(rgb[0, 2]) == tuple(rgb[1, 1]) == tuple(figures.palette(2)[1])
    # the colour of a type does not depend on how many types the map has
    assert tuple(figures.label_rgb(np.array([[1, 9]]))[0, 0]) == tuple(rgb[0, 1])


def test_palette_distinct_for_schedule_sizes():
    p = figures.palette(40)
    assert len({tuple(c) for c in p}) == 40
    assert figures.UNCHANGED_RGB not in {tuple(c) for c in p}
    assert figures.MASKED_RGB not in {tuple(c) for c in p}


def test_ramp_endpoints_monotone_and_nan():
    v = np.array([[0.0, 0.5, 1.0, np.nan]])
    rgb = figures.ramp_rgb(v)
    assert tuple(rgb[0, 0]) == (68, 1, 84) and tuple(rgb[0, 2]) == (253, 231, 37)
    assert tuple(rgb[0, 3]) == figures.MASKED_RGB
    lum = figures.ramp_rgb(np.linspace(0, 1, 50)[None]).astype(float) @ [0.299, 0.587, 0.114]
    assert np.all(np.diff(lum[0]) > 0)               # perceptual: brightness rises


def test_composite_stretch_and_band_choice():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 100, (20, 20, 4))
    b = a + 50                                       # second date brighter
    ca, cb = figures.composite_rgb([a, b], band_names=["blue", "green", "red", "nir"])
    assert ca.dtype == np.uint8 and ca.shape == (20, 20, 3)
    assert cb.astype(float).mean() > ca.astype(float).mean() + 40   # shared stretch
    assert figures.rgb_band_indices(4, ["blue", "green", "red", "nir"]) == [2, 1, 0]
    assert figures.rgb_band_indices(4) == [0, 1, 2]
    assert figures.rgb_band_indices(1) == [0, 0, 0]
    valid = np.ones((20, 20), bool)
    valid[0, 0] = False
    assert tuple(figures.composite_rgb([a], valid=valid)[0][0, 0]) == figures.MASKED_RGB


def test_summary_panel_layout():
    tiles = [np.full((10, 8, 3), i * 40, np.uint8) for i in range(1, 6)]
    panel = figures.summary_panel(tiles, columns=4, gap=2)
    assert panel.shape == (2 * 10 + 3 * 2, 4 * 8 + 5 * 2, 3)
    assert (panel[2:12, 2:10] == 40).all()            # tile 1 at top-left
    assert (panel[14:24, 2:10] == 200).all()          # tile 5 starts row 2
    assert (panel[0, :] == 255).all()                 # white border
    big = figures.summary_panel([np.zeros((1000, 500, 3), np.uint8)], tile_size=100, gap=0)
    assert big.shape == (100, 50, 3)


def test_label_tile_stamps_glyphs():
    tile = np.full((40, 40, 3), 100, np.uint8)
    out = figures.label_tile(tile, "T1", scale=2)
    assert (tile == 100).all()                        # input untouched
    box = out[:14, :18]                               # (5+2)*2 rows, (2*4-1+2)*2 cols
    assert set(np.unique(box)) == {0, 255}
    # "T": top bar of three pixels at rows 2-3, cols 2-7; stem col 4-5 below
    assert (box[2:4, 2:8] == 255).all() and (box[4:12, 4:6] == 255).all()
    assert (box[4:12, 2:4] == 0).all()
    assert (out[14:, :] == 100).all() and (out[:, 18:] == 100).all()


# -- matplotlib figures (issue 12) ------------------------------------------------

def test_robust_range_ignores_a_few_extremes():
    ci = np.concatenate([np.linspace(0.0, 0.1, 990), np.full(10, 1000.0), [np.nan]])
    lo, hi = figures.robust_range(ci)
    assert lo == pytest.approx(0.002, abs=1e-3) and hi < 0.11      # not min-max (0, 1000)
    assert figures.robust_range(np.full(5, 0.3)) == (0.3, 1.3)
    assert figures.robust_range(np.array([np.nan])) == (0.0, 1.0)


def test_ground_truth_panel_uses_the_matched_type_colours():
    gt = np.array([[0, 1, 2, 255]])
    rgb = figures._gt_rgb(gt, 255, {"1": 2, "2": 1, "3": None})  # type -> class
    pal = figures.palette(3)
    assert tuple(rgb[0, 1]) == tuple(pal[1])                      # class 1 <- type 2
    assert tuple(rgb[0, 2]) == tuple(pal[0])                      # class 2 <- type 1
    assert tuple(rgb[0, 3]) == figures.MASKED_RGB
    assert tuple(rgb[0, 0]) == figures.UNCHANGED_RGB


def test_map_and_intensity_figures_have_room_for_legend_and_colour_bar():
    lab = np.zeros((40, 60), int)
    lab[5:15, 5:15] = 1
    lab[20:30, 30:50] = 2
    rows = [{"type": 1, "fraction": 0.04, "area_m2": 1e4}, {"type": 2, "fraction": 0.08,
                                                           "area_m2": 2e4}]
    img = figures.map_figure(lab, rows, "K = 2")
    assert img.dtype == np.uint8 and img.ndim == 3
    assert img.shape[1] > img.shape[0] * 60 / 40                 # legend beside the map
    pal = figures.palette(2)
    flat = img.reshape(-1, 3)
    for colour in pal:                                            # map and legend patches
        assert (flat == colour).all(axis=1).sum() > 50
    ci = np.linspace(0, 1, 2400).reshape(40, 60)
    ci[0, 0] = np.nan
    bar = figures.intensity_figure(ci)
    assert bar.shape[1] > bar.shape[0] * 60 / 40                  # colour bar beside it


def test_peak_memory_is_the_process_own_not_its_parents():
    # getrusage's ru_maxrss survives fork + exec: a run started by a process
    # holding 300 MB would report at least that
    import subprocess
    import sys
    held = np.ones(300 * 2**20 // 8)                      # 300 MiB, touched
    code = "from drl_np.report import peak_memory_mib; print(peak_memory_mib())"
    child = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout)
    assert 0 < child < 250 and held.sum() > 0
