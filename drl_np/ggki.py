"""Minimum-error thresholds of a 1-D set of change magnitudes: classic
Kittler–Illingworth (KI) and its generalized-Gaussian extension (GGKI).

Both split values into *unchanged* (low) and *changed* (high) by scoring
every candidate threshold of a histogram at once with cumulative sums, as
``skimage.filters.threshold_otsu`` does. The decision rule is always
``changed = values >= result.threshold``; :func:`drl_np.decision.threshold`
turns it into the package's one convention (``value > tau``). The method is
described in ``docs/method.md``; the computation lives in
:mod:`drl_np._ggki_core`.
"""
from dataclasses import dataclass

import numpy as np

from . import _ggki_core as core
from ._validation import InputError, check_positive_int

__all__ = ["GGClass", "ThresholdResult", "ggki_threshold", "ki_threshold"]

_SHAPES = ("kurtosis", "ratio")
_FORMS = ("exact", "approx")


@dataclass(frozen=True)
class GGClass:
    """Parameters of one class at the chosen threshold (data units).

    Attributes
    ----------
    prior : float
        Fraction P_i of the histogrammed samples in the class.
    mean : float
        Class mean m_i.
    std : float
        Class standard deviation σ_i (population convention).
    beta : float
        Generalized-Gaussian shape β_i (2 for KI: Gaussian).
    alpha : float
        Generalized-Gaussian scale α_i = σ_i sqrt(Γ(1/β_i) / Γ(3/β_i)),
        scipy ``gennorm``'s ``scale``.
    kurtosis : float
        Sample kurtosis κ̂_i = μ_4 / σ_i^4 of the class.
    """

    prior: float
    mean: float
    std: float
    beta: float
    alpha: float
    kurtosis: float


_NAN_CLASS = GGClass(*(float("nan"),) * 6)


@dataclass(frozen=True, eq=False)
class ThresholdResult:
    """Outcome of :func:`ggki_threshold` or :func:`ki_threshold`.

    Attributes
    ----------
    threshold : float
        T = e_{t*+1}, the upper edge of bin t*; ``changed ⇔ value >= T``.
        NaN when there is no valid candidate (``valid`` is False).
    index : int
        t*, the first argmin of ``criterion``; -1 when there is none.
    criterion : ndarray, shape (L-1,)
        J(t) for every candidate t = 0..L-2 in data units, +inf where t is
        invalid (a class with fewer than 2 non-empty bins). For KI this is
        the classic J_KI = 1 + 2 Σ P_i ln σ_i − 2 Σ P_i ln P_i.
    unchanged_class, changed_class : GGClass
        Parameters of class 1 (bins 0..t*) and class 2 (bins t*+1..L-1)
        at t*; all NaN when ``valid`` is False.
    valid : bool
        Whether a threshold was found.
    change_mask : ndarray of bool, shape of ``values``
        ``values >= threshold`` on used samples; False elsewhere and
        everywhere when ``valid`` is False.
    used_mask : ndarray of bool, shape of ``values``
        Samples that entered the histogram: finite, inside ``mask`` and
        inside ``range`` when one is given.
    n_nonfinite : int
        NaN/±inf values dropped (inside ``mask``).
    edges : ndarray, shape (L+1,)
        Bin edges e_0..e_L (empty when no histogram could be built).
    counts : ndarray, shape (L,)
        Histogram counts (empty when no histogram could be built).
    method : str
        "ggki" or "ki".
    """

    threshold: float
    index: int
    criterion: np.ndarray
    unchanged_class: GGClass
    changed_class: GGClass
    valid: bool
    change_mask: np.ndarray
    used_mask: np.ndarray
    n_nonfinite: int
    edges: np.ndarray
    counts: np.ndarray
    method: str

    @property
    def criterion_min(self):
        """J(t*), the minimum criterion (NaN when ``valid`` is False)."""
        return float(self.criterion[self.index]) if self.valid else float("nan")


# ------------------------------------------------------------ validation

