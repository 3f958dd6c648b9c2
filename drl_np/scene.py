"""Whole scenes: fit on a sample, then map tile by tile in bounded memory
(``docs/scenes.md``).

1. A streaming pass over the tiles' cores gives the scene's per-band
   statistics (:class:`drl_np.frontend.BandStats`).
   The same pass draws a bounded sample of pixels from every tile, in
   proportion to its area (IRMAD's invariant pixels, the peers).
2. Small sample windows spread over the scene, drawn from the run's one
   random stream, give the regions of the DRLnet family, scaled by the
   front end fitted from 1. and cut at each window's core as the tiles'
   are. The method is fitted on that sample only.
3. Every tile is read with its halo and mapped with the fitted model:
   regions, forward pass, the fitted threshold, the nearest change-type
   centroid (``predict``); or a fitted peer's ``apply``.

The work per tile runs through a runner (:mod:`drl_np.runners`): in this
process, or on a Dask cluster. Nothing random happens after the fit, so the
map does not depend on the runner or the order tiles finish in.
"""
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from ._validation import InputError, check_choice, check_positive_int, check_schedule
from .frontend import BandStats, fit_front_end
from .methods import METHODS, PEER_METHODS
from .progress import step, time_left
from .regions import (PIXELS_PER_SEGMENT, Members, check_region_front_end, default_compactness,
                      region_sample_weight)
from .rng import check_random_state
from .runners import LocalRunner
from .scene_regions import RegionSettings, tile_regions
from .tiles import DEFAULT_HALO, DEFAULT_TILE, tile_grid

__all__ = ["SceneModel", "TileResult", "fit_scene", "map_tile", "map_scene", "DEFAULT_SAMPLE_SIZE",
           "DEFAULT_SAMPLE_PIXELS", "SAMPLE_WINDOW"]

logger = logging.getLogger("drl_np")

#: Regions the DRLnet family is fitted on (``docs/scenes.md``: the measured
#: agreement with the whole-image map and the fit's time and memory).
DEFAULT_SAMPLE_SIZE = 20000
#: Valid pixels of the sample for IRMAD's invariant pixels and the peers.
DEFAULT_SAMPLE_PIXELS = 500000
#: Core side of the sample windows of the regions: small, so the sample
#: comes from many places of the scene (a 128 x 128 window holds ~330
#: regions; 20000 regions come from ~60 windows).
SAMPLE_WINDOW = 128
#: Valid pixels per region at the default segmentation, to know how many
#: sample windows to read first (~50 on the synthetic scene, ~60 on taizhou).
_PIXELS_PER_REGION_GUESS = 50


@dataclass
class SceneModel:
    """A method fitted on a scene's sample, ready to map any tile.

    Attributes
    ----------
    method : str
    front_end : FrontEnd or None
        Region methods: the scene's scaling.
    settings : RegionSettings or None
    estimator : DRLnet, SAEKM, RawKM or None
        Fitted on the sample regions.
    peer : PeerModel or None
    halo : int
    n_change_types : int
    fit_info : dict
        Sample sizes, windows, thresholds, timings, losses and diagnostics.
    """

    method: str
    front_end: object
    settings: object
    estimator: object
    peer: object
    halo: int
    n_change_types: int
    fit_info: dict = field(default_factory=dict)

    def map_window(self, t1, t2, valid, inner):
        """Change types (int64, -1 invalid) and intensity (float32, NaN
        invalid) of the core ``inner`` of a read window (h, w, B)."""
        if self.peer is not None:
            cda, ci = self.peer.apply(t1, t2, valid, inner)
            return cda, ci, 0
        t1s, t2s = self.front_end.apply(t1, t2, valid)
        regions = tile_regions(t1s, t2s, valid, inner, self.settings)
        if regions.n_regions == 0:
            shape = valid[inner].shape
            return np.full(shape, -1, np.int64), np.full(shape, np.nan, np.float32), 0
        members = regions.members(self.settings.statistic)
        labels, ci = self.estimator.predict(regions.x1, regions.x2, members, return_intensity=True)
        return (regions.paint(labels)[inner].astype(np.int64),
                regions.paint(ci.astype(np.float32))[inner], regions.n_regions)


@dataclass
class TileResult:
    """The maps of one tile's core and what ``report.json`` sums over tiles.

    Attributes
    ----------
    cda : ndarray of int64 (h, w)
    ci : ndarray of float32 (h, w)
    counts : ndarray of int64 (K + 1,)
        Pixels per label 0..K.
    change_sums : ndarray (K + 1, B)
        Sum of t2 - t1 (input units) per label.
    n_regions : int
    seconds : float
    """

    cda: np.ndarray
    ci: np.ndarray
    counts: np.ndarray
    change_sums: np.ndarray
    n_regions: int
    seconds: float


