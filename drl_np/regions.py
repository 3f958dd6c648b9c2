"""Regions and samples from a bi-temporal pair (``docs/method.md`` §1).

Two co-registered dates are scaled jointly to [0, 1]; SLIC segments each
date; the overlay of the two segmentations, split into connected parts, gives
the regions; each region is represented by the ``w`` x ``w`` window of both
dates at its centre. :class:`Regions` holds the label map and the samples and
paints one value per region back to pixels.
"""
import numbers

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import slic

from ._validation import (InputError, check_choice, check_mask, check_nodata, check_pair, check_positive_int,
                          valid_pixels)
from ._regions_geometry import _centres, _mean_windows, _overlay, _pixel_labels, _windows
from ._threads import map_two

__all__ = ["Members", "REGION_SAMPLES", "REGION_STATISTICS", "REGION_WEIGHTS", "Regions", "SCALINGS",
           "scale_pair", "build_regions", "check_region_front_end", "region_sample_weight"]

#: Default SLIC segment size in pixels when ``n_segments`` is None:
#: one segment per 150 valid pixels (437 segments on a 256 x 256 scene).
PIXELS_PER_SEGMENT = 150
#: Default SLIC compactness for images scaled to [0, 1]. On the 256 x 256
#: ``synthetic_pair`` (437 segments per date) 0.3 gives 1307 regions, 99.75 %
#: of pixels in a region whose majority ground-truth class is theirs; 0.1
#: gives 2004 regions (99.71 %), 1.0 gives 1121 (97.91 %), 0.01 gives 647
#: (91.29 %).
COMPACTNESS = 0.3
#: Spread of the scaled data (median over bands of the 2-98 percentile range
#: of both dates' valid pixels) at which ``COMPACTNESS`` applies as is. The
#: default compactness is ``COMPACTNESS * min(1, spread / SPREAD_REFERENCE)``
#: so that colour differences keep their weight against distance on data
#: squeezed into a narrow range. Measured spreads: synthetic_pair 0.633
#: (compactness 0.3, unchanged), bern 0.624 (0.3), sztaki_szada1 0.731 (0.3),
#: taizhou 0.375 (0.188), oscd_rennes 0.0714 (0.0357; with 0.3 SLIC gave a
#: map with an adjusted Rand index of 0.995 against a square grid),
#: oscd_bercy 0.0700 (0.0350).
SPREAD_REFERENCE = 0.6


# -- scaling --------------------------------------------------------------------
SCALINGS = ("joint", "per-date", "invariant", "auto")
REGION_STATISTICS = ("centre", "mean", "interior", "pixels")
#: What a region's sample (x1, x2) is (**choice** ``region_sample``): the
#: window at its centre (the paper) or the mean of its member pixels' windows
REGION_SAMPLES = ("centre", "mean")
#: What a region weighs in the K-means of the region methods (**choice**
#: ``region_weight``): its pixel count, or one vote per region (the paper)
REGION_WEIGHTS = ("pixels", "none")


