"""The content of ``report.json`` and ``areas.csv``: what changed, into what,
over how much area, and how the run was made.

:func:`change_types` measures each change type of a map (pixel count, area,
mean change vector); :func:`score` computes the ``metrics`` section against
ground truth; :func:`build_report` assembles the whole JSON-ready report;
:func:`areas_csv` renders the change-type rows as CSV text.
"""
import csv
import io as _io
import math
import platform
import sys

import numpy as np

__all__ = ["change_types", "score", "build_report", "areas_csv", "package_versions",
           "peak_memory_mib", "to_jsonable", "AREA_COLUMNS", "MEAN_CHANGE_PREFIX"]

_PACKAGES = (("drl_np", "drl_np"), ("numpy", "numpy"), ("scipy", "scipy"),
             ("skimage", "skimage"), ("sklearn", "sklearn"), ("numba", "numba"),
             ("imageio", "imageio"), ("rasterio", "rasterio"), ("matplotlib", "matplotlib"))


def package_versions():
    """Versions of drl_np and its dependencies (``None`` if not importable)."""
    out = {"python": platform.python_version()}
    for key, module in _PACKAGES:
        try:
            mod = __import__(module)
            out[key] = getattr(mod, "__version__", None)
        except Exception:  # a missing optional package is reported, not fatal
            out[key] = None
    return out


def peak_memory_mib():
    """Peak resident memory of this process in MiB (None where unsupported).

    On Linux the high-water mark of the process's own memory (``VmHWM`` of
    ``/proc/self/status``): ``getrusage``'s ``ru_maxrss`` survives fork and
    exec, so a run started by a large process would report that process's
    peak."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 1024.0          # kB
    except OSError:
        pass
    try:
        import resource
    except ImportError:
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return float(rss) / (1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0)


def to_jsonable(obj):
    """Turn NumPy scalars/arrays, tuples and non-finite floats into plain JSON
    values (NaN and ±inf become ``None``)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def change_types(cda_map, t1, t2, pixel_area_m2=None, band_labels=None):
    """Per change type: pixel count, share, area and mean change vector.

    Parameters
    ----------
    cda_map : ndarray of int, shape (M, N)
        0 unchanged, 1..K change types, negative masked.
    t1, t2 : ndarray of float, shape (M, N, B)
        The two dates in input units (after band selection).
    pixel_area_m2 : float, optional
        Area of one pixel in m²; areas are ``None`` without it.
    band_labels : sequence of str, optional
        Names of the B bands for the change-vector keys (``band1``... by
        default).

    Returns
    -------
    list of dict
        One dict per type k = 1..max(cda_map) with keys ``type``, ``pixels``,
        ``fraction`` (of valid pixels), ``area_m2`` and ``mean_change``
        ({band: mean of t2 − t1 over the type's pixels}, ``None`` for a type
        with no pixel).
    """
    lab = np.asarray(cda_map).astype(np.int64)
    diff = np.asarray(t2, np.float64) - np.asarray(t1, np.float64)   # (M, N, B)
    if diff.ndim == 2:
        diff = diff[:, :, None]
    n_bands = diff.shape[2]
    if band_labels is None:
        band_labels = [f"band{i + 1}" for i in range(n_bands)]
    k_max = int(lab.max()) if lab.size else 0
    n_valid = int(np.count_nonzero(lab >= 0))
    flat = np.where(lab > 0, lab, 0).ravel()                          # (M*N,)
    counts = np.bincount(flat, minlength=k_max + 1)                   # (K+1,)
    d = diff.reshape(-1, n_bands)                                     # (M*N, B)
    sums = np.stack([np.bincount(flat, weights=np.nan_to_num(d[:, b]),
                                 minlength=k_max + 1) for b in range(n_bands)],
                    axis=1)                                           # (K+1, B)
    rows = []
    for k in range(1, k_max + 1):
        c = int(counts[k])
        mean = (sums[k] / c).tolist() if c else [None] * n_bands
        rows.append({
            "type": k,
            "pixels": c,
            "fraction": c / n_valid if n_valid else None,
            "area_m2": c * pixel_area_m2 if pixel_area_m2 is not None else None,
            "mean_change": dict(zip(band_labels, mean)),
        })
    return rows


