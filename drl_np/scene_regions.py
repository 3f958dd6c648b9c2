"""Regions of one tile, cut at the tile's core (``docs/scenes.md``).

SLIC segments the tile's read window (core and halo) of both dates, the two
segmentations are overlaid as :func:`drl_np.regions.build_regions` does, and
the regions are then cut at the core's border: pixels of the halo belong to
no region, and a region the border splits becomes one region per connected
part inside the core. Sample windows are read from the whole read window,
so a window at the core's border sees the real pixels beyond it.
"""
from dataclasses import dataclass

import numpy as np

from ._regions_geometry import _overlay, _pixel_labels
from .regions import _regions_from_labels, _segment_pair

__all__ = ["RegionSettings", "tile_regions"]


@dataclass(frozen=True)
class RegionSettings:
    """How a scene's regions are built, fixed once for every tile.

    Attributes
    ----------
    unit : {'superpixel', 'pixel'}
    window : int
        Sample window side w.
    pixels_per_segment : float
        Valid pixels per SLIC segment: a tile's read window with V valid
        pixels gets ``max(1, round(V / pixels_per_segment))`` segments, so
        segments have one size over the scene.
    compactness : float
        SLIC compactness (fixed for the scene, from the fitting sample).
    statistic : {'pixels', 'interior', 'mean', 'centre'}
        The region statistic (:meth:`drl_np.regions.Regions.members`).
    sample : {'mean', 'centre'}
        A region's sample (:func:`drl_np.regions.build_regions`).
    """

    unit: str
    window: int
    pixels_per_segment: float
    compactness: float
    statistic: str
    sample: str = "centre"


def tile_regions(t1s, t2s, valid, inner, settings):
    """Regions of a read window whose core is ``inner``.

    Parameters
    ----------
    t1s, t2s : ndarray (h, w, B)
        The read window scaled by the scene's front end.
    valid : ndarray of bool (h, w)
    inner : (slice, slice)
        The core inside the read window (:attr:`drl_np.tiles.Tile.inner`).
    settings : RegionSettings

    Returns
    -------
    Regions
        Over the read window; ``labels`` and ``valid`` are -1 / False
        outside the core, so ``paint(values)[inner]`` is the core's map.
    """
    core = np.zeros(valid.shape, dtype=bool)
    core[inner] = True
    if settings.unit == "pixel":
        labels = _pixel_labels(valid & core)
    else:
        n_segments = max(1, int(round(valid.sum() / settings.pixels_per_segment)))
        labels1, labels2 = _segment_pair(t1s, t2s, valid, n_segments, settings.compactness)
        labels = _overlay(labels1, labels2)
        labels[~core] = -1
        # a region the core's border cuts may fall apart: one region per part
        labels = _overlay(labels, np.where(labels >= 0, 0, -1))
    return _regions_from_labels(labels, t1s, t2s, valid & core, settings.window, settings.unit,
                                settings.sample)
