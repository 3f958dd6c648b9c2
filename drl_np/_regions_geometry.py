"""Private geometry of :mod:`drl_np.regions`: overlay, centres, windows.

Every function here computes on clean input (house rule 2): label maps are
int64 (M, N) with -1 at masked pixels, images are float64 (M, N, B). None of
them loops over regions in Python.
"""
import numba
import numpy as np
from skimage.measure import label as _cc_label

__all__ = []

#: Pixel connectivity of a region: 1 = 4-neighbourhood (edges), as
#: skimage's SLIC ``enforce_connectivity`` uses in 2-D.
CONNECTIVITY = 1


def _overlay(labels1, labels2):
    """Regions of the overlay of two segmentations, split into connected parts.

    Parameters
    ----------
    labels1, labels2 : ndarray of int64, shape (M, N)
        Segment labels of each date, >= 0 on valid pixels, -1 on masked ones.
        A pixel is valid iff it is >= 0 in both maps.

    Returns
    -------
    labels : ndarray of int64, shape (M, N)
        Region of each pixel, 0..n-1 numbered in raster order of each
        region's first pixel; -1 where either input is -1. Two pixels share a
        region iff they have the same pair (labels1, labels2) and are joined
        by a 4-connected path of pixels with that pair.
    """
    valid = (labels1 >= 0) & (labels2 >= 0)
    n2 = int(labels2.max()) + 1 if valid.any() else 1
    key = labels1 * n2 + labels2                       # (M, N) pair code
    key[~valid] = -1
    # skimage.measure.label joins equal neighbours; background -> 0.
    cc = _cc_label(key, background=-1, connectivity=CONNECTIVITY)
    out = cc.astype(np.int64) - 1                      # (M, N), -1 masked
    return _raster_order(out)


def _raster_order(labels):
    """Renumber ``labels`` (M, N) so regions are 0..n-1 by first raster pixel."""
    flat = labels.ravel()                              # (M*N,)
    keep = flat >= 0
    ids, first = np.unique(flat[keep], return_index=True)
    if ids.size == 0:
        return labels
    if (np.all(ids == np.arange(ids.size)) and np.all(np.diff(first) > 0)):
        return labels                                  # already in order
    rank = np.empty(int(ids.max()) + 1, dtype=np.int64)
    rank[ids[np.argsort(first, kind="stable")]] = np.arange(ids.size)
    out = np.full(flat.shape, -1, dtype=np.int64)
    out[keep] = rank[flat[keep]]
    return out.reshape(labels.shape)


def _pixel_labels(valid):
    """Every valid pixel its own region, raster order; -1 elsewhere. (M, N)."""
    out = np.full(valid.shape, -1, dtype=np.int64)
    out[valid] = np.arange(int(valid.sum()), dtype=np.int64)
    return out


def _centres(labels, n):
    """Size of each region and the member pixel nearest its centroid.

    Parameters
    ----------
    labels : ndarray of int64, shape (M, N)
        Regions 0..n-1, -1 masked.
    n : int
        Number of regions.

    Returns
    -------
    sizes : ndarray of int64, shape (n,)
    centres : ndarray of int64, shape (n, 2)
        (row, col) of each region's centre.

    Notes
    -----
    With S the size and (R, C) the coordinate sums of a region, a member
    pixel (r, c) has squared distance to the centroid
    ``((S r - R)^2 + (S c - C)^2) / S^2``. The numerators ``S r - R`` are
    exact integers, so equal distances compare equal and ties go to the
    first member in raster order (a stable lexsort).
    """
    flat = labels.ravel()                              # (M*N,)
    idx = np.flatnonzero(flat >= 0)                    # (p,) raster order
    lab = flat[idx]                                    # (p,)
    ncols = labels.shape[1]
    rows, cols = np.divmod(idx, ncols)                 # (p,), (p,)
    sizes = np.bincount(lab, minlength=n).astype(np.int64)          # (n,)
    rsum = np.bincount(lab, weights=rows, minlength=n).astype(np.int64)
    csum = np.bincount(lab, weights=cols, minlength=n).astype(np.int64)
    s = sizes[lab]
    dr = (s * rows - rsum[lab]).astype(np.float64)     # (p,) exact integers
    dc = (s * cols - csum[lab]).astype(np.float64)
    dist = dr * dr + dc * dc                           # S^2 * squared distance
    order = np.lexsort((dist, lab))                    # by region, then dist
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))           # (n,)
    best = order[starts]                               # (n,) nearest member
    centres = np.stack((rows[best], cols[best]), axis=1).astype(np.int64)
    return sizes, centres                              # (n,), (n, 2)