def _check_values(values, mask):
    """Return (float64 array of values, bool array of samples to consider)."""
    arr = np.asarray(values)
    if arr.dtype == bool:
        arr = arr.astype(np.float64)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InputError(f"values have dtype {arr.dtype}; expected a real numeric "
                         "array (take np.abs of complex data first)")
    arr = arr.astype(np.float64, copy=False)
    if mask is None:
        keep = np.ones(arr.shape, dtype=bool)
    else:
        keep = np.asarray(mask)
        if keep.shape != arr.shape:
            raise InputError(f"mask has shape {keep.shape} but values have shape "
                             f"{arr.shape}; pass a boolean mask of the same shape")
        if keep.dtype != bool:
            raise InputError(f"mask has dtype {keep.dtype}; expected bool "
                             "(True = use the value), e.g. mask.astype(bool)")
    return arr, keep


def _check_options(bins, range, upper_quantile):
    bins = check_positive_int(bins, "bins", minimum=4)
    if range is not None:
        try:
            lo, hi = (float(v) for v in range)
        except (TypeError, ValueError):
            raise InputError(f"range must be a pair (lo, hi) of numbers, got {range!r}") from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise InputError(f"range must satisfy lo < hi with finite bounds, got {range!r}; "
                             "use range=None for [min, max] of the data")
        range = (lo, hi)
    if upper_quantile is not None:
        if range is not None:
            raise InputError("give either range or upper_quantile, not both; "
                             "upper_quantile sets hi from the data")
        q = float(upper_quantile)
        if not 0.0 < q <= 1.0:
            raise InputError(f"upper_quantile must be in (0, 1], got {upper_quantile!r}; "
                             "e.g. 0.999 caps the range at the 99.9th percentile")
        upper_quantile = q
    return bins, range, upper_quantile


# ------------------------------------------------------------ histogram

def _histogram(arr, keep, bins, range, upper_quantile):
    """Counts and edges of the used samples, or (None, None, used) when no
    threshold is possible (< 4 samples or a constant input; ``docs/ggki.md`` §4)."""
    finite = np.isfinite(arr)
    used = keep & finite
    x = arr[used]
    if range is not None:
        lo, hi = range
        used &= (arr >= lo) & (arr <= hi)
        x = x[(x >= lo) & (x <= hi)]
    if x.size < 4:
        return None, None, used
    if range is None:
        lo, hi = float(x.min()), float(x.max())
        if upper_quantile is not None:
            hi = float(np.quantile(x, upper_quantile))
            x = np.minimum(x, hi)       # the tail goes into the last bin
        if not lo < hi:                  # checked before np.histogram widens it
            return None, None, used
    counts, edges = np.histogram(x, bins=bins, range=(lo, hi))
    return counts.astype(np.float64), edges, used


def _no_threshold(arr, used, keep, bins, method, counts=None, edges=None):
    empty = np.empty(0)
    return ThresholdResult(
        threshold=float("nan"), index=-1, criterion=np.full(bins - 1, np.inf),
        unchanged_class=_NAN_CLASS, changed_class=_NAN_CLASS, valid=False,
        change_mask=np.zeros(arr.shape, dtype=bool), used_mask=used,
        n_nonfinite=int(np.count_nonzero(keep & ~np.isfinite(arr))),
        edges=empty if edges is None else edges,
        counts=empty if counts is None else counts, method=method)


def _class_at(cm, t, beta, lo, hi, L):
    """GGClass of one class at candidate t, converted to data units."""
    width = (hi - lo) / L
    std = width * float(np.sqrt(cm.var[t]))
    beta_t = float(beta[t])
    return GGClass(prior=float(cm.prior[t]),
                   mean=(lo + hi) / 2.0 + width * float(cm.mean[t]),
                   std=std, beta=beta_t,
                   alpha=std * float(core.gg_scale_ratio(beta_t)),
                   kurtosis=float(cm.kurtosis[t]))


def _finish(arr, keep, used, counts, edges, J, c1, c2, beta1, beta2, method):
    """Pick t* (first argmin of the finite J) and build the result."""
    L = counts.size
    if not np.isfinite(J).any():
        return _no_threshold(arr, used, keep, L, method, counts, edges)
    t = int(np.argmin(J))                # first index of the minimum: lowest t
    T = float(edges[t + 1])
    lo, hi = float(edges[0]), float(edges[-1])
    return ThresholdResult(
        threshold=T, index=t, criterion=J,
        unchanged_class=_class_at(c1, t, beta1, lo, hi, L),
        changed_class=_class_at(c2, t, beta2, lo, hi, L), valid=True,
        change_mask=used & (arr >= T), used_mask=used,
        n_nonfinite=int(np.count_nonzero(keep & ~np.isfinite(arr))),
        edges=edges, counts=counts, method=method)


