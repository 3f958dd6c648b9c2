"""Weighted means and covariances shared by MAD/IRMAD and ISFA."""

__all__ = ["weighted_center", "weighted_cov"]


def weighted_center(x, w):
    """``x`` (P, B) minus its ``w``-weighted column means; weights (P,)."""
    return x - (w @ x) / w.sum()                      # (P, B)


def weighted_cov(a, b, w):
    """Weighted cross-covariance of centred ``a`` (P, B1), ``b`` (P, B2).

    ``sum_p w_p a_p b_p^T / sum_p w_p``, shape (B1, B2).
    """
    return (a * w[:, None]).T @ b / w.sum()