def scale_pair(t1, t2, mask=None, nodata=None, scaling="joint", return_info=False):
    """Scale both dates per band to [0, 1] with one min and max for both.

    Parameters
    ----------
    t1, t2 : array_like, shape (M, N) or (M, N, B)
        The two dates, bands last.
    mask : array_like of bool, shape (M, N), optional
        True where a pixel may be used. Default: every pixel.
    nodata : float, optional
        A pixel equal to ``nodata`` in any band of either date is invalid.
    scaling : {"joint", "per-date", "invariant", "auto"}, default "joint"
        "joint" (``docs/method.md`` §1): the min-max scaling alone, which keeps the two
        dates' values comparable and so assumes radiometrically corrected
        images. "per-date": first standardise each band of each date to zero
        mean and unit variance over the valid pixels (a relative radiometric
        normalisation that removes a per-band gain and offset between the
        dates), then the joint min-max scaling (**choice** ``scaling``).
        "invariant": t2 mapped into t1's radiometry by an orthogonal
        regression per band over IRMAD's invariant pixels
        (:func:`drl_np.normalise.invariant_normalise`), then the joint
        min-max scaling. "auto": one of the three, chosen from the pair alone
        (:func:`drl_np.normalise.choose_scaling`).
    return_info : bool, default False
        Also return a dict: ``scaling`` (the one applied, which "auto"
        chose) and the normalisation's gains, offsets and invariant count.

    Returns
    -------
    t1s, t2s : ndarray of float64, shape (M, N, B)
        Scaled dates; 0 at invalid pixels.
    valid : ndarray of bool, shape (M, N)
        Finite in every band of both dates, not ``nodata`` and in ``mask``.

    Raises
    ------
    InputError
        If the dates do not match, ``mask`` has the wrong shape, or no valid
        pixel remains.

    Notes
    -----
    For band b, with lo_b and hi_b the minimum and maximum of band b over the
    valid pixels of both dates,

    .. math:: t_s = (t - lo_b) / (hi_b - lo_b),

    and a constant band (hi_b = lo_b) scales to 0. One lo_b and hi_b serve
    both dates so that their values stay comparable.

    Examples
    --------
    >>> t1 = np.array([[0.0, 5.0]]); t2 = np.array([[10.0, np.nan]])
    >>> t1s, t2s, valid = scale_pair(t1, t2)
    >>> t1s[..., 0], t2s[..., 0], valid
    (array([[0., 0.]]), array([[1., 0.]]), array([[ True, False]]))
    """
    t1, t2 = check_pair(t1, t2)
    mask = check_mask(mask, t1.shape[:2])
    nodata = check_nodata(nodata)
    if scaling not in SCALINGS:
        raise InputError(f"scaling must be one of {SCALINGS}, got {scaling!r}; use "
                         "'per-date' when the dates are not radiometrically corrected")
    valid = valid_pixels(t1, t2, mask, nodata)
    if not valid.any():
        raise InputError(
            "no valid pixel: every pixel is non-finite, equal to nodata or "
            "outside mask in some band of t1 or t2; check nodata and mask")
    t1, t2, info = _normalise(t1, t2, valid, scaling)
    t1s, t2s = _scale_pair(t1, t2, valid)
    return (t1s, t2s, valid, info) if return_info else (t1s, t2s, valid)


def _normalise(t1, t2, valid, scaling):
    """The relative normalisation of ``scaling`` before the joint min-max."""
    from .normalise import choose_scaling, invariant_normalise
    invariant = None
    if scaling in ("auto", "invariant"):
        try:
            chosen, invariant = choose_scaling(t1, t2, valid) if scaling == "auto" else (scaling, None)
        except np.linalg.LinAlgError:     # a constant band: IRMAD's CCA is singular
            chosen = "per-date"
        scaling_used = chosen
    else:
        scaling_used = scaling
    info = {"scaling": scaling_used, "requested": scaling}
    if scaling_used == "per-date":
        return _standardise(t1, valid), _standardise(t2, valid), info
    if scaling_used == "invariant":
        t2, extra = invariant_normalise(t1, t2, valid, invariant)
        info.update(extra)
    return t1, t2, info


def _standardise(t, valid):
    """Each band to zero mean and unit variance over ``valid`` (a constant band to 0)."""
    v = t[valid]                                       # (p, B)
    mean, std = v.mean(axis=0), v.std(axis=0)
    inv = np.divide(1.0, std, out=np.zeros_like(std), where=std > 0)
    return (t - mean) * inv                            # (M, N, B)


def _scale_pair(t1, t2, valid):
    """Joint per-band min-max scaling over ``valid`` pixels; 0 elsewhere."""
    v1, v2 = t1[valid], t2[valid]                      # (p, B) each
    lo = np.minimum(v1.min(axis=0), v2.min(axis=0))    # (B,)
    hi = np.maximum(v1.max(axis=0), v2.max(axis=0))    # (B,)
    span = hi - lo
    inv = np.divide(1.0, span, out=np.zeros_like(span), where=span > 0)
    out = []
    for t in (t1, t2):
        s = (t - lo) * inv                             # (M, N, B)
        s[~valid] = 0.0
        out.append(s)
    return out[0], out[1]


