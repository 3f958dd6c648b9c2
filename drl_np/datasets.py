"""Data: the synthetic multi-class scene and the project's ``.npz`` pair format.

* :func:`synthetic_pair`: a deterministic bi-temporal scene of land parcels
  with planted land-cover transitions (the default demo and test data).
* :func:`plant_transitions`: a bi-temporal pair with planted land-cover
  transitions made from one real image (its own texture and spectra).
* :func:`load_pair` / :func:`save_pair`: the ``.npz`` format of
  ``../shared/data/`` (arrays ``t1``, ``t2``, ``gt`` with 255 = ignore,
  ``mask``, optional ``bands``).
* :func:`available_datasets`: the ``<name>/<name>.npz`` files under a root.
"""
import numbers
import os
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple, Optional, Tuple

import numpy as np
from scipy.ndimage import gaussian_filter

from ._planting import Planted, PlantingError, plant
from ._validation import InputError

__all__ = ["synthetic_pair", "plant_transitions", "Planted", "load_pair", "save_pair", "available_datasets",
           "Pair", "LAND_COVERS", "TRANSITIONS", "band_names"]

# -- the synthetic scene ---------------------------------------------------------
#: Wavelengths (micrometres) at which the reflectance library is tabulated.
_KNOTS = np.array([0.49, 0.56, 0.66, 0.84, 1.25, 1.61, 2.20])

#: Mean surface reflectance of each land cover at ``_KNOTS`` (typical values
#: of field spectra: vegetation has a red well and an NIR plateau, water is
#: dark and darkest in the NIR/SWIR, built-up is bright and flat, soil rises
#: towards the SWIR).
LAND_COVERS = {
    "water":      np.array([0.07, 0.06, 0.035, 0.018, 0.014, 0.011, 0.009]),
    "vegetation": np.array([0.03, 0.08, 0.04, 0.42, 0.36, 0.22, 0.10]),
    "forest":     np.array([0.02, 0.04, 0.025, 0.26, 0.24, 0.13, 0.06]),
    "bare soil":  np.array([0.08, 0.12, 0.18, 0.24, 0.30, 0.34, 0.28]),
    "built-up":   np.array([0.21, 0.22, 0.23, 0.25, 0.26, 0.27, 0.25]),
}

#: Relative texture strength of each land cover (multiplicative, per pixel).
_TEXTURE = {"water": 0.05, "vegetation": 0.06, "forest": 0.10,
            "bare soil": 0.06, "built-up": 0.12}

#: Share of each land cover among unchanged parcels.
_COVER_SHARE = {"vegetation": 0.34, "bare soil": 0.2, "forest": 0.2,
                "built-up": 0.16, "water": 0.1}

#: Planted land-cover transitions, change type k = position + 1.
TRANSITIONS = (
    ("vegetation", "bare soil"),   # harvest / clearing
    ("bare soil", "built-up"),     # construction
    ("water", "vegetation"),       # reclamation
    ("forest", "bare soil"),       # deforestation
    ("vegetation", "water"),       # flooding, new pond
    ("built-up", "bare soil"),     # demolition
    ("bare soil", "vegetation"),   # new crop
)

_NAMED_BANDS = (("red", 0.66), ("green", 0.56), ("blue", 0.49), ("nir", 0.84),
                ("swir1", 1.61), ("swir2", 2.20))


def band_names(bands=4):
    """Names of the bands of :func:`synthetic_pair` with ``bands`` bands.

    Parameters
    ----------
    bands : int, default 4
        Band count (>= 3).

    Returns
    -------
    tuple of str, length ``bands``
        ``red, green, blue, nir, swir1, swir2`` then ``swir3, swir4, ...``.
    """
    bands = _check_int(bands, "bands", 3, 32)
    names = [name for name, _ in _NAMED_BANDS[:bands]]
    names += [f"swir{k}" for k in range(3, bands - len(_NAMED_BANDS) + 3)]
    return tuple(names)


