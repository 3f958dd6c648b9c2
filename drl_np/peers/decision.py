"""Binary decision rules: one threshold on a change-intensity map.

Every rule works on a 1-D array of valid intensities and returns a threshold in
the units of those values; a pixel is changed when its value is above it.
"""
import numpy as np

__all__ = ["DECISION_RULES", "kmeans_threshold", "threshold_values"]

DECISION_RULES = ("ggki", "ki", "otsu", "kmeans")

_KMEANS_MAX_ITER = 300


def kmeans_threshold(values):
    """Threshold of a deterministic two-cluster K-means of 1-D ``values``.

    Parameters
    ----------
    values : ndarray, shape (P,)
        Finite values, at least two distinct.

    Returns
    -------
    float
        Midpoint of the two cluster means: values above it belong to the
        cluster with the larger mean.

    Notes
    -----
    In one dimension Lloyd's algorithm for k = 2 is the iteration
    ``t <- (mean(v <= t) + mean(v > t)) / 2``. It is run from three starts
    (the mean, the mid-range and the median) and the partition with the
    smallest within-cluster sum of squares is kept, so no random draw is
    needed and the result is the same on every call.

    Examples
    --------
    >>> kmeans_threshold(np.array([0.0, 1.0, 2.0, 10.0, 11.0]))
    5.75
    """
    v = np.sort(np.asarray(values, dtype=np.float64).ravel())
    csum = np.concatenate(([0.0], np.cumsum(v)))       # (P + 1,)
    csq = np.concatenate(([0.0], np.cumsum(v * v)))    # (P + 1,)
    starts = (v.mean(), 0.5 * (v[0] + v[-1]), np.median(v))
    best_t, best_sse = None, np.inf
    for t in starts:
        t, sse = _lloyd_1d(v, csum, csq, t)
        if sse < best_sse:
            best_t, best_sse = t, sse
    return float(best_t)


def _lloyd_1d(v, csum, csq, t):
    """Lloyd iterations of 1-D two-means on sorted ``v`` from threshold ``t``."""
    p = v.shape[0]
    sse = np.inf
    for _ in range(_KMEANS_MAX_ITER):
        k = int(np.searchsorted(v, t, side="right"))   # v[:k] <= t
        k = min(max(k, 1), p - 1)
        m1 = csum[k] / k
        m2 = (csum[p] - csum[k]) / (p - k)
        sse = (csq[p] - csum[k] ** 2 / k - (csum[p] - csum[k]) ** 2 / (p - k))
        t_new = 0.5 * (m1 + m2)
        if int(np.searchsorted(v, t_new, side="right")) == k:
            return t_new, sse
        t = t_new
    return t, sse


def threshold_values(values, rule):
    """Threshold of ``values`` (P,) by ``rule`` in :data:`DECISION_RULES`.

    ``"ggki"`` and ``"ki"`` come from :mod:`drl_np.ggki`, ``"otsu"`` from
    :func:`skimage.filters.threshold_otsu` (256 bins) and ``"kmeans"`` from
    :func:`kmeans_threshold`. Values must be finite with two distinct ones.
    A value is changed when it is strictly above the returned threshold
    (:mod:`drl_np.ggki` selects ``value >= T``, so its ``T`` is moved one
    ulp down). NaN means the rule found no threshold.
    """
    if rule == "kmeans":
        return kmeans_threshold(values)
    if rule == "otsu":
        from skimage.filters import threshold_otsu
        return float(threshold_otsu(values, nbins=256))
    from drl_np import ggki  # imported here: written alongside this module
    t = float(ggki.threshold_values(values, method=rule))
    return float(np.nextafter(t, -np.inf)) if np.isfinite(t) else t