# -- regions --------------------------------------------------------------------
class Regions:
    """Regions of a bi-temporal pair and their samples.

    Built by :func:`build_regions`; the constructor only stores its arguments.

    Attributes
    ----------
    labels : ndarray of int64, shape (M, N)
        Region of each pixel, 0..n-1 in raster order of each region's first
        pixel; -1 at invalid pixels.
    n_regions : int
        Number of regions n (also ``len(regions)``).
    sizes : ndarray of int64, shape (n,)
        Pixels per region.
    centres : ndarray of int64, shape (n, 2)
        (row, col) of each region's centre: its member pixel nearest to its
        centroid, ties to the first in raster order.
    x1, x2 : ndarray of float64, shape (n, w*w*B)
        Sample of each date: with ``sample='centre'`` the window at each
        centre, element ``(dy*w + dx)*B + b`` = band b at
        (row + dy - w//2, col + dx - w//2), symmetric padding; with
        ``sample='mean'`` the mean of that window over the region's member
        pixels (the same layout).
    window : int
        Window side w.
    valid : ndarray of bool, shape (M, N)
        Valid pixels (see :func:`scale_pair`).
    t1s, t2s : ndarray of float64, shape (M, N, B)
        Scaled dates (0 at invalid pixels).
    unit : str
        "superpixel" or "pixel".
    sample : str
        "centre" or "mean" (**choice** ``region_sample``).
    """

    def __init__(self, labels, sizes, centres, x1, x2, window, valid,
                 t1s, t2s, unit, sample="centre"):
        self.labels = labels
        self.n_regions = int(sizes.shape[0])
        self.sizes = sizes
        self.centres = centres
        self.x1 = x1
        self.x2 = x2
        self.window = window
        self.valid = valid
        self.t1s = t1s
        self.t2s = t2s
        self.unit = unit
        self.sample = sample
        self.scaling_info = {}

    def __len__(self):
        return self.n_regions

    def __repr__(self):
        m, n = self.labels.shape
        return (f"Regions(n_regions={self.n_regions}, shape=({m}, {n}), "
                f"window={self.window}, unit={self.unit!r})")

    def members(self, statistic="interior"):
        """The member pixels a region statistic averages over, with their
        windows (**choice** ``region_statistic``, ``docs/method.md`` §1).

        Parameters
        ----------
        statistic : {'centre', 'mean', 'interior', 'pixels'}
            'centre': None (the paper: each region is its centre window).
            'mean': every valid pixel of every region with its w x w window.
            'interior': the pixels whose whole w x w window lies in their own
            region, so the window sees one region only; a region without
            such a pixel (a sliver) uses its centre. 'pixels': every valid
            pixel of every region with its own value alone (a 1 x 1
            window), so a region's change is the mean change of its pixels
            and no window reaches into a neighbouring region.

        Returns
        -------
        Members or None
        """
        check_choice(statistic, REGION_STATISTICS, "region_statistic")
        if statistic == "centre" or self.unit == "pixel":
            return None
        keep = self.valid.copy()
        window = 1 if statistic == "pixels" else self.window
        if statistic == "interior":
            keep &= _interior(self.labels, self.window)
            lonely = np.ones(self.n_regions, dtype=bool)
            lonely[self.labels[keep]] = False
            keep[self.centres[lonely, 0], self.centres[lonely, 1]] = True
        coords = np.argwhere(keep)                                  # (p, 2), raster order
        region = self.labels[coords[:, 0], coords[:, 1]]
        return Members.of_images(self.t1s, self.t2s, coords, window, region, self.n_regions)

    def paint(self, values, fill=None):
        """Paint one value per region onto the pixels.

        Parameters
        ----------
        values : array_like, shape (n,) or (n, k)
            One value (or row of k values) per region.
        fill : scalar, optional
            Value at invalid pixels. Default -1 for integer or bool values,
            NaN otherwise.

        Returns
        -------
        ndarray, shape (M, N) or (M, N, k)
            ``out[p] = values[labels[p]]`` at valid pixels, ``fill`` elsewhere;
            dtype the promotion of the values' dtype and ``fill``'s.

        Raises
        ------
        InputError
            If ``values`` does not hold one entry per region.

        Examples
        --------
        >>> r = build_regions(np.eye(2), np.eye(2), unit="pixel", window=1)
        >>> r.paint(np.arange(len(r)))
        array([[0, 1],
               [2, 3]])
        """
        values = np.asarray(values)
        if values.ndim not in (1, 2) or values.shape[0] != self.n_regions:
            raise InputError(
                f"values has shape {values.shape}; expected ({self.n_regions},) "
                f"or ({self.n_regions}, k), one entry per region")
        if fill is None:
            fill = -1 if values.dtype.kind in "biu" else np.nan
        dtype = _paint_dtype(values.dtype, fill)
        out = np.full(self.labels.shape + values.shape[1:], fill, dtype=dtype)
        out[self.valid] = values[self.labels[self.valid]]
        return out


