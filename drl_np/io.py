"""Read images of every common format and write outputs atomically.

Reading turns any supported file into a :class:`Raster`: a float64
``(M, N, B)`` array with bands last, a validity mask, and the GeoTIFF
georeferencing tags (kept so that the written maps open in the right place
in GIS tools). Writing goes through :class:`AtomicOutputs`: every file is
written under a temporary name inside the output directory and renamed only
when all of them are complete, so a failing run leaves nothing behind.

Supported inputs: GeoTIFF/TIFF (any band count and numeric type, read with
tifffile), PNG/BMP/JPEG/GIF (imageio), ``.npy``, ``.mat`` (scipy; pick the
array with ``var`` when the file holds several) and ``.npz`` pairs in the
format of the project's data sets (arrays ``t1``, ``t2``, optional ``gt``,
``mask``, ``bands``).
"""
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np

from ._validation import InputError

__all__ = [
    "GEO_TAG_CODES", "Raster", "read_image", "read_labels", "read_pair",
    "select_bands", "georef_extratags", "pixel_area", "write_geotiff",
    "write_png", "AtomicOutputs",
]

#: GeoTIFF tags carried from the first date to every written map:
#: ModelPixelScale, ModelTiepoint, ModelTransformation, GeoKeyDirectory,
#: GeoDoubleParams, GeoAsciiParams and GDAL_NODATA.
GEO_TAG_CODES = (33550, 33922, 34264, 34735, 34736, 34737, 42113)
_GDAL_NODATA = 42113
_ASCII_TAGS = (34737, 42113)
_SHORT_TAGS = (34735,)

_TIFF_EXT = (".tif", ".tiff", ".gtif", ".gtiff")


@dataclass
class Raster:
    """One date as read from a file.

    Attributes
    ----------
    data : ndarray of float64, shape (M, N, B)
        Pixel values, bands last, in the file's units.
    valid : ndarray of bool, shape (M, N)
        True where every band is finite and none equals ``nodata``.
    path : str
        The file it came from.
    georef : dict of int to object
        GeoTIFF tags (codes of :data:`GEO_TAG_CODES`) found in the file;
        empty for other formats.
    nodata : float or None
        The nodata value applied (``--nodata`` overrides the GDAL_NODATA tag).
    band_names : list of str or None
        Names of the selected bands when the file names them (``.npz``).
    n_file_bands : int
        Band count of the file before band selection.
    dtype : numpy.dtype or None
        The file's value type (``data`` is float64 whatever it is), so a
        tool can write the values back in kind.
    """

    data: np.ndarray
    valid: np.ndarray
    path: str
    georef: Dict[int, Any] = field(default_factory=dict)
    nodata: Optional[float] = None
    band_names: Optional[List[str]] = None
    n_file_bands: int = 0
    dtype: Optional[np.dtype] = None

    @property
    def shape(self):
        return self.data.shape


# --------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------

def _check_readable(path, name):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"{name} file '{path}' does not exist; check the path")
    if os.path.isdir(path):
        raise InputError(f"{name} path '{path}' is a directory; give an image file")
    return path


def _one_line(exc):
    text = " ".join(str(exc).split())
    return text if text else type(exc).__name__


