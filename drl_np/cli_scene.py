"""``drl-np run`` on whole scenes: two GeoTIFFs mapped tile by tile into
windowed GeoTIFFs, on this machine or a Dask cluster (``docs/scenes.md``).

Nothing is loaded whole: the inputs are read by window, the maps are written
window by window into staged files (:class:`drl_np.io.AtomicOutputs`), and
``report.json`` and ``areas.csv`` are summed from per-tile counts, and so is
the score against a ground truth (``--gt``), read by window beside the map.
A tile that fails stops the run with one line and leaves nothing written.
"""
import json
import logging
import os
import time

import numpy as np

from . import figures, io, report
from .scene_io import WindowedGeoTIFF, type_rows

__all__ = ["OUTPUTS", "is_geotiff", "scene_pixels", "run_scene_files"]

log = logging.getLogger("drl_np")

#: Files a tiled run writes (besides the manifest).
OUTPUTS = ("cda_map.tif", "cda_map.tif.aux.xml", "ci_map.tif", "report.json", "areas.csv")


def is_geotiff(path):
    return os.fspath(path).lower().endswith(io._TIFF_EXT)


def scene_pixels(path):
    """Pixels of one band of a GeoTIFF (its header only), 0 when unreadable."""
    try:
        with io._quiet_gdal() as rasterio, rasterio.open(path) as ds:
            return ds.width * ds.height
    except Exception:        # the reader proper will say what is wrong
        return 0


def _peak_memory(runner):
    """Peak RSS (MiB) of this process and of every worker process."""
    out = {"main": report.peak_memory_mib()}
    client = getattr(runner, "client", None)
    if client is not None:
        for address, mib in client.run(report.peak_memory_mib).items():
            out[f"worker {address}"] = mib
    return out


def run_scene_files(args, params, inputs, protected, pixel_area):
    """The tiled job of ``drl-np run``; returns the report (a dict)."""
    from .rng import check_random_state
    from .runners import make_runner
    from .scene_api import run_scene
    from .sources import RasterSource

    source = RasterSource(args.t1, args.t2, bands=args.bands, nodata=args.nodata)
    source.check_grid()
    truth = _TileScores(args, source) if getattr(args, "gt", None) is not None else None
    out = io.AtomicOutputs(args.out, OUTPUTS, protected, manifest=True).check(writable=True)
    area = pixel_area(source)
    schedule = params.pop("schedule")
    rng = check_random_state(args.seed)
    runner = make_runner(getattr(args, "workers", None), getattr(args, "scheduler", None))
    log.info("whole-scene run of %dx%d pixels, %d bands, tiles of %s, %s", source.shape[0],
             source.shape[1], source.bands, args.tile or "the default size", runner.description)
    writers = {}
    t_start = time.perf_counter()
    try:
        with out:
            def consume(tile, res):
                cda = np.where(res.cda < 0, writers["nodata"], res.cda).astype(writers["dtype"])
                writers["cda"].write(tile.core, cda)
                writers["ci"].write(tile.core, res.ci)
                if truth is not None:
                    truth.add(tile, res.cda)

            model, totals, settings = run_scene(
                source, args.method, rng, schedule=schedule, consume=consume,
                # K is known once the model is fitted: the maps are staged then
                on_fit=lambda model: _open_writers(writers, out, source, model.n_change_types),
                tile=args.tile,
                halo=args.halo, sample_size=args.sample_size, runner=runner, unit=args.unit,
                scaling=args.scaling, region_statistic=args.region_statistic,
                region_sample=args.region_sample, region_weight=args.region_weight, preset=args.preset,
                **params)
            t_write = time.perf_counter()
            for key in ("cda", "ci"):
                writers.pop(key).close()
            k = model.n_change_types
            with open(out.stage("cda_map.tif.aux.xml"), "w") as f:
                f.write(io.category_aux_xml({0: "unchanged", **{i: f"change type {i}" for i in
                                                                range(1, k + 1)},
                                             writers["nodata"]: "masked"}))
            rep = _report(args, source, model, totals, settings, inputs, area, schedule, runner,
                          time.perf_counter() - t_start, time.perf_counter() - t_write)
            rep["outputs"] = sorted(list(OUTPUTS) + [io.MANIFEST])
            if truth is not None:
                rep["inputs"].update(gt=args.gt, gt_encoding=truth.text)
                rep["metrics"] = report.to_jsonable(truth.score())
            with open(out.stage("areas.csv"), "w", newline="") as f:
                f.write(report.areas_csv(rep["change_types"]))
            with open(out.stage("report.json"), "w") as f:
                json.dump(rep, f, indent=2, allow_nan=False)
                f.write("\n")
    finally:
        for key in ("cda", "ci"):
            if key in writers:
                writers.pop(key).close(overviews=False)
        runner.close()
        if truth is not None:
            truth.reader.close()
    return rep


