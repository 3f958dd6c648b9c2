""":func:`drl_np.analyse` on arrays, tile by tile (``analyse(..., tile=SIZE)``)."""
import time

import numpy as np

from .result import AnalysisResult
from .runners import make_runner
from .scene import DEFAULT_SAMPLE_SIZE, fit_scene, map_scene
from .sources import ArraySource
from .tiles import DEFAULT_HALO, tile_grid

__all__ = ["analyse_tiled"]


def analyse_tiled(t1, t2, method, rng, mask, nodata, schedule, run_params, params, *, tile, halo=None,
                  sample_size=None, workers=None, scheduler=None):
    """The tiled route of :func:`drl_np.analyse`; returns an AnalysisResult
    whose ``maps`` holds the final map only and ``regions`` is None."""
    halo = DEFAULT_HALO if halo is None else halo
    sample_size = DEFAULT_SAMPLE_SIZE if sample_size is None else sample_size
    source = ArraySource(t1, t2, mask, nodata)
    run_params.update(tile=tile, halo=halo, sample_size=sample_size)
    runner = make_runner(workers, scheduler)
    try:
        tic = time.perf_counter()
        region_kw = {k: run_params[k] for k in ("unit", "window", "n_segments", "compactness",
                                                 "scaling", "region_statistic", "preset")}
        model = fit_scene(source, method, rng, schedule=schedule, tile=tile, halo=halo,
                          sample_size=sample_size, runner=runner, **region_kw, **params)
        fit_seconds = time.perf_counter() - tic
        cda = np.full(source.shape, -1, dtype=np.int64)
        ci = np.full(source.shape, np.nan, dtype=np.float32)

        def keep(tile_, res):
            rows, cols = tile_.core_slices
            cda[rows, cols] = res.cda
            ci[rows, cols] = res.ci

        tiles = tile_grid(source.shape, tile, halo)
        totals = map_scene(model, source, tiles, runner, keep)
    finally:
        runner.close()
    info = model.fit_info
    run_params["scaling_applied"] = info.get("scaling_info", {}).get("scaling")
    timings = {**info["timings"], "fit_total": fit_seconds, "map": totals["wall"]}
    return AnalysisResult(
        method=method, cda_map=cda, ci_map=ci, maps={schedule[-1]: cda}, thresholds=info["thresholds"],
        regions=None, losses=info.get("losses", {}), timings=timings, params=run_params,
        n_change_types=schedule[-1], diagnostics=info.get("diagnostics", {}))