def _read_tiff(path):
    """Return (array with bands last, georef tags dict)."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        arr = series.asarray()
        axes = series.axes
        tags = tif.pages[0].tags
        georef = {}
        for code in GEO_TAG_CODES:
            tag = tags.get(code)
            if tag is not None:
                georef[code] = tag.value
    arr = np.asarray(arr)
    # squeeze length-1 axes other than Y and X (e.g. a single-page 'QYX')
    keep = [i for i, ax in enumerate(axes) if ax in "YX" or arr.shape[i] > 1]
    arr = arr.reshape([arr.shape[i] for i in keep])
    axes = "".join(axes[i] for i in keep)
    if arr.ndim == 3 and axes.index("Y") == 1:       # (B, M, N) planar/pages
        arr = np.moveaxis(arr, 0, -1)                # (M, N, B)
    return arr, georef


def _mat_candidates(mat):
    return {k: v for k, v in mat.items()
            if not k.startswith("__") and isinstance(v, np.ndarray)
            and v.dtype.kind in "biuf" and v.ndim in (2, 3) and v.size > 1}


def _read_mat(path, var, name):
    import scipy.io

    try:
        mat = scipy.io.loadmat(path)
    except NotImplementedError:
        raise InputError(
            f"{name} file '{path}' is a MATLAB v7.3 (HDF5) .mat file; re-save it "
            "with save(..., '-v7') or convert the array to .npy") from None
    cands = _mat_candidates(mat)
    if var is not None:
        if var not in cands:
            raise InputError(
                f"{name} file '{path}' has no image array named '{var}'; "
                f"its arrays are {sorted(cands) or 'none'}; use --var with one of them")
        return cands[var]
    if not cands:
        raise InputError(f"{name} file '{path}' holds no 2-D or 3-D numeric array")
    if len(cands) > 1:
        raise InputError(
            f"{name} file '{path}' holds several arrays {sorted(cands)}; "
            "choose one with --var NAME")
    return next(iter(cands.values()))


def _read_array(path, var=None, name="image"):
    """Read any supported single-image file into an (M, N[, B]) array.

    Returns (array, georef dict).
    """
    path = _check_readable(path, name)
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext in _TIFF_EXT:
            return _read_tiff(path)
        if ext == ".npy":
            return np.load(path, allow_pickle=False), {}
        if ext == ".mat":
            return _read_mat(path, var, name), {}
        if ext == ".npz":
            raise InputError(
                f"{name} file '{path}' is a .npz pair; use 'drl-np run --pair {path}'")
        import imageio.v3 as iio

        return np.asarray(iio.imread(path)), {}
    except (InputError, MemoryError):
        raise
    except Exception as exc:  # any reader's own error becomes one line
        kind = ext.lstrip(".").upper() or "an image"
        raise InputError(
            f"cannot read {name} file '{path}' as {kind}: {_one_line(exc)}; "
            "check that the file is complete and in a supported format "
            "(GeoTIFF, PNG, BMP, JPEG, .npy, .mat, .npz)") from None


def _as_bands_last(arr, path, name):
    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.dtype.kind not in "iuf":
        raise InputError(
            f"{name} file '{path}' has values of type {arr.dtype}; expected numbers")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise InputError(
            f"{name} file '{path}' holds an array of shape {arr.shape}; expected "
            "(M, N) or (M, N, B) with bands last")
    return arr


def select_bands(arr, bands, path="", name="image"):
    """Keep the 1-based ``bands`` of an (M, N, B) array (all if ``None``).

    Raises
    ------
    InputError
        If a band index is outside 1..B.
    """
    if bands is None:
        return arr, list(range(arr.shape[2]))
    n = arr.shape[2]
    bad = [b for b in bands if not 1 <= b <= n]
    if bad:
        raise InputError(
            f"band {bad[0]} is out of range: {name} '{path}' has {n} band"
            f"{'s' if n != 1 else ''}; use --bands with values 1..{n}")
    idx = [b - 1 for b in bands]
    return arr[:, :, idx], idx


def _parse_nodata(value):
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    try:
        return float(str(value).strip().strip("\x00"))
    except ValueError:
        return None


def _validity(data, nodata):
    """valid (M, N): every band finite and none equal to nodata."""
    valid = np.isfinite(data).all(axis=2)
    if nodata is not None and not math.isnan(nodata):
        valid &= ~(data == nodata).any(axis=2)
    return valid


def _make_raster(arr, path, name, bands, nodata, georef, band_names=None):
    arr = _as_bands_last(arr, path, name)
    n_file = arr.shape[2]
    arr, idx = select_bands(arr, bands, path, name)
    if nodata is None:
        nodata = _parse_nodata(georef.get(_GDAL_NODATA))
    data = arr.astype(np.float64)
    valid = _validity(data, nodata)
    names = [band_names[i] for i in idx] if band_names is not None else None
    return Raster(data=data, valid=valid, path=path, georef=dict(georef),
                  nodata=nodata, band_names=names, n_file_bands=n_file, dtype=arr.dtype)


def read_image(path, *, bands=None, nodata=None, var=None, name="image"):
    """Read one date from a file.

    Parameters
    ----------
    path : str or PathLike
        GeoTIFF/TIFF, PNG/BMP/JPEG, ``.npy`` or ``.mat`` file.
    bands : sequence of int, optional
        1-based band indices to keep, in this order; all bands by default.
    nodata : float, optional
        Value marking missing pixels; overrides the file's GDAL_NODATA tag.
    var : str, optional
        Array name inside a ``.mat`` file holding several arrays.
    name : str, default "image"
        How the error messages call this input (``t1``, ``t2``...).

    Returns
    -------
    Raster
        ``data`` of shape (M, N, B) float64 and ``valid`` of shape (M, N).

    Raises
    ------
    InputError
        Missing or unreadable file, unsupported array shape or type, band
        index out of range, ambiguous ``.mat`` file.
    """
    path = os.fspath(path)
    arr, georef = _read_array(path, var=var, name=name)
    return _make_raster(arr, path, name, bands, nodata, georef)


def read_labels(path, *, var=None, name="ground truth"):
    """Read a label image (ground truth or a map) as an (M, N) int64 array.

    A 3-band label image whose bands are equal (a grey PNG saved as RGB)
    is reduced to its first band.

    Raises
    ------
    InputError
        Missing or unreadable file, non-integer values, several distinct bands.
    """
    path = os.fspath(path)
    arr, _ = _read_array(path, var=var, name=name)
    arr = _as_bands_last(arr, path, name)
    if arr.shape[2] > 1:
        if not (arr == arr[:, :, :1]).all():
            raise InputError(
                f"{name} file '{path}' has {arr.shape[2]} different bands; "
                "expected one band of integer labels")
    lab = arr[:, :, 0]
    if lab.dtype.kind == "f":
        if not np.isfinite(lab).all() or (lab != np.round(lab)).any():
            raise InputError(
                f"{name} file '{path}' has non-integer values; expected integer "
                "labels (0 unchanged, 1..C change classes, 255 ignore)")
    return lab.astype(np.int64)


def read_pair(path, *, bands=None, nodata=None):
    """Read a ``.npz`` pair (arrays ``t1``, ``t2``, optional ``gt``, ``mask``,
    ``bands``) as two :class:`Raster` and the ground truth.

    Returns
    -------
    t1, t2 : Raster
    gt : ndarray of int64, shape (M, N), or None
        Ground truth with 255 where the pair's ``mask`` is False.
    name : str
        The pair's name (file name without extension).
    """
    from .datasets import load_pair

    path = _check_readable(path, "pair")
    pair = load_pair(path)
    names = list(pair.bands) if pair.bands is not None else None
    r1 = _make_raster(pair.t1, path, "t1", bands, nodata, {}, names)
    r2 = _make_raster(pair.t2, path, "t2", bands, nodata, {}, names)
    gt = None
    if pair.gt is not None:
        gt = np.where(pair.mask, pair.gt, 255).astype(np.int64)
    return r1, r2, gt, pair.name


# --------------------------------------------------------------------------
# georeferencing
# --------------------------------------------------------------------------

def georef_extratags(georef, nodata=None):
    """tifffile ``extratags`` that write ``georef`` back, GDAL_NODATA set to
    ``nodata`` (dropped when ``nodata`` is None)."""
    tags = []
    for code in GEO_TAG_CODES:
        if code == _GDAL_NODATA:
            continue
        value = georef.get(code)
        if value is None:
            continue
        if code in _ASCII_TAGS:
            text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
            tags.append((code, "s", 0, text, True))
        else:
            vals = tuple(np.atleast_1d(np.asarray(value)).ravel().tolist())
            dtype = "H" if code in _SHORT_TAGS else "d"
            tags.append((code, dtype, len(vals), vals, True))
    if nodata is not None:
        text = "nan" if isinstance(nodata, float) and math.isnan(nodata) else str(nodata)
        tags.append((_GDAL_NODATA, "s", 0, text, True))
    return tags


def _geokeys(georef):
    """GeoKeyDirectory as {key id: value} (only values stored in the directory)."""
    d = georef.get(34735)
    if d is None:
        return {}
    d = [int(v) for v in np.asarray(d).ravel()]
    keys = {}
    for i in range(1, d[3] + 1):
        kid, loc, count, off = d[4 * i: 4 * i + 4]
        if loc == 0:
            keys[kid] = off
    return keys


def pixel_area(georef):
    """Area of one pixel from GeoTIFF tags.

    Returns
    -------
    area : float or None
        Pixel area in m², or None when unknown or not in metres.
    unit : str
        ``"m2"``; or a note on why the area is unknown (geographic
        coordinates in degrees, a non-metre projected unit, no georeferencing).
    """
    if 34264 in georef:
        m = np.asarray(georef[34264], dtype=float).ravel()
        size = abs(m[0] * m[5] - m[1] * m[4]) if m.size >= 6 else None
    elif 33550 in georef:
        s = np.asarray(georef[33550], dtype=float).ravel()
        size = abs(s[0] * s[1])
    else:
        return None, "unknown (no georeferencing; give --pixel-size)"
    keys = _geokeys(georef)
    model = keys.get(1024)
    if model == 2:
        return None, "unknown (geographic coordinates in degrees; give --pixel-size)"
    unit = keys.get(3076, 9001)
    if unit != 9001:
        return None, f"unknown (projected linear unit EPSG:{unit} is not metre; give --pixel-size)"
    if size is None or not np.isfinite(size) or size <= 0:
        return None, "unknown (degenerate geotransform; give --pixel-size)"
    return float(size), "m2"


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------

def write_geotiff(path, array, georef=None, nodata=None):
    """Write an (M, N) or (M, N, B) array as a (Geo)TIFF.

    Parameters
    ----------
    path : str
    array : ndarray, shape (M, N) or (M, N, B)
        Bands last; stored pixel-interleaved (B samples per pixel), which
        GDAL reads as B bands.
    georef : dict, optional
        Tags from :attr:`Raster.georef`; written back with tifffile's
        ``extratags``.
    nodata : float, optional
        Written as the GDAL_NODATA tag.
    """
    import tifffile

    array = np.ascontiguousarray(array)
    planar = {"planarconfig": "contig"} if array.ndim == 3 else {}
    tifffile.imwrite(path, array, photometric="minisblack", **planar,
                     compression="zlib", metadata=None,
                     extratags=georef_extratags(georef or {}, nodata))


def write_png(path, rgb):
    """Write an (M, N, 3) uint8 image as PNG (whatever ``path``'s extension)."""
    import imageio.v3 as iio

    iio.imwrite(path, np.ascontiguousarray(rgb, dtype=np.uint8), extension=".png")


class AtomicOutputs:
    """Write a set of files into a directory all at once or not at all.

    Parameters
    ----------
    out_dir : str
        Output directory; created (with parents) on :meth:`commit`-time
        staging, never before.
    names : sequence of str
        File names that will be written (checked against ``protected``).
    protected : sequence of str
        Input paths that must never be overwritten.
    stale : str, optional
        Regular expression of file names of the same family (e.g. the maps of
        an earlier run with another schedule): on commit, matching files that
        this run did not write are removed, so the directory holds one
        consistent result. Inputs are never removed.

    Examples
    --------
    >>> out = AtomicOutputs("out", ["a.txt"], protected=["in.tif"])  # doctest: +SKIP
    >>> with out:                                                    # doctest: +SKIP
    ...     open(out.stage("a.txt"), "w").write("hi")
    """

    def __init__(self, out_dir, names=(), protected=(), stale=None):
        self.out_dir = os.fspath(out_dir)
        self.stale = stale
        self.names = list(names)
        self.protected = [os.fspath(p) for p in protected if p is not None]
        self._staged = {}
        self._created = []

    def check(self):
        """Raise InputError if the directory is a file or an output is an input."""
        d = self.out_dir
        if os.path.exists(d) and not os.path.isdir(d):
            raise InputError(
                f"output directory '{d}' exists and is a file; give --out a "
                "directory path (new or existing)")
        probe = d
        while probe and not os.path.exists(probe):
            probe = os.path.dirname(probe)
        if probe and os.path.exists(probe) and not os.path.isdir(probe):
            raise InputError(
                f"output directory '{d}' lies under the file '{probe}'; give --out "
                "a directory path")
        inputs = {os.path.realpath(p) for p in self.protected}
        for name in self.names:
            target = os.path.join(d, name)
            if os.path.realpath(target) in inputs:
                raise InputError(
                    f"output '{target}' is also an input; choose another --out "
                    "directory so inputs are never overwritten")
        return self

    def _makedirs(self):
        d = os.path.abspath(self.out_dir)
        missing = []
        while not os.path.exists(d):
            missing.append(d)
            d = os.path.dirname(d)
        for p in reversed(missing):
            os.mkdir(p)
            self._created.append(p)

    def stage(self, name):
        """Return a temporary path in the output directory for file ``name``."""
        if not self._staged and not self._created:
            self.check()
            self._makedirs()
        if name not in self.names:
            self.names.append(name)
            self.check()
        tmp = os.path.join(self.out_dir, f".{name}.{os.getpid()}.part")
        self._staged[name] = tmp
        return tmp

    def commit(self):
        """Rename every staged file to its final name; return the final paths."""
        for name, tmp in self._staged.items():
            if not os.path.isfile(tmp):
                raise OSError(f"staged output '{tmp}' was not written")
        final = []
        for name, tmp in self._staged.items():
            target = os.path.join(self.out_dir, name)
            os.replace(tmp, target)
            final.append(target)
        if self.stale:
            inputs = {os.path.realpath(p) for p in self.protected}
            for name in os.listdir(self.out_dir):
                path = os.path.join(self.out_dir, name)
                if (re.fullmatch(self.stale, name) and name not in self._staged
                        and os.path.realpath(path) not in inputs and os.path.isfile(path)):
                    os.remove(path)
        self._staged = {}
        return final

    def abort(self):
        """Remove staged files and any directory this object created."""
        for tmp in self._staged.values():
            try:
                os.remove(tmp)
            except OSError:
                pass
        self._staged = {}
        for p in reversed(self._created):
            try:
                os.rmdir(p)
            except OSError:
                pass
        self._created = []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                self.commit()
            except BaseException:
                self.abort()
                raise
        else:
            self.abort()
        return False
