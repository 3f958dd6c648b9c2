"""Peer change detectors to compare DRLnet with: CVA, C2VA, PCA-KMeans, MAD, IRMAD, ISFA.

:func:`detect_changes` runs one peer on a pair of images and returns a
:class:`PeerResult`: a change-intensity map, a binary change map from a
decision rule, and a change-type map from K-means of the changed pixels'
change vectors, so every peer also does change analysis. C2VA, a change-type
method itself, uses its own types instead: sectors of the direction angle.

=============  ====================================  ==================  ==========================
method         change intensity ``ci_map``           default rule        change vectors for types
=============  ====================================  ==================  ==========================
``cva``        ``||z2 - z1||`` of standardised bands  ``otsu``            ``z2 - z1``
``c2va``       ``||z2 - z1||`` of standardised bands  ``ki``              sectors of ``theta`` (own)
``pca-kmeans`` K-means margin of Celik's features    ``kmeans`` (own)    ``z2 - z1``
``mad``        chi-square of the MAD variates        ``kmeans`` on sqrt  ``MAD_i / sigma_i``
``irmad``      chi-square of the IRMAD variates      ``kmeans`` on sqrt  ``MAD_i / sigma_i``
``isfa``       chi-square of the ISFA variates       ``otsu`` on sqrt    ``SFA_j / sqrt(lambda_j)``
=============  ====================================  ==================  ==========================

For the chi-square peers every rule is applied to ``sqrt(ci_map)`` and the
threshold is squared back, so ``threshold`` is always in ``ci_map`` units.
"""
from dataclasses import dataclass, field

import numpy as np

from .._validation import InputError, check_mask, check_pair, check_positive_int
from ..rng import check_random_state
from ..clustering import change_types
from ..decision import DECISION_RULES, threshold
from ..methods import PEER_METHODS
from .c2va import SECTOR_RULES, c2va_polar, sector_types
from .cva import cva, standardise
from .isfa import isfa
from .mad import irmad
from .pca_kmeans import pca_kmeans

__all__ = ["PEER_METHODS", "DECISION_RULES", "PeerResult", "detect_changes"]


# rule used by the published results (ChangeDetectionRepository scripts)
# C2VA: the paper's Bayes minimum-error rule for a two-Gaussian model of rho,
# which is Kittler-Illingworth's criterion ("ki")
_DEFAULT_RULE = {"cva": "otsu", "c2va": "ki", "pca-kmeans": "kmeans", "mad": "kmeans",
                 "irmad": "kmeans", "isfa": "otsu"}
_SQRT_SCALE = {"mad", "irmad", "isfa"}
_OPTIONS = {"cva": {"scale"}, "c2va": {"scale", "sectors", "n_bins"}, "pca-kmeans": {"block_size", "variance", "n_components"},
            "mad": set(), "irmad": {"max_iter", "tol"}, "isfa": {"max_iter", "tol"}}


@dataclass
class PeerResult:
    """What :func:`detect_changes` returns.

    Attributes
    ----------
    ci_map : ndarray of float, shape (M, N)
        Change intensity (the method's raw statistic); NaN where masked.
    change_map : ndarray of bool, shape (M, N)
        ``ci_map > threshold``; False where masked.
    type_map : ndarray of int, shape (M, N)
        0 unchanged, 1..K change types (by decreasing size), -1 masked.
    threshold : float
        Decision threshold in ``ci_map`` units (changed = ``ci_map >
        threshold``, :mod:`drl_np.decision`); NaN when the rule found none,
        e.g. on a constant map (then nothing is changed).
    rule : str
        Decision rule used, one of :data:`DECISION_RULES`.
    info : dict
        Method details (iterations, canonical correlations, eigenvalues...).
    """

    ci_map: np.ndarray
    change_map: np.ndarray
    type_map: np.ndarray
    threshold: float
    rule: str
    info: dict = field(default_factory=dict)


