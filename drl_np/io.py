"""Read images of every common format and write outputs atomically.

Reading turns any supported file into a :class:`Raster`: a float64
``(M, N, B)`` array with bands last, a validity mask, the band names and the
georeferencing (CRS and affine transform, kept so that the written maps open
in the right place in GIS tools). Writing goes through :class:`AtomicOutputs`:
every file is written under a temporary name inside the output directory and
renamed only when all of them are complete, so a failing run leaves nothing
behind; a manifest of the outputs lets a later run remove exactly the files
an earlier run wrote, and no others.

Supported inputs: GeoTIFF/TIFF of any compression, tiling, band count and
numeric type (read with rasterio, i.e. GDAL), PNG/BMP/JPEG/GIF (imageio),
``.npy``, ``.mat`` (scipy; pick the array with ``var`` when the file holds
several) and ``.npz`` pairs in the format of the project's data sets (arrays
``t1``, ``t2``, optional ``gt``, ``mask``, ``bands``). Arrays may be
bands-last ``(M, N, B)`` or bands-first ``(B, M, N)`` (the layout rasterio
returns): ``channel_axis`` says which, or it is inferred.
"""
import contextlib
import json
import logging
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np

from ._validation import InputError

__all__ = [
    "Raster", "integer_labels", "read_image", "read_labels", "read_pair", "select_bands",
    "check_same_grid", "pixel_area", "write_geotiff", "write_png",
    "AtomicOutputs", "MANIFEST",
]

_TIFF_EXT = (".tif", ".tiff", ".gtif", ".gtiff")

