"""Peers fitted on a sample and applied window by window (``docs/scenes.md``).

:func:`drl_np.peers.detect_changes` computes a peer's statistics over the
whole image. For a scene too large for memory, :func:`fit_peer` estimates
them once -- the per-band means and deviations of CVA and C2VA from the
scene's streaming pass (exact), the canonical (MAD, IRMAD) or slow-feature
(ISFA) projections with their final no-change weights, the decision
threshold and the change-type centres from a pixel sample -- and
:meth:`PeerModel.apply` maps any window with them. Fitted on every pixel of
an image, ``apply`` reproduces ``detect_changes`` on it.
"""
from dataclasses import dataclass, field

import numpy as np

from .._validation import InputError
from ..clustering import change_types, nearest_types
from ..decision import threshold
from . import _DEFAULT_RULE, _OPTIONS, _SQRT_SCALE, _check_bands, _check_c2va_options, _iter_options
from .c2va import c2va_polar, sector_types
from .isfa import isfa
from .mad import irmad, mad_variates
from .pca_kmeans import block_eigenspace, difference_image, neighbourhood_features

__all__ = ["PeerModel", "fit_peer", "TILED_PEERS"]

#: Peers that run tile by tile.
TILED_PEERS = ("cva", "c2va", "pca-kmeans", "mad", "irmad", "isfa")


@dataclass
class PeerModel:
    """A peer's fitted statistics; :meth:`apply` maps a window."""

    method: str
    params: dict
    threshold: float
    rule: str
    centres: np.ndarray
    ci_range: tuple
    info: dict = field(default_factory=dict)

    def statistics(self, x1, x2):
        """Change intensity (P,) and change vectors (P, D) of pixel rows
        (PCA-KMeans: see :meth:`window_statistics`)."""
        p = self.params
        if self.method in ("cva", "c2va", "pca-kmeans"):
            diff = (x2 - p["mean"][1]) / p["std"][1] - (x1 - p["mean"][0]) / p["std"][0]
            if self.method in ("cva", "pca-kmeans"):
                return np.sqrt(np.einsum("pb,pb->p", diff, diff)), diff
            rho, theta = c2va_polar(diff)
            return rho, theta[:, None]
        if self.method in ("mad", "irmad"):
            mad = mad_variates(x1, x2, p)                                  # (P, B)
            z = (mad * mad / p["sigma2"]).sum(axis=1)
            return z, mad / np.sqrt(p["sigma2"])
        d = (x1 - p["m1"]) / p["s1"] - (x2 - p["m2"]) / p["s2"]             # ISFA
        sfa = d @ p["w"]
        return (sfa * sfa / p["lam"]).sum(axis=1), sfa / np.sqrt(p["lam"])

    def types(self, vectors, changed):
        """Change types (P,) of pixels from their change vectors."""
        if self.method != "c2va":
            return nearest_types(vectors, changed, self.centres)
        labels = np.zeros(vectors.shape[0], dtype=np.int64)
        if self.centres.size:                   # c2va: rank of each sector
            sector = np.searchsorted(self.params["bounds"], vectors[changed, 0], side="right")
            labels[changed] = self.centres[sector] + 1
        return labels

    def window_statistics(self, t1, t2, valid, inner):
        """Change intensity (P,) and change vectors (P, B) of the valid pixels
        of the core ``inner`` of a read window (h, w, B); PCA-KMeans reads
        each pixel's h x h neighbourhood from the window around the core."""
        if self.method != "pca-kmeans":
            return self.statistics(t1[inner][valid[inner]].astype(np.float64),
                                   t2[inner][valid[inner]].astype(np.float64))
        p = self.params
        diff = np.zeros(t1.shape)
        _, diff[valid] = self.statistics(t1[valid].astype(np.float64), t2[valid].astype(np.float64))
        xd = np.where(valid, difference_image(diff), p["fill"])                     # (h, w)
        feats = neighbourhood_features(xd, p["psi"], p["vecs"], p["block"])[inner][valid[inner]]
        dist = np.linalg.norm(feats[:, None, :] - p["centres"][None], axis=2)        # (P, 2)
        return dist[:, 1 - p["changed"]] - dist[:, p["changed"]], diff[inner][valid[inner]]

    def apply(self, t1, t2, valid, inner=None):
        """Maps of the core ``inner`` (default: all) of a window ``t1``, ``t2``
        (h, w, B), ``valid`` (h, w).

        Returns
        -------
        cda : ndarray of int64 (h, w)
            0 unchanged, 1..K types, -1 where not valid.
        ci : ndarray of float32 (h, w)
            Change intensity scaled by the fitted sample's range to [0, 1];
            NaN where not valid.
        """
        inner = (slice(None), slice(None)) if inner is None else inner
        ci, vectors = self.window_statistics(t1, t2, valid, inner)
        core = valid[inner]
        cda = np.full(core.shape, -1, dtype=np.int64)
        cda[core] = self.types(vectors, ci > self.threshold)
        lo, hi = self.ci_range
        out = np.full(core.shape, np.nan, dtype=np.float32)
        out[core] = np.clip((ci - lo) / (hi - lo), 0, 1) if hi > lo else 0.0
        return cda, out