def detect_changes(t1, t2, method, mask=None, threshold=None, n_types=4,
                   random_state=None, **options):
    """Run peer ``method`` on the pair ``t1``, ``t2``.

    Parameters
    ----------
    t1, t2 : array_like, shape (M, N, B) or (M, N)
        The two co-registered dates, raw values.
    method : {"cva", "c2va", "pca-kmeans", "mad", "irmad", "isfa"}
        The peer.
    mask : array_like of bool, shape (M, N), optional
        True = valid pixel. Statistics use valid pixels only; masked pixels
        get NaN intensity, no change and type -1. Default: all valid.
    threshold : {"ggki", "ki", "otsu", "kmeans"} or None
        Decision rule; None = the peer's published default (module table).
    n_types : int, default 4
        Number of change types K (C2VA: direction sectors).
    random_state : None, int or OctaveRandom
        Stream for K-means seeds (PCA-KMeans and the change types).
    **options
        ``cva``: ``scale`` (bool, True). ``c2va``: ``scale`` (bool, True),
        ``sectors`` ("valleys" or "kmeans", see :mod:`.c2va`), ``n_bins``
        (180, bins of the direction histogram over [0, pi]). ``pca-kmeans``: ``block_size``
        (int h, 5), ``variance`` (0.9), ``n_components`` (S, None = by
        variance). ``irmad``/``isfa``: ``max_iter`` (50), ``tol`` (1e-6).

    Returns
    -------
    PeerResult

    Raises
    ------
    InputError
        Unknown method, rule or option; bad shapes; a mask with fewer than
        two valid pixels; a band constant over the valid pixels (MAD, ISFA).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t1 = rng.normal(size=(20, 20, 3)); t2 = t1 + 0.1 * rng.normal(size=t1.shape)
    >>> t2[5:10, 5:10] += 3.0
    >>> res = detect_changes(t1, t2, "irmad")
    >>> bool(res.change_map[5:10, 5:10].all())
    True
    """
    t1, t2 = check_pair(t1, t2)
    if method not in PEER_METHODS:
        raise InputError(f"method {method!r} is not a peer; use one of {', '.join(PEER_METHODS)}")
    rule = _DEFAULT_RULE[method] if threshold is None else threshold
    if rule not in DECISION_RULES:
        raise InputError(f"threshold {threshold!r} is not a decision rule; use one of "
                         f"{', '.join(DECISION_RULES)} or None for the peer's default")
    unknown = set(options) - _OPTIONS[method]
    if unknown:
        allowed = ", ".join(sorted(_OPTIONS[method])) or "none"
        raise InputError(f"option(s) {', '.join(sorted(unknown))} unknown for method "
                         f"{method!r}; allowed: {allowed}")
    n_types = check_positive_int(n_types, "n_types")
    if method == "c2va":
        _check_c2va_options(options)
    valid = _check_mask(mask, t1.shape[:2])
    x1, x2 = t1[valid], t2[valid]                                   # (P, B)
    if not (np.isfinite(x1).all() and np.isfinite(x2).all()):
        raise InputError("t1/t2 hold NaN or inf at valid pixels; mask them out with mask=")
    if method in ("mad", "irmad", "isfa"):
        _check_bands(x1, x2)
    if method == "pca-kmeans":
        h = check_positive_int(options.get("block_size", 5), "block_size")
        if (t1.shape[0] // h) * (t1.shape[1] // h) < 2:
            raise InputError(f"a {t1.shape[0]}x{t1.shape[1]} image holds fewer than two "
                             f"{h}x{h} blocks; use a smaller block_size or a larger image")
    rng = check_random_state(random_state)
    return _compute(t1, t2, x1, x2, valid, method, rule, n_types, rng, options)


def _compute(t1, t2, x1, x2, valid, method, rule, n_types, rng, options):
    """Run the peer on clean input; see :func:`detect_changes`."""
    ci, vectors, info = _intensity(t1, t2, x1, x2, valid, method, rng, options)
    if method == "pca-kmeans" and rule == "kmeans":
        thr = 0.0                      # Celik's own nearest-centre assignment
    else:
        scaled = np.sqrt(ci) if method in _SQRT_SCALE else ci
        thr = threshold(scaled, rule)
        if method in _SQRT_SCALE:
            thr = thr * thr
    changed = ci > thr
    if method == "c2va":                # vectors: the direction theta (P, 1)
        types, sector_info = sector_types(vectors[:, 0], changed, n_types, rng,
                                          rule=options.get("sectors", "valleys"),
                                          n_bins=options.get("n_bins", 180))
        info.update(sector_info)
    else:
        types, _ = change_types(vectors, changed, n_types, rng)
    shape = valid.shape
    ci_map = np.full(shape, np.nan)
    ci_map[valid] = ci
    change_map = np.zeros(shape, dtype=bool)
    change_map[valid] = changed
    type_map = np.full(shape, -1, dtype=np.int64)
    type_map[valid] = types
    return PeerResult(ci_map, change_map, type_map, float(thr), rule, info)


def _intensity(t1, t2, x1, x2, valid, method, rng, options):
    """Change intensity (P,), change vectors (P, D) and info of one peer."""
    if method == "cva":
        mag, diff = cva(x1, x2, scale=options.get("scale", True))
        return mag, diff, {"scaled": bool(options.get("scale", True))}
    if method == "c2va":
        _, diff = cva(x1, x2, scale=options.get("scale", True))
        rho, theta = c2va_polar(diff)
        return rho, theta[:, None], {"scaled": bool(options.get("scale", True))}
    if method == "pca-kmeans":
        diff = np.zeros(t1.shape)
        diff[valid] = standardise(x2) - standardise(x1)
        out = pca_kmeans(diff, valid, rng,
                         block_size=check_positive_int(options.get("block_size", 5), "block_size"),
                         variance=float(options.get("variance", 0.9)),
                         n_components=options.get("n_components"))
        info = {"n_components": out["n_components"], "eigenvalues": out["eigenvalues"]}
        return out["margin"], diff[valid], info
    if method == "isfa":
        out = isfa(x1, x2, **_iter_options(options))
        vectors = out["sfa"] / np.sqrt(out["lam"])
        info = {"eigenvalues": out["lam"], "n_iter": out["n_iter"],
                "converged": out["converged"]}
        return out["chi2"], vectors, info
    max_iter = 1 if method == "mad" else _iter_options(options)["max_iter"]
    tol = _iter_options(options)["tol"]
    out = irmad(x1, x2, max_iter=max_iter, tol=tol)
    vectors = out["mad"] / np.sqrt(out["sigma2"])
    info = {"canonical_correlations": out["rho"], "mad_variances": out["sigma2"],
            "n_iter": out["n_iter"], "converged": out["converged"]}
    return out["chi2"], vectors, info


def _iter_options(options):
    max_iter = check_positive_int(options.get("max_iter", 50), "max_iter")
    tol = options.get("tol", 1e-6)
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise InputError(f"tol must be a number >= 0, got {tol!r}")
    return {"max_iter": max_iter, "tol": float(tol)}


def _check_c2va_options(options):
    rule = options.get("sectors", "valleys")
    if rule not in SECTOR_RULES:
        raise InputError(f"sectors {rule!r} is not a sector rule; use one of "
                         f"{', '.join(SECTOR_RULES)}")
    check_positive_int(options.get("n_bins", 180), "n_bins", minimum=3)


def _check_mask(mask, shape):
    """The validity mask of a peer: all pixels by default, at least two."""
    arr = np.ones(shape, dtype=bool) if mask is None else check_mask(mask, shape)
    if arr.sum() < 2:
        raise InputError(f"mask has {int(arr.sum())} valid pixel(s); at least 2 are needed")
    return arr


def _check_bands(x1, x2):
    for name, x in (("t1", x1), ("t2", x2)):
        flat = np.flatnonzero(x.std(axis=0) == 0)
        if flat.size:
            raise InputError(f"{name} band {int(flat[0]) + 1} (counting from 1, as --bands "
                             "does) is constant over the valid pixels; "
                             "drop it (its covariance is singular)")
