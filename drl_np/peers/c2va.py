"""Compressed change vector analysis (C2VA, Bovolo, Marchesi & Bruzzone 2012).

The B-band change vector ``d = z2 - z1`` (standardised bands, as in
:mod:`.cva`) is compressed to two numbers: its magnitude ``rho = ||d||`` and
one direction angle ``theta`` in [0, pi], the angle between ``d`` and the
diagonal ``(1, ..., 1) / sqrt(B)``. Changed pixels have a large ``rho``; the
kinds of change are annular sectors of the (rho, theta) half-disc, found here
between the deepest valleys of the histogram of ``theta`` of the changed
pixels.
"""
import logging

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks, peak_prominences

from ..clustering import kmeans

__all__ = ["SECTOR_RULES", "c2va_polar", "valley_bounds", "kmeans_bounds", "sector_types"]

logger = logging.getLogger("drl_np")

SECTOR_RULES = ("valleys", "kmeans")

#: Width (standard deviation, in bins) of the Gaussian that smooths the
#: direction histogram before its valleys are sought.
SMOOTH_BINS = 2.0


def c2va_polar(diff):
    """Magnitude and C2VA direction of change vectors ``diff`` (P, B).

    Returns
    -------
    rho : ndarray, shape (P,)
        ``||d||``.
    theta : ndarray, shape (P,)
        Direction in [0, pi]; ``pi / 2`` for a zero vector, which has no
        direction (**choice** ``c2va_zero``).

    Notes
    -----
    Bovolo et al. (2012), Eq. 2-3:

    .. math::

        \\rho = \\sqrt{\\sum_b d_b^2}, \\qquad
        \\theta = \\arccos\\Big(\\frac{1}{\\sqrt{B}}
                  \\frac{\\sum_b d_b}{\\rho}\\Big).

    ``theta`` is 0 when every band grows by the same amount, pi when every
    band falls by the same amount and pi/2 when the changes sum to zero.

    Examples
    --------
    >>> rho, theta = c2va_polar(np.array([[1.0, 1.0, 1.0, 1.0], [-2.0, 0.0, 0.0, 0.0]]))
    >>> rho.tolist(), np.degrees(theta).round(6).tolist()
    ([2.0, 2.0], [0.0, 120.0])
    """
    b = diff.shape[1]
    rho = np.sqrt(np.einsum("pb,pb->p", diff, diff))                 # (P,)
    safe = np.where(rho > 0, rho, 1.0)
    cos = np.where(rho > 0, diff.sum(axis=1) / (np.sqrt(b) * safe), 0.0)
    return rho, np.arccos(np.clip(cos, -1.0, 1.0))


def valley_bounds(theta, n_sectors, n_bins=180):
    """Sector bounds at the ``n_sectors - 1`` deepest valleys of the histogram.

    Parameters
    ----------
    theta : ndarray, shape (P,)
        Directions of the changed pixels, in [0, pi].
    n_sectors : int
        Number of sectors K wanted.
    n_bins : int, default 180
        Bins of the histogram over [0, pi] (180: one degree each).

    Returns
    -------
    ndarray, shape (n_sectors - 1,) or None
        Increasing bounds (bin centres of the chosen valleys); ``None`` when
        the histogram has fewer than ``n_sectors - 1`` valleys.

    Notes
    -----
    The histogram is smoothed with a Gaussian of :data:`SMOOTH_BINS` bins
    (zero outside [0, pi]). A valley is a local minimum (the middle of a flat
    minimum, such as an empty gap between two modes); its depth is its
    prominence as a peak of the negated histogram: the height of the lower
    of the two highest points reached on either side before a deeper valley,
    minus its own height. The deepest valleys are kept (ties: the leftmost;
    **choice** ``c2va_sectors``).
    """
    counts, edges = np.histogram(theta, bins=n_bins, range=(0.0, np.pi))
    smooth = gaussian_filter1d(counts.astype(np.float64), SMOOTH_BINS, mode="constant")
    valleys, _ = find_peaks(-smooth, plateau_size=1)
    if valleys.size < n_sectors - 1:
        return None
    depth = peak_prominences(-smooth, valleys)[0]
    keep = valleys[np.lexsort((valleys, -depth))[:n_sectors - 1]]
    centres = 0.5 * (edges[:-1] + edges[1:])                          # (n_bins,)
    return np.sort(centres[keep])