# ------------------------------------------------------------ public API

def ggki_threshold(values, bins=256, shape="kurtosis", *, form="exact", mask=None,
                   range=None, upper_quantile=None):
    """Kittler–Illingworth minimum-error threshold with generalized-Gaussian classes.

    Parameters
    ----------
    values : array_like, any shape (e.g. (M, N) or (n,))
        Change magnitudes; real numbers. NaN and ±inf are dropped (and
        counted in ``n_nonfinite``); they are never "changed".
    bins : int, default 256
        Number of histogram bins L (>= 4), over [min, max] of the used values.
    shape : {"kurtosis", "ratio"}, default "kurtosis"
        Moment estimator of β_i(t): invert the kurtosis K(β) = κ̂ (default),
        or the ratio R(β) = E|X − m| / σ = r̂.
    form : {"exact", "approx"}, default "exact"
        "exact" keeps the data-fit term D_i of the criterion (recommended);
        "approx" replaces it by P_i / β_i (``docs/ggki.md`` §3.2; biased towards
        heavy-tailed splits, kept for comparison only).
    mask : array_like of bool, shape of ``values``, optional
        True where a value may be used; False values are ignored and never
        "changed".
    range : (float, float), optional
        Histogram range [lo, hi] instead of [min, max]. Values outside it do
        not enter the histogram and are not flagged in ``change_mask``.
    upper_quantile : float in (0, 1], optional
        Cap hi at this quantile of the used values and clip larger values
        into the last bin (against long tails; not in the paper; off).

    Returns
    -------
    result : ThresholdResult
        ``threshold`` T, ``index`` t*, ``criterion`` J(t) of shape (L-1,),
        ``unchanged_class`` / ``changed_class`` (P, m, σ, β, α, κ̂ at t*),
        ``valid``, ``change_mask``, ``used_mask`` and ``n_nonfinite``.
        With fewer than 4 used values, a constant input, or no candidate
        whose classes both hold >= 2 non-empty bins, ``valid`` is False,
        T is NaN and ``change_mask`` is all False: choose a fallback.

    Raises
    ------
    InputError
        If ``values`` is not real-valued, ``mask`` does not match it, or an
        option is out of range.

    See Also
    --------
    ki_threshold : the Gaussian special case (β ≡ 2).
    drl_np.decision.threshold : every rule by name, as ``value > tau``.

    Notes
    -----
    Candidate t ∈ {0, …, L−2} puts bins 0..t in class 1 (unchanged) and
    bins t+1..L−1 in class 2 (changed); the threshold is the upper edge
    T = e_{t+1}. With the normalised histogram h_k, bin centres g_k and
    per-class histogram estimates P_i, m_i, σ_i (population variance), the
    KI cost −Σ h ln[P_i p(g|ω_i)] with the generalized-Gaussian pdf
    p(x|ω_i) = a_i exp(−[b_i |x − m_i|]^{β_i}) is

    .. math::

        J(t) = \\sum_{i=1}^{2} \\Big[ D_i + P_i \\ln\\sigma_i + P_i c(\\beta_i)
               - P_i \\ln P_i \\Big], \\qquad
        D_i = \\sum_{k \\in C_i(t)} h_k \\big[ b_i |g_k - m_i| \\big]^{\\beta_i},

    with b_i = sqrt(Γ(3/β_i)/Γ(1/β_i)) / σ_i and
    c(β) = ln 2 + lnΓ(1/β) − ln β − ½[lnΓ(3/β) − lnΓ(1/β)] (c(2) = ½ ln 2π).
    J is on the −ln p scale, in data units (J_data = J_index + ln Δ).
    t* is the first (lowest) argmin over the valid t.

    Shape estimator (method of moments): β_i solves
    K(β) = Γ(1/β)Γ(5/β)/Γ(3/β)² = κ̂_i (``shape="kurtosis"``) or
    R(β) = Γ(2/β)/sqrt(Γ(1/β)Γ(3/β)) = r̂_i (``shape="ratio"``), by 64
    bisection steps in ln β on [0.1, 20], vectorised over t; statistics
    outside the attainable range clamp to the bounds. Which moment the paper
    inverts could not be checked against its text (``docs/ggki.md`` §0); the kurtosis
    is the default. With β_1 = β_2 = 2, D_i = P_i/2 exactly and
    J = (J_KI + ln 2π)/2, the classic criterion of :func:`ki_threshold`.

    The moments come from prefix/suffix cumulative sums of h·u^r (r ≤ 4) in
    the centred bin index u; D_i is a masked (L−1, L) log-space broadcast,
    so the cost is O(L²) (65k entries at L = 256).

    References
    ----------
    .. [1] Y. Bazi, L. Bruzzone, F. Melgani, "An unsupervised approach based
       on the generalized Gaussian model to automatic change detection in
       multitemporal SAR images", IEEE TGRS 43(4), 874–887, 2005.
       doi:10.1109/TGRS.2004.842441
    .. [2] J. Kittler, J. Illingworth, "Minimum error thresholding",
       Pattern Recognition 19(1), 41–47, 1986.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(4, 0.7, 9000), rng.normal(8, 1, 1000)])
    >>> res = ggki_threshold(x)
    >>> bool(5.5 < res.threshold < 6.7), res.change_mask.shape
    (True, (10000,))
    """
    if shape not in _SHAPES:
        raise InputError(f"shape must be one of {_SHAPES}, got {shape!r}; "
                         "use 'kurtosis' (the default) unless comparing estimators")
    if form not in _FORMS:
        raise InputError(f"form must be one of {_FORMS}, got {form!r}; "
                         "use 'exact' (the default)")
    arr, keep = _check_values(values, mask)
    bins, range, upper_quantile = _check_options(bins, range, upper_quantile)
    counts, edges, used = _histogram(arr, keep, bins, range, upper_quantile)
    if counts is None:
        return _no_threshold(arr, used, keep, bins, "ggki")
    J, c1, c2, beta1, beta2 = core.gg_criterion(counts, shape, form)
    J = J + np.log((edges[-1] - edges[0]) / bins)   # data units: + ln Δ
    return _finish(arr, keep, used, counts, edges, J, c1, c2, beta1, beta2, "ggki")


