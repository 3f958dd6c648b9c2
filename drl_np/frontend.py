"""The front end of a scene fitted once and applied tile by tile: each
date's radiometric normalisation and the joint min-max scaling of
:func:`drl_np.regions.scale_pair` (``docs/method.md`` §1, ``docs/scenes.md``).

:func:`drl_np.regions.scale_pair` computes its statistics over the whole
pair; a scene that does not fit in memory gets them from one streaming pass
instead (:class:`BandStats`, exact: counts, means and variances merged with
Chan et al.'s pairwise update, minima and maxima) plus, for the IRMAD-based
``'invariant'`` and ``'auto'`` scalings, a bounded sample of pixels. The
fitted :class:`FrontEnd` then scales any window with the same operations, in
the same order, as ``scale_pair`` does on the whole image.
"""
from dataclasses import dataclass, field

import numpy as np

from ._validation import InputError

__all__ = ["BandStats", "FrontEnd", "fit_front_end"]


class BandStats:
    """Per band and date: count, mean, sum of squared deviations, min, max
    of the valid pixels, accumulated window by window.

    Attributes
    ----------
    n : int
    mean, m2, lo, hi : ndarray (2, B)
        Row 0 is t1, row 1 t2.
    """

    def __init__(self, bands):
        self.n = 0
        self.mean = np.zeros((2, bands))
        self.m2 = np.zeros((2, bands))
        self.lo = np.full((2, bands), np.inf)
        self.hi = np.full((2, bands), -np.inf)

    @classmethod
    def of(cls, t1, t2, valid):
        """Statistics of one window, ``t1``, ``t2`` (m, n, B), ``valid`` (m, n)."""
        out = cls(t1.shape[2])
        x = np.stack([t1[valid], t2[valid]]).astype(np.float64)  # (2, p, B)
        out.n = int(x.shape[1])
        if out.n:
            out.mean = x.mean(axis=1)
            out.m2 = ((x - out.mean[:, None, :]) ** 2).sum(axis=1)
            out.lo, out.hi = x.min(axis=1), x.max(axis=1)
        return out

    def merge(self, other):
        """Add ``other``'s pixels (Chan, Golub & LeVeque's pairwise update:
        no sum of squares of raw values, so no cancellation); returns self."""
        n = self.n + other.n
        if other.n:
            delta = other.mean - self.mean
            self.mean = self.mean + delta * (other.n / n)
            self.m2 = self.m2 + other.m2 + delta ** 2 * (self.n * other.n / n)
            self.lo, self.hi = np.minimum(self.lo, other.lo), np.maximum(self.hi, other.hi)
        self.n = n
        return self

    @property
    def std(self):
        """Population standard deviation (2, B), as ``ndarray.std``."""
        return np.sqrt(self.m2 / max(self.n, 1))


@dataclass
class FrontEnd:
    """A fitted front end: ``apply`` scales windows of the scene.

    Attributes
    ----------
    scaling : str
        The scaling applied ('joint', 'per-date' or 'invariant').
    requested : str
        The scaling asked for ('auto' included).
    mean, inv_std : ndarray (2, B) or None
        Per-date standardisation ('per-date').
    gain, offset : ndarray (B,) or None
        t2 -> (t2 - offset) / gain ('invariant').
    lo, inv_span : ndarray (B,)
        Joint min-max: ``(t - lo) * inv_span``.
    info : dict
        What ``Regions.scaling_info`` holds for a whole image.
    """

    scaling: str
    requested: str
    lo: np.ndarray
    inv_span: np.ndarray
    mean: np.ndarray = None
    inv_std: np.ndarray = None
    gain: np.ndarray = None
    offset: np.ndarray = None
    info: dict = field(default_factory=dict)

    def normalise(self, t, date):
        """Date ``date`` (0 or 1) of a window (m, n, B) after the relative
        normalisation, before the min-max."""
        if self.scaling == "per-date":
            return (t - self.mean[date]) * self.inv_std[date]
        if self.scaling == "invariant" and date == 1:
            return (t - self.offset) / self.gain
        return t

    def apply(self, t1, t2, valid):
        """Scaled windows ``t1s``, ``t2s`` (m, n, B) of float64; 0 where not
        ``valid``. Values of pixels beyond the fitted range fall outside
        [0, 1] (the range is the scene's own when it came from a full pass)."""
        out = []
        for date, t in enumerate((t1, t2)):
            s = (self.normalise(np.asarray(t, np.float64), date) - self.lo) * self.inv_span
            s[~valid] = 0.0
            out.append(s)
        return out[0], out[1]


