"""One entry point from a pair of images to a change-analysis result."""
import logging
import time

import numpy as np

from ._validation import (InputError, check_choice, check_mask, check_nodata, check_pair, check_schedule,
                          valid_pixels)
from .estimators import make_estimator
from .methods import METHODS, PEER_METHODS, REGION_METHODS
from .peers import detect_changes
from .presets import FRONT_END, PRESETS
from .regions import build_regions, check_region_front_end, region_sample_weight
from .result import AnalysisResult
from .rng import check_random_state

__all__ = ["analyse", "METHODS", "REGION_METHODS", "PEER_METHODS"]

logger = logging.getLogger("drl_np")


def analyse(t1, t2, method="drlnet2", random_state=0, mask=None, nodata=None,
            schedule=(25, 15, 8, 5), unit="superpixel", window=3, n_segments=None,
            compactness=None, scaling=None, region_statistic=None, region_sample=None,
            region_weight=None, preset="default", tile=None, halo=None, sample_size=None, workers=None,
            scheduler=None, **params):
    """Change analysis of a co-registered pair: what changed, and into which type.

    Parameters
    ----------
    t1, t2 : array_like, shape (M, N) or (M, N, B)
        The two dates, bands last, any numeric type.
    method : str, default 'drlnet2'
        ``drlnet2`` (the paper's method), ``drlnet1``, ``sae-km``, ``raw-km``
        (the paper's baselines), or a peer: ``cva``, ``c2va``, ``pca-kmeans``,
        ``mad``, ``irmad``, ``isfa``.
    random_state : int or OctaveRandom, default 0
        Seed of the one random stream of the run: same seed, same maps.
    mask : array_like of bool, shape (M, N), optional
        True where a pixel may be used.
    nodata : float, optional
        Value marking missing data in any band of either date.
    schedule : sequence of int, default (25, 15, 8, 5)
        DRLnet's cluster schedule K0 > ... > KT; every method produces KT
        change types.
    unit : {'superpixel', 'pixel'}, default 'superpixel'
    window : int, default 3
        Side w of the sample window.
    n_segments, compactness : optional
        SLIC settings (see :func:`drl_np.regions.build_regions`).
    scaling : {'auto', 'joint', 'per-date', 'invariant'}, optional
        Radiometry of the two dates before the joint min-max scaling
        (:func:`drl_np.regions.scale_pair`): 'joint' none (the paper, for
        radiometrically corrected pairs); 'per-date' standardise each band of
        each date; 'invariant' map t2 onto t1 by orthogonal regression over
        IRMAD's invariant pixels; 'auto' choose from the data
        (:func:`drl_np.normalise.choose_scaling`). Default: the preset's
        ('auto'; 'joint' for the paper). Peers normalise as their papers do.
    region_statistic : {'pixels', 'interior', 'mean', 'centre'}, optional
        Whose change statistic a region takes (Eq. 2's lambda and the change
        intensity): the mean change of its pixels, each pixel's own value
        alone; its centre window's (the paper); the mean over its member
        pixels' own windows, or over those whose window lies inside the
        region (:meth:`drl_np.regions.Regions.members`). Default: the
        preset's ('pixels'; 'centre' for the paper).
    region_sample : {'mean', 'centre'}, optional
        A region's sample (x1, x2): the mean of its member pixels' windows,
        or the window at its centre (the paper). Default: the preset's
        ('mean'; 'centre' for the paper).
    region_weight : {'pixels', 'none'}, optional
        What a region weighs in the method's K-means: its pixel count, or
        one vote (the paper). Default: the preset's ('pixels'; 'none' for
        the paper).
    preset : {'default', 'paper'}, default 'default'
        :mod:`drl_np.presets`: 'paper' is the DRLnet paper's configuration
        exactly; parameters given explicitly win over it.
    tile : int, optional
        Map tile by tile (``docs/scenes.md``): fit on a sample of
        ``sample_size`` regions from windows spread over the scene, then map
        tiles of ``tile`` x ``tile`` pixels read with a ``halo``
        (:func:`drl_np.scene.fit_scene`). Default: the whole image at once.
        ``maps`` then holds the final map only.
    halo : int, optional
        Pixels read around each tile (default :data:`drl_np.tiles.DEFAULT_HALO`).
    sample_size : int, optional
        Regions of the fit with ``tile`` (default
        :data:`drl_np.scene.DEFAULT_SAMPLE_SIZE`).
    workers, scheduler : optional
        With ``tile``: run the tiles on a new local Dask cluster of
        ``workers`` processes, or on the one at ``scheduler`` (an address).
    **params
        Parameters of the method's estimator (:class:`~drl_np.recurrent.DRLnet`,
        :class:`~drl_np.baselines.SAEKM`, :class:`~drl_np.baselines.RawKM`) or
        of :func:`drl_np.peers.detect_changes` (e.g. ``threshold``).

    Returns
    -------
    AnalysisResult
        ``cda_map`` (0 unchanged, 1..KT types, -1 masked), ``ci_map`` in
        [0, 1], ``maps`` per K_t, ``thresholds``, ``regions``, ``losses``,
        ``timings`` and ``params``.

    Raises
    ------
    InputError
        On bad input, with a one-line message naming the fix.

    Examples
    --------
    >>> from drl_np.datasets import synthetic_pair
    >>> t1, t2, gt = synthetic_pair()
    >>> res = analyse(t1, t2, method="raw-km", schedule=(25, 15, 8, 4))
    >>> res.cda_map.shape, res.n_change_types
    ((256, 256), 4)
    """
    check_choice(method, METHODS, "method")
    check_choice(preset, PRESETS, "preset")
    front = FRONT_END[preset]
    scaling = front["scaling"] if scaling is None else scaling
    region_statistic = front["region_statistic"] if region_statistic is None else region_statistic
    region_sample = front["region_sample"] if region_sample is None else region_sample
    region_weight = front["region_weight"] if region_weight is None else region_weight
    check_region_front_end(region_statistic, region_sample, region_weight)
    t1, t2 = check_pair(t1, t2)
    schedule = check_schedule(schedule)
    rng = check_random_state(random_state)
    seed = rng.seed
    run_params = {"method": method, "random_state": seed, "schedule": list(schedule), "unit": unit,
                  "window": window, "n_segments": n_segments, "compactness": compactness,
                  "scaling": scaling, "region_statistic": region_statistic, "region_sample": region_sample,
                  "region_weight": region_weight, "preset": preset, "nodata": nodata, **params}
    if tile is not None:
        from .scene_api import analyse_tiled
        return analyse_tiled(t1, t2, method, rng, mask, nodata, schedule, run_params, params, tile=tile,
                             halo=halo, sample_size=sample_size, workers=workers, scheduler=scheduler)
    if method in PEER_METHODS:
        return _analyse_peer(t1, t2, method, rng, mask, nodata, schedule, run_params, params)

    model = make_estimator(method, schedule, params, rng, preset, region_statistic)
    timings = {}
    tic = time.perf_counter()
    region_kw = {"unit": unit, "window": window, "n_segments": n_segments, "scaling": scaling,
                 "sample": region_sample}
    if compactness is not None:
        region_kw["compactness"] = compactness
    regions = build_regions(t1, t2, mask=mask, nodata=nodata, **region_kw)
    timings["regions"] = time.perf_counter() - tic
    logger.info("%s: %d regions from a %dx%dx%d pair (%.2f s)", method, regions.n_regions,
                t1.shape[0], t1.shape[1], t1.shape[2], timings["regions"])
    if regions.n_regions < schedule[0]:
        raise InputError(
            f"only {regions.n_regions} valid regions for K0 = {schedule[0]} clusters; use more "
            "regions (a larger n_segments, or unit='pixel') or a smaller schedule")

    members = regions.members(region_statistic)
    run_params["scaling_applied"] = regions.scaling_info.get("scaling", scaling)
    model.fit(regions.x1, regions.x2, members, region_sample_weight(regions.sizes, region_weight))
    timings.update(model.timings_)
    maps = {k: regions.paint(labels) for k, labels in model.labels_per_step_.items()}
    logger.info("%s: done, %d change types, %.1f%% of valid pixels changed", method,
                model.n_change_types_, 100 * float(np.mean(model.labels_[regions.labels[regions.valid]] > 0)))
    return AnalysisResult(
        method=method, cda_map=regions.paint(model.labels_), ci_map=regions.paint(model.change_intensity_),
        maps=maps, thresholds=dict(model.thresholds_), regions=regions, losses=dict(model.losses_),
        timings=timings, params=run_params, n_change_types=int(model.n_change_types_),
        diagnostics=dict(getattr(model, "diagnostics_", {})))