def ki_threshold(values, bins=256, *, mask=None, range=None, upper_quantile=None):
    """Classic Kittler–Illingworth minimum-error threshold (Gaussian classes).

    Parameters
    ----------
    values : array_like, any shape
        Change magnitudes; NaN and ±inf are dropped and never "changed".
    bins : int, default 256
        Number of histogram bins L (>= 4) over [min, max] of the used values.
    mask : array_like of bool, shape of ``values``, optional
        True where a value may be used.
    range : (float, float), optional
        Histogram range instead of [min, max].
    upper_quantile : float in (0, 1], optional
        Cap the range at this quantile, clipping the tail into the last bin.

    Returns
    -------
    result : ThresholdResult
        As for :func:`ggki_threshold`; ``criterion`` is J_KI and both
        classes have β = 2.

    Raises
    ------
    InputError
        If ``values`` is not real-valued, ``mask`` does not match it, or an
        option is out of range.

    Notes
    -----
    .. math::

        J_{KI}(t) = 1 + 2 \\sum_i P_i \\ln\\sigma_i - 2 \\sum_i P_i \\ln P_i,

    with per-class histogram estimates at every candidate t (cumulative
    sums), in data units; +inf where a class has fewer than 2 non-empty
    bins. It equals 2 J(t)|_{β=2} − ln 2π of :func:`ggki_threshold`, and
    t* is its first argmin.

    References
    ----------
    .. [1] J. Kittler, J. Illingworth, "Minimum error thresholding",
       Pattern Recognition 19(1), 41–47, 1986.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(4, 0.7, 9000), rng.normal(8, 1, 1000)])
    >>> res = ki_threshold(x)
    >>> res.unchanged_class.beta
    2.0
    """
    arr, keep = _check_values(values, mask)
    bins, range, upper_quantile = _check_options(bins, range, upper_quantile)
    counts, edges, used = _histogram(arr, keep, bins, range, upper_quantile)
    if counts is None:
        return _no_threshold(arr, used, keep, bins, "ki")
    J, c1, c2 = core.ki_criterion(counts)
    J = J + 2.0 * np.log((edges[-1] - edges[0]) / bins)   # data units: + 2 ln Δ
    two = np.full(J.shape, 2.0)
    return _finish(arr, keep, used, counts, edges, J, c1, c2, two, two, "ki")