def kmeans_bounds(theta, n_sectors, rng):
    """Sector bounds of a 1-D K-means of ``theta``: midpoints of sorted centres.

    In one dimension each K-means cluster is an interval, so its nearest-
    centre partition is the sector partition at these bounds (**choice**
    ``c2va_fallback`` when the valleys fail).
    """
    _, centres = kmeans(theta[:, None], n_sectors, rng, what="changed pixels")
    c = np.sort(centres[:, 0])                                        # (K,)
    return 0.5 * (c[:-1] + c[1:])


def sector_types(theta, changed, n_types, rng, rule="valleys", n_bins=180):
    """C2VA change types: 0 unchanged, 1..K the direction sector of a changed pixel.

    Parameters
    ----------
    theta : ndarray, shape (P,)
        Directions of all pixels.
    changed : ndarray of bool, shape (P,)
        The magnitude decision.
    n_types : int
        K wanted.
    rng : OctaveRandom
        Stream for the K-means seed (rule ``"kmeans"`` or its fallback).
    rule : {"valleys", "kmeans"}
        How the sector bounds are found (:func:`valley_bounds`,
        :func:`kmeans_bounds`). ``"valleys"`` falls back to ``"kmeans"``
        when the histogram has too few valleys or a sector would be empty
        (``info["sectors"]`` says which rule made the map).
    n_bins : int
        Histogram bins of ``"valleys"``.

    Returns
    -------
    labels : ndarray of int, shape (P,)
        Types numbered by decreasing size (ties: first occurrence).
    info : dict
        ``sectors`` (the rule used), ``sector_bounds`` (K - 1 angles, radians)
        and ``type_sectors`` ([lo, hi] per type 1..K).

    Notes
    -----
    K is capped at the number of distinct changed directions, with a
    warning (zero changed pixels: every label 0), as
    :func:`drl_np.clustering.change_types` does.
    """
    labels = np.zeros(theta.shape[0], dtype=np.int64)
    th = theta[changed]                                               # (n_changed,)
    k = min(int(n_types), np.unique(th).size)
    if k < n_types:
        logger.warning("only %d distinct changed directions for %d change types; using %d",
                       np.unique(th).size, n_types, k)
    info = {"sectors": rule, "sector_bounds": [], "type_sectors": []}
    if k == 0:
        return labels, info
    bounds = np.zeros(0)
    if k > 1:
        bounds = valley_bounds(th, k, n_bins) if rule == "valleys" else None
        if bounds is None:
            if rule == "valleys":
                logger.info("direction histogram has fewer than %d valleys; "
                            "using 1-D K-means of theta", k - 1)
            info["sectors"] = "kmeans"
            bounds = kmeans_bounds(th, k, rng)
    sector = np.searchsorted(bounds, th, side="right")                # (n_changed,) 0..K-1
    if np.bincount(sector, minlength=k).min() == 0:                   # a valley-made sector is empty
        info["sectors"] = "kmeans"
        bounds = kmeans_bounds(th, k, rng)
        sector = np.searchsorted(bounds, th, side="right")
    rank = _rank_by_size(sector, k)
    labels[changed] = rank[sector] + 1
    edges = np.concatenate(([0.0], bounds, [np.pi]))                  # (K + 1,)
    order = np.argsort(rank)                                          # sector of type 1, 2, ...
    info["sector_bounds"] = [float(v) for v in bounds]
    info["type_sectors"] = [[float(edges[s]), float(edges[s + 1])] for s in order]
    return labels, info


def _rank_by_size(sector, k):
    """Rank (0 = largest) of each of ``k`` sectors; ties by first occurrence."""
    sizes = np.bincount(sector, minlength=k)
    first = np.full(k, sector.size, dtype=np.int64)
    np.minimum.at(first, sector, np.arange(sector.size))
    order = np.lexsort((first, -sizes))
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    return rank