def _symmetric_index(i, size):
    """Index into an axis of length ``size`` under symmetric padding.

    Same as reading ``np.pad(a, pad, mode="symmetric")`` at ``i + pad``,
    for any integer offset ``i`` (also beyond one reflection): the axis
    repeats as ``a, a[::-1], a, ...`` with period ``2 * size``.
    """
    j = np.mod(i, 2 * size)
    return np.where(j < size, j, 2 * size - 1 - j)


def _windows(image, centres, window):
    """The ``window`` x ``window`` patch at each centre, flattened.

    Parameters
    ----------
    image : ndarray of float64, shape (M, N, B)
    centres : ndarray of int64, shape (n, 2)
    window : int
        Odd side length w.

    Returns
    -------
    x : ndarray of float64, shape (n, w*w*B)
        ``x[i, (dy*w + dx)*B + b] = image[r + dy - h, c + dx - h, b]`` with
        h = w // 2, (r, c) = centres[i], read with symmetric padding.
    """
    m, ncols, bands = image.shape
    half = window // 2
    off = np.arange(window) - half                     # (w,)
    r = _symmetric_index(centres[:, 0, None] + off, m)     # (n, w)
    c = _symmetric_index(centres[:, 1, None] + off, ncols)  # (n, w)
    patch = image[r[:, :, None], c[:, None, :]]        # (n, w, w, B)
    return patch.reshape(centres.shape[0], window * window * bands)  # (n, w*w*B)


def _mean_windows(image, labels, n, window, engine="numba"):
    """The mean of the ``window`` x ``window`` patches of each region's member
    pixels, flattened as :func:`_windows` (**choice** ``region_sample='mean'``).

    Parameters
    ----------
    image : ndarray of float64, shape (M, N, B)
    labels : ndarray of int64, shape (M, N)
        Regions 0..n-1, -1 masked.
    n : int
    window : int
    engine : {'numba', 'numpy'}
        :func:`_window_sums` or its NumPy twin :func:`_window_sums_numpy`
        (the same sums in the same order: equal bit for bit).

    Returns
    -------
    x : ndarray of float64, shape (n, w*w*B)
        ``x[i, (dy*w + dx)*B + b]`` = mean over the members (r, c) of region
        i of ``image[r + dy - h, c + dx - h, b]``, read with symmetric
        padding as :func:`_windows` reads it.
    """
    flat = labels.ravel()
    idx = np.flatnonzero(flat >= 0)                    # (p,) raster order
    lab = flat[idx]
    rows, cols = np.divmod(idx, labels.shape[1])
    sizes = np.bincount(lab, minlength=n).astype(np.float64)         # (n,)
    sums = np.zeros((n, window * window * image.shape[2]))
    if engine == "numba":
        _window_sums(np.ascontiguousarray(image, np.float64), lab, rows, cols, window, sums)
    else:
        _window_sums_numpy(image, lab, rows, cols, window, sums)
    return sums / np.maximum(sizes, 1.0)[:, None]


def _window_sums_numpy(image, lab, rows, cols, window, out):
    """``out[l, (dy*w + dx)*B + b] += image[r + dy - h, c + dx - h, b]`` over
    the member pixels (r, c) = (``rows[i]``, ``cols[i]``) of region
    ``l = lab[i]``, i in raster order. One offset (dy, dx) at a time: the
    members' shifted values are summed per region with ``bincount`` (which
    adds in the order of i), so memory is one (p, B) array, never the
    (p, w*w*B) windows of every member."""
    m, ncols, bands = image.shape
    half = window // 2
    for dy in range(window):
        r = _symmetric_index(rows + dy - half, m)      # (p,)
        for dx in range(window):
            c = _symmetric_index(cols + dx - half, ncols)
            shifted = image[r, c]                      # (p, B)
            for b in range(bands):
                out[:, (dy * window + dx) * bands + b] += np.bincount(lab, weights=shifted[:, b],
                                                                      minlength=out.shape[0])


@numba.njit(cache=True, nogil=True)
def _window_sums(image, lab, rows, cols, window, out):
    """Compiled :func:`_window_sums_numpy`: one pass over the member pixels,
    each adding its whole window to its region's row of ``out`` (the row
    stays in cache), every entry's terms in the order of i, as ``bincount``
    adds them. ``out`` starts at zero."""
    m, ncols, bands = image.shape
    half = window // 2
    for i in range(lab.shape[0]):
        row = out[lab[i]]
        for dy in range(window):
            r = _symmetric_index_1(rows[i] + dy - half, m)
            for dx in range(window):
                c = _symmetric_index_1(cols[i] + dx - half, ncols)
                base = (dy * window + dx) * bands
                for b in range(bands):
                    row[base + b] += image[r, c, b]


@numba.njit(inline="always")
def _symmetric_index_1(i, size):
    """:func:`_symmetric_index` of one integer."""
    j = i % (2 * size)                                 # Python's sign rule: 0 <= j < 2 size
    return j if j < size else 2 * size - 1 - j
