"""The changed/unchanged decision: every threshold rule under one convention,
and DRLnet's change flags (Eq. 2).

Convention everywhere in drl_np: **a value is changed when it is strictly
above the threshold** (``value > tau``), as in scikit-image's
``image > threshold_otsu(image)``. Rules whose native form is ``value >= T``
(GGKI and KI, :mod:`drl_np.ggki`) are turned into it with the largest value
below ``T``, a value of the data itself, so the split is exactly the rule's.
A rule that finds no threshold returns NaN, and ``value > NaN`` flags nothing.
"""
import numpy as np

from ._validation import InputError
from .ggki import ggki_threshold, ki_threshold

__all__ = ["CHANGE_SPACES", "DECISION_RULES", "THRESHOLD_STATISTICS", "change_flags", "change_statistic",
           "check_member_windows", "check_statistic_space", "decide", "kmeans_threshold", "scale_intensity",
           "threshold"]

DECISION_RULES = ("ggki", "ki", "otsu", "kmeans")
THRESHOLD_STATISTICS = ("squared", "magnitude")
#: Where Eq. 2's distance is measured (**choice** ``change_space``): between
#: the two dates' input samples, or between a network's features of them
CHANGE_SPACES = ("features", "input")

_KMEANS_MAX_ITER = 300


def threshold(values, rule="ggki", **options):
    """Threshold of the change magnitudes ``values`` by ``rule``.

    Parameters
    ----------
    values : array_like, any shape
        Change magnitudes; non-finite values are ignored.
    rule : {'ggki', 'ki', 'otsu', 'kmeans'}, default 'ggki'
        :func:`drl_np.ggki.ggki_threshold`, :func:`drl_np.ggki.ki_threshold`,
        :func:`skimage.filters.threshold_otsu` or :func:`kmeans_threshold`.
    **options
        Options of the GGKI/KI functions (``bins``, ``shape``, ...), or
        ``bins`` for Otsu (256 by default).

    Returns
    -------
    tau : float
        Changed is ``value > tau``. NaN when the rule finds no threshold:
        fewer than 4 finite values (GGKI, KI, Otsu), fewer than 2 distinct
        ones, or no valid candidate.

    Raises
    ------
    InputError
        An unknown rule or option.

    Examples
    --------
    >>> v = np.array([0.1, 0.2, 0.15, 0.12, 3.0, 3.2])
    >>> float(threshold(v, "kmeans"))
    1.62125
    >>> (v > threshold(v, "otsu")).tolist()
    [False, False, False, False, True, True]
    """
    if rule not in DECISION_RULES:
        raise InputError(f"threshold rule must be one of {', '.join(DECISION_RULES)}, got {rule!r}")
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if rule in ("ggki", "ki"):
        fn = ggki_threshold if rule == "ggki" else ki_threshold
        T = fn(x, **options).threshold                 # native rule: changed if >= T
        below = x[x < T]
        return float(below.max()) if np.isfinite(T) and below.size else float("nan")
    bins = options.pop("bins", 256)
    if options or (rule == "kmeans" and bins != 256):
        raise InputError(f"threshold rule {rule!r} takes {'only bins' if rule == 'otsu' else 'no options'}, "
                         f"got {sorted(options) or ['bins']}")
    if x.size < 2 or not x.min() < x.max():
        return float("nan")
    if rule == "kmeans":
        return kmeans_threshold(x)
    if x.size < 4:
        return float("nan")
    from skimage.filters import threshold_otsu
    return float(threshold_otsu(x, nbins=bins))


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


def change_statistic(u1, u2, statistic="squared"):
    """The per-row change statistic of Eq. 2 between two representations
    (n, f): ``||u1 - u2||^2`` ('squared', the paper) or ``||u1 - u2||``
    ('magnitude', **choice** ``threshold_statistic``)."""
    distance = np.sum((u1 - u2) ** 2, axis=1)
    return distance if statistic == "squared" else np.sqrt(distance)


def check_statistic_space(region_statistic, change_space):
    """InputError naming the fix when ``region_statistic='pixels'`` (the
    change between input pixels) meets ``change_space='features'`` (the
    change between a network's features, which read whole windows)."""
    if region_statistic == "pixels" and change_space == "features":
        raise InputError("region_statistic 'pixels' measures change between the input pixels, and "
                         "change_space='features' between the network's features of whole windows; "
                         "use region_statistic 'interior' (--region-statistic interior), 'mean' or "
                         "'centre' with change_space='features'")


def check_member_windows(members, change_space, n_features):
    """:func:`check_statistic_space` for an estimator's ``members``: a
    feature-space statistic needs member windows of the samples' length
    ``n_features``, which the 1 x 1 members of 'pixels' are not."""
    if members is not None and members.n_features != n_features:
        check_statistic_space("pixels", change_space)


def decide(values, rule="ggki"):
    """Change flags of change statistics ``values`` (n,): ``values > tau``.

    When ``rule`` finds no threshold, Otsu's rule is tried (**choice**
    ``threshold_fallback``); when that finds none either, nothing is flagged
    and ``tau`` is ``inf``.

    Returns
    -------
    flags : ndarray of bool (n,)
    tau : float
        In the units of ``values``.
    """
    tau = threshold(values, rule)
    if not np.isfinite(tau) and rule != "otsu":
        tau = threshold(values, "otsu")
    if not np.isfinite(tau):
        return np.zeros(values.shape[0], dtype=bool), float("inf")
    return values > tau, float(tau)


def change_flags(h1, h2, rule="ggki", statistic="squared"):
    """Eq. 2: lambda_i = 1 when ||h1_i - h2_i||^2 is above the threshold.

    Parameters
    ----------
    h1, h2 : ndarray (n, f)
        The two dates' representations of each sample.
    rule : str, default 'ggki'
        One of :data:`DECISION_RULES`. When it finds no threshold, Otsu's
        rule is tried (**choice** ``threshold_fallback``); when that finds
        none either, nothing is flagged.
    statistic : {'squared', 'magnitude'}, default 'squared'
        Threshold the squared distances (Eq. 2 as written) or their square
        roots (**choice** ``threshold_statistic``): GGKI fits a different
        model to each, so the splits differ.

    Returns
    -------
    flags : ndarray of bool (n,)
    distance : ndarray (n,)
        ||h1 - h2||^2.
    tau : float
        The threshold in units of ``distance`` (squared); ``inf`` when
        nothing could be flagged.
    """
    distance = change_statistic(h1, h2, "squared")
    flags, tau = decide(distance if statistic == "squared" else np.sqrt(distance), rule)
    return flags, distance, tau if statistic == "squared" else tau * tau


def scale_intensity(values, value_range):
    """Change intensity in [0, 1]: ``(v - lo) / (hi - lo)`` of the change
    statistics ``values`` (n,) with ``value_range = (lo, hi)`` the range of
    the fitted samples, clipped to [0, 1] so that new samples beyond it stay
    in the map's range; zeros when the range is empty."""
    lo, hi = value_range
    if not hi > lo:
        return np.zeros(values.shape[0])
    return np.clip((values - lo) / (hi - lo), 0.0, 1.0)
