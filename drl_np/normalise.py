"""Relative radiometric normalisation of the second date onto the first, from
pixels that did not change (``docs/method.md`` §1, **choice** ``scaling``).

Two acquisitions of one place differ on unchanged land too: sun angle,
atmosphere, season and sensor gain give each band its own gain and offset.
The paper assumes radiometrically corrected images; most raw pairs are not.
:func:`invariant_normalise` follows Canty & Nielsen (2008): IRMAD's
no-change probability picks invariant pixels, and per band an orthogonal
regression of t2 on t1 over them maps t2 into t1's radiometry.
:func:`choose_scaling` picks the scaling of a pair from the data alone.
"""
import warnings

import numpy as np

from .peers._stats import chi2_sf
from .peers.mad import irmad, mad_chi2

__all__ = ["INVARIANT_PROBABILITY", "INVARIANT_SAMPLE", "MIN_INVARIANT", "choose_scaling", "invariant_pixels",
           "invariant_normalise", "orthogonal_regression"]

#: IRMAD no-change probability above which a pixel is invariant (Canty &
#: Nielsen 2008 use 0.95)
INVARIANT_PROBABILITY = 0.95
#: fewest invariant pixels, as a share of the valid ones and in number, for
#: the regression to be trusted (**choice** ``min_invariant``)
MIN_INVARIANT = (0.001, 200)
#: most pixels IRMAD iterates on when it picks the invariant pixels (**choice**
#: ``invariant_sample``): each iteration is a pass over every pixel it sees,
#: about 25 ms per megapixel of 4 bands here (15 ms on two threads;
#: ``benchmarks/irmad_speed.py``); up to a megapixel the exact
#: IRMAD of Canty & Nielsen, above it an even stride of about a megapixel
INVARIANT_SAMPLE = 1 << 20
#: IRMAD iterations for the invariant pixels (converges in ~10-30 on the shared pairs)
_MAX_ITER = 30


def invariant_pixels(x1, x2, sample=None):
    """Boolean (P,) mask of the invariant pixels of valid pixel values
    ``x1``, ``x2`` (P, B): IRMAD's no-change probability above
    :data:`INVARIANT_PROBABILITY`.

    IRMAD iterates on at most ``sample`` pixels (default
    :data:`INVARIANT_SAMPLE`; **choice** ``invariant_sample``), an even
    stride through the rows, and every pixel is then scored once with the
    fitted canonical vectors (:func:`drl_np.peers.mad.mad_chi2`). Up to
    ``sample`` pixels this is IRMAD on all of them, bit for bit.
    """
    sample = INVARIANT_SAMPLE if sample is None else sample
    stride = max(1, -(-x1.shape[0] // sample))                   # ceil(P / sample)
    # identical or collinear dates make the CCA ill-conditioned: no pixel is
    # then trusted as invariant, and the caller falls back
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        out = irmad(x1[::stride], x2[::stride], max_iter=_MAX_ITER, tol=1e-6)
        z = out["chi2"] if stride == 1 else mad_chi2(x1, x2, out)
        p_nochange = chi2_sf(z, x1.shape[1])
    return np.isfinite(p_nochange) & (p_nochange > INVARIANT_PROBABILITY)


def orthogonal_regression(x, y):
    """Slope and intercept of the orthogonal (total least squares) line
    y = a + b x through the points (x, y): the errors of both dates count,
    so b is symmetric in the two dates (b of x on y is 1/b).

    Notes
    -----
    With the covariances s_xx, s_yy, s_xy,
    ``b = (s_yy - s_xx + sqrt((s_yy - s_xx)^2 + 4 s_xy^2)) / (2 s_xy)`` and
    ``a = mean(y) - b mean(x)``. When s_xy <= 0 (no positive relation) the
    standard-deviation ratio ``b = sqrt(s_yy / s_xx)`` is used instead.

    Examples
    --------
    >>> x = np.array([0.0, 1.0, 2.0, 3.0]); b, a = orthogonal_regression(x, 2 * x + 1)
    >>> round(b, 12), round(a, 12)
    (2.0, 1.0)
    """
    mx, my = x.mean(), y.mean()
    dx, dy = x - mx, y - my
    sxx, syy, sxy = np.mean(dx * dx), np.mean(dy * dy), np.mean(dx * dy)
    if sxy > 0:
        b = (syy - sxx + np.sqrt((syy - sxx) ** 2 + 4 * sxy * sxy)) / (2 * sxy)
    else:
        b = np.sqrt(syy / sxx) if sxx > 0 and syy > 0 else 1.0
    return float(b), float(my - b * mx)


def invariant_normalise(t1, t2, valid, invariant=None):
    """t2 mapped band by band into t1's radiometry, ``(t2 - a_b) / b_b``.

    Parameters
    ----------
    t1, t2 : ndarray (M, N, B)
    valid : ndarray of bool (M, N)
    invariant : ndarray of bool (P,), optional
        Invariant pixels among the valid ones (default
        :func:`invariant_pixels`).

    Returns
    -------
    t2n : ndarray (M, N, B)
    info : dict
        ``n_invariant`` and per band ``gain`` b and ``offset`` a.
    """
    x1, x2 = t1[valid], t2[valid]                      # (P, B)
    if invariant is None:
        invariant = invariant_pixels(x1, x2)
    gains, offsets = [], []
    t2n = np.empty_like(t2)
    for b in range(t1.shape[2]):
        gain, offset = orthogonal_regression(x1[invariant, b], x2[invariant, b])
        gains.append(gain); offsets.append(offset)
        t2n[:, :, b] = (t2[:, :, b] - offset) / gain
    return t2n, {"n_invariant": int(invariant.sum()), "gain": gains, "offset": offsets}


def choose_scaling(t1, t2, valid):
    """The scaling ``'auto'`` stands for, from the pair alone (no labels).

    * 1-2 bands: ``'joint'``. IRMAD finds too few invariant pixels in so few
      bands, and standardising each date of a single-band pair removes the
      brightness change that is the only change signal there.
    * 3 or more bands: ``'invariant'`` when IRMAD finds at least
      :data:`MIN_INVARIANT` invariant pixels, else ``'per-date'``.

    Returns
    -------
    scaling : str
    invariant : ndarray of bool (P,) or None
        The invariant pixels when they were computed, for re-use.
    """
    if t1.shape[2] <= 2:
        return "joint", None
    invariant = invariant_pixels(t1[valid], t2[valid])
    share, count = MIN_INVARIANT
    if invariant.sum() >= max(count, share * invariant.size):
        return "invariant", invariant
    return "per-date", invariant