def _wavelengths(bands):
    """Band centres (micrometres), shape (bands,)."""
    centres = [w for _, w in _NAMED_BANDS[:bands]]
    extra = bands - len(_NAMED_BANDS)
    if extra > 0:  # further SWIR-like bands spread over 1.0-2.4 um
        centres += list(np.linspace(1.0, 2.4, extra + 2)[1:-1])
    return np.array(centres)


def _check_int(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not low <= value <= high:
        raise InputError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


def synthetic_pair(shape=(256, 256), bands=4, n_change_types=4, seed=0):
    """A synthetic bi-temporal scene of land parcels with planted change types.

    Parameters
    ----------
    shape : tuple of two int, default (256, 256)
        Image size (M, N), each at least 32.
    bands : int, default 4
        Band count, 3 to 32: red, green, blue, NIR (as GF-1, in this order),
        then SWIR1 (1.61 um), SWIR2 (2.2 um) and further SWIR-like bands.
    n_change_types : int, default 4
        Number K of planted change types, 1 to ``len(TRANSITIONS)`` (7); type
        k is the land-cover transition ``TRANSITIONS[k - 1]``.
    seed : int, default 0
        Non-negative seed of the one ``np.random.default_rng`` stream that
        draws everything, so a seed always gives the same scene.

    Returns
    -------
    t1, t2 : ndarray of float32, shape (M, N, bands)
        Surface-reflectance-like images in [0, 1] (most values 0 to 0.5).
    gt : ndarray of uint8, shape (M, N)
        0 unchanged, k = 1..K change type ``k``.

    Raises
    ------
    InputError
        If an argument is out of range.

    Notes
    -----
    Layout: the image is cut by recursive random splits into rectangular
    fields of widely varied size, whose borders are then warped by a smooth
    random displacement (so parcels look hand-drawn, not ruled); a meandering
    river of water crosses the scene. Each parcel has one land cover of
    :data:`LAND_COVERS` with a per-parcel brightness and per-band jitter,
    and a multiplicative, spatially correlated texture (Gaussian-filtered
    noise) shared by both dates where the land does not change.

    Changes: for each type k, whole parcels (not the river) get the source
    cover at t1 and the target cover at t2 until about ``T / K`` of the
    pixels are covered (whole parcels, so within about 10 %), where the
    total changed share T is drawn in 15-20 %, raised to 3 % per type and
    capped at 22 %. At the default size this keeps 14-24 % of the pixels
    changed and each type above 2 %; tiny images hold few parcels, so
    their shares are coarser (a type may even be absent).

    Second date, unchanged land: a per-band gain (0.94-1.06) and offset
    (-0.004 to 0.008) for the whole image (illumination, atmosphere), a
    per-parcel phenology factor on vegetation and forest (+-5 %, +-1.5 % on
    other covers), and independent signal-dependent sensor noise on both
    dates (sigma = 0.002 + 0.01 x). These stay well below the reflectance
    jumps of the transitions (0.15-0.4 in at least one band): at the default
    size the 95th percentile of ``|t2 - t1|`` on unchanged land is about a
    third of the 5th percentile of the weakest change type.

    Examples
    --------
    >>> t1, t2, gt = synthetic_pair((64, 64), seed=1)
    >>> t1.shape, t1.dtype, gt.dtype, int(gt.max())
    ((64, 64, 4), dtype('float32'), dtype('uint8'), 4)
    """
    if isinstance(shape, (str, bytes)) or np.ndim(shape) != 1 or len(shape) != 2:
        raise InputError(f"shape must be a pair (M, N), got {shape!r}")
    rows = _check_int(shape[0], "shape[0]", 32, 20000)
    cols = _check_int(shape[1], "shape[1]", 32, 20000)
    bands = _check_int(bands, "bands", 3, 32)
    n_change_types = _check_int(n_change_types, "n_change_types", 1, len(TRANSITIONS))
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    return _synthetic_pair(rows, cols, bands, n_change_types, np.random.default_rng(int(seed)))


def _synthetic_pair(rows, cols, bands, n_types, rng):
    parcels = _parcels(rows, cols, rng)  # (M, N) parcel id
    river = _river(rows, cols, rng)  # (M, N) bool
    n_parcels = int(parcels.max()) + 1
    cover1, cover2 = _plan_covers(parcels, river, n_parcels, n_types, rng)
    names = list(LAND_COVERS)
    spectra = np.stack([np.interp(_wavelengths(bands), _KNOTS, LAND_COVERS[c])
                        for c in names])  # (n_covers, B)
    texture = np.array([_TEXTURE[c] for c in names])  # (n_covers,)

    # per-parcel spectra of each date: brightness factor and per-band jitter
    def parcel_spectra(cover):
        bright = 1.0 + 0.07 * rng.standard_normal(n_parcels)  # (P,)
        jitter = 1.0 + 0.04 * rng.standard_normal((n_parcels, bands))  # (P, B)
        return spectra[cover] * bright[:, None] * jitter  # (P, B)

    mean1 = parcel_spectra(cover1)
    mean2 = parcel_spectra(cover2)
    same = cover1 == cover2
    # unchanged parcels keep their spectrum up to phenology of the vegetated ones
    vegetated = np.isin(cover1, [names.index("vegetation"), names.index("forest")])
    phenology = 1.0 + np.where(vegetated, 0.05, 0.015) * rng.uniform(-1, 1, n_parcels)
    mean2[same] = mean1[same] * phenology[same, None]

    water = names.index("water")
    c1 = np.where(river, water, cover1[parcels])  # (M, N) cover at t1
    c2 = np.where(river, water, cover2[parcels])  # (M, N) cover at t2
    m1 = np.where(river[..., None], spectra[water], mean1[parcels])  # (M, N, B)
    m2 = np.where(river[..., None], spectra[water], mean2[parcels])  # (M, N, B)

    tex1 = _smooth_noise((rows, cols), 1.5, rng)  # (M, N) unit-variance texture
    tex_new = _smooth_noise((rows, cols), 1.5, rng)
    changed = c1 != c2
    tex2 = np.where(changed, tex_new, tex1)
    t1 = m1 * (1.0 + texture[c1] * tex1)[..., None]  # (M, N, B)
    t2 = m2 * (1.0 + texture[c2] * tex2)[..., None]

    gain = rng.uniform(0.94, 1.06, bands)
    offset = rng.uniform(-0.004, 0.008, bands)
    t1 = t1 + (0.002 + 0.01 * np.abs(t1)) * rng.standard_normal(t1.shape)  # sensor noise
    t2 = gain * t2 + offset
    t2 = t2 + (0.002 + 0.01 * np.abs(t2)) * rng.standard_normal(t2.shape)

    gt = np.zeros((rows, cols), dtype=np.uint8)
    for k, (source, target) in enumerate(TRANSITIONS[:n_types], start=1):
        gt[(c1 == names.index(source)) & (c2 == names.index(target))] = k
    gt[~changed] = 0
    return (np.clip(t1, 0.0, 1.0).astype(np.float32),
            np.clip(t2, 0.0, 1.0).astype(np.float32), gt)


def _smooth_noise(shape, sigma, rng):
    """Gaussian-filtered white noise scaled to unit standard deviation."""
    field = gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    return field / field.std()


def _parcels(rows, cols, rng):
    """(M, N) int parcel ids: recursive random splits of the image into fields
    of varied size, with borders warped by a smooth displacement."""
    area = rows * cols
    min_side = max(4, int(round(np.sqrt(area) / 40)))
    big = area / 12  # always split above this
    boxes, done = [(0, rows, 0, cols)], []
    while boxes:
        r0, r1, c0, c1 = boxes.pop()
        h, w = r1 - r0, c1 - c0
        can_split = max(h, w) >= 2 * min_side + 1
        p_split = 1.0 if h * w > big else 0.62
        if not can_split or rng.random() >= p_split:
            done.append((r0, r1, c0, c1))
            continue
        fraction = rng.uniform(0.25, 0.75)
        if h >= w:
            cut = int(np.clip(r0 + round(fraction * h), r0 + min_side, r1 - min_side))
            boxes += [(r0, cut, c0, c1), (cut, r1, c0, c1)]
        else:
            cut = int(np.clip(c0 + round(fraction * w), c0 + min_side, c1 - min_side))
            boxes += [(r0, r1, c0, cut), (r0, r1, cut, c1)]
    ruled = np.empty((rows, cols), dtype=np.int64)
    for k, (r0, r1, c0, c1) in enumerate(done):
        ruled[r0:r1, c0:c1] = k
    amplitude = max(1.0, np.sqrt(area) / 100)
    sigma = max(3.0, np.sqrt(area) / 25)
    dr = amplitude * _smooth_noise((rows, cols), sigma, rng)
    dc = amplitude * _smooth_noise((rows, cols), sigma, rng)
    rr, cc = np.mgrid[0:rows, 0:cols]  # (M, N) each
    rr = np.clip(np.rint(rr + dr), 0, rows - 1).astype(np.int64)
    cc = np.clip(np.rint(cc + dc), 0, cols - 1).astype(np.int64)
    warped = ruled[rr, cc]  # (M, N)
    _, ids = np.unique(warped, return_inverse=True)  # drop vanished parcels
    return ids.reshape(rows, cols)


def _river(rows, cols, rng):
    """(M, N) bool: a meandering river crossing the scene top to bottom."""
    width = max(2.0, cols / 60)
    r = np.arange(rows)
    centre = cols * rng.uniform(0.2, 0.8) \
        + cols * 0.08 * np.sin(2 * np.pi * r / rows * rng.uniform(0.7, 1.6) + rng.uniform(0, 6.3))
    return np.abs(np.arange(cols)[None, :] - centre[:, None]) < width / 2


def _plan_covers(parcels, river, n_parcels, n_types, rng):
    """Land cover index of every parcel at t1 and t2, shape (P,) each; the
    changed parcels of each type cover about T / K of the land."""
    names = list(LAND_COVERS)
    share = np.array([_COVER_SHARE[c] for c in names])
    cover1 = rng.choice(len(names), size=n_parcels, p=share / share.sum())
    cover2 = cover1.copy()
    sizes = np.bincount(parcels[~river], minlength=n_parcels)  # land pixels per parcel
    total = river.size
    target_total = min(0.22, max(rng.uniform(0.15, 0.20), 0.03 * n_types))
    free = sizes > 0
    for k in range(n_types):
        source, target = (names.index(c) for c in TRANSITIONS[k])
        goal = total * target_total / n_types * rng.uniform(0.9, 1.1)
        got = 0
        for p in rng.permutation(n_parcels):
            if got >= 0.92 * goal:
                break
            if free[p] and got + sizes[p] <= 1.2 * goal:
                cover1[p], cover2[p] = source, target
                free[p] = False
                got += sizes[p]
        if got == 0 and free.any():  # every free parcel is too large: take the smallest
            p = np.flatnonzero(free)[np.argmin(sizes[free])]
            cover1[p], cover2[p] = source, target
            free[p] = False
    return cover1, cover2


# -- planted transitions on a real image -------------------------------------------
def _check_range(value, name, low, high):
    """A pair (a, b), low <= a <= b <= high, from a pair or one number (a = b)."""
    pair = np.atleast_1d(np.asarray(value, dtype=object)).ravel()
    if pair.size == 1:
        pair = np.r_[pair, pair]
    ok = pair.size == 2 and all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                                and np.isfinite(v) for v in pair)
    if not ok or not low <= pair[0] <= pair[1] <= high:
        raise InputError(f"{name} must be a number or a pair (low, high) with "
                         f"{low} <= low <= high <= {high}, got {value!r}")
    return float(pair[0]), float(pair[1])