class _TileScores:
    """The ground truth of a tiled run: checked and its encoding read before
    the long work (one pass over the file), then read tile by tile beside the
    map and scored from the counts of (truth, map) pairs."""

    def __init__(self, args, source):
        from .labels import decode_counts
        from .metrics import PairCounts
        from .sources import LabelSource

        self.reader = LabelSource(args.gt, source.shape)
        self.values, counts = self.reader.value_counts()                 # (V,), (V,)
        self.decoded, self.text = decode_counts(self.values, counts, args.gt_encoding, args.ignore)
        log.info("ground truth read as %s", self.text)
        self.pairs = PairCounts()

    def add(self, tile, cda):
        raw = self.reader.read(tile.core)                                # (h, w)
        self.pairs.add(self.decoded[np.searchsorted(self.values, raw)], cda)

    def score(self):
        t, p, n = self.pairs.arrays()
        return report.score(t, p, counts=n)


def _open_writers(writers, out, source, k):
    dtype, nodata = ("uint8", 255) if k < 255 else ("uint16", 65535)
    writers.update(dtype=dtype, nodata=nodata)
    writers["cda"] = WindowedGeoTIFF(out.stage("cda_map.tif"), source.shape, dtype, source.georef, nodata,
                                     colormap=figures.label_colours(max(k, 1), masked_value=nodata),
                                     description="change type (0 unchanged)")
    writers["ci"] = WindowedGeoTIFF(out.stage("ci_map.tif"), source.shape, "float32", source.georef,
                                    float("nan"), description="change intensity in [0, 1]",
                                    resampling="average")


def _report(args, source, model, totals, settings, inputs, area, schedule, runner, wall, t_write):
    from .methods import REGISTRY

    counts, sums = totals["counts"], totals["change_sums"]
    names = source.band_names if source.band_names and len(set(source.band_names)) == len(
        source.band_names) else None
    rows = type_rows(counts, sums, area[0], names)
    n_valid = int(counts.sum())
    n_changed = n_valid - int(counts[0])
    info = model.fit_info
    m, n = source.shape
    rep = {
        "drl_np_report": 1,
        "method": args.method,
        "inputs": {**inputs, "file_bands": None, "band_names": source.band_names,
                   "georeferenced": bool(source.georef),
                   "crs": source.georef["crs"].to_string() if source.georef.get("crs") else None},
        "params": {"method": args.method, "random_state": args.seed, "schedule": list(schedule),
                   "unit": args.unit, "preset": args.preset, "nodata": args.nodata, **settings,
                   **args.checked_params, "scaling_applied": info.get("scaling_info", {}).get("scaling")},
        "seed": args.seed,
        "versions": report.package_versions(),
        "shape": [m, n],
        "thresholds": info["thresholds"],
        "regions": totals["regions"] if REGISTRY[args.method].kind == "region" else None,
        "n_change_types": sum(1 for r in rows if r["pixels"] > 0),
        "n_change_types_requested": schedule[-1],
        "schedule_maps": [schedule[-1]],
        "pixel_area": {"value": area[0], "unit": area[1]},
        "totals": {"valid_pixels": n_valid, "masked_pixels": m * n - n_valid,
                   "unchanged_pixels": int(counts[0]), "changed_pixels": n_changed,
                   "changed_area_m2": n_changed * area[0] if area[0] is not None else None},
        "change_types": rows,
        "scene": {"tiles": totals["tiles"], "runner": runner.description, "workers": runner.workers,
                  "fit": {k: v for k, v in info.items() if k not in ("timings", "thresholds", "losses",
                                                                     "diagnostics")},
                  "tile_seconds_sum": totals["seconds"]},
        "timings": {**info["timings"], "fit_total": totals["fit_seconds"], "map": totals["wall"],
                    "write_report": t_write, "total": wall},
        "fit_of_pseudo_labels": info.get("diagnostics", {}),
        "peak_memory_mib": _peak_memory(runner),
    }
    return report.to_jsonable(rep)