def score(gt, cda_map, ignore=255, counts=None):
    """The ``metrics`` section of ``report.json``.

    Parameters
    ----------
    gt : ndarray of int, shape (M, N)
        Ground truth: 0 unchanged, 1..C change classes, ``ignore`` unlabelled.
    cda_map : ndarray of int, shape (M, N)
        0 unchanged, 1..K change types, negative masked.
    ignore : int, default 255
    counts : ndarray of int, optional
        Pixels each entry stands for (:class:`drl_np.metrics.PairCounts`),
        for a map scored from its pair counts.

    Returns
    -------
    dict
        ``binary`` (:func:`drl_np.metrics.binary_change_accuracy`) always;
        when ``gt`` has more than one change class also ``multiclass``
        (:func:`drl_np.metrics.change_analysis_accuracy`: ACC, kappa,
        matching) and ``type_accuracy``
        (:func:`drl_np.metrics.change_type_accuracy`: per-type producer's and
        user's accuracy, the class-by-type confusion matrix, table rows).
    """
    from . import metrics

    gt = np.asarray(gt)
    kw = {"ignore": ignore, "counts": counts}
    out = {"binary": metrics.binary_change_accuracy(gt, cda_map, **kw).as_dict()}
    present = (gt > 0) & (gt != ignore)
    if counts is not None:
        present &= np.asarray(counts) > 0
    if np.unique(gt[present]).size > 1:
        out["multiclass"] = metrics.change_analysis_accuracy(gt, cda_map, **kw).as_dict()
        out["type_accuracy"] = metrics.change_type_accuracy(gt, cda_map, **kw).to_dict()
    return out


AREA_COLUMNS = ("type", "pixels", "fraction", "area_m2", "area_ha")


#: Prefix of the mean change columns of ``areas.csv``: the mean of T2 − T1.
MEAN_CHANGE_PREFIX = "mean_t2_minus_t1_"


def areas_csv(rows):
    """CSV text of :func:`change_types` rows: one row per change type with
    ``type, pixels, fraction, area_m2, area_ha`` and
    ``mean_t2_minus_t1_<band>`` columns (the mean change T2 − T1 in input
    units; empty cells where unknown). Numbers are written in full precision
    (Python's shortest round-trip form)."""
    bands = list(rows[0]["mean_change"]) if rows else []
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(AREA_COLUMNS) + [f"{MEAN_CHANGE_PREFIX}{b}" for b in bands])

    def cell(v):
        return "" if v is None else (repr(float(v)) if isinstance(v, float) else v)

    for r in rows:
        area = r["area_m2"]
        w.writerow([r["type"], r["pixels"], cell(r["fraction"]), cell(area),
                    cell(area / 1e4 if area is not None else None)]
                   + [cell(r["mean_change"][b]) for b in bands])
    return buf.getvalue()


def build_report(result, *, t1, t2, inputs, pixel_area=(None, "unknown"),
                 metrics=None, timings=None, outputs=None, band_labels=None):
    """Assemble ``report.json``.

    Parameters
    ----------
    result : AnalysisResult
    t1, t2 : ndarray, shape (M, N, B)
        The analysed dates (input units, bands selected).
    inputs : dict
        Paths, bands, nodata and other facts about the inputs.
    pixel_area : (float or None, str)
        Pixel area and its unit (from :func:`drl_np.io.pixel_area` or
        ``--pixel-size``).
    metrics : dict, optional
        :func:`score` of the map when ground truth is given.
    timings : dict, optional
        Extra stage timings (reading, writing) merged with ``result.timings``.
    outputs : list of str, optional
        Names of the written files.

    Returns
    -------
    dict
        JSON-ready (plain Python types, NaN as ``None``).
    """
    area, unit = pixel_area
    cda = np.asarray(result.cda_map)
    rows = change_types(cda, t1, t2, area, band_labels)
    n_masked = int(np.count_nonzero(cda < 0))
    n_unchanged = int(np.count_nonzero(cda == 0))
    n_changed = int(np.count_nonzero(cda > 0))
    n_regions = None
    if result.regions is not None:
        n_regions = getattr(result.regions, "n_regions", None)
        if n_regions is None and hasattr(result.regions, "__len__"):
            n_regions = len(result.regions)
    report = {
        "drl_np_report": 1,
        "method": result.method,
        "inputs": inputs,
        "params": dict(result.params),
        "seed": result.params.get("random_state", result.params.get("seed")),
        "versions": package_versions(),
        "shape": list(cda.shape),
        "thresholds": dict(result.thresholds),
        "regions": n_regions,
        # the types the map holds (a peer asked for K types may find none)
        "n_change_types": sum(1 for r in rows if r["pixels"] > 0),
        "n_change_types_requested": int(result.n_change_types),
        "schedule_maps": sorted(int(k) for k in result.maps),
        "pixel_area": {"value": area, "unit": unit},
        "totals": {
            "valid_pixels": n_unchanged + n_changed,
            "masked_pixels": n_masked,
            "unchanged_pixels": n_unchanged,
            "changed_pixels": n_changed,
            "changed_area_m2": n_changed * area if area is not None else None,
        },
        "change_types": rows,
        "timings": {**dict(result.timings), **(timings or {})},
        # DRLnet's fit of its pseudo labels per stage (empty for other methods)
        "fit_of_pseudo_labels": dict(getattr(result, "diagnostics", {})),
        "peak_memory_mib": peak_memory_mib(),
    }
    if metrics is not None:
        report["metrics"] = metrics
    if outputs is not None:
        report["outputs"] = list(outputs)
    return to_jsonable(report)
