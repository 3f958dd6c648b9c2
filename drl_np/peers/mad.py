"""MAD and IRMAD (Nielsen 2007): canonical correlation analysis of two dates.

Canonical variates ``U = a^T x`` and ``V = b^T y`` of unit variance and
correlation ``rho`` maximal; the MAD variates ``U - V`` are ordered by
increasing correlation, so the first has the largest variance
``2 (1 - rho)``. IRMAD iterates, weighting each pixel by its no-change
probability, until the correlations settle.
"""
import numpy as np
from scipy import linalg

from .._threads import map_two
from ..progress import step
from ._stats import chi2_sf, weighted_center, weighted_cov

__all__ = ["cca", "irmad", "mad_chi2", "mad_variates"]

_SIGMA2_FLOOR = 1e-12
#: A canonical pair with ``1 - rho`` below this is perfectly correlated up to
#: rounding (identical dates, or one an affine copy of the other): its MAD
#: variate is rounding noise, not change, and is set to zero.
_NO_CHANGE_GAP = 1e-9


def cca(x1, x2, w):
    """Weighted canonical correlation analysis of ``x1``, ``x2`` (P, B).

    Parameters
    ----------
    x1, x2 : ndarray, shape (P, B)
        The dates, one row per valid pixel.
    w : ndarray, shape (P,)
        Non-negative pixel weights (all ones for plain CCA).

    Returns
    -------
    rho : ndarray, shape (B,)
        Canonical correlations, ascending.
    a, b : ndarray, shape (B, B)
        Columns are the canonical vectors, with ``a^T S11 a = b^T S22 b = I``.
    c1, c2 : ndarray, shape (P, B)
        The dates centred on their weighted means.

    Notes
    -----
    The correlations solve the generalised symmetric eigenproblem
    :math:`\\Sigma_{12}\\Sigma_{22}^{-1}\\Sigma_{21} a = \\rho^2 \\Sigma_{11} a`
    (``scipy.linalg.eigh``, whose vectors are :math:`\\Sigma_{11}`-orthonormal);
    then :math:`b \\propto \\Sigma_{22}^{-1}\\Sigma_{21} a`, scaled to unit
    variance, which makes each correlation positive. The sign of each pair
    is fixed so that the canonical variate of date 1 has a positive sum of
    covariances with the bands of date 1 (Nielsen's convention).
    """
    c1, c2 = map_two(lambda x: weighted_center(x, w), x1, x2)   # each date alone: two threads
    c1w = c1 * w[:, None]                                # (P, B), for s11 and s12
    s11 = weighted_cov(c1, c1, w, c1w)                   # (B, B)
    s22 = weighted_cov(c2, c2, w)
    s12 = weighted_cov(c1, c2, w, c1w)
    s22_inv_s21 = linalg.solve(s22, s12.T, assume_a="pos")   # (B, B)
    rho2, a = linalg.eigh(s12 @ s22_inv_s21, s11)          # ascending
    rho = np.sqrt(np.clip(rho2, 0.0, 1.0))
    b = s22_inv_s21 @ a                                   # (B, B)
    b = b / np.sqrt(np.einsum("ij,ik,kj->j", b, s22, b))
    sign = np.sign((s11 @ a).sum(axis=0))
    sign[sign == 0] = 1.0
    return rho, a * sign, b * sign, c1, c2


def irmad(x1, x2, max_iter=50, tol=1e-6):
    """IRMAD of ``x1``, ``x2`` (P, B); ``max_iter=1`` gives plain MAD.

    Parameters
    ----------
    x1, x2 : ndarray, shape (P, B)
        The dates, one row per valid pixel (raw values: CCA is invariant to
        affine transforms of either date).
    max_iter : int, default 50
        Largest number of CCA solves.
    tol : float, default 1e-6
        Stop when no canonical correlation moves by more than ``tol``.

    Returns
    -------
    dict
        ``mad`` (P, B) MAD variates, ``sigma2`` (B,) their variances
        ``2 (1 - rho)``, ``chi2`` (P,) the statistic
        :math:`Z = \\sum_i (\\mathrm{MAD}_i / \\sigma_i)^2`, ``rho`` (B,),
        ``weights`` (P,) the no-change probabilities of the last step,
        ``n_iter``, ``converged``, ``a``, ``b``, ``m1``, ``m2`` (B,) the
        weighted means the variates are centred on.

    Notes
    -----
    Each iteration computes the weighted CCA with weights
    :math:`w_p = 1 - F_{\\chi^2_B}(Z_p)` from the previous one
    (Nielsen 2007, Sec. III); :math:`Z` is approximately
    :math:`\\chi^2_B` for no-change pixels.
    """
    b_count = x1.shape[1]
    w = np.ones(x1.shape[0])
    rho_prev = None
    converged = False
    for it in range(1, max_iter + 1):
        rho, a, b, c1, c2 = cca(x1, x2, w)
        u, v = map_two(lambda cv: cv[0] @ cv[1], (c1, a), (c2, b))   # canonical variates
        mad = u - v                                            # (P, B)
        mad[:, (1.0 - rho) < _NO_CHANGE_GAP] = 0.0             # rounding noise, no change
        sigma2 = np.maximum(2.0 * (1.0 - rho), _SIGMA2_FLOOR)  # (B,)
        z = (mad * mad / sigma2).sum(axis=1)                   # (P,)
        moved = np.max(np.abs(rho - rho_prev)) if rho_prev is not None else np.inf
        if max_iter > 1:
            step("IRMAD iteration", it, max_iter, f"largest change of rho {moved:.2g}")
        if moved < tol:
            converged = True
            break
        rho_prev = rho
        if it < max_iter:
            w = chi2_sf(z, b_count)                            # 1 - cdf
    return {"mad": mad, "sigma2": sigma2, "chi2": z, "rho": rho, "weights": w,
            "n_iter": it, "converged": converged, "a": a, "b": b,
            "m1": (w @ x1) / w.sum(), "m2": (w @ x2) / w.sum()}


def mad_variates(x1, x2, fit):
    """MAD variates (P, B) of other pixels ``x1``, ``x2`` (P, B) under a
    fitted :func:`irmad` (its weighted means ``m1``, ``m2``, canonical
    vectors ``a``, ``b`` and correlations ``rho``).

    On the pixels ``fit`` was computed from they equal ``fit['mad']`` bit
    for bit: the variates are centred on the same weighted means.
    """
    mad = (x1 - fit["m1"]) @ fit["a"] - (x2 - fit["m2"]) @ fit["b"]      # (P, B)
    mad[:, (1.0 - fit["rho"]) < _NO_CHANGE_GAP] = 0.0                  # rounding noise, no change
    return mad


def mad_chi2(x1, x2, fit):
    """The statistic Z (P,) of other pixels under a fitted :func:`irmad`:
    :func:`mad_variates` over their variances ``sigma2``, squared and summed."""
    mad = mad_variates(x1, x2, fit)
    return (mad * mad / fit["sigma2"]).sum(axis=1)
