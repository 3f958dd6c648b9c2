"""PCA-KMeans (Celik 2009): PCA of difference-image blocks, two-class K-means.

The difference image is cut into non-overlapping ``h x h`` blocks; PCA of
those blocks gives an eigenvector space of the S leading eigenvectors
(S: the fewest explaining ``variance`` of the block variance). Every pixel's
``h x h`` neighbourhood, minus the mean block, is projected on that space,
and K-means with k = 2 splits the feature vectors; the cluster whose pixels
have the larger mean difference is the changed one.
"""
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

__all__ = ["difference_image", "block_eigenspace", "neighbourhood_features",
           "pca_kmeans"]


def difference_image(diff):
    """Celik's difference image for multi-band data: ``||d||`` per pixel.

    ``diff`` (..., B) change vectors; returns their Euclidean norm (...). For
    one band this is Celik's ``|X2 - X1|``.
    """
    return np.sqrt(np.sum(diff * diff, axis=-1))


def block_eigenspace(xd, valid, h, variance=0.9, n_components=None):
    """Mean block and leading eigenvectors of the ``h x h`` blocks of ``xd``.

    Parameters
    ----------
    xd : ndarray, shape (M, N)
        Difference image.
    valid : ndarray of bool, shape (M, N)
        Valid pixels; only blocks made wholly of valid pixels are used (all
        blocks when there is none).
    h : int
        Block side.
    variance : float, default 0.9
        Keep the fewest eigenvectors whose eigenvalues sum to at least this
        share of the total.
    n_components : int or None
        Keep exactly this many instead (capped at ``h * h``).

    Returns
    -------
    psi : ndarray, shape (h * h,)
        Mean block, row-major.
    vecs : ndarray, shape (h * h, S)
        Eigenvectors, by decreasing eigenvalue.
    eigvals : ndarray, shape (h * h,)
        All eigenvalues, decreasing.
    """
    mb, nb = xd.shape[0] // h, xd.shape[1] // h
    blocks = (xd[:mb * h, :nb * h].reshape(mb, h, nb, h)
              .transpose(0, 2, 1, 3).reshape(mb * nb, h * h))     # (blocks, h*h)
    ok = (valid[:mb * h, :nb * h].reshape(mb, h, nb, h)
          .transpose(0, 2, 1, 3).reshape(mb * nb, h * h).all(axis=1))
    if ok.sum() >= 2:
        blocks = blocks[ok]
    psi = blocks.mean(axis=0)
    cov = np.cov(blocks - psi, rowvar=False).reshape(h * h, h * h)
    eigvals, vecs = np.linalg.eigh(cov)
    eigvals, vecs = eigvals[::-1], vecs[:, ::-1]
    if n_components is None:
        share = np.cumsum(np.clip(eigvals, 0, None)) / max(np.clip(eigvals, 0, None).sum(), 1e-300)
        s = int(np.searchsorted(share, variance - 1e-12) + 1)
    else:
        s = n_components
    s = min(max(s, 1), h * h)
    return psi, vecs[:, :s], eigvals


def neighbourhood_features(xd, psi, vecs, h):
    """Project every pixel's ``h x h`` neighbourhood on the eigenvectors.

    The neighbourhood of pixel (i, j) spans rows ``i - h//2 .. i - h//2 + h - 1``
    (likewise columns); the image is extended by reflection at its borders.
    Returns features of shape (M, N, S). Computed as ``h * h`` shifted sums, so
    no (M, N, h * h) array is formed.
    """
    m, n = xd.shape
    lo = h // 2
    padded = np.pad(xd, ((lo, h - 1 - lo), (lo, h - 1 - lo)), mode="reflect")
    feats = np.zeros((m, n, vecs.shape[1]))
    for k in range(h * h):
        r, c = divmod(k, h)                                   # row-major offset
        feats += (padded[r:r + m, c:c + n] - psi[k])[:, :, None] * vecs[k]
    return feats


def pca_kmeans(diff, valid, rng, block_size=5, variance=0.9, n_components=None):
    """Celik's PCA-KMeans on change vectors ``diff`` (M, N, B).

    Returns
    -------
    dict
        ``margin`` (P,) for valid pixels: distance to the unchanged centre
        minus distance to the changed centre (positive = changed, 0 is the
        K-means boundary), ``features`` (P, S), ``n_components`` S,
        ``eigenvalues``.
    """
    xd = difference_image(diff)                                     # (M, N)
    xd = np.where(valid, xd, xd[valid].mean())
    psi, vecs, eigvals = block_eigenspace(xd, valid, block_size, variance, n_components)
    feats = neighbourhood_features(xd, psi, vecs, block_size)[valid]  # (P, S)
    with warnings.catch_warnings():
        # identical dates give one distinct feature vector: both centres sit
        # on it, every margin is 0 and no pixel changes, which is the answer
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = KMeans(n_clusters=2, n_init=4, random_state=rng.draw_seed()).fit(feats)
    labels = km.labels_
    xv = xd[valid]
    means = [xv[labels == j].mean() if np.any(labels == j) else -np.inf for j in (0, 1)]
    changed = int(np.argmax(means))
    dist = np.linalg.norm(feats[:, None, :] - km.cluster_centers_[None], axis=2)  # (P, 2)
    margin = dist[:, 1 - changed] - dist[:, changed]
    return {"margin": margin, "features": feats, "n_components": vecs.shape[1],
            "eigenvalues": eigvals}
