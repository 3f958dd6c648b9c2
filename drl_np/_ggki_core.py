"""Private, vectorised computation of the KI and GGKI criteria over all
candidate thresholds of one histogram (``docs/ggki.md`` §2–§3).

Everything here works on clean input: a float64 count vector with at least
four non-empty bins is *not* required (invalid candidates become +inf), but
the counts must be finite and non-negative. Coordinates are the centred bin
index ``u_k = k - (L - 1) / 2`` (``docs/ggki.md`` §3.4); the public wrapper adds ``ln Δ``
to move J into data units.
"""
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

BETA_MIN = 0.1
BETA_MAX = 20.0
N_BISECT = 64
_CHUNK_ENTRIES = 1 << 20  # rows of the (T, L) data-term broadcast per chunk


@dataclass(frozen=True, eq=False)
class ClassMoments:
    """Per-candidate moments of one class, in bin-index units, shape (L-1,)."""

    prior: np.ndarray     # P_i(t)
    mean: np.ndarray      # mu_i(t) in u units
    var: np.ndarray       # v_i(t) in u^2 units (population variance)
    kurtosis: np.ndarray  # mu_4 / v^2
    ratio: np.ndarray     # E|u - mu| / sqrt(v)
    nonempty: np.ndarray  # number of non-empty bins in the class
    lo: np.ndarray        # first bin of the class (inclusive)
    hi: np.ndarray        # last bin of the class (exclusive)


def _prefix(w):
    """Sums over bins 0..t for t = 0..L-2; (L,) -> (L-1,)."""
    return np.cumsum(w)[:-1]


def _suffix(w):
    """Sums over bins t+1..L-1 for t = 0..L-2 by a true reverse cumsum."""
    return np.cumsum(w[::-1])[::-1][1:]


