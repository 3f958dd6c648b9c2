"""Weighted means and covariances, and the chi-square tail, shared by
MAD/IRMAD and ISFA."""
import numpy as np
from scipy import special

from .._threads import map_two

__all__ = ["chi2_sf", "weighted_center", "weighted_cov"]


def chi2_sf(z, df):
    """``scipy.stats.chi2.sf(z, df)`` of a 1-D ``z >= 0``, bit for bit: the same
    ``special.chdtrc`` without ``scipy.stats``' argument handling (which
    also makes a negative ``z`` 1 instead of NaN), each half
    of ``z`` on its own thread when allowed (ISFA evaluates it once per
    pixel and iteration)."""
    half = z.shape[0] // 2
    return np.concatenate(map_two(lambda part: special.chdtrc(df, part), z[:half], z[half:]))


def weighted_center(x, w):
    """``x`` (P, B) minus its ``w``-weighted column means; weights (P,)."""
    return x - (w @ x) / w.sum()                      # (P, B)


def weighted_cov(a, b, w):
    """Weighted cross-covariance of centred ``a`` (P, B1), ``b`` (P, B2).

    ``sum_p w_p a_p b_p^T / sum_p w_p``, shape (B1, B2).
    """
    return (a * w[:, None]).T @ b / w.sum()
