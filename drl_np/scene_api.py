"""One tiled run from a source to maps: :func:`run_scene` (the command
line's file route) and :func:`analyse_tiled` (``analyse(..., tile=SIZE)``)."""
import time

import numpy as np

from .presets import FRONT_END
from .result import AnalysisResult
from .runners import make_runner
from .scene import DEFAULT_SAMPLE_SIZE, fit_scene, map_scene
from .sources import ArraySource
from .tiles import DEFAULT_HALO, DEFAULT_TILE, tile_grid

__all__ = ["run_scene", "analyse_tiled"]


def run_scene(source, method, rng, *, schedule, consume, on_fit=None, tile=None, halo=None, sample_size=None,
              runner=None, unit="superpixel", window=3, n_segments=None, compactness=None, scaling=None,
              region_statistic=None, region_sample=None, region_weight=None, preset="default", **params):
    """Fit on a sample of ``source``, then map every tile, handing each to
    ``consume(tile, TileResult)``; ``on_fit(model)`` is called between the
    fit and the mapping.

    Returns
    -------
    model : SceneModel
    totals : dict
        :func:`drl_np.scene.map_scene`'s sums, plus ``fit_seconds``.
    settings : dict
        tile, halo, sample_size and the front end's scaling, statistic,
        sample and weight.
    """
    tile = DEFAULT_TILE if tile is None else tile
    halo = DEFAULT_HALO if halo is None else halo
    sample_size = DEFAULT_SAMPLE_SIZE if sample_size is None else sample_size
    front = FRONT_END[preset]
    scaling = front["scaling"] if scaling is None else scaling
    region_statistic = front["region_statistic"] if region_statistic is None else region_statistic
    region_sample = front["region_sample"] if region_sample is None else region_sample
    region_weight = front["region_weight"] if region_weight is None else region_weight
    tic = time.perf_counter()
    model = fit_scene(source, method, rng, schedule=schedule, tile=tile, halo=halo,
                      sample_size=sample_size, runner=runner, unit=unit, window=window,
                      n_segments=n_segments, compactness=compactness, scaling=scaling,
                      region_statistic=region_statistic, region_sample=region_sample,
                      region_weight=region_weight, preset=preset, **params)
    fit_seconds = time.perf_counter() - tic
    if on_fit is not None:
        on_fit(model)
    totals = map_scene(model, source, tile_grid(source.shape, tile, halo), runner, consume)
    totals["fit_seconds"] = fit_seconds
    return model, totals, {"tile": tile, "halo": halo, "sample_size": sample_size, "scaling": scaling,
                           "region_statistic": region_statistic, "region_sample": region_sample,
                           "region_weight": region_weight}


def analyse_tiled(t1, t2, method, rng, mask, nodata, schedule, run_params, params, *, tile, halo=None,
                  sample_size=None, workers=None, scheduler=None):
    """The tiled route of :func:`drl_np.analyse`; returns an AnalysisResult
    whose ``maps`` holds the final map only and ``regions`` is None."""
    source = ArraySource(t1, t2, mask, nodata)
    cda = np.full(source.shape, -1, dtype=np.int64)
    ci = np.full(source.shape, np.nan, dtype=np.float32)

    def keep(tile_, res):
        rows, cols = tile_.core_slices
        cda[rows, cols] = res.cda
        ci[rows, cols] = res.ci

    region_kw = {k: run_params[k] for k in ("unit", "window", "n_segments", "compactness", "scaling",
                                             "region_statistic", "region_sample", "region_weight",
                                             "preset")}
    runner = make_runner(workers, scheduler)
    try:
        model, totals, settings = run_scene(source, method, rng, schedule=schedule, consume=keep,
                                            tile=tile, halo=halo, sample_size=sample_size,
                                            runner=runner, **region_kw, **params)
    finally:
        runner.close()
    info = model.fit_info
    run_params.update(tile=settings["tile"], halo=settings["halo"], sample_size=settings["sample_size"])
    run_params["scaling_applied"] = info.get("scaling_info", {}).get("scaling")
    timings = {**info["timings"], "fit_total": totals["fit_seconds"], "map": totals["wall"]}
    return AnalysisResult(
        method=method, cda_map=cda, ci_map=ci, maps={schedule[-1]: cda}, thresholds=info["thresholds"],
        regions=None, losses=info.get("losses", {}), timings=timings, params=run_params,
        n_change_types=schedule[-1], diagnostics=info.get("diagnostics", {}))