def _weighted_moments(x, w):
    mean = (w @ x) / w.sum()                                   # (B,)
    c = x - mean
    std = np.sqrt(np.einsum("p,pb->b", w, c * c) / w.sum())
    return mean, np.where(std > 0, std, 1.0)


def _moments(x1, x2, stats):
    """Per-band means and deviations (2, B) of the dates: the scene's (a
    streaming pass) when given, else the sample's; a constant band gets 1."""
    if stats is not None:
        mean, std = stats.mean, stats.std
    else:
        mean = np.stack([x1.mean(axis=0), x2.mean(axis=0)])
        std = np.stack([x1.std(axis=0), x2.std(axis=0)])
    return mean, np.where(std > 0, std, 1.0)


def _fit_pca_kmeans(model, windows, rng, options, limit):
    """Celik's eigenspace from the h x h blocks of the sample windows' cores,
    and the two-means of their pixels' features (Celik 2009)."""
    from .._validation import check_positive_int
    from sklearn.cluster import KMeans

    p = model.params
    h = check_positive_int(options.get("block_size", 5), "block_size")
    xds, cores, vs = [], [], []
    for t1, t2, valid, inner in windows:
        diff = np.zeros(t1.shape)
        _, diff[valid] = model.statistics(t1[valid].astype(np.float64), t2[valid].astype(np.float64))
        xds.append(difference_image(diff))
        vs.append(valid)
    p["fill"] = float(np.concatenate([xd[v] for xd, v in zip(xds, vs)]).mean())
    for (t1, _, valid, inner), xd in zip(windows, xds):
        core, ok = np.where(valid, xd, p["fill"])[inner], valid[inner]
        m, n = (core.shape[0] // h) * h, (core.shape[1] // h) * h
        if m and n:
            cores.append((core[:m, :n], ok[:m, :n]))
    if not cores:
        raise InputError(f"the sample windows hold no {h}x{h} block; use a smaller block_size")
    # blocks of each window side by side: every block lies inside one window
    rows = max(c.shape[0] for c, _ in cores)
    mosaic = np.hstack([np.pad(c, ((0, rows - c.shape[0]), (0, 0)), constant_values=p["fill"]) for c, _ in cores])
    ok = np.hstack([np.pad(v, ((0, rows - v.shape[0]), (0, 0))) for _, v in cores])
    p["psi"], p["vecs"], eig = block_eigenspace(mosaic, ok, h, float(options.get("variance", 0.9)),
                                                options.get("n_components"))
    p["block"] = h
    feats, xv = [], []
    for (t1, _, valid, inner), xd in zip(windows, xds):
        full = np.where(valid, xd, p["fill"])
        feats.append(neighbourhood_features(full, p["psi"], p["vecs"], h)[inner][valid[inner]])
        xv.append(xd[inner][valid[inner]])
    feats, xv = np.concatenate(feats), np.concatenate(xv)
    if feats.shape[0] > limit:
        keep = np.sort(rng.randperm(feats.shape[0])[:limit])
        feats, xv = feats[keep], xv[keep]
    km = KMeans(n_clusters=2, n_init=4, random_state=rng.draw_seed()).fit(feats)
    means = [xv[km.labels_ == j].mean() if np.any(km.labels_ == j) else -np.inf for j in (0, 1)]
    p["changed"], p["centres"] = int(np.argmax(means)), km.cluster_centers_
    model.info = {"n_components": int(p["vecs"].shape[1]), "eigenvalues": eig}


def fit_peer(x1, x2, method, rng, n_types=4, threshold_rule=None, stats=None, windows=None,
             sample_pixels=500000, **options):
    """Fit peer ``method`` on valid pixel rows ``x1``, ``x2`` (P, B).

    Parameters
    ----------
    x1, x2 : ndarray (P, B)
        A sample of the scene's valid pixels (or all of them).
    method : one of :data:`TILED_PEERS`
    rng : OctaveRandom
        The run's stream (K-means seeds of the change types).
    n_types : int
    threshold_rule : str, optional
        Decision rule; None for the peer's published default.
    stats : drl_np.frontend.BandStats, optional
        The scene's exact per-band moments for the standardisation of CVA,
        C2VA and PCA-KMeans (``z = (x - mean) / std``, Bovolo & Bruzzone 2007).
    windows : list of (t1, t2, valid, inner), optional
        PCA-KMeans: read windows of the sample (h, w, B) with their cores;
        the block eigenspace and the two-means come from them (at most
        ``sample_pixels`` pixels' features), the change types from their
        cores' pixels.
    **options
        As :func:`drl_np.peers.detect_changes`.

    Returns
    -------
    PeerModel

    Notes
    -----
    MAD/IRMAD (Nielsen 2007): the canonical vectors a, b, the variances
    sigma^2 = 2 (1 - rho) and the weighted means of the last CCA, so a pixel's
    statistic is Z = sum_i ((a_i^T (x - m1) - b_i^T (y - m2)) / sigma_i)^2.
    ISFA (Wu et al. 2014): the slow features w, their variances lambda and
    the weighted means and deviations of the last iteration,
    T = sum_j (w_j^T (z1 - z2))^2 / lambda_j.
    """
    if method not in TILED_PEERS:
        raise InputError(f"method {method!r} does not run tile by tile; use one of "
                         f"{', '.join(TILED_PEERS)} (or the whole image)")
    rule = _DEFAULT_RULE[method] if threshold_rule is None else threshold_rule
    unknown = set(options) - _OPTIONS[method]
    if unknown:
        raise InputError(f"option(s) {', '.join(sorted(unknown))} unknown for method {method!r}")
    x1, x2 = np.asarray(x1, np.float64), np.asarray(x2, np.float64)
    info, params = {}, {}
    if method in ("cva", "c2va", "pca-kmeans"):
        if method == "c2va":
            _check_c2va_options(options)
        if options.get("scale", True):
            params["mean"], params["std"] = _moments(x1, x2, stats)
        else:
            params["mean"], params["std"] = np.zeros((2, x1.shape[1])), np.ones((2, x1.shape[1]))
    elif method in ("mad", "irmad"):
        _check_bands(x1, x2)
        it = _iter_options(options)
        out = irmad(x1, x2, max_iter=1 if method == "mad" else it["max_iter"], tol=it["tol"])
        params = {k: out[k] for k in ("a", "b", "m1", "m2", "rho", "sigma2")}
        info = {"canonical_correlations": out["rho"], "n_iter": out["n_iter"],
                "converged": out["converged"]}
    else:
        _check_bands(x1, x2)
        out = isfa(x1, x2, **_iter_options(options))
        w = out["weights"]
        (m1, s1), (m2, s2) = _weighted_moments(x1, w), _weighted_moments(x2, w)
        params = {"w": out["w"], "lam": out["lam"], "m1": m1, "s1": s1, "m2": m2, "s2": s2}
        info = {"eigenvalues": out["lam"], "n_iter": out["n_iter"], "converged": out["converged"]}
    model = PeerModel(method, params, np.nan, rule, np.zeros((0, 1)), (0.0, 0.0), info)
    if method == "pca-kmeans":
        if not windows:
            raise InputError("pca-kmeans is fitted on sample windows, not on pixels alone")
        _fit_pca_kmeans(model, windows, rng, options, sample_pixels)
        parts = [model.window_statistics(*w) for w in windows]
        ci, vectors = np.concatenate([c for c, _ in parts]), np.concatenate([v for _, v in parts])
    else:
        ci, vectors = model.statistics(x1, x2)
    scaled = np.sqrt(ci) if method in _SQRT_SCALE else ci
    if method == "pca-kmeans" and rule == "kmeans":
        thr = 0.0                      # Celik's own nearest-centre assignment
    else:
        thr = threshold(scaled, rule)
    model.threshold = float(thr * thr if method in _SQRT_SCALE else thr)
    changed = ci > model.threshold
    if method == "c2va":
        labels, sector_info = sector_types(vectors[:, 0], changed, n_types, rng,
                                           rule=options.get("sectors", "valleys"),
                                           n_bins=options.get("n_bins", 180))
        bounds = np.asarray(sector_info["sector_bounds"], dtype=np.float64)
        edges = np.concatenate(([0.0], bounds, [np.pi]))
        rank = np.zeros(bounds.size + 1, dtype=np.int64)          # sector -> type - 1
        for t, (lo, _) in enumerate(sector_info["type_sectors"]):
            rank[int(np.flatnonzero(edges[:-1] == lo)[0])] = t
        params["bounds"] = bounds
        model.centres = rank if sector_info["type_sectors"] else np.zeros(0, dtype=np.int64)
        info.update(sector_info)
    else:
        _, model.centres = change_types(vectors, changed, n_types, rng)
    model.ci_range = (float(ci.min()), float(ci.max()))
    return model
