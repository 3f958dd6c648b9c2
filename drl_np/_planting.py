"""Computation behind :func:`drl_np.datasets.plant_transitions`, on input that
is already validated (house rule 2).

Steps, each one function: unlabelled land cover (SLIC superpixels and a
K-means of their mean spectra), the choice of transitions, the parcels of
each transition (grown over neighbouring superpixels of the source class),
the donor of each parcel (an offset onto target-class land found by FFT
correlation) and the radiometric model of the second date.
"""
from typing import NamedTuple, Tuple

import numpy as np
from scipy import ndimage as ndi
from scipy.signal import fftconvolve
from skimage.segmentation import slic
from sklearn.cluster import KMeans

#: Share of the scene a class needs to be a source or target of a transition.
MIN_CLASS_SHARE = 0.04
#: A parcel grows to a size drawn log-uniformly in this range (share of the scene).
PARCEL_SHARE = (0.0015, 0.012)


class Planted(NamedTuple):
    """What :func:`drl_np.datasets.plant_transitions` planted.

    Attributes
    ----------
    transitions : tuple of (int, int)
        ``(source, target)`` cover class of each type; type k is entry k - 1.
    pixels : tuple of int
        Pixels of each type (``(gt == k).sum()``).
    parcels : tuple of int
        Parcels (connected groups of superpixels) of each type.
    filled : tuple of int
        Pixels of each type whose donor placement fell outside the target
        class and that took the nearest target-class pixel instead.
    cover : ndarray of int16, shape (M, N)
        Cover class of every pixel of the first date, 0..n_classes-1.
    class_means : ndarray of float64, shape (n_classes, B)
        Mean value of each class, in the image's units.
    donor : ndarray of int64, shape (M, N)
        Flat index (``row * N + col``) of the image pixel each pixel of t2
        shows before the radiometric change: itself where unchanged.
    gain, offset : ndarray of float64, shape (B,)
        Per-band gain and offset of the second date (offset in image units).
    illumination : ndarray of float64, shape (M, N)
        The multiplicative illumination field of the second date.
    noise : ndarray of float64, shape (B,)
        Standard deviation of the second date's noise, in image units.
    """

    transitions: Tuple[Tuple[int, int], ...]
    pixels: Tuple[int, ...]
    parcels: Tuple[int, ...]
    filled: Tuple[int, ...]
    cover: np.ndarray
    class_means: np.ndarray
    donor: np.ndarray
    gain: np.ndarray
    offset: np.ndarray
    illumination: np.ndarray
    noise: np.ndarray


class PlantingError(Exception):
    """The scene cannot hold the requested transitions.

    ``args[0]`` states the fact; ``kind`` (``"uniform"``, ``"transitions"`` or
    ``"source"``) lets the public function name the remedy.
    """

    def __init__(self, message, kind):
        super().__init__(message)
        self.kind = kind


def band_spread(x):
    """Robust range of each band, the 2nd to 98th percentile, shape (B,)."""
    lo, hi = np.percentile(x.reshape(-1, x.shape[2]), [2, 98], axis=0)  # (B,) each
    return lo, np.maximum(hi - lo, 1e-12 * np.maximum(1.0, np.abs(hi)))


def land_cover(x, n_classes, n_segments, compactness, rng):
    """Superpixels (M, N) and the cover class (n_seg,) of each, from a K-means
    of the superpixels' mean spectra weighted by their size."""
    lo, spread = band_spread(x)
    z = np.clip((x - lo) / spread, -0.5, 1.5)  # (M, N, B), bands on one scale
    seg = slic(z, n_segments=n_segments, compactness=compactness, channel_axis=-1,
               convert2lab=False, start_label=0, enforce_connectivity=True)
    seg = seg.astype(np.int64)
    n_seg = int(seg.max()) + 1
    counts = np.bincount(seg.ravel(), minlength=n_seg)  # (n_seg,)
    sums = np.stack([np.bincount(seg.ravel(), weights=z[..., b].ravel(), minlength=n_seg)
                     for b in range(z.shape[2])], axis=1)  # (n_seg, B)
    means = sums / counts[:, None]
    if len(np.unique(np.round(means, 6), axis=0)) < n_classes:
        raise PlantingError(
            f"the image has fewer than n_classes={n_classes} distinct superpixels "
            "(it is too uniform)", "uniform")
    km = KMeans(n_clusters=n_classes, n_init=4, random_state=int(rng.integers(2**31 - 1)))
    classes = km.fit(means, sample_weight=counts).labels_.astype(np.int64)
    return seg, classes


def neighbours(seg):
    """Adjacent superpixels of each superpixel (4-connectivity), list of arrays."""
    n_seg = int(seg.max()) + 1
    a = np.concatenate([seg[:, :-1].ravel(), seg[:-1, :].ravel()])
    b = np.concatenate([seg[:, 1:].ravel(), seg[1:, :].ravel()])
    keep = a != b
    pairs = np.unique(np.stack([np.r_[a[keep], b[keep]], np.r_[b[keep], a[keep]]], 1), axis=0)
    starts = np.searchsorted(pairs[:, 0], np.arange(n_seg + 1))
    return [pairs[starts[i]:starts[i + 1], 1] for i in range(n_seg)]