def _inverse(v):
    return np.divide(1.0, v, out=np.zeros_like(v), where=v > 0)


def fit_front_end(stats, x1=None, x2=None, scaling="joint"):
    """Fit the front end from a streaming pass and, for IRMAD, a pixel sample.

    Parameters
    ----------
    stats : BandStats
        Of every valid pixel of the scene (or of the pixels to scale).
    x1, x2 : ndarray (P, B), optional
        Valid pixel values of a sample; needed for 'auto' and 'invariant'.
    scaling : {'joint', 'per-date', 'invariant', 'auto'}

    Returns
    -------
    FrontEnd

    Notes
    -----
    Per-date: ``z = (t - mean) / std`` per band and date. Invariant: per band
    the orthogonal regression t2 = a + b t1 over IRMAD's invariant pixels of
    the sample (:func:`drl_np.normalise.invariant_normalise`). Then
    ``(t - lo_b) / (hi_b - lo_b)`` with lo_b, hi_b the extremes of band b of
    both normalised dates: as both maps are increasing (std > 0, b > 0), they
    are the maps of the raw extremes of the pass.
    """
    from .normalise import choose_scaling, orthogonal_regression
    from .regions import SCALINGS

    if scaling not in SCALINGS:
        raise InputError(f"scaling must be one of {SCALINGS}, got {scaling!r}")
    if stats.n == 0:
        raise InputError("no valid pixel: every pixel is non-finite, equal to nodata or "
                         "outside mask in some band of t1 or t2; check nodata and mask")
    chosen, invariant = scaling, None
    if x1 is not None:
        x1, x2 = np.asarray(x1, np.float64), np.asarray(x2, np.float64)
    if scaling in ("auto", "invariant"):
        if x1 is None:
            raise InputError(f"scaling {scaling!r} needs a pixel sample")
        if scaling == "auto":
            try:
                chosen, invariant = choose_scaling(x1[None], x2[None], np.ones((1, x1.shape[0]), bool))
            except np.linalg.LinAlgError:   # a constant band: IRMAD's CCA is singular
                chosen = "per-date"
    info = {"scaling": chosen, "requested": scaling}
    fe = {"scaling": chosen, "requested": scaling}
    lo, hi = stats.lo.copy(), stats.hi.copy()                       # (2, B)
    if chosen == "per-date":
        std = stats.std
        fe["mean"], fe["inv_std"] = stats.mean, _inverse(std)
        lo = (lo - stats.mean) * fe["inv_std"]
        hi = (hi - stats.mean) * fe["inv_std"]
    elif chosen == "invariant":
        if invariant is None:
            from .normalise import invariant_pixels
            invariant = invariant_pixels(x1, x2)
        pairs = [orthogonal_regression(x1[invariant, b], x2[invariant, b]) for b in range(x1.shape[1])]
        fe["gain"] = np.array([g for g, _ in pairs])
        fe["offset"] = np.array([a for _, a in pairs])
        lo[1] = (lo[1] - fe["offset"]) / fe["gain"]
        hi[1] = (hi[1] - fe["offset"]) / fe["gain"]
        info.update({"n_invariant": int(invariant.sum()), "gain": fe["gain"].tolist(),
                     "offset": fe["offset"].tolist()})
    lo_b, hi_b = lo.min(axis=0), hi.max(axis=0)                     # (B,)
    return FrontEnd(lo=lo_b, inv_span=_inverse(hi_b - lo_b), info=info, **fe)
