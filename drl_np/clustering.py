"""Change-type clustering of DRLnet: K-means initialisation, the nearest-
centroid assignment of Eq. 8 and the online centroid update of Eq. 9.

Label convention everywhere: 0 = unchanged, 1..K = change types; the
centroid matrix ``M`` has one row per label, row 0 being the mean DR of the
unchanged samples (``docs/method.md`` §5).
"""
import logging
import time

import numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from ._validation import InputError

__all__ = ["kmeans", "change_types", "assign_nearest", "update_centroids_online", "init_centroids",
           "nearest_types", "one_hot"]

logger = logging.getLogger("drl_np")
#: k-means of at least this many samples says when it starts and ends
_LOG_KMEANS_FROM = 20000


def kmeans(samples, n_clusters, rng, n_init=10, what="samples", sample_weight=None):
    """K-means of ``samples`` (n, f) into ``n_clusters``, seeded from ``rng``.

    Returns ``(labels, centres)`` with labels 0..K-1 ordered by decreasing
    cluster size (ties by first occurrence), so that type 1 of a map is the
    most frequent (**choice** ``type_order``). With ``sample_weight`` (n,)
    each sample counts that much in the centres, the inertia and the sizes
    (**choice** ``region_weight``: a region weighs its pixels).

    Raises
    ------
    InputError
        When there are fewer samples than clusters.
    """
    samples = np.asarray(samples, dtype=np.float64)
    n = samples.shape[0]
    if n < n_clusters:
        raise InputError(
            f"only {n} {what} for {n_clusters} clusters; use more regions "
            "(a larger n_segments or unit='pixel') or fewer clusters (a smaller schedule)")
    model = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=rng.draw_seed())
    # one thread: the problems are small, OpenMP threads spin badly on a busy
    # 2-core machine (40x slower seen), and the result cannot depend on the
    # thread count
    tic = time.perf_counter()
    if n >= _LOG_KMEANS_FROM:
        logger.info("k-means of %d %s into %d clusters (%d starts)...", n, what, n_clusters,
                    n_init)
    with threadpool_limits(limits=1):
        raw = model.fit_predict(samples, sample_weight=sample_weight)
    if n >= _LOG_KMEANS_FROM:
        logger.info("k-means of %d %s done in %.1f s", n, what, time.perf_counter() - tic)
    sizes = np.bincount(raw, weights=sample_weight, minlength=n_clusters)
    first = np.full(n_clusters, n, dtype=np.int64)
    np.minimum.at(first, raw, np.arange(n))
    order = np.lexsort((first, -sizes))            # largest cluster first
    rank = np.empty(n_clusters, dtype=np.int64)
    rank[order] = np.arange(n_clusters)
    return rank[raw], model.cluster_centers_[order]


def change_types(samples, changed, n_types, rng, sample_weight=None):
    """0 for unchanged samples, 1..K for the K-means types of the changed ones
    (each weighing ``sample_weight``, (n,), when given).

    When fewer (distinct) samples changed than ``n_types``, K is capped at
    their number (zero changed samples give an all-unchanged labelling) and a
    warning is logged (**choice** ``cap_types``): a threshold that finds little change
    is an answer about the data, not an error of the user.

    Returns
    -------
    labels : ndarray of int (n,)
    centres : ndarray (K, f)
        Centres of the change types (K may be below ``n_types``).
    """
    labels = np.zeros(samples.shape[0], dtype=np.int64)
    n_changed = int(np.count_nonzero(changed))
    n_distinct = np.unique(samples[changed], axis=0).shape[0] if 1 < n_types <= n_changed else n_changed
    k = min(int(n_types), n_distinct)
    if n_changed == 0:
        logger.info("no changed region: no change types")
    elif k < n_types:
        logger.warning("only %d changed regions for %d change types (%d distinct); using %d",
                       n_changed, n_types, n_distinct, k)
    if k == 0:
        return labels, np.zeros((0, samples.shape[1]))
    weight = None if sample_weight is None else sample_weight[changed]
    types, centres = kmeans(samples[changed], k, rng, what="changed regions", sample_weight=weight)
    labels[changed] = types + 1
    return labels, centres