#: Largest band count read as bands-first when a 3-D array's layout is
#: inferred: a first axis this small beside two larger ones is a band axis.
SMALL_BAND_AXIS = 32


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
    georef : dict
        ``{"crs": rasterio CRS or None, "transform": affine.Affine}`` of a
        georeferenced GeoTIFF; empty for other formats.
    nodata : float or None
        The nodata value applied (``--nodata`` overrides the file's).
    band_names : list of str or None
        Names of the selected bands when the file names them (GeoTIFF band
        descriptions, the ``bands`` array of a ``.npz``).
    n_file_bands : int
        Band count of the file before band selection.
    layout : str
        How the file's array was read: ``"bands-last"``, ``"bands-first"``
        (and ``" (inferred)"`` when not given), or ``"2-D"``.
    dtype : numpy.dtype or None
        The file's value type (``data`` is float64 whatever it is), so a
        tool can write the values back in kind.
    """

    data: np.ndarray
    valid: np.ndarray
    path: str
    georef: Dict[str, Any] = field(default_factory=dict)
    nodata: Optional[float] = None
    band_names: Optional[List[str]] = None
    n_file_bands: int = 0
    layout: str = "bands-last"
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


@contextlib.contextmanager
def _quiet_gdal():
    """Silence GDAL's and rasterio's own log and warnings while reading: a
    corrupt file gives one error, raised, not pages of reader log."""
    import rasterio

    loggers = [logging.getLogger(n) for n in ("rasterio", "rasterio._env", "rasterio._err",
                                              "rasterio._base", "rasterio._io")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.Env(CPL_DEBUG=False, CPL_LOG_ERRORS=False, CPL_LOG="/dev/null"):
                yield rasterio
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _read_tiff(path):
    """Return (array (M, N, B), metadata dict) of a (Geo)TIFF, read with rasterio."""
    with _quiet_gdal() as rasterio:
        with rasterio.open(path) as ds:
            arr = ds.read()                                   # (B, M, N)
            crs, transform = ds.crs, ds.transform
            nodata = ds.nodata
            names = [d.strip() if d else "" for d in ds.descriptions]
    georef = {}
    if crs is not None or not transform.is_identity:
        georef = {"crs": crs, "transform": transform}
    meta = {"georef": georef, "nodata": nodata,
            "band_names": names if all(names) else None, "layout": "bands-last"}
    return np.moveaxis(arr, 0, -1), meta                      # (M, N, B)


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


def _plain_meta():
    return {"georef": {}, "nodata": None, "band_names": None, "layout": None}


def _read_array(path, var=None, name="image"):
    """Read any supported single-image file into an array.

    Returns (array, metadata dict with ``georef``, ``nodata``, ``band_names``
    and ``layout``; ``layout`` is None when the array's band axis is unknown).
    """
    path = _check_readable(path, name)
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext in _TIFF_EXT:
            return _read_tiff(path)
        if ext == ".npy":
            return np.load(path, allow_pickle=False), _plain_meta()
        if ext == ".mat":
            return _read_mat(path, var, name), _plain_meta()
        if ext == ".npz":
            raise InputError(
                f"{name} file '{path}' is a .npz pair; use 'drl-np run --pair {path}'")
        import imageio.v3 as iio

        meta = _plain_meta()
        meta["layout"] = "bands-last"
        return np.asarray(iio.imread(path)), meta
    except (InputError, MemoryError):
        raise
    except Exception as exc:  # any reader's own error becomes one line
        kind = ext.lstrip(".").upper() or "an image"
        raise InputError(
            f"cannot read {name} file '{path}' as {kind}: {_one_line(exc)}; "
            "check that the file is complete and in a supported format "
            "(GeoTIFF, PNG, BMP, JPEG, .npy, .mat, .npz)") from None


def infer_channel_axis(shape):
    """The band axis of a 3-D array of ``shape``: 0 (bands first) or 2 (last).

    Bands-first when the last axis cannot be a band axis (it is longer than
    one of the two others) or when the first axis is small
    (<= :data:`SMALL_BAND_AXIS`) beside two longer ones; bands-last otherwise.

    Examples
    --------
    >>> infer_channel_axis((6, 400, 400)), infer_channel_axis((400, 400, 6))
    (0, 2)
    >>> infer_channel_axis((4, 4, 4))
    2
    """
    m, n, b = shape
    if b > min(m, n):
        return 0
    if m <= SMALL_BAND_AXIS and m < n and m < b:
        return 0
    return 2


def _orient(arr, channel_axis, layout, path, name):
    """Return (array with bands last, layout text) of an (M, N[, B]) array."""
    if arr.ndim != 3:
        return arr, "2-D" if arr.ndim == 2 else "?"
    if channel_axis is None:
        if layout is not None:          # the reader knows (TIFF, PNG)
            return arr, layout
        axis = infer_channel_axis(arr.shape)
        note = " (inferred)"
    else:
        axis = {0: 0, 2: 2, -1: 2}.get(channel_axis)
        if axis is None:
            raise InputError(f"channel_axis must be 0 (bands first) or -1 (bands last), "
                             f"got {channel_axis!r}")
        note = ""
        if layout is not None and axis == 0:
            # the reader returned bands last already: the flag is about .npy/.mat
            return arr, layout
    if axis == 0:
        return np.moveaxis(arr, 0, -1), "bands-first" + note      # (M, N, B)
    return arr, "bands-last" + note


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
            "(M, N), (M, N, B) bands last or (B, M, N) bands first")
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


def _validity(data, nodata):
    """valid (M, N): every band finite and none equal to nodata."""
    valid = np.isfinite(data).all(axis=2)
    if nodata is not None and not math.isnan(nodata):
        valid &= ~(data == nodata).any(axis=2)
    return valid


def _make_raster(arr, path, name, bands, nodata, meta, channel_axis=None):
    arr, layout = _orient(np.asarray(arr), channel_axis, meta.get("layout"), path, name)
    arr = _as_bands_last(arr, path, name)
    n_file = arr.shape[2]
    arr, idx = select_bands(arr, bands, path, name)
    if nodata is None:
        nodata = meta.get("nodata")
    nodata = None if nodata is None else float(nodata)
    data = arr.astype(np.float64)
    valid = _validity(data, nodata)
    band_names = meta.get("band_names")
    if band_names is not None and len(band_names) != n_file:
        band_names = None
    names = [band_names[i] for i in idx] if band_names is not None else None
    return Raster(data=data, valid=valid, path=path, georef=dict(meta.get("georef") or {}),
                  nodata=nodata, band_names=names, n_file_bands=n_file, layout=layout,
                  dtype=arr.dtype)


def read_image(path, *, bands=None, nodata=None, var=None, name="image", channel_axis=None):
    """Read one date from a file.

    Parameters
    ----------
    path : str or PathLike
        GeoTIFF/TIFF, PNG/BMP/JPEG, ``.npy`` or ``.mat`` file.
    bands : sequence of int, optional
        1-based band indices to keep, in this order; all bands by default.
    nodata : float, optional
        Value marking missing pixels; overrides the file's nodata.
    var : str, optional
        Array name inside a ``.mat`` file holding several arrays.
    name : str, default "image"
        How the error messages call this input (``t1``, ``t2``...).
    channel_axis : {None, 0, -1}, default None
        Band axis of a 3-D ``.npy``/``.mat`` array: 0 for ``(B, M, N)``,
        -1 for ``(M, N, B)``; None infers it (:func:`infer_channel_axis`).
        GeoTIFF and PNG files carry their layout and ignore it.

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
    arr, meta = _read_array(path, var=var, name=name)
    return _make_raster(arr, path, name, bands, nodata, meta, channel_axis)


def integer_labels(lab, nodata, path, name):
    """A label band as int64: float values must be whole numbers, and NaN
    (allowed only when the file's nodata is NaN) reads as -1, unlabelled.

    Raises
    ------
    InputError
        Non-integer values, or NaN without a NaN nodata.
    """
    if lab.dtype.kind == "f":
        finite = np.isfinite(lab)
        nan_nodata = nodata is not None and math.isnan(nodata)
        if (lab[finite] != np.round(lab[finite])).any() or (not finite.all() and not nan_nodata):
            raise InputError(
                f"{name} file '{path}' has non-integer values; expected integer "
                "labels (0 unchanged, 1..C change classes)")
        lab = np.where(finite, lab, -1)
    return lab.astype(np.int64)


def read_labels(path, *, var=None, name="ground truth", with_meta=False):
    """Read a label image (ground truth or a map) as an (M, N) int64 array.

    A 3-band label image whose bands are equal (a grey PNG saved as RGB)
    is reduced to its first band. With ``with_meta``, also return a dict
    with the file's ``nodata`` (or None), its ``dtype`` and ``georef``.

    Raises
    ------
    InputError
        Missing or unreadable file, non-integer values, several distinct bands.
    """
    path = os.fspath(path)
    arr, meta = _read_array(path, var=var, name=name)
    arr = _as_bands_last(arr, path, name)
    if arr.shape[2] > 1:
        if not (arr == arr[:, :, :1]).all():
            raise InputError(
                f"{name} file '{path}' has {arr.shape[2]} different bands; "
                "expected one band of integer labels")
    out = integer_labels(arr[:, :, 0], meta.get("nodata"), path, name)
    if with_meta:
        return out, {"nodata": meta.get("nodata"), "dtype": str(arr.dtype),
                     "georef": meta.get("georef") or {}}
    return out


def read_pair(path, *, bands=None, nodata=None, channel_axis=None):
    """Read a ``.npz`` pair (arrays ``t1``, ``t2``, optional ``gt``, ``mask``,
    ``bands``) as two :class:`Raster` and the ground truth.

    Returns
    -------
    t1, t2 : Raster
    gt : ndarray of int64, shape (M, N), or None
        Ground truth as stored (the pair's convention: 0 unchanged, 1..C
        changed), 255 where the pair's ``mask`` is False.
    name : str
        The pair's name (file name without extension).
    """
    from .datasets import load_pair

    path = _check_readable(path, "pair")
    pair = load_pair(path)
    meta = _plain_meta()
    meta["band_names"] = [str(b) for b in pair.bands] if pair.bands is not None else None
    r1 = _make_raster(pair.t1, path, "t1", bands, nodata, meta, channel_axis)
    r2 = _make_raster(pair.t2, path, "t2", bands, nodata, meta, channel_axis)
    gt = None
    if pair.gt is not None:
        gt = np.where(pair.mask, pair.gt, 255).astype(np.int64)
    return r1, r2, gt, pair.name


# --------------------------------------------------------------------------
# georeferencing
# --------------------------------------------------------------------------

def _crs_text(crs):
    if crs is None:
        return "no CRS"
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else (crs.to_string()[:60] or "an unnamed CRS")


def check_same_grid(r1, r2, names=("t1", "t2")):
    """Raise InputError unless two rasters share one CRS and pixel grid.

    Rasters without georeferencing (PNG, ``.npy``...) are not compared.
    Pixel sizes and origins must agree to 1 % of a pixel.
    """
    g1, g2 = r1.georef, r2.georef
    if not (g1 and g2):
        return
    a, b = names
    t = g1["transform"]
    m, n = r1.data.shape[:2]
    xs, ys = (t.c, t.c + t.a * n), (t.f, t.f + t.e * m)
    srs = f"-t_srs {_crs_text(g1.get('crs'))} " if g1.get("crs") is not None else ""
    fix = (f"; reproject {b} onto {a}'s pixel grid first, e.g. 'gdalwarp {srs}"
           f"-tr {abs(t.a):g} {abs(t.e):g} -te {min(xs):.10g} {min(ys):.10g} {max(xs):.10g} "
           f"{max(ys):.10g} {r2.path} {b}_on_{a}_grid.tif'")
    c1, c2 = g1.get("crs"), g2.get("crs")
    if (c1 is None) != (c2 is None) or (c1 is not None and c1 != c2):
        raise InputError(f"{a} and {b} are in different coordinate systems: {a} is in "
                         f"{_crs_text(c1)}, {b} in {_crs_text(c2)}" + fix)
    t1, t2 = g1["transform"], g2["transform"]
    p1 = (abs(t1.a), abs(t1.e))
    p2 = (abs(t2.a), abs(t2.e))
    tol = 0.01 * min(p1 + p2)
    if any(abs(u - v) > tol for u, v in zip(p1, p2)) or abs(t1.b - t2.b) > tol \
            or abs(t1.d - t2.d) > tol:
        raise InputError(f"{a} and {b} have different pixel sizes: {a} {p1[0]:g} x {p1[1]:g}, "
                         f"{b} {p2[0]:g} x {p2[1]:g} (map units)" + fix)
    dx, dy = t2.c - t1.c, t2.f - t1.f
    if abs(dx) > tol or abs(dy) > tol:
        raise InputError(f"{a} and {b} are on shifted grids: {b}'s upper-left corner is "
                         f"{dx:+g}, {dy:+g} map units ({dx / p1[0]:+.2f}, {-dy / p1[1]:+.2f} "
                         f"pixels) from {a}'s" + fix)


def pixel_area(georef):
    """Area of one pixel from the georeferencing.

    Returns
    -------
    area : float or None
        Pixel area in m², or None when unknown.
    unit : str
        ``"m2"``; or a note on why the area is unknown (geographic
        coordinates in degrees, no CRS, no georeferencing).
    """
    if not georef:
        return None, "unknown (no georeferencing; give --pixel-size)"
    t = georef["transform"]
    size = abs(t.a * t.e - t.b * t.d)
    crs = georef.get("crs")
    if crs is None:
        return None, "unknown (no coordinate system; give --pixel-size)"
    if crs.is_geographic:
        return None, "unknown (geographic coordinates in degrees; give --pixel-size)"
    try:
        unit, factor = crs.linear_units_factor
    except Exception:  # a CRS whose unit GDAL cannot name
        return None, "unknown (projected unit not known; give --pixel-size)"
    if not (np.isfinite(size) and size > 0):
        return None, "unknown (degenerate geotransform; give --pixel-size)"
    return float(size * factor * factor), "m2"


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------

def write_geotiff(path, array, georef=None, nodata=None, colormap=None, description=None):
    """Write an (M, N) or (M, N, B) array as a deflate-compressed (Geo)TIFF.

    Parameters
    ----------
    path : str
    array : ndarray, shape (M, N) or (M, N, B)
        Bands last; written as B bands.
    georef : dict, optional
        :attr:`Raster.georef` (CRS and transform) to write.
    nodata : float, optional
        The band's nodata value.
    colormap : dict of int to (r, g, b), optional
        Colour table (uint8 and uint16 maps only).
    description : str, optional
        The band's description.
    """
    array = np.asarray(array)
    bands = np.ascontiguousarray(np.moveaxis(array, -1, 0) if array.ndim == 3
                                 else array[None])                   # (B, M, N)
    georef = georef or {}
    profile = {"driver": "GTiff", "height": bands.shape[1], "width": bands.shape[2],
               "count": bands.shape[0], "dtype": bands.dtype.name, "compress": "deflate"}
    if georef:
        profile["crs"] = georef.get("crs")
        profile["transform"] = georef["transform"]
    if nodata is not None:
        profile["nodata"] = nodata
    with _quiet_gdal() as rasterio:
        with rasterio.open(path, "w", **profile) as ds:
            ds.write(bands)
            if colormap:
                ds.write_colormap(1, {int(k): tuple(int(c) for c in v) + (255,)[:4 - len(v)]
                                      for k, v in colormap.items()})
            if description:
                ds.set_band_description(1, description)


def category_aux_xml(categories):
    """GDAL PAM XML naming the categories ``{value: name}`` of band 1: the
    content of the ``<map>.tif.aux.xml`` side file that GDAL and QGIS read
    with the map (rasterio cannot write category names into the TIFF)."""
    from xml.sax.saxutils import escape

    top = max(categories)
    items = "".join(f"      <Category>{escape(categories.get(v, ''))}</Category>\n"
                    for v in range(top + 1))
    return ("<PAMDataset>\n  <PAMRasterBand band=\"1\">\n    <CategoryNames>\n"
            f"{items}    </CategoryNames>\n  </PAMRasterBand>\n</PAMDataset>\n")


def write_png(path, rgb):
    """Write an (M, N, 3) uint8 image as PNG (whatever ``path``'s extension)."""
    import imageio.v3 as iio

    iio.imwrite(path, np.ascontiguousarray(rgb, dtype=np.uint8), extension=".png")


#: Name of the manifest file that lists the outputs of the last run in a
#: directory; only files it lists are ever removed by a later run.
MANIFEST = "drl_np_manifest.json"
_PART = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.part")


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def read_manifest(out_dir):
    """Names listed by the manifest in ``out_dir`` (empty when none or unreadable)."""
    try:
        with open(os.path.join(out_dir, MANIFEST)) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return []
    names = data.get("outputs", []) if isinstance(data, dict) else []
    # a manifest names plain files of its own directory, nothing else
    return [n for n in names if isinstance(n, str) and n and os.path.basename(n) == n
            and n not in (".", "..", MANIFEST)]


class AtomicOutputs:
    """Write a set of files into a directory all at once or not at all.

    Parameters
    ----------
    out_dir : str
        Output directory; created (with parents) when the first file is
        staged, never before.
    names : sequence of str
        File names that will be written (checked against ``protected``).
    protected : sequence of str
        Input paths that must never be overwritten or removed.
    manifest : bool, default False
        Keep :data:`MANIFEST` in the directory: on commit, files listed by an
        earlier run's manifest that this run did not write are removed (so
        the directory holds one consistent result), and the new manifest
        lists this run's files. Files no manifest lists are never touched.

    Examples
    --------
    >>> out = AtomicOutputs("out", ["a.txt"], protected=["in.tif"])  # doctest: +SKIP
    >>> with out:                                                    # doctest: +SKIP
    ...     open(out.stage("a.txt"), "w").write("hi")
    """

    def __init__(self, out_dir, names=(), protected=(), manifest=False):
        self.out_dir = os.fspath(out_dir)
        self.manifest = manifest
        self.names = list(names)
        self.protected = [os.fspath(p) for p in protected if p is not None]
        self._staged = {}
        self._created = []

    def check(self, writable=False):
        """Raise InputError if the directory is a file, an output is an input
        or (with ``writable``) the directory cannot be written."""
        d = self.out_dir
        if os.path.exists(d) and not os.path.isdir(d):
            raise InputError(
                f"output directory '{d}' exists and is a file; give --out a "
                "directory path (new or existing)")
        probe = os.path.abspath(d)
        while not os.path.exists(probe):
            probe = os.path.dirname(probe)
        if not os.path.isdir(probe):
            raise InputError(
                f"output directory '{d}' lies under the file '{probe}'; give --out "
                "a directory path")
        if writable and not os.access(probe, os.W_OK | os.X_OK):
            what = "output directory" if probe == os.path.abspath(d) else "parent directory"
            raise InputError(
                f"cannot write to {what} '{probe}' (permission denied); give --out a "
                "directory you can write to")
        inputs = {os.path.realpath(p) for p in self.protected}
        for name in self.names + ([MANIFEST] if self.manifest else []):
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

    def remove_stale_parts(self):
        """Remove temporary files of this tool's runs that died (their process
        is gone) in the output directory; return their names."""
        removed = []
        known = set(self.names) | set(read_manifest(self.out_dir)) | {MANIFEST}
        try:
            entries = os.listdir(self.out_dir)
        except OSError:
            return removed
        for entry in entries:
            m = _PART.fullmatch(entry)
            if not m or m["name"] not in known or int(m["pid"]) == os.getpid():
                continue
            if _pid_alive(int(m["pid"])):
                continue
            try:
                os.remove(os.path.join(self.out_dir, entry))
                removed.append(entry)
            except OSError:
                pass
        return removed

    def stage(self, name):
        """Return a temporary path in the output directory for file ``name``."""
        if not self._staged and not self._created:
            self.check()
            self._makedirs()
            self.remove_stale_parts()
        if name not in self.names:
            self.names.append(name)
            self.check()
        tmp = os.path.join(self.out_dir, f".{name}.{os.getpid()}.part")
        self._staged[name] = tmp
        return tmp

    def staged_names(self):
        """Names of the files staged so far."""
        return list(self._staged)

    def commit(self):
        """Rename every staged file to its final name; return the final paths."""
        for name, tmp in self._staged.items():
            if not os.path.isfile(tmp):
                raise OSError(f"staged output '{tmp}' was not written")
        previous = read_manifest(self.out_dir) if self.manifest else []
        if self.manifest:
            tmp = os.path.join(self.out_dir, f".{MANIFEST}.{os.getpid()}.part")
            with open(tmp, "w") as f:
                json.dump({"written_by": "drl_np", "outputs": sorted(self._staged)}, f, indent=1)
                f.write("\n")
            self._staged[MANIFEST] = tmp
        final = []
        for name, tmp in self._staged.items():
            target = os.path.join(self.out_dir, name)
            os.replace(tmp, target)
            final.append(target)
        inputs = {os.path.realpath(p) for p in self.protected}
        for name in previous:
            path = os.path.join(self.out_dir, name)
            if (name not in self._staged and os.path.realpath(path) not in inputs
                    and os.path.isfile(path) and not os.path.islink(path)):
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