def _analyse_peer(t1, t2, method, rng, mask, nodata, schedule, run_params, params):
    """Pixel-based peers (drl_np.peers) on the input values and the validity
    mask; each peer does its own normalisation, as its paper does."""
    tic = time.perf_counter()
    valid = valid_pixels(t1, t2, check_mask(mask, t1.shape[:2]), check_nodata(nodata))
    if not valid.any():
        raise InputError("no valid pixel: every pixel is non-finite, equal to nodata or outside "
                         "mask in some band of t1 or t2; check nodata and mask")
    t1 = np.where(valid[:, :, None], t1, 0.0)
    t2 = np.where(valid[:, :, None], t2, 0.0)
    timings = {"validity": time.perf_counter() - tic}
    tic = time.perf_counter()
    res = detect_changes(t1, t2, method, mask=valid, n_types=schedule[-1], random_state=rng, **params)
    timings["detect"] = time.perf_counter() - tic
    ci = np.asarray(res.ci_map, dtype=np.float64)
    lo, hi = np.nanmin(ci[valid]), np.nanmax(ci[valid])
    ci_scaled = np.where(valid, (ci - lo) / (hi - lo) if hi > lo else 0.0, np.nan)
    # the threshold in units of the [0, 1] intensity map as well
    thresholds = {"ci": float(res.threshold)}
    if hi > lo and np.isfinite(res.threshold):
        thresholds["ci_scaled"] = float((res.threshold - lo) / (hi - lo))
    cda = np.where(valid, res.type_map, -1).astype(np.int64)
    run_params["threshold"] = res.rule
    return AnalysisResult(method=method, cda_map=cda, ci_map=ci_scaled, maps={schedule[-1]: cda},
                          thresholds=thresholds, regions=None, losses={}, timings=timings,
                          params=run_params, n_change_types=schedule[-1])
