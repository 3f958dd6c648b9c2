"""SFA and ISFA (Wu, Du & Zhang 2014): slow feature analysis of two dates.

The bands are standardised; slow features are projections ``w`` that make
the temporal difference small relative to the signal:
``A w = lambda B w`` with ``A = cov(x - y)`` and ``B = (cov x + cov y) / 2``.
The smallest ``lambda`` gives the most invariant feature. ISFA reweights
pixels by their no-change probability and repeats until ``lambda`` settles.
"""
import numpy as np
from scipy import linalg

from ..progress import step
from ._stats import chi2_sf, weighted_center, weighted_cov

__all__ = ["sfa_eig", "isfa"]

_LAMBDA_FLOOR = 1e-12


def sfa_eig(mat_a, mat_b):
    """Solve ``A w = lambda B w`` for symmetric A and positive-definite B.

    Returns
    -------
    lam : ndarray, shape (B,)
        Eigenvalues, ascending (slowest feature first).
    w : ndarray, shape (B, B)
        Columns are the eigenvectors, B-orthonormal (``w^T B w = I``), each
        with its largest-magnitude entry positive.
    """
    lam, w = linalg.eigh(mat_a, mat_b)
    big = np.argmax(np.abs(w), axis=0)                 # (B,)
    sign = np.sign(w[big, np.arange(w.shape[1])])
    sign[sign == 0] = 1.0
    return lam, w * sign


def isfa(x1, x2, max_iter=50, tol=1e-6):
    """ISFA of ``x1``, ``x2`` (P, B); ``max_iter=1`` gives plain SFA.

    Parameters
    ----------
    x1, x2 : ndarray, shape (P, B)
        The dates, one row per valid pixel.
    max_iter : int, default 50
        Largest number of eigen-solves.
    tol : float, default 1e-6
        Stop when no eigenvalue moves by more than ``tol``.

    Returns
    -------
    dict
        ``sfa`` (P, B) SFA variates ``w^T (z1 - z2)``, ``lam`` (B,) their
        (weighted) variances, ``chi2`` (P,) the statistic
        :math:`T = \\sum_j \\mathrm{SFA}_j^2 / \\lambda_j`, ``weights`` (P,)
        the no-change probabilities of the last step, ``n_iter``,
        ``converged``, ``w`` (B, B).

    Notes
    -----
    With ``w^T B w = 1`` the weighted variance of the j-th SFA variate is
    :math:`w_j^T A w_j = \\lambda_j`, so :math:`T` is approximately
    :math:`\\chi^2_B` for unchanged pixels; ISFA weights are
    :math:`1 - F_{\\chi^2_B}(T)`. In each iteration the bands are
    standardised with the weighted mean and standard deviation.
    """
    b_count = x1.shape[1]
    weights = np.ones(x1.shape[0])
    lam_prev = None
    converged = False
    for it in range(1, max_iter + 1):
        z1 = _weighted_standardise(x1, weights)
        z2 = _weighted_standardise(x2, weights)
        d = z1 - z2                                              # (P, B)
        mat_a = weighted_cov(d, d, weights)                      # (B, B)
        mat_b = 0.5 * (weighted_cov(z1, z1, weights) + weighted_cov(z2, z2, weights))
        lam, w = sfa_eig(mat_a, mat_b)
        lam = np.maximum(lam, _LAMBDA_FLOOR)
        sfa = d @ w                                              # (P, B)
        t = (sfa * sfa / lam).sum(axis=1)                        # (P,)
        moved = np.max(np.abs(lam - lam_prev)) if lam_prev is not None else np.inf
        step("ISFA iteration", it, max_iter, f"largest change of lambda {moved:.2g}")
        if moved < tol:
            converged = True
            break
        lam_prev = lam
        if it < max_iter:
            weights = chi2_sf(t, b_count)
    return {"sfa": sfa, "lam": lam, "chi2": t, "weights": weights,
            "n_iter": it, "converged": converged, "w": w}


def _weighted_standardise(x, w):
    """``x`` (P, B) centred and scaled by its ``w``-weighted mean and std."""
    c = weighted_center(x, w)
    std = np.sqrt(np.einsum("p,pb->b", w, c * c) / w.sum())     # (B,)
    return c / np.where(std > 0, std, 1.0)