def map_tile(shared, tile):
    """Map one tile: ``shared = (model, source)``; returns a TileResult."""
    model, source = shared
    tic = time.perf_counter()
    t1, t2, valid = source.read(tile.read)
    cda, ci, n_regions = model.map_window(t1, t2, valid, tile.inner)
    k = model.n_change_types
    flat = cda.ravel()
    keep = flat >= 0
    lab = flat[keep]
    diff = (t2[tile.inner] - t1[tile.inner]).reshape(-1, t1.shape[2])[keep]   # (p, B)
    counts = np.bincount(lab, minlength=k + 1)
    sums = np.stack([np.bincount(lab, weights=diff[:, b], minlength=k + 1)
                     for b in range(diff.shape[1])], axis=1)                  # (K + 1, B)
    return TileResult(cda, ci, counts, sums, int(n_regions), time.perf_counter() - tic)


def _stats_task(source, item):
    """BandStats of a tile's core and ``n_pick`` of its valid pixels chosen
    by a stream seeded with ``seed`` (a seed drawn from the run's stream)."""
    tile, seed, n_pick = item
    t1, t2, valid = source.read(tile.core)
    x1, x2 = t1[valid], t2[valid]                                   # (p, B)
    if x1.shape[0] > n_pick:
        keep = np.sort(check_random_state(seed).randperm(x1.shape[0])[:n_pick])
        x1, x2 = x1[keep], x2[keep]
    return BandStats.of(t1, t2, valid), x1.astype(np.float64), x2.astype(np.float64)


