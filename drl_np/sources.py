"""Where the pixels of a scene come from, one window at a time
(``docs/scenes.md``).

A source reads a window ``(row, col, height, width)`` of both dates and
says which pixels are valid. :class:`ArraySource` wraps two arrays in
memory; :class:`RasterSource` reads two co-registered GeoTIFFs by window with
rasterio and holds only their paths, so a Dask worker given one opens the
files itself and reads just the windows of its tiles. Nothing is read whole.
"""
import math
import os

import numpy as np

from ._validation import InputError, check_mask, check_nodata, check_pair, valid_pixels

__all__ = ["ArraySource", "LabelSource", "RasterSource", "GDAL_CACHE_MB"]

#: GDAL block cache (MiB) of processes that read scenes, unless GDAL_CACHEMAX
#: is set: flat memory whatever the scene's size (``docs/scenes.md``).
GDAL_CACHE_MB = 128


class ArraySource:
    """Two dates in memory, ``t1``, ``t2`` (M, N[, B]), with an optional
    validity ``mask`` (M, N) and ``nodata`` value (:func:`drl_np.analyse`'s)."""

    def __init__(self, t1, t2, mask=None, nodata=None):
        self.t1, self.t2 = check_pair(t1, t2)
        self.mask = check_mask(mask, self.t1.shape[:2])
        self.nodata = check_nodata(nodata)
        self.shape = self.t1.shape[:2]
        self.bands = self.t1.shape[2]
        self.block_shape = None
        self.georef = {}

    def read(self, window):
        """``t1``, ``t2`` (h, w, B) float64 and ``valid`` (h, w) of ``window``."""
        r, c, h, w = window
        t1, t2 = self.t1[r:r + h, c:c + w], self.t2[r:r + h, c:c + w]
        mask = None if self.mask is None else self.mask[r:r + h, c:c + w]
        return t1, t2, valid_pixels(t1, t2, mask, self.nodata)


class RasterSource:
    """Two co-registered GeoTIFFs read window by window.

    Parameters
    ----------
    path1, path2 : str
    bands : sequence of int, optional
        1-based bands of both files (all by default).
    nodata : float, optional
        Overrides each file's nodata value.

    Attributes
    ----------
    shape : (int, int)
    bands : int
    block_shape : (int, int)
        The first file's internal block (tile or strip) shape; tiles that
        are multiples of it read whole blocks.
    georef : dict
        CRS and transform of the first file, as :attr:`drl_np.io.Raster.georef`.
    nodata1, nodata2 : float or None
        The nodata value applied to each file.
    dtype : str
        The first file's value type.
    """

    def __init__(self, path1, path2, bands=None, nodata=None):
        from .io import _quiet_gdal, _check_readable, _one_line

        # GDAL's block cache defaults to 5 % of the RAM and would keep every
        # block read (and written) up to that size: a scene's memory would
        # grow with the scene. A small cache is enough for reads by window.
        os.environ.setdefault("GDAL_CACHEMAX", str(GDAL_CACHE_MB))
        # absolute: a worker of a cluster has its own working directory
        self.paths = tuple(os.path.abspath(_check_readable(p, name))
                           for p, name in ((path1, "t1"), (path2, "t2")))
        self.band_list = None if bands is None else [int(b) for b in bands]
        infos = []
        for name, path in zip(("t1", "t2"), self.paths):
            try:
                with _quiet_gdal() as rasterio, rasterio.open(path) as ds:
                    infos.append({"shape": (ds.height, ds.width), "count": ds.count,
                                  "nodata": ds.nodata, "block": ds.block_shapes[0],
                                  "crs": ds.crs, "transform": ds.transform, "dtype": ds.dtypes[0],
                                  "names": [d.strip() if d else "" for d in ds.descriptions]})
            except Exception as exc:
                raise InputError(f"cannot read {name} file '{path}' as a GeoTIFF: {_one_line(exc)}; "
                                 "check that the file is complete") from None
        a, b = infos
        if a["shape"] != b["shape"]:
            raise InputError(f"t1 is {a['shape'][0]}x{a['shape'][1]} pixels but t2 is "
                             f"{b['shape'][0]}x{b['shape'][1]}; give two images on one pixel grid")
        count = min(a["count"], b["count"])
        if a["count"] != b["count"] and self.band_list is None:
            raise InputError(f"t1 has {a['count']} bands but t2 has {b['count']}; select common "
                             "bands with --bands")
        for band in self.band_list or []:
            if not 1 <= band <= count:
                raise InputError(f"band {band} is out of range: the files have {count} bands; "
                                 f"use --bands with values 1..{count}")
        self.shape = a["shape"]
        self.bands = len(self.band_list) if self.band_list else count
        self.block_shape = tuple(a["block"])
        self.dtype = a["dtype"]
        self.nodata1 = float(nodata) if nodata is not None else a["nodata"]
        self.nodata2 = float(nodata) if nodata is not None else b["nodata"]
        self.georef = {}
        if a["crs"] is not None or not a["transform"].is_identity:
            self.georef = {"crs": a["crs"], "transform": a["transform"]}
        self._georef2 = {}
        if b["crs"] is not None or not b["transform"].is_identity:
            self._georef2 = {"crs": b["crs"], "transform": b["transform"]}
        names = a["names"]
        idx = [i - 1 for i in self.band_list] if self.band_list else list(range(count))
        self.band_names = [names[i] for i in idx] if all(names) and len(names) >= count else None
        self._open = None              # per-process dataset handles, never pickled

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_open"] = None
        return state

    def check_grid(self):
        """InputError unless both files share one CRS and pixel grid."""
        from .io import Raster, check_same_grid

        def stub(path, georef):
            return Raster(data=np.empty(self.shape + (0,)), valid=np.empty(0), path=path, georef=georef)
        check_same_grid(stub(self.paths[0], self.georef), stub(self.paths[1], self._georef2))

    def _datasets(self):
        if self._open is None or self._open[0] != os.getpid():
            os.environ.setdefault("GDAL_CACHEMAX", str(GDAL_CACHE_MB))   # a worker process
            from .io import _quiet_gdal
            with _quiet_gdal() as rasterio:
                self._open = (os.getpid(), [rasterio.open(p) for p in self.paths])
        return self._open[1]

    def read(self, window):
        """``t1``, ``t2`` (h, w, B) float64 and ``valid`` (h, w) of ``window``.

        Raises
        ------
        InputError
            When a window cannot be read (a corrupt block), naming the file
            and the window.
        """
        from rasterio.windows import Window

        from .io import _quiet_gdal, _one_line

        r, c, h, w = window
        out = []
        for name, ds, nodata in zip(("t1", "t2"), self._datasets(), (self.nodata1, self.nodata2)):
            try:
                with _quiet_gdal():
                    arr = ds.read(self.band_list, window=Window(c, r, w, h))      # (B, h, w)
            except Exception as exc:
                raise InputError(f"cannot read rows {r}-{r + h - 1}, columns {c}-{c + w - 1} of {name} "
                                 f"'{ds.name}': {_one_line(exc)}; the file is damaged there") from None
            data = np.moveaxis(arr, 0, -1).astype(np.float64)                   # (h, w, B)
            ok = np.isfinite(data).all(axis=2)
            if nodata is not None and not math.isnan(nodata):
                ok &= ~(data == nodata).any(axis=2)
            out.append((data, ok))
        (t1, v1), (t2, v2) = out
        return t1, t2, v1 & v2