def build_regions(t1, t2, mask=None, nodata=None, unit="superpixel", window=3,
                  n_segments=None, compactness=None, scaling="joint", sample="centre",
                  random_state=None):
    """Regions of a bi-temporal pair and their ``w`` x ``w`` window samples.

    Parameters
    ----------
    t1, t2 : array_like, shape (M, N) or (M, N, B)
        The two co-registered dates, bands last.
    mask : array_like of bool, shape (M, N), optional
        True where a pixel may be used.
    nodata : float, optional
        Pixel value marking missing data (in any band of either date).
    unit : {"superpixel", "pixel"}, default "superpixel"
        "superpixel": SLIC on each date, overlay, connected components.
        "pixel": every valid pixel is its own region.
    window : int, default 3
        Odd window side w (the paper's w = 3).
    n_segments : int, optional
        SLIC segments per date. Default: one per 150 valid pixels
        (``PIXELS_PER_SEGMENT``), at least 1.
    compactness : float, optional
        SLIC compactness: a colour difference of ``compactness`` (the images
        are in [0, 1]) weighs as much as one segment spacing. Larger gives
        squarer, smaller gives more boundary-following segments (see
        ``COMPACTNESS`` for the effect on the synthetic scene). Default:
        relative to the scaled data's spread,
        ``COMPACTNESS * min(1, spread / SPREAD_REFERENCE)`` (0.3 on data
        that fills [0, 1]; see ``SPREAD_REFERENCE``).
    scaling : {"joint", "per-date", "invariant", "auto"}, default "joint"
        See :func:`scale_pair`; ``Regions.scaling_info`` says what was applied.
    sample : {"centre", "mean"}, default "centre"
        A region's sample: the w x w window at its centre (the paper), or
        the mean of the w x w windows of all its member pixels, which
        describes the whole region rather than one spot of it (**choice**
        ``region_sample``).
    random_state : None, int or OctaveRandom, optional
        Accepted for a uniform signature; nothing is drawn (SLIC is
        deterministic).

    Returns
    -------
    Regions

    Raises
    ------
    InputError
        On mismatched dates, a wrong ``mask`` shape, no valid pixel, an even
        or non-positive ``window``, an unknown ``unit`` or bad SLIC settings.

    Notes
    -----
    Each date is segmented by ``skimage.segmentation.slic`` with
    ``channel_axis=-1``, ``convert2lab=False``, ``start_label=0``,
    ``enforce_connectivity=True``. Invalid pixels take, for SLIC only, the
    value of their nearest valid pixel, and are then removed (label -1)
    before the overlay; maskSLIC (``mask=valid``) is not used because its
    k-means seeding took 208 s on a 1000 x 1000 image against 4 s for the
    whole of this function. A pixel's region is its pair (label at t1, label
    at t2), split into 4-connected components, so a segment cut by invalid
    pixels becomes several regions. The centre of a region is its member pixel nearest to its
    centroid. Windows read the scaled images with symmetric padding at the
    image border; a window may cover invalid pixels, which read as 0, but an
    invalid pixel is never a centre and belongs to no region.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t1 = rng.random((32, 32, 4)); t2 = rng.random((32, 32, 4))
    >>> r = build_regions(t1, t2, n_segments=16)
    >>> r.x1.shape[1]
    36
    """
    t1s, t2s, valid, scaling_info = scale_pair(t1, t2, mask=mask, nodata=nodata, scaling=scaling,
                                               return_info=True)
    window = check_positive_int(window, "window")
    if window % 2 == 0:
        raise InputError(f"window must be odd, got {window}; use e.g. 3 "
                         "(the paper's w) so the window has a centre pixel")
    if unit not in ("superpixel", "pixel"):
        raise InputError(f"unit must be 'superpixel' or 'pixel', got {unit!r}")
    check_region_sample(sample)
    if n_segments is None:
        n_segments = max(1, int(round(valid.sum() / PIXELS_PER_SEGMENT)))
    n_segments = check_positive_int(n_segments, "n_segments")
    if compactness is None:
        compactness = default_compactness(t1s, t2s, valid)
    if (isinstance(compactness, bool) or not isinstance(compactness, numbers.Real)
            or not compactness > 0 or not np.isfinite(compactness)):
        raise InputError(f"compactness must be a positive number, got "
                         f"{compactness!r}; try 0.3 for images in [0, 1]")
    if unit == "pixel":
        labels = _pixel_labels(valid)
    else:
        labels1, labels2 = _segment_pair(t1s, t2s, valid, n_segments,
                                         float(compactness))
        labels = _overlay(labels1, labels2)
    regions = _regions_from_labels(labels, t1s, t2s, valid, window, unit, sample)
    regions.scaling_info = scaling_info
    return regions