def _check_real(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not np.isfinite(value) or not low <= value <= high:
        raise InputError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    return float(value)


_PLANT_REMEDY = {"uniform": "lower n_classes or give a more varied image",
                 "transitions": "lower n_types or change_fraction, or raise n_classes",
                 "source": "lower change_fraction or n_types"}


def plant_transitions(image, n_types=4, seed=0, *, n_classes=6, n_segments=None,
                      compactness=0.3, change_fraction=(0.01, 0.03), gain=(0.75, 1.25),
                      offset=0.05, gradient=0.05, noise=0.01):
    """A bi-temporal pair with K planted land-cover transitions, from one image.

    The image is the first date. Its land cover is found without labels
    (superpixels clustered by mean spectrum); whole parcels of a source
    class are replaced in the second date by real pixels of a target class
    copied from elsewhere in the same image, and the whole second date gets
    a radiometric change, as between two real acquisitions.

    Parameters
    ----------
    image : array_like, shape (M, N[, B])
        The first date, any numeric dtype and band count, bands last, all
        values finite; M and N at least 32.
    n_types : int, default 4
        Number K of planted transitions (change types), 1 to 50.
    seed : int, default 0
        Non-negative seed of the one ``np.random.default_rng`` stream that
        draws everything (the K-means seed included).
    n_classes : int, default 6
        Number of unlabelled cover classes (K-means clusters), 2 to 32.
    n_segments : int, optional
        Approximate SLIC superpixel count; default one per 150 pixels, at
        least 64 and at most 20,000.
    compactness : float, default 0.3
        SLIC compactness, for bands scaled to about [0, 1].
    change_fraction : float or (float, float), default (0.01, 0.03)
        Share of the scene each type covers, drawn per type in this range
        (within one superpixel); at most 0.2 and ``K * high <= 0.5``.
    gain : float or (float, float), default (0.75, 1.25)
        Range of the per-band gain of the second date, in [0.1, 10].
    offset : float, default 0.05
        Largest per-band offset of the second date, as a share of the band's
        spread (2nd to 98th percentile), in [0, 1].
    gradient : float, default 0.05
        Amplitude of the illumination ramp: the second date is multiplied by
        a field going linearly from ``1 - gradient`` to ``1 + gradient``
        across the scene in a random direction, in [0, 0.5].
    noise : float, default 0.01
        Standard deviation of the second date's Gaussian noise, as a share of
        the band's spread, in [0, 1].

    Returns
    -------
    t1 : ndarray, shape (M, N, B)
        A copy of the image (a 2-D image gets B = 1), its dtype.
    t2 : ndarray, shape (M, N, B)
        The second date, same dtype: integers rounded and clipped to the
        dtype's range.
    gt : ndarray of uint8, shape (M, N)
        0 unchanged, k = 1..K planted type ``k``.
    info : Planted
        Each type's ``(source, target)`` class, pixel and parcel counts, the
        cover map, the class means, the donor of every pixel and the
        radiometric parameters.

    Raises
    ------
    InputError
        If an argument is out of range, the image is too small, not finite
        or too uniform, or its classes cannot hold K transitions (too few
        well-populated classes, too little free source land).

    Notes
    -----
    Land cover: SLIC on the bands scaled by their 2nd-98th percentile
    range, then a size-weighted K-means of the superpixel means into
    ``n_classes`` classes; every pixel takes its superpixel's class.

    Transitions: ordered pairs of distinct classes holding at least 4 % of
    the scene each, drawn with probability proportional to the distance of
    their class means (so weak changes between similar classes are rarer)
    times the share of each class's pixels more than 2 pixels inside it (so
    thin or scattered classes, roads and roofs, are rarer), a fresh source
    first; a source gives at most half its area.

    Parcels: a parcel starts at a random free source superpixel (an inner
    one, most of whose neighbours are of the source class, when there is
    one) and grows compactly through neighbouring source superpixels to a
    size drawn log-uniformly in 0.15-1.2 % of the scene; parcels never
    touch each other.

    Donor: the parcel's shape is slid over the image and placed where it
    covers the most target-class pixels (FFT correlation; one of the best
    placements at random, so all of them whenever the target class holds a
    region as large as the parcel); the covered pixels get the image's
    pixels under that placement. The pixels left get a second and a third
    placement of their own shape the same way; any still left take the
    nearest target-class pixel to their last placement
    (``info.filled`` counts them). So every pasted pixel is a real
    target-class pixel of the image (``info.donor`` says which), and the
    parcel shows the target's real texture in one to three pieces.

    Second date, with ``x`` the image after pasting and ``L`` the
    illumination field: ``t2 = L * (gain * x + offset) + noise``, per band
    ``b``: ``gain_b ~ U(gain)``, ``offset_b ~ U(-offset, offset) * spread_b``,
    ``noise ~ N(0, (noise * spread_b)^2)``. Defaults follow real pairs: gains
    of 0.75-1.25 and offsets of a few percent between two acquisitions, a
    +-5 % illumination drift across a scene, noise of about 1 %.

    Examples
    --------
    >>> img = (synthetic_pair((96, 96), seed=0)[0] * 1000).astype("uint16")
    >>> t1, t2, gt, info = plant_transitions(img, n_types=2, seed=1)
    >>> t2.dtype, gt.shape, len(info.transitions)
    (dtype('uint16'), (96, 96), 2)
    >>> info.pixels == tuple(int((gt == k).sum()) for k in (1, 2))
    True
    """
    image = np.asarray(image)
    if image.dtype == bool or not np.issubdtype(image.dtype, np.number) \
            or np.issubdtype(image.dtype, np.complexfloating):
        raise InputError(f"image has dtype {image.dtype}; expected a real numeric array")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3:
        raise InputError(f"image has shape {image.shape}; expected (M, N) or (M, N, B) "
                         "with bands last (use np.moveaxis to put the band axis last)")
    if min(image.shape[:2]) < 32 or image.shape[2] < 1:
        raise InputError(f"image is {image.shape[0]}x{image.shape[1]}x{image.shape[2]}; "
                         "planting needs at least 32x32 pixels and one band")
    if not np.isfinite(image).all():
        raise InputError("image has NaN or inf pixels; fill or crop them before planting")
    n_types = _check_int(n_types, "n_types", 1, 50)
    n_classes = _check_int(n_classes, "n_classes", 2, 32)
    if n_types > n_classes * (n_classes - 1):
        raise InputError(f"n_types={n_types} needs more than n_classes={n_classes} classes "
                         f"(at most {n_classes * (n_classes - 1)} ordered pairs); "
                         "raise n_classes or lower n_types")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    area = image.shape[0] * image.shape[1]
    if n_segments is None:
        n_segments = int(np.clip(area // 150, 64, 20000))
    n_segments = _check_int(n_segments, "n_segments", n_classes, area)
    compactness = _check_real(compactness, "compactness", 1e-6, 1e6)
    if compactness <= 0:
        raise InputError(f"compactness must be positive, got {compactness!r}")
    fraction = _check_range(change_fraction, "change_fraction", 1e-4, 0.2)
    if n_types * fraction[1] > 0.5:
        raise InputError(f"n_types={n_types} times change_fraction {fraction[1]} plants "
                         "over half the scene; lower change_fraction or n_types")
    gain = _check_range(gain, "gain", 0.1, 10.0)
    offset = _check_real(offset, "offset", 0.0, 1.0)
    gradient = _check_real(gradient, "gradient", 0.0, 0.5)
    noise = _check_real(noise, "noise", 0.0, 1.0)
    try:
        return plant(image, n_types, n_classes, n_segments, compactness, fraction, gain,
                     offset, gradient, noise, np.random.default_rng(int(seed)))
    except PlantingError as exc:
        raise InputError(f"{exc}; {_PLANT_REMEDY[exc.kind]}") from None


# -- the .npz pair format ---------------------------------------------------------
class Pair(NamedTuple):
    """A bi-temporal pair read by :func:`load_pair`.

    Attributes
    ----------
    t1, t2 : ndarray, shape (M, N, B)
        The two dates, dtype as stored.
    gt : ndarray of uint8, shape (M, N), or None
        Ground truth: 0 unchanged, 1..C change classes, 255 unlabelled.
    mask : ndarray of bool, shape (M, N)
        Pixels to evaluate: as stored, else ``gt != 255``, else all True.
    bands : tuple of str or None
        Band names, if stored.
    name : str
        The file name without its ``.npz`` suffix.
    """

    t1: np.ndarray
    t2: np.ndarray
    gt: Optional[np.ndarray]
    mask: np.ndarray
    bands: Optional[Tuple[str, ...]]
    name: str


def _check_arrays(t1, t2, gt, mask, bands, where):
    """Validate the arrays of a pair; return them cleaned (bands as tuple)."""
    t1, t2 = np.asarray(t1), np.asarray(t2)
    for name, arr in (("t1", t1), ("t2", t2)):
        if arr.ndim == 2:
            arr = arr[..., None]
        if arr.ndim != 3 or not np.issubdtype(arr.dtype, np.number) or arr.dtype == bool:
            raise InputError(
                f"{name}{where} has shape {arr.shape} and dtype {arr.dtype}; "
                "expected a numeric (M, N, B) image with bands last")
        if name == "t1":
            t1 = arr
        else:
            t2 = arr
    if t1.shape != t2.shape:
        raise InputError(
            f"t1{where} has shape {t1.shape} but t2 has {t2.shape}; "
            "both dates must share one (M, N, B) grid")
    if gt is not None:
        gt = np.asarray(gt)
        if gt.shape != t1.shape[:2]:
            raise InputError(
                f"gt{where} has shape {gt.shape}; expected {t1.shape[:2]}, the size of t1")
        if not (np.issubdtype(gt.dtype, np.integer) or gt.dtype == bool) \
                or gt.size and (gt.min() < 0 or gt.max() > 255):
            raise InputError(
                f"gt{where} must hold integers 0..255 (0 unchanged, 1..C classes, "
                "255 unlabelled)")
        gt = gt.astype(np.uint8)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != t1.shape[:2] or mask.dtype != bool:
            raise InputError(
                f"mask{where} has shape {mask.shape} and dtype {mask.dtype}; expected "
                f"bool {t1.shape[:2]} (True = evaluate)")
    if bands is not None:
        bands = tuple(str(b) for b in np.asarray(bands).ravel())
        if len(bands) != t1.shape[2]:
            raise InputError(
                f"bands{where} names {len(bands)} bands but the images have "
                f"{t1.shape[2]}; give one name per band")
    return t1, t2, gt, mask, bands


def load_pair(path):
    """Read a bi-temporal pair from the project's ``.npz`` format.

    Parameters
    ----------
    path : str or path-like
        An ``.npz`` file holding ``t1`` and ``t2`` ((M, N, B) or (M, N)),
        optionally ``gt`` ((M, N) uint8, 255 = unlabelled), ``mask``
        ((M, N) bool, True = evaluate) and ``bands`` (B names).

    Returns
    -------
    Pair
        ``(t1, t2, gt, mask, bands, name)``; 2-D images get B = 1; a missing
        mask is ``gt != 255`` (all True without gt).

    Raises
    ------
    InputError
        If the file is missing or unreadable, lacks ``t1``/``t2`` or its
        arrays disagree in shape.

    Examples
    --------
    >>> pair = load_pair("../shared/data/taizhou/taizhou.npz")  # doctest: +SKIP
    >>> pair.t1.shape, pair.bands[:2]                           # doctest: +SKIP
    ((400, 400, 6), ('B', 'G'))
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"no pair file at {str(path)!r}; check the path (see available_datasets())")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(
            f"{str(path)!r} is not a readable .npz pair ({type(exc).__name__}); "
            "write it with drl_np.datasets.save_pair") from None
    missing = [key for key in ("t1", "t2") if key not in arrays]
    if missing:
        raise InputError(
            f"{str(path)!r} lacks array(s) {', '.join(missing)} (has "
            f"{', '.join(sorted(arrays)) or 'none'}); save the dates as t1 and t2")
    where = f" in {path.name}"
    t1, t2, gt, mask, bands = _check_arrays(
        arrays["t1"], arrays["t2"], arrays.get("gt"), arrays.get("mask"),
        arrays.get("bands"), where)
    if mask is None:
        mask = gt != 255 if gt is not None else np.ones(t1.shape[:2], dtype=bool)
    return Pair(t1, t2, gt, mask, bands, path.name[:-4] if path.suffix == ".npz" else path.name)


def save_pair(path, t1, t2, gt=None, mask=None, bands=None):
    """Write a bi-temporal pair in the ``.npz`` format :func:`load_pair` reads.

    Parameters
    ----------
    path : str or path-like
        Output file (conventionally ``<name>/<name>.npz``); its directory
        must exist. Written atomically: to a temporary file in the same
        directory, then renamed over ``path``.
    t1, t2 : array_like, shape (M, N, B) or (M, N)
        The two dates, stored with their dtype.
    gt : array_like of int, shape (M, N), optional
        Ground truth, 0..255 (255 = unlabelled), stored as uint8.
    mask : array_like of bool, shape (M, N), optional
        Pixels to evaluate; stored only if given.
    bands : sequence of str, length B, optional
        Band names.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    InputError
        If the arrays disagree in shape, gt is out of 0..255, or the
        directory does not exist.
    """
    path = Path(path)
    t1, t2, gt, mask, bands = _check_arrays(t1, t2, gt, mask, bands, "")
    if not path.parent.is_dir():
        raise InputError(f"directory {str(path.parent)!r} does not exist; create it first")
    arrays = {"t1": t1, "t2": t2}
    if gt is not None:
        arrays["gt"] = gt
    if mask is not None:
        arrays["mask"] = mask
    if bands is not None:
        arrays["bands"] = np.array(bands, dtype=str)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez_compressed(out, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _default_roots():
    env = os.environ.get("DRL_NP_DATA")
    if env:
        return [Path(env)]
    repository = Path(__file__).resolve().parent.parent
    return [Path.cwd() / ".." / "shared" / "data", repository / ".." / "shared" / "data"]


def available_datasets(root=None):
    """The data sets stored as ``<root>/<name>/<name>.npz``.

    Parameters
    ----------
    root : str or path-like, optional
        Data root. Default: the environment variable ``DRL_NP_DATA`` if set,
        else the first existing of ``../shared/data`` relative to the current
        directory and ``../shared/data`` relative to the repository.

    Returns
    -------
    dict of str to pathlib.Path
        Name -> ``.npz`` path, sorted by name; empty if no default root exists.

    Raises
    ------
    InputError
        If an explicit ``root`` (or ``DRL_NP_DATA``) is not a directory.
    """
    if root is not None or os.environ.get("DRL_NP_DATA"):
        root = Path(root if root is not None else os.environ["DRL_NP_DATA"])
        if not root.is_dir():
            raise InputError(f"data root {str(root)!r} is not a directory; "
                             "pass an existing folder or fix DRL_NP_DATA")
    else:
        root = next((r for r in _default_roots() if r.is_dir()), None)
        if root is None:
            return {}
    found = {d.name: d / f"{d.name}.npz" for d in root.iterdir()
             if d.is_dir() and (d / f"{d.name}.npz").is_file()}
    return {name: found[name].resolve() for name in sorted(found)}
