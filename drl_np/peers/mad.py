"""MAD and IRMAD (Nielsen 2007): canonical correlation analysis of two dates.

Canonical variates ``U = a^T x`` and ``V = b^T y`` of unit variance and
correlation ``rho`` maximal; the MAD variates ``U - V`` are ordered by
increasing correlation, so the first has the largest variance
``2 (1 - rho)``. IRMAD iterates, weighting each pixel by its no-change
probability, until the correlations settle.
"""
from types import SimpleNamespace

import numpy as np
from scipy import linalg

from .._validation import check_choice
from ..progress import step
from . import _irmad_passes

__all__ = ["ENGINES", "cca", "irmad", "mad_chi2", "mad_variates"]

#: the engines of the pixel passes
ENGINES = ("numba", "numpy")

_SIGMA2_FLOOR = 1e-12
#: A canonical pair with ``1 - rho`` below this is perfectly correlated up to
#: rounding (identical dates, or one an affine copy of the other): its MAD
#: variate is rounding noise, not change, and is set to zero.
_NO_CHANGE_GAP = 1e-9


def cca(x1, x2, w, engine="numba"):
    """Weighted canonical correlation analysis of ``x1``, ``x2`` (P, B).

    Parameters
    ----------
    x1, x2 : ndarray, shape (P, B)
        The dates, one row per valid pixel.
    w : ndarray, shape (P,)
        Non-negative pixel weights (all ones for plain CCA).
    engine : {'numba', 'numpy'}, default 'numba'
        The passes over the pixels compiled, or their NumPy twins
        (:mod:`._irmad_passes`; equal to rounding).

    Returns
    -------
    rho : ndarray, shape (B,)
        Canonical correlations, ascending.
    a, b : ndarray, shape (B, B)
        Columns are the canonical vectors, with ``a^T S11 a = b^T S22 b = I``.
    m1, m2 : ndarray, shape (B,)
        The dates' weighted means, which the variates ``(x1 - m1) a`` and
        ``(x2 - m2) b`` are centred on.

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
    passes = _passes(engine)
    m1, m2, sw = passes.weighted_means(x1, x2, w)
    s11, s22, s12 = passes.weighted_moments(x1, x2, w, m1, m2, sw)   # (B, B) each
    s22_inv_s21 = linalg.solve(s22, s12.T, assume_a="pos")   # (B, B)
    rho2, a = linalg.eigh(s12 @ s22_inv_s21, s11)          # ascending
    rho = np.sqrt(np.clip(rho2, 0.0, 1.0))
    b = s22_inv_s21 @ a                                   # (B, B)
    b = b / np.sqrt(np.einsum("ij,ik,kj->j", b, s22, b))
    sign = np.sign((s11 @ a).sum(axis=0))
    sign[sign == 0] = 1.0
    return rho, a * sign, b * sign, m1, m2


def irmad(x1, x2, max_iter=50, tol=1e-6, engine="numba"):
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
    engine : {'numba', 'numpy'}, default 'numba'
        The passes over the pixels compiled, or their NumPy twins.

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
    passes = _passes(engine)
    if engine == "numba":                                  # one copy here, none in the passes
        x1, x2 = np.ascontiguousarray(x1, np.float64), np.ascontiguousarray(x2, np.float64)
    b_count = x1.shape[1]
    w = np.ones(x1.shape[0])
    rho_prev = None
    for it in range(1, max_iter + 1):
        rho, a, b, m1, m2 = cca(x1, x2, w, engine)
        sigma2 = np.maximum(2.0 * (1.0 - rho), _SIGMA2_FLOOR)  # (B,)
        moved = np.max(np.abs(rho - rho_prev)) if rho_prev is not None else np.inf
        converged = bool(moved < tol)
        last = converged or it == max_iter
        # a pair correlated to rounding has a MAD variate of rounding noise, no change;
        # the variates themselves are kept from the last iteration only
        mad, z = passes.mad_scores(x1, x2, m1, m2, a, b, (1.0 - rho) < _NO_CHANGE_GAP, sigma2,
                                   with_mad=last)
        if max_iter > 1:
            step("IRMAD iteration", it, max_iter, f"largest change of rho {moved:.2g}")
        if last:
            break
        rho_prev = rho
        w = passes.no_change_probability(z, b_count)           # 1 - cdf
    return {"mad": mad, "sigma2": sigma2, "chi2": z, "rho": rho, "weights": w,
            "n_iter": it, "converged": converged, "a": a, "b": b, "m1": m1, "m2": m2}


def mad_variates(x1, x2, fit, engine="numba"):
    """MAD variates (P, B) of other pixels ``x1``, ``x2`` (P, B) under a
    fitted :func:`irmad` (its weighted means ``m1``, ``m2``, canonical
    vectors ``a``, ``b`` and correlations ``rho``).

    On the pixels ``fit`` was computed from they equal ``fit['mad']`` bit
    for bit, with the engine the fit used: the variates are the same
    per-pixel computation.
    """
    return _mad_and_chi2(x1, x2, fit, engine)[0]


def mad_chi2(x1, x2, fit, engine="numba"):
    """The statistic Z (P,) of other pixels under a fitted :func:`irmad`:
    :func:`mad_variates` over their variances ``sigma2``, squared and summed."""
    return _mad_and_chi2(x1, x2, fit, engine, with_mad=False)[1]


def _mad_and_chi2(x1, x2, fit, engine, with_mad=True):
    return _passes(engine).mad_scores(x1, x2, fit["m1"], fit["m2"], fit["a"], fit["b"],
                                      (1.0 - fit["rho"]) < _NO_CHANGE_GAP, fit["sigma2"], with_mad=with_mad)


#: the passes over the pixels of each engine (``._irmad_passes``)
_PASSES = {
    "numba": SimpleNamespace(weighted_means=_irmad_passes.weighted_means,
                             weighted_moments=_irmad_passes.weighted_moments,
                             mad_scores=_irmad_passes.mad_scores,
                             no_change_probability=_irmad_passes.no_change_probability),
    "numpy": SimpleNamespace(weighted_means=_irmad_passes.weighted_means_numpy,
                             weighted_moments=_irmad_passes.weighted_moments_numpy,
                             mad_scores=_irmad_passes.mad_scores_numpy,
                             no_change_probability=_irmad_passes.no_change_probability_numpy),
}


def _passes(engine):
    """The pixel passes of ``engine``."""
    return _PASSES[check_choice(engine, ENGINES, "engine")]
