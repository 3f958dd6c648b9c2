"""Change types: K-means of the changed pixels' change vectors."""
import numpy as np
from sklearn.cluster import KMeans

__all__ = ["change_types"]


def change_types(vectors, changed, n_types, rng):
    """Label changed pixels with one of ``n_types`` change types.

    Parameters
    ----------
    vectors : ndarray, shape (P, D)
        Change vector of every valid pixel.
    changed : ndarray of bool, shape (P,)
        The binary change map on the valid pixels.
    n_types : int
        Number of change types K (at least 1). Fewer are used when fewer
        than K distinct changed vectors exist.
    rng : drl_np.rng.OctaveRandom
        Stream; one seed is drawn from it for scikit-learn's K-means.

    Returns
    -------
    ndarray of int, shape (P,)
        0 for unchanged pixels, 1..K for the types, numbered by decreasing
        cluster size (ties by the order of K-means' labels).
    """
    types = np.zeros(vectors.shape[0], dtype=np.int64)
    seed = rng.draw_seed()                   # drawn even if unused: fixed stream use
    x = vectors[changed]                     # (C, D)
    if x.shape[0] == 0:
        return types
    k = min(n_types, np.unique(x, axis=0).shape[0])
    if k <= 1:
        types[changed] = 1
        return types
    labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(x)
    counts = np.bincount(labels, minlength=k)
    order = np.argsort(-counts, kind="stable")   # largest cluster first
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(1, k + 1)
    types[changed] = rank[labels]
    return types