def _moments(S, nonempty, lo, hi, h, u):
    """Class moments from power sums ``S[r] = sum h u^r`` (r = 0..4)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        P = S[0]
        mu = S[1] / P
        m2, m3, m4 = S[2] / P, S[3] / P, S[4] / P
        var = m2 - mu ** 2
        mu4 = m4 - 4.0 * mu * m3 + 6.0 * mu ** 2 * m2 - 3.0 * mu ** 4
        kurt = mu4 / var ** 2
        # E|u - mu| by a split at mu (``docs/ggki.md`` §3.4 step 4); H, G have a leading 0.
        H = np.concatenate(([0.0], np.cumsum(h)))
        G = np.concatenate(([0.0], np.cumsum(h * u)))
        mu_safe = np.where(np.isfinite(mu), mu, 0.0)
        j = np.clip(np.searchsorted(u, mu_safe), lo, hi)
        abs_dev = (mu_safe * (H[j] - H[lo]) - (G[j] - G[lo])
                   + (G[hi] - G[j]) - mu_safe * (H[hi] - H[j]))
        ratio = (abs_dev / P) / np.sqrt(var)
    return ClassMoments(P, mu, var, kurt, ratio, nonempty, lo, hi)


def class_moments(counts):
    """Moments of both classes for every candidate t = 0..L-2.

    Parameters
    ----------
    counts : ndarray, shape (L,)
        Histogram counts (float64, non-negative, positive total).

    Returns
    -------
    c1, c2 : ClassMoments
        Class 1 is bins 0..t, class 2 is bins t+1..L-1.
    """
    L = counts.size
    h = counts / counts.sum()
    u = np.arange(L, dtype=np.float64) - (L - 1) / 2.0
    powers = [h * u ** r for r in range(5)]                    # 5 x (L,)
    occupied = (counts > 0).astype(np.float64)
    t = np.arange(L - 1)
    c1 = _moments([_prefix(w) for w in powers], _prefix(occupied),
                  np.zeros_like(t), t + 1, h, u)
    c2 = _moments([_suffix(w) for w in powers], _suffix(occupied),
                  t + 1, np.full_like(t, L), h, u)
    return c1, c2


def valid_candidates(c1, c2):
    """True where both classes hold >= 2 non-empty bins and var > 0 (``docs/ggki.md`` §4)."""
    return ((c1.nonempty >= 2) & (c2.nonempty >= 2)
            & (c1.var > 0) & (c2.var > 0))


# ---------------------------------------------------------------- shape (β)

def ln_kurtosis(beta):
    """ln K(β) = lnΓ(1/β) + lnΓ(5/β) − 2 lnΓ(3/β); strictly decreasing."""
    return gammaln(1.0 / beta) + gammaln(5.0 / beta) - 2.0 * gammaln(3.0 / beta)


def ln_ratio(beta):
    """ln R(β) = lnΓ(2/β) − ½[lnΓ(1/β) + lnΓ(3/β)]; strictly increasing."""
    return gammaln(2.0 / beta) - 0.5 * (gammaln(1.0 / beta) + gammaln(3.0 / beta))


def solve_beta(stat, shape):
    """Invert K(β) = κ̂ or R(β) = r̂ by bisection in ln β on [0.1, 20].

    Out-of-range statistics clamp to the bounds (``docs/ggki.md`` §2.4). Non-finite
    ``stat`` gives NaN (the caller marks those candidates invalid).

    Parameters
    ----------
    stat : ndarray, shape (T,)
        Sample kurtosis (``shape="kurtosis"``) or ratio (``shape="ratio"``).
    shape : {"kurtosis", "ratio"}

    Returns
    -------
    beta : ndarray, shape (T,)
    """
    stat = np.asarray(stat, dtype=np.float64)
    finite = np.isfinite(stat)
    if shape == "kurtosis":
        f, sign = ln_kurtosis, -1.0       # decreasing in β
        target = np.log(np.maximum(np.where(finite, stat, 1.0), 1.0))
    else:
        f, sign = ln_ratio, 1.0           # increasing in β
        with np.errstate(divide="ignore"):
            target = np.log(np.where(finite, np.maximum(stat, 0.0), 1.0))
    a = np.full(stat.shape, np.log(BETA_MIN))
    b = np.full(stat.shape, np.log(BETA_MAX))
    for _ in range(N_BISECT):             # loop over iterations, not over t
        mid = 0.5 * (a + b)
        below = sign * (f(np.exp(mid)) - target) < 0   # root lies above mid
        a = np.where(below, mid, a)
        b = np.where(below, b, mid)
    beta = np.exp(0.5 * (a + b))
    lo_val, hi_val = sign * f(BETA_MIN), sign * f(BETA_MAX)
    beta = np.where(sign * target <= lo_val, BETA_MIN, beta)
    beta = np.where(sign * target >= hi_val, BETA_MAX, beta)
    return np.where(finite, beta, np.nan)


def c_of_beta(beta):
    """c(β) = ln 2 + lnΓ(1/β) − ln β − ½[lnΓ(3/β) − lnΓ(1/β)]; c(2) = ½ ln 2π."""
    return (np.log(2.0) + gammaln(1.0 / beta) - np.log(beta)
            - 0.5 * (gammaln(3.0 / beta) - gammaln(1.0 / beta)))


def gg_scale_ratio(beta):
    """α/σ = sqrt(Γ(1/β)/Γ(3/β)), the GG scale per unit standard deviation."""
    return np.exp(0.5 * (gammaln(1.0 / beta) - gammaln(3.0 / beta)))


# ---------------------------------------------------------------- data term

def data_term(counts, cm, beta):
    """D_i(t) = Σ_{k∈C_i(t)} h_k [b_i |u_k − μ_i|]^{β_i} for all t (``docs/ggki.md`` §3.4.6).

    A masked (T, L) broadcast in log space, processed in row chunks. An
    overflowing entry makes D = +inf for that t.

    Parameters
    ----------
    counts : ndarray, shape (L,)
    cm : ClassMoments
        Moments of the class; rows with var <= 0 or NaN β must be masked
        by the caller afterwards (their D is meaningless).
    beta : ndarray, shape (T,)

    Returns
    -------
    D : ndarray, shape (T,)
    """
    L = counts.size
    h = counts / counts.sum()
    u = np.arange(L, dtype=np.float64) - (L - 1) / 2.0
    k = np.arange(L)
    T = beta.size
    ok = np.isfinite(beta) & (cm.var > 0) & np.isfinite(cm.mean)
    beta_s = np.where(ok, beta, 2.0)
    var_s = np.where(ok, cm.var, 1.0)
    mu_s = np.where(ok, cm.mean, 0.0)
    ln_b = -0.5 * np.log(var_s) + 0.5 * (gammaln(3.0 / beta_s) - gammaln(1.0 / beta_s))
    D = np.empty(T)
    rows = max(1, _CHUNK_ENTRIES // L)
    for s in range(0, T, rows):           # chunks of rows bound the memory
        sl = slice(s, s + rows)
        dev = np.abs(u[None, :] - mu_s[sl, None])                  # (t, L)
        inside = ((k[None, :] >= cm.lo[sl, None]) & (k[None, :] < cm.hi[sl, None])
                  & (h[None, :] > 0) & (dev > 0))
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            log_e = beta_s[sl, None] * (ln_b[sl, None] + np.log(dev))
            e = np.exp(np.where(inside, log_e, -np.inf))            # (t, L)
            D[sl] = e @ h
    return D


# ---------------------------------------------------------------- criteria

def gg_criterion(counts, shape="kurtosis", form="exact", beta=None):
    """GGKI criterion J(t) in bin-index units for every t (``docs/ggki.md`` §3.1).

    J_u(t) = Σ_i [D_i + P_i ln √v_i + P_i c(β_i) − P_i ln P_i]; +inf where
    t is invalid. ``beta`` = (β_1, β_2) fixes the shapes (2, 2 gives KI).

    Returns
    -------
    J : ndarray, shape (L-1,)
    c1, c2 : ClassMoments
    beta1, beta2 : ndarray, shape (L-1,)
    """
    c1, c2 = class_moments(counts)
    valid = valid_candidates(c1, c2)
    J = np.zeros(counts.size - 1)
    betas = []
    for i, cm in enumerate((c1, c2)):
        if beta is not None:
            b = np.full(J.shape, float(beta[i]))
        else:
            stat = cm.kurtosis if shape == "kurtosis" else cm.ratio
            b = solve_beta(np.where(valid, stat, np.nan), shape)
        betas.append(b)
        D = data_term(counts, cm, b) if form == "exact" else cm.prior / b
        with np.errstate(divide="ignore", invalid="ignore"):
            J = J + (D + cm.prior * 0.5 * np.log(cm.var)
                     + cm.prior * c_of_beta(b) - cm.prior * np.log(cm.prior))
    J = np.where(valid & np.isfinite(J), J, np.inf)
    return J, c1, c2, betas[0], betas[1]


def ki_criterion(counts):
    """Classic KI criterion J_KI(t) = 1 + 2 Σ P_i ln σ_i − 2 Σ P_i ln P_i
    in bin-index units; +inf where t is invalid.

    Returns
    -------
    J : ndarray, shape (L-1,)
    c1, c2 : ClassMoments
    """
    c1, c2 = class_moments(counts)
    valid = valid_candidates(c1, c2)
    with np.errstate(divide="ignore", invalid="ignore"):
        J = 1.0 + sum(cm.prior * np.log(cm.var) - 2.0 * cm.prior * np.log(cm.prior)
                      for cm in (c1, c2))
    J = np.where(valid & np.isfinite(J), J, np.inf)
    return J, c1, c2