def choose_transitions(areas, centres, inner, goals, rng):
    """K (source, target) pairs of distinct well-populated classes.

    Pairs are drawn without replacement with probability proportional to the
    distance of their class centres times the inner share (``inner``,
    (n_classes,)) of both classes, sources not used yet first; a source
    must keep twice its planted area.
    """
    total = areas.sum()
    populated = np.flatnonzero(areas >= MIN_CLASS_SHARE * total)
    pairs = [(s, t) for s in populated for t in populated if s != t]
    if not pairs:
        return []
    dist = np.array([np.linalg.norm(centres[s] - centres[t]) * inner[s] * inner[t]
                     for s, t in pairs]) + 1e-9
    order = rng.choice(len(pairs), size=len(pairs), replace=False, p=dist / dist.sum())
    chosen, budget = [], {}
    for fresh_only in (True, False):
        for i in order:
            s, t = pairs[i]
            k = len(chosen)
            if k == len(goals) or (s, t) in chosen:
                continue
            if fresh_only and s in budget:
                continue
            if budget.get(s, 0.0) + goals[k] > 0.5 * areas[s]:
                continue
            chosen.append((s, t))
            budget[s] = budget.get(s, 0.0) + goals[k]
    return chosen


def grow_parcels(seg_class, counts, nbrs, source, goal, blocked, total, rng):
    """Superpixels of the parcels of one type, a list of int arrays.

    Each parcel starts at a random free superpixel of the source class, an
    inner one (most neighbours of the source class) when there is one, and
    grows compactly: the next superpixel is the free source neighbour that
    touches the most members (ties at random), up to a size drawn
    log-uniformly in :data:`PARCEL_SHARE` (capped by what the type still
    needs); the type stops once ``goal`` pixels are planted. ``blocked``
    (n_seg,) bool is updated: a parcel and its neighbours are blocked, so
    parcels never touch.
    """
    inner = np.array([np.mean(seg_class[n] == seg_class[i]) if n.size else 0.0
                      for i, n in enumerate(nbrs)]) >= 0.5  # (n_seg,)
    parcels, got = [], 0
    lo, hi = (s * total for s in PARCEL_SHARE)
    while got < goal:
        free = (seg_class == source) & ~blocked
        if not free.any():
            break
        seeds = np.flatnonzero(free & inner)
        seeds = seeds if seeds.size else np.flatnonzero(free)
        size = min(np.exp(rng.uniform(np.log(lo), np.log(hi))), goal - got)
        first = int(rng.choice(seeds))
        members, touch = [first], {}
        area = counts[first]
        for j in nbrs[first]:
            touch[int(j)] = 1
        while area < size:
            cand = [j for j in touch if free[j] and j not in members]
            if not cand:
                break
            score = np.array([touch[j] for j in cand]) + rng.random(len(cand))
            j = cand[int(np.argmax(score))]
            members.append(j)
            area += counts[j]
            for n in nbrs[j]:
                touch[int(n)] = touch.get(int(n), 0) + 1
        members = np.array(members)
        blocked[members] = True
        for j in members:
            blocked[nbrs[j]] = True
        parcels.append(members)
        got += area
    return parcels, got


def inner_share(cover, n_classes, radius=2):
    """Share of each class's pixels more than ``radius`` pixels inside it
    (binary erosion by a (2r+1)^2 square), shape (n_classes,): low for thin
    or scattered classes such as roads and roofs."""
    out = np.zeros(n_classes)
    square = np.ones((2 * radius + 1, 2 * radius + 1), dtype=bool)
    for k in range(n_classes):
        mask = cover == k
        if mask.any():
            out[k] = ndi.binary_erosion(mask, square).sum() / mask.sum()
    return out


def find_donor(parcel, target, nearest, rng, rounds=3):
    """Flat donor index of every pixel of ``parcel`` (a (M, N) bool mask).

    The parcel's shape is slid over the image and placed where it covers the
    most target-class pixels (FFT correlation; a random one of the best
    placements); the covered pixels are copied from there. Pixels left
    uncovered get a placement of their own shape the same way, up to
    ``rounds`` placements in all; the rest take the nearest target-class
    pixel of their last placement (``nearest``: flat index of the nearest
    target pixel of every position). Returns (rows, cols, donor flat index,
    number of nearest-pixel fills).
    """
    rows, cols = np.nonzero(parcel)
    n_cols = target.shape[1]
    target_f = target.astype(np.float64)
    donor = np.full(rows.size, -1, dtype=np.int64)
    todo = np.ones(rows.size, dtype=bool)
    for _ in range(rounds):
        r, c = rows[todo], cols[todo]
        r0, c0 = r.min(), c.min()
        shape = np.zeros((r.max() - r0 + 1, c.max() - c0 + 1))  # (h, w) of what is left
        shape[r - r0, c - c0] = 1.0
        cover = np.rint(fftconvolve(target_f, shape[::-1, ::-1], mode="valid"))
        # cover: (M - h + 1, N - w + 1) target pixels under each placement
        best = np.flatnonzero(cover.ravel() >= cover.max() - 0.5)
        top, left = np.unravel_index(int(rng.choice(best)), cover.shape)
        dr, dc = r - r0 + top, c - c0 + left  # placement of the pixels left
        inside = target[dr, dc]
        where = np.flatnonzero(todo)
        donor[where[inside]] = dr[inside] * n_cols + dc[inside]
        last = nearest[dr, dc]
        todo[where[inside]] = False
        if not todo.any() or not inside.any():
            break
    n_fill = int(todo.sum())
    if n_fill:
        donor[todo] = last[~inside]
    return rows, cols, donor, n_fill