def default_compactness(t1s, t2s, valid):
    """``COMPACTNESS * min(1, spread / SPREAD_REFERENCE)`` of scaled dates (M, N, B)."""
    x = np.concatenate([t1s[valid], t2s[valid]])                     # (2V, B)
    if x.shape[0] == 0:
        return COMPACTNESS
    lo, hi = np.percentile(x, [2.0, 98.0], axis=0)                   # (B,), (B,)
    spread = float(np.median(hi - lo))
    if not spread > 0:
        return COMPACTNESS
    return COMPACTNESS * min(1.0, spread / SPREAD_REFERENCE)


def _segment_pair(t1s, t2s, valid, n_segments, compactness):
    """SLIC labels (M, N) of each date, int64, -1 at invalid pixels."""
    if not valid.all():
        t1s, t2s = _fill_invalid(t1s, valid), _fill_invalid(t2s, valid)

    def segment(image):
        lab = slic(image, n_segments=n_segments, compactness=compactness,
                   channel_axis=-1, convert2lab=False, start_label=0,
                   enforce_connectivity=True)
        lab = lab.astype(np.int64, copy=False)
        lab[~valid] = -1
        return lab

    # the dates are segmented independently: on two threads when allowed
    return tuple(map_two(segment, t1s, t2s))


def _fill_invalid(image, valid):
    """Copy of ``image`` (M, N, B) with each invalid pixel set to the value of
    its nearest valid pixel (Euclidean), so SLIC sees no artificial edges."""
    idx = ndi.distance_transform_edt(~valid, return_distances=False,
                                     return_indices=True)   # (2, M, N)
    return image[idx[0], idx[1]]                       # (M, N, B)


def check_region_sample(sample):
    """``sample`` if it is one of :data:`REGION_SAMPLES`, else InputError."""
    return check_choice(sample, REGION_SAMPLES, "region_sample")


def check_region_front_end(statistic, sample, weight):
    """InputError unless the region statistic, sample and weight are known names."""
    check_choice(statistic, REGION_STATISTICS, "region_statistic")
    check_region_sample(sample)
    check_choice(weight, REGION_WEIGHTS, "region_weight")


def region_sample_weight(sizes, weight):
    """The ``sample_weight`` of the estimators' ``fit`` for ``region_weight``:
    the regions' pixel counts ``sizes`` (n,), or None (one vote each)."""
    return np.asarray(sizes, dtype=np.float64) if weight == "pixels" else None


def _regions_from_labels(labels, t1s, t2s, valid, window, unit, sample="centre"):
    """Sizes, centres and samples of the regions in ``labels`` (M, N)."""
    n = int(labels.max()) + 1 if (labels >= 0).any() else 0
    sizes, centres = _centres(labels, n)
    if sample == "mean":
        x1, x2 = map_two(lambda image: _mean_windows(image, labels, n, window), t1s, t2s)   # (n, w*w*B)
    else:
        x1 = _windows(t1s, centres, window)            # (n, w*w*B)
        x2 = _windows(t2s, centres, window)
    return Regions(labels, sizes, centres, x1, x2, window, valid, t1s, t2s,
                   unit, sample)