class LabelSource:
    """A one-band label GeoTIFF (ground truth) on a scene's pixel grid, read
    by window like :class:`RasterSource`.

    Parameters
    ----------
    path : str
    shape : (int, int)
        The scene's (M, N); the file must have it.
    name : str, default "ground truth"
        How error messages name the file.

    Raises
    ------
    InputError
        Unreadable file, more than one band, another size.
    """

    def __init__(self, path, shape, name="ground truth"):
        from .io import _quiet_gdal, _check_readable, _one_line

        self.path, self.name = os.path.abspath(_check_readable(path, name)), name
        try:
            with _quiet_gdal() as rasterio, rasterio.open(self.path) as ds:
                count, size, self.nodata = ds.count, (ds.height, ds.width), ds.nodata
        except Exception as exc:
            raise InputError(f"cannot read {name} file '{path}' as a GeoTIFF: {_one_line(exc)}; "
                             "check that the file is complete") from None
        if count != 1:
            raise InputError(f"{name} file '{path}' has {count} bands; expected one band of "
                             "integer labels")
        if size != tuple(shape):
            raise InputError(f"{name} '{path}' is {size[0]}x{size[1]} but the images are "
                             f"{shape[0]}x{shape[1]}; give the ground truth of this scene, on its pixel grid")
        self.shape = size
        self._open = None

    def read(self, window):
        """Labels (h, w) int64 of ``window``; NaN (a float file whose nodata
        is NaN) reads as -1, unlabelled.

        Raises
        ------
        InputError
            When the window cannot be read or holds non-integer values.
        """
        from rasterio.windows import Window

        from .io import _quiet_gdal, _one_line, integer_labels

        r, c, h, w = window
        if self._open is None or self._open[0] != os.getpid():
            with _quiet_gdal() as rasterio:
                self._open = (os.getpid(), rasterio.open(self.path))
        try:
            with _quiet_gdal():
                lab = self._open[1].read(1, window=Window(c, r, w, h))
        except Exception as exc:
            raise InputError(f"cannot read rows {r}-{r + h - 1}, columns {c}-{c + w - 1} of {self.name} "
                             f"'{self.path}': {_one_line(exc)}; the file is damaged there") from None
        return integer_labels(lab, self.nodata, self.path, self.name)

    def value_counts(self, rows=1024):
        """``(values, counts)``: the distinct labels of the whole file and
        their pixel counts, read in strips of ``rows`` rows."""
        total = {}
        m, n = self.shape
        for r in range(0, m, rows):
            values, counts = np.unique(self.read((r, 0, min(rows, m - r), n)), return_counts=True)
            for v, k in zip(values.tolist(), counts.tolist()):
                total[v] = total.get(v, 0) + k
        values = np.array(sorted(total), dtype=np.int64)
        return values, np.array([total[v] for v in values.tolist()], dtype=np.int64)

    def close(self):
        if self._open is not None and self._open[0] == os.getpid():
            self._open[1].close()
        self._open = None
