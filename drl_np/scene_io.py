"""Maps of a scene written window by window (``docs/scenes.md``).

:class:`WindowedGeoTIFF` writes a tiled, compressed GeoTIFF one window at a
time -- the georeferencing, nodata, colour table and band description of the
small path's :func:`drl_np.io.write_geotiff` -- and builds its overviews
when closed, so a GIS opens an 11k x 11k map at once. :func:`tiled_report`
turns the per-tile sums into ``report.json``'s change-type rows and totals.
"""
import numpy as np

from .io import _quiet_gdal

__all__ = ["WindowedGeoTIFF", "overview_factors", "type_rows", "BLOCK"]

#: Internal block (tile) side of the written maps.
BLOCK = 256


def overview_factors(shape, smallest=BLOCK):
    """Overview decimations 2, 4, 8, ... until the overview's longer side
    fits in one ``smallest`` block (none for a map that already does).

    >>> overview_factors((10980, 10980))
    [2, 4, 8, 16, 32, 64]
    >>> overview_factors((200, 300))
    [2]
    """
    out, f = [], 2
    while max(shape) / (f // 2) > smallest:
        out.append(f)
        f *= 2
    return out


class WindowedGeoTIFF:
    """A GeoTIFF of shape (M, N), one band, written window by window.

    Parameters
    ----------
    path : str
        Usually a staged path of :class:`drl_np.io.AtomicOutputs`.
    shape : (int, int)
    dtype : str
    georef : dict
        CRS and transform (:attr:`drl_np.io.Raster.georef`), may be empty.
    nodata : float, optional
    colormap : dict of int to (r, g, b), optional
    description : str, optional
    resampling : str
        Of the overviews: 'nearest' for labels, 'average' for intensities.
    """

    def __init__(self, path, shape, dtype, georef=None, nodata=None, colormap=None, description=None,
                 resampling="nearest"):
        georef = georef or {}
        profile = {"driver": "GTiff", "height": int(shape[0]), "width": int(shape[1]), "count": 1,
                   "dtype": dtype, "compress": "deflate", "tiled": True, "blockxsize": BLOCK,
                   "blockysize": BLOCK, "BIGTIFF": "IF_SAFER"}
        if georef:
            profile["crs"] = georef.get("crs")
            profile["transform"] = georef["transform"]
        if nodata is not None:
            profile["nodata"] = nodata
        self.shape, self.resampling = tuple(shape), resampling
        with _quiet_gdal() as rasterio:
            self._ds = rasterio.open(path, "w", **profile)
        if colormap:
            self._ds.write_colormap(1, {int(k): tuple(int(c) for c in v) + (255,)[:4 - len(v)]
                                        for k, v in colormap.items()})
        if description:
            self._ds.set_band_description(1, description)

    def write(self, window, array):
        """Write ``array`` (h, w) at ``window = (row, col, h, w)``."""
        from rasterio.windows import Window
        r, c, h, w = window
        self._ds.write(np.asarray(array)[None], window=Window(c, r, w, h))

    def close(self, overviews=True):
        """Build the overviews (unless ``overviews`` is False) and close."""
        from rasterio.enums import Resampling
        if self._ds is None:
            return
        try:
            factors = overview_factors(self.shape)
            if overviews and factors:
                self._ds.build_overviews(factors, getattr(Resampling, self.resampling))
                self._ds.update_tags(ns="rio_overview", resampling=self.resampling)
        finally:
            self._ds.close()
            self._ds = None


def type_rows(counts, change_sums, pixel_area_m2=None, band_labels=None):
    """``report.json``'s change-type rows from per-label pixel counts (K + 1,)
    and sums of t2 - t1 (K + 1, B) over the tiles, as
    :func:`drl_np.report.change_types` gives for a whole map."""
    n_bands = change_sums.shape[1]
    band_labels = band_labels or [f"band{i + 1}" for i in range(n_bands)]
    n_valid = int(counts.sum())
    rows = []
    for k in range(1, counts.shape[0]):
        c = int(counts[k])
        mean = (change_sums[k] / c).tolist() if c else [None] * n_bands
        rows.append({"type": k, "pixels": c, "fraction": c / n_valid if n_valid else None,
                     "area_m2": c * pixel_area_m2 if pixel_area_m2 is not None else None,
                     "mean_change": dict(zip(band_labels, mean))})
    return rows