def _interior(labels, window):
    """(M, N) True where every pixel of the w x w window (symmetric padding,
    as the windows read) has the centre pixel's label."""
    half = window // 2
    padded = np.pad(labels, half, mode="symmetric")
    m, n = labels.shape
    inside = np.ones(labels.shape, dtype=bool)
    for dy in range(window):
        for dx in range(window):
            inside &= padded[dy:dy + m, dx:dx + n] == labels
    return inside


#: members whose windows are cut at once (two dates of 3 x 3 x 4 windows: 38 MB)
MEMBER_BLOCK = 65536


class Members:
    """Window samples of member pixels and the region each belongs to.

    Either held (``Members(x1, x2, region, n_regions)``) or cut from the
    scaled images when needed (:meth:`of_images`): a megapixel image has
    about a million members, and their windows would be 36 values each per
    date, so :meth:`region_mean_of` cuts them :data:`MEMBER_BLOCK` at a
    time. Both give the same values.

    Attributes
    ----------
    x1, x2 : ndarray (p, w*w*B)
        Every member's window (cut on access when not held).
    region : ndarray of int (p,)
    n_regions : int
    """

    def __init__(self, x1, x2, region, n_regions):
        self._held, self._images = (x1, x2), None
        self.region, self.n_regions = region, n_regions

    @classmethod
    def of_images(cls, t1s, t2s, coords, window, region, n_regions):
        """Members at pixels ``coords`` (p, 2) of the scaled images, their
        ``window`` x ``window`` windows cut block by block when needed."""
        out = cls(None, None, region, n_regions)
        out._held, out._images = None, (t1s, t2s, coords, window)
        return out

    def __len__(self):
        return int(self.region.shape[0])

    @property
    def n_features(self):
        """Length of one member's window, w*w*B."""
        if self._held is not None:
            return int(self._held[0].shape[1])
        t1s, window = self._images[0], self._images[3]
        return window * window * t1s.shape[2]

    def _cut(self, date, rows):
        """Date ``date``'s (0 or 1) windows (k, w*w*B) of the members ``rows`` (a slice)."""
        if self._held is not None:
            return self._held[date][rows]
        images, coords, window = self._images[:2], self._images[2], self._images[3]
        return _windows(images[date], coords[rows], window)

    def windows(self):
        """Every member's windows of both dates, ``(x1, x2)``, each (p, w*w*B)."""
        return self.x1, self.x2

    @property
    def x1(self):
        return self._cut(0, slice(None))

    @property
    def x2(self):
        return self._cut(1, slice(None))

    def region_mean(self, values):
        """Per-region mean (n_regions,) of one value per member (p,)."""
        total = np.bincount(self.region, weights=values, minlength=self.n_regions)
        count = np.bincount(self.region, minlength=self.n_regions)
        return total / np.maximum(count, 1)

    def region_mean_of(self, per_pair):
        """Per-region mean (n_regions,) of ``per_pair(w1, w2)``, a function of
        the two dates' windows (k, d) giving one value per row (k,) (the
        change statistic, perhaps after an encoder), evaluated
        :data:`MEMBER_BLOCK` members at a time."""
        values = np.empty(len(self))                                # (p,)
        for start in range(0, len(self), MEMBER_BLOCK):
            rows = slice(start, start + MEMBER_BLOCK)
            values[rows] = per_pair(self._cut(0, rows), self._cut(1, rows))
        return self.region_mean(values)


def _paint_dtype(dtype, fill):
    """dtype holding both ``dtype`` values and the scalar ``fill``."""
    if isinstance(fill, (bool, np.bool_)) or isinstance(fill, numbers.Integral):
        return np.promote_types(dtype, np.min_scalar_type(fill))
    if dtype.kind in "fc" and isinstance(fill, numbers.Real):
        return dtype                                   # keep float32 float32
    return np.promote_types(dtype, np.asarray(fill).dtype)