def init_centroids(dr, changed, n_types, rng, count_init="kmeans", sample_weight=None):
    """Initial assignment ``s^t``, centroids ``M^t`` and counts (``docs/method.md`` §5, §7).

    Parameters
    ----------
    dr : ndarray (n, r)
        Difference representations of all samples.
    changed : ndarray of bool (n,)
        The change flags lambda^t.
    n_types : int
        K_t.
    count_init : 'kmeans' or int
        Initial per-cluster counts of Eq. 9: the K-means cluster sizes
        (default) or a constant such as DCN's 100.
    sample_weight : ndarray (n,), optional
        Weights of the K-means of the changed DRs (:func:`change_types`);
        the counts stay counts of samples, as Eq. 9 counts them.

    Returns
    -------
    assign : ndarray of int (n,)
        0 for unchanged samples, 1..K_t for changed ones.
    centres : ndarray (1 + K, r)
        Row 0: the mean DR of the unchanged samples (zeros if none); K is
        K_t, or fewer when fewer samples changed (:func:`change_types`).
    counts : ndarray of float (1 + K_t,)
    """
    assign, change_centres = change_types(dr, changed, n_types, rng, sample_weight)
    unchanged_centre = dr[~changed].mean(axis=0) if (~changed).any() else np.zeros(dr.shape[1])
    centres = np.vstack([unchanged_centre, change_centres])          # (1 + K, r)
    if count_init == "kmeans":
        counts = np.bincount(assign, minlength=centres.shape[0]).astype(np.float64)
    else:
        counts = np.full(centres.shape[0], float(count_init))
    return assign, centres, counts


def assign_nearest(dr, centres):
    """Eq. 8: the change type (1..K) of the nearest change centroid, per row.

    ``dr`` (m, r), ``centres`` (1 + K, r); row 0 (unchanged) is never chosen.
    """
    sq = ((dr[:, None, :] - centres[None, 1:, :]) ** 2).sum(axis=2)  # (m, K)
    return np.argmin(sq, axis=1) + 1


def nearest_types(samples, changed, centres, block=65536):
    """Types of new samples from fitted change-type centres (Eq. 8).

    Parameters
    ----------
    samples : ndarray (n, f)
    changed : ndarray of bool (n,)
    centres : ndarray (K, f)
        Row k - 1 is the centre of type k (:func:`change_types`' order).
    block : int
        Rows per distance block, which bounds the (block, K) memory.

    Returns
    -------
    labels : ndarray of int (n,)
        0 where not changed, else 1 + the index of the nearest centre; 0
        everywhere when there is no centre (nothing changed at fit).
    """
    labels = np.zeros(samples.shape[0], dtype=np.int64)
    if centres.shape[0] == 0:
        return labels
    idx = np.flatnonzero(changed)
    for start in range(0, idx.size, block):
        rows = samples[idx[start:start + block]]
        sq = ((rows[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)   # (m, K)
        labels[idx[start:start + block]] = np.argmin(sq, axis=1) + 1
    return labels


def update_centroids_online(centres, counts, dr, assign):
    """Eq. 9, one sample at a time in the given order (DCN's update):
    ``c_k += 1; m_k <- m_k - (1 / c_k) (m_k - d(x_i))``. Updates in place."""
    for d_i, k in zip(dr, assign):
        counts[k] += 1.0
        centres[k] -= (1.0 / counts[k]) * (centres[k] - d_i)
    return centres, counts


def one_hot(labels, n_classes):
    """(n, n_classes) float64 one-hot rows of integer labels 0..n_classes-1."""
    out = np.zeros((labels.shape[0], n_classes))
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out