def illumination_field(shape, gradient, angle):
    """``1 + gradient * u``: a linear ramp u in [-1, 1] along ``angle`` (radians)."""
    rows, cols = shape
    r = np.arange(rows)[:, None] - (rows - 1) / 2.0
    c = np.arange(cols)[None, :] - (cols - 1) / 2.0
    u = r * np.cos(angle) + c * np.sin(angle)  # (M, N)
    half = max(abs((rows - 1) / 2.0 * np.cos(angle)) + abs((cols - 1) / 2.0 * np.sin(angle)),
               1e-12)
    return 1.0 + gradient * u / half


def second_date(x, gain, offset, illumination):
    """Noise-free second date ``illumination * (gain * x + offset)``, (M, N, B)."""
    return illumination[..., None] * (gain * x + offset)


def to_dtype(x, dtype):
    """``x`` in ``dtype``: integers rounded and clipped to the type's range."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(x), info.min, info.max).astype(dtype)
    return x.astype(dtype)


def plant(image, n_types, n_classes, n_segments, compactness, fraction, gain, offset,
          gradient, noise, rng):
    """Planted pair of a clean (M, N, B) image; see ``plant_transitions``."""
    rows, cols, bands = image.shape
    total = rows * cols
    x = image.astype(np.float64)
    seg, seg_class = land_cover(x, n_classes, n_segments, compactness, rng)
    cover = seg_class[seg]  # (M, N)
    counts = np.bincount(seg.ravel())
    areas = np.bincount(cover.ravel(), minlength=n_classes).astype(float)
    flat = x.reshape(-1, bands)  # (M * N, B)
    class_means = np.stack([flat[cover.ravel() == k].mean(0) if areas[k] else
                            np.full(bands, np.nan) for k in range(n_classes)])
    _, spread = band_spread(x)

    goals = rng.uniform(fraction[0], fraction[1], n_types) * total
    pairs = choose_transitions(areas, class_means / spread, inner_share(cover, n_classes),
                               goals, rng)
    if len(pairs) < n_types:
        n_pop = int((areas >= MIN_CLASS_SHARE * total).sum())
        raise PlantingError(
            f"only {len(pairs)} transitions fit for n_types={n_types}: {n_pop} of the "
            f"{n_classes} cover classes hold {100 * MIN_CLASS_SHARE:.0f}% of the scene "
            "and a source must keep half its area", "transitions")

    nbrs = neighbours(seg)
    blocked = np.zeros(len(counts), dtype=bool)
    gt = np.zeros((rows, cols), dtype=np.uint8)
    donor = np.arange(total, dtype=np.int64).reshape(rows, cols)
    nearest_of = {}
    n_parcels, filled = [], []
    for k, ((source, target), goal) in enumerate(zip(pairs, goals), start=1):
        parcels, got = grow_parcels(seg_class, counts, nbrs, source, goal, blocked, total, rng)
        if got < 0.5 * goal:
            raise PlantingError(
                f"type {k} ({source} -> {target}) found {got} of {int(goal)} pixels of "
                f"free source land (class {source} is too fragmented)", "source")
        filled.append(0)
        target_mask = cover == target
        if target not in nearest_of:
            idx = ndi.distance_transform_edt(~target_mask, return_distances=False,
                                             return_indices=True)  # (2, M, N)
            nearest_of[target] = idx[0] * cols + idx[1]
        for members in parcels:
            mask = np.isin(seg, members)
            r, c, d, n_fill = find_donor(mask, target_mask, nearest_of[target], rng)
            gt[r, c] = k
            donor[r, c] = d
            filled[-1] += n_fill
        n_parcels.append(len(parcels))

    gains = rng.uniform(gain[0], gain[1], bands)
    offsets = rng.uniform(-offset, offset, bands) * spread
    light = illumination_field((rows, cols), gradient, rng.uniform(0.0, 2.0 * np.pi))
    t2 = second_date(flat[donor.ravel()].reshape(rows, cols, bands), gains, offsets, light)
    sigma = noise * spread
    if noise > 0:
        t2 = t2 + sigma * rng.standard_normal(t2.shape)
    pixels = tuple(int((gt == k).sum()) for k in range(1, n_types + 1))
    info = Planted(tuple((int(s), int(t)) for s, t in pairs), pixels, tuple(n_parcels),
                   tuple(filled), cover.astype(np.int16), class_means, donor, gains, offsets, light, sigma)
    return image.copy(), to_dtype(t2, image.dtype), gt, info