def scene_statistics(source, tiles, runner, rng, sample_pixels):
    """One pass over the tiles' cores: the BandStats of every valid pixel of
    the scene, and about ``sample_pixels`` valid pixels (P, B) of each date
    drawn from every tile in proportion to its area (a sample spread over
    the whole scene)."""
    area = float(source.shape[0] * source.shape[1])
    items = [(t, rng.draw_seed(), int(np.ceil(sample_pixels * t.core[2] * t.core[3] / area)))
             for t in tiles]
    parts = {}
    for i, (item, part) in enumerate(runner.map(_stats_task, items, source), start=1):
        parts[item[0].index] = part
        if i == len(tiles) or i % max(1, len(tiles) // 10) == 0:
            step("statistics", i, len(tiles))
    stats = BandStats(source.bands)
    order = sorted(parts)              # raster order: the same sums whoever finished first
    for index in order:
        stats.merge(parts[index][0])
    x1 = np.concatenate([parts[i][1] for i in order])
    x2 = np.concatenate([parts[i][2] for i in order])
    return stats, x1[:sample_pixels], x2[:sample_pixels]


# -- the sample ------------------------------------------------------------------
def _sample_windows(shape, halo, rng, side=None):
    """The sample windows (Tiles of side ``side``, default SAMPLE_WINDOW) in a
    random order from ``rng``."""
    windows = tile_grid(shape, side or SAMPLE_WINDOW, halo)
    order = rng.randperm(len(windows))
    return [windows[i] for i in order]


def _pool_regions(reads, front_end, settings):
    """x1, x2 (n, d), Members (or None) and sizes (n,) of the regions of
    every sample window."""
    xs1, xs2, sizes, mx1, mx2, mreg = [], [], [], [], [], []
    offset = 0
    for w, (t1, t2, valid) in reads:
        t1s, t2s = front_end.apply(t1, t2, valid)
        regions = tile_regions(t1s, t2s, valid, w.inner, settings)
        xs1.append(regions.x1); xs2.append(regions.x2); sizes.append(regions.sizes)
        members = regions.members(settings.statistic)
        if members is not None:
            w1, w2 = members.windows()
            mx1.append(w1); mx2.append(w2); mreg.append(members.region + offset)
        offset += regions.n_regions
    x1, x2, sizes = np.concatenate(xs1), np.concatenate(xs2), np.concatenate(sizes)
    if not mreg:
        return x1, x2, None, sizes
    return x1, x2, Members(np.concatenate(mx1), np.concatenate(mx2), np.concatenate(mreg), offset), sizes


def _subsample(x1, x2, members, sizes, size, rng):
    """``size`` of the regions, drawn from ``rng``, with their members and sizes."""
    keep = np.sort(rng.randperm(x1.shape[0])[:size])
    if members is None:
        return x1[keep], x2[keep], None, sizes[keep]
    new = np.full(x1.shape[0], -1, dtype=np.int64)
    new[keep] = np.arange(keep.size)
    sel = new[members.region] >= 0
    return x1[keep], x2[keep], Members(members.x1[sel], members.x2[sel], new[members.region[sel]],
                                       keep.size), sizes[keep]


def _fit_peer_scene(source, method, rng, schedule, halo, sample_pixels, stats, px1, px2, info, timings,
                    tic, params):
    """The SceneModel of a peer, fitted on the pixel sample (PCA-KMeans also
    on sample windows: Celik's blocks need whole neighbourhoods)."""
    from .peers.fitted import fit_peer

    windows = None
    if method == "pca-kmeans":
        windows, n_read = [], 0
        for w in _sample_windows(source.shape, halo, rng):
            if n_read >= sample_pixels:
                break
            t1, t2, valid = source.read(w.read)
            windows.append((t1, t2, valid, w.inner))
            n_read += int(valid[w.inner].sum())
    peer = fit_peer(px1, px2, method, rng, n_types=schedule[-1], threshold_rule=params.pop("threshold", None),
                    stats=stats, windows=windows, sample_pixels=sample_pixels, **params)
    timings["fit"] = time.perf_counter() - tic
    info.update(timings=timings, thresholds={"ci": peer.threshold}, peer_info=peer.info)
    n_types = int(peer.centres.shape[0]) if method != "c2va" else int(peer.centres.size)
    return SceneModel(method, None, None, None, peer, halo if method == "pca-kmeans" else 0, n_types, info)


def _region_sample(source, windows, front_end, settings, sample_size):
    """Read sample windows in their drawn order until they hold about
    ``sample_size`` regions; returns x1, x2, Members, sizes and the windows read."""
    reads, n_read, want = [], 0, sample_size * _PIXELS_PER_REGION_GUESS
    while windows and n_read < want:
        w = windows.pop(0)
        data = source.read(w.read)
        reads.append((w, data))
        n_read += int(data[2][w.inner].sum())
    x1, x2, members, sizes = _pool_regions(reads, front_end, settings)
    while x1.shape[0] < sample_size and windows:      # fewer regions than guessed: read more
        more = [(w, source.read(w.read)) for w in windows[:max(1, len(reads) // 2)]]
        del windows[:len(more)]
        reads.extend(more)
        x1, x2, members, sizes = _pool_regions(reads, front_end, settings)
    return x1, x2, members, sizes, len(reads)


def fit_scene(source, method="drlnet2", rng=None, *, schedule=(25, 15, 8, 5), tile=DEFAULT_TILE,
              halo=DEFAULT_HALO, sample_size=DEFAULT_SAMPLE_SIZE, sample_pixels=DEFAULT_SAMPLE_PIXELS,
              unit="superpixel", window=3, n_segments=None, compactness=None, scaling="auto",
              region_statistic="pixels", region_sample="mean", region_weight="pixels", preset="default",
              runner=None, sample_window=SAMPLE_WINDOW, **params):
    """Fit ``method`` on a bounded sample of a scene.

    Parameters
    ----------
    source : ArraySource or RasterSource
    method : str
        Any of :data:`drl_np.methods.METHODS`.
    rng : OctaveRandom
        The run's one stream: the sample windows, the pixel and region
        subsamples and the method's own draws come from it.
    schedule : sequence of int
    tile, halo : int
        The mapping tiles (the statistics pass reads their cores) and the
        halo also used around the sample windows.
    sample_size : int
        Regions the DRLnet family is fitted on.
    sample_pixels : int
        Pixels for IRMAD's invariant pixels ('auto' and 'invariant'
        scaling) and for the peers' statistics.
    unit, window, n_segments, compactness, scaling, region_statistic, region_sample, region_weight, preset
        As :func:`drl_np.analyse`; ``n_segments`` counts segments of the
        whole scene.
    runner : LocalRunner or DaskRunner, optional
        Runs the statistics pass.
    sample_window : int
        Core side of the sample windows of the regions.
    **params
        Parameters of the method (as ``analyse``).

    Returns
    -------
    SceneModel
    """
    from .estimators import make_estimator

    check_choice(method, METHODS, "method")
    schedule = check_schedule(schedule)
    sample_size = check_positive_int(sample_size, "sample_size", minimum=schedule[0])
    sample_pixels = check_positive_int(sample_pixels, "sample_pixels", minimum=2)
    check_region_front_end(region_statistic, region_sample, region_weight)
    model = None if method in PEER_METHODS else make_estimator(method, schedule, params, rng, preset,
                                                               region_statistic)
    runner = runner or LocalRunner()
    timings = {}
    tic = time.perf_counter()
    tiles = tile_grid(source.shape, tile, halo)
    stats, px1, px2 = scene_statistics(source, tiles, runner, rng, sample_pixels)
    if stats.n == 0:
        raise InputError("no valid pixel: every pixel is non-finite, equal to nodata or outside "
                         "mask in some band of t1 or t2; check nodata and mask")
    timings["statistics"] = time.perf_counter() - tic

    tic = time.perf_counter()
    info = {"tile": tile, "halo": halo, "sample_pixels": int(px1.shape[0]),
            "scene_valid_pixels": int(stats.n)}
    if method in PEER_METHODS:
        return _fit_peer_scene(source, method, rng, schedule, halo, sample_pixels, stats, px1, px2, info,
                               timings, tic, params)
    windows = _sample_windows(source.shape, halo, rng, sample_window)
    front_end = fit_front_end(stats, px1, px2, scaling)
    if compactness is None:
        s1, s2 = front_end.apply(px1[None], px2[None], np.ones((1, px1.shape[0]), bool))
        compactness = default_compactness(s1, s2, np.ones((1, px1.shape[0]), bool))
    pps = PIXELS_PER_SEGMENT if n_segments is None else stats.n / check_positive_int(n_segments,
                                                                                   "n_segments")
    settings = RegionSettings(unit, check_positive_int(window, "window"), float(pps),
                              float(compactness), region_statistic, region_sample)
    x1, x2, members, sizes, n_windows = _region_sample(source, windows, front_end, settings, sample_size)
    info.update(sample_windows=n_windows, sample_window=sample_window)
    n_pooled = x1.shape[0]
    if n_pooled < schedule[0]:
        raise InputError(f"only {n_pooled} valid regions for K0 = {schedule[0]} clusters; use a "
                         "larger scene or a smaller schedule")
    if n_pooled > sample_size:
        x1, x2, members, sizes = _subsample(x1, x2, members, sizes, sample_size, rng)
    timings["sample"] = time.perf_counter() - tic
    logger.info("%s: fitting on %d of %d sample regions from %d windows of %dx%d", method, x1.shape[0],
                n_pooled, info["sample_windows"], sample_window, sample_window)
    tic = time.perf_counter()
    model.fit(x1, x2, members, region_sample_weight(sizes, region_weight))
    timings["fit"] = time.perf_counter() - tic
    info.update(sample_regions=int(x1.shape[0]), pooled_regions=int(n_pooled),
                compactness=float(compactness), pixels_per_segment=float(pps),
                scaling_info=front_end.info, timings={**timings, **model.timings_},
                thresholds=dict(model.thresholds_), losses=dict(model.losses_),
                diagnostics=dict(getattr(model, "diagnostics_", {})))
    return SceneModel(method, front_end, settings, model, None, halo, int(model.centroids_.shape[0]),
                      info)


def map_scene(model, source, tiles, runner=None, consume=None):
    """Map every tile with ``model``; ``consume(tile, TileResult)`` is called
    in this process for each tile in the order of ``tiles``, as soon as it
    and the tiles before it have finished (so files written from it are the
    same bytes whatever order a cluster finishes the tiles in; tiles that
    finish early wait in memory).

    Returns
    -------
    dict
        ``counts`` (K + 1,), ``change_sums`` (K + 1, B), ``regions`` and
        ``seconds`` summed over tiles, ``tiles`` and ``wall`` (seconds).
    """
    runner = runner or LocalRunner()
    k = model.n_change_types
    total = {"counts": np.zeros(k + 1, dtype=np.int64), "change_sums": np.zeros((k + 1, source.bands)),
             "regions": 0, "seconds": 0.0, "tiles": len(tiles)}
    start = time.perf_counter()
    position = {tile.index: i for i, tile in enumerate(tiles)}
    waiting, next_up = {}, 0
    for done, (tile, res) in enumerate(runner.map(map_tile, tiles, (model, source)), start=1):
        total["counts"] += res.counts
        total["change_sums"] += res.change_sums
        total["regions"] += res.n_regions
        total["seconds"] += res.seconds
        waiting[position[tile.index]] = (tile, res)
        while next_up in waiting:
            if consume is not None:
                consume(*waiting[next_up])
            del waiting[next_up]
            next_up += 1
        step("tiles", done, len(tiles), time_left(done, len(tiles), time.perf_counter() - start))
    total["wall"] = time.perf_counter() - start
    return total
