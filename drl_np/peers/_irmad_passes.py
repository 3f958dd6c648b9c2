"""The three passes over the pixels of one IRMAD iteration, compiled, with
their NumPy twins.

Each iteration of :func:`drl_np.peers.mad.irmad` reads every pixel three
times: for the weighted means, for the weighted (cross-)covariances about
them, and for the MAD variates and the statistic Z of the fitted canonical
vectors; then every pixel's next weight is the chi-square tail of its Z.
The canonical vectors themselves come from B x B matrices and cost nothing.
In NumPy each pass makes several (P, B) temporaries, and two of its steps
are slow at B of 3 to 6: the product ``(P, B) @ (B, B)`` (BLAS is made for
large inner sizes) and the row sum over B entries. The compiled passes read
each pixel once per pass; up to four bands a pixel's bands are one
:data:`~drl_np.toolbox._simd.float64x4` register and each row of a
covariance a vector accumulator (``_block_moments4``, ``_pixel_scores4``),
from five to eight bands two (``_block_moments8``, ``_pixel_scores8``),
above eight they loop over the bands. On the 1024 x 1024 synthetic scene
(4 bands) a whole IRMAD is 8x faster than the twins on one thread
(``benchmarks/irmad_speed.py``).

Sums over pixels are taken per block of :data:`BLOCK` pixels, in pixel order,
and the blocks' sums are added in block order, so a pass gives the same bits
whichever thread runs which blocks (one or two, :func:`drl_np._threads.map_two`).
The twins sum in BLAS's order instead, so the engines agree to rounding
(``tests/test_irmad_passes.py``), not bit for bit. There is no ``fastmath``.

``engine='numpy'`` of :func:`drl_np.peers.mad.irmad` runs the twins, which are
the readable account of what each pass computes.
"""
import math

import numba
import numpy as np

from .._threads import map_two
from ..toolbox._simd import vfma, vget, vload, vload_masked, vstore, vstore_masked, vsub, vzero
from ._stats import chi2_sf

__all__ = ["BLOCK", "TAIL_MAX_DF", "weighted_means", "weighted_moments", "mad_scores", "no_change_probability",
           "weighted_means_numpy", "weighted_moments_numpy", "mad_scores_numpy",
           "no_change_probability_numpy"]

#: pixels per partial sum (fixed, so the sums do not depend on the threads)
BLOCK = 1 << 14
#: most degrees of freedom (bands) the compiled chi-square tail serves: above
#: it the Poisson sum, which starts at exp(-z/2), underflows before its
#: largest terms on large z, and scipy's tail is used
TAIL_MAX_DF = 24


# -- NumPy twins ---------------------------------------------------------------

def weighted_means_numpy(x1, x2, w):
    """The ``w``-weighted column means of ``x1`` and ``x2`` (P, B), and ``sum(w)``."""
    sw = w.sum()
    return (w @ x1) / sw, (w @ x2) / sw, sw


def weighted_moments_numpy(x1, x2, w, m1, m2, sw):
    """``S11, S22, S12`` (B, B): ``sum_p w_p c_p d_p^T / sw`` for the centred
    dates ``c = x1 - m1`` and ``d = x2 - m2``."""
    c1, c2 = x1 - m1, x2 - m2
    c1w = c1 * w[:, None]
    return c1w.T @ c1 / sw, (c2 * w[:, None]).T @ c2 / sw, c1w.T @ c2 / sw


def mad_scores_numpy(x1, x2, m1, m2, a, b, zero, sigma2, with_mad=True):
    """MAD variates ``(x1 - m1) a - (x2 - m2) b`` (P, B), the columns where
    ``zero`` is true set to 0, and ``Z = sum_j mad_j^2 / sigma2_j`` (P,);
    ``mad`` is None unless ``with_mad``."""
    mad = (x1 - m1) @ a - (x2 - m2) @ b
    mad[:, zero] = 0.0
    return (mad if with_mad else None), (mad * mad / sigma2).sum(axis=1)


def no_change_probability_numpy(z, df):
    """The chi-square tail ``1 - F(z; df)`` (P,), IRMAD's next weights
    (scipy's ``chdtrc``, :func:`._stats.chi2_sf`)."""
    return chi2_sf(z, df)


# -- compiled passes -----------------------------------------------------------

def _halves(n_items):
    """``(0, h)`` and ``(h, n_items)``: the two threads' shares of a range."""
    half = n_items // 2
    return (0, half), (half, n_items)


def _as_rows(*arrays):
    """The arrays as C-contiguous float64 (no copy when they are): the
    vector loads read whole rows."""
    return [np.ascontiguousarray(v, np.float64) for v in arrays]


def weighted_means(x1, x2, w):
    """Compiled :func:`weighted_means_numpy`."""
    x1, x2, w = _as_rows(x1, x2, w)
    bands = x1.shape[1]
    n_blocks = -(-x1.shape[0] // BLOCK)
    partial = np.empty((n_blocks, 1 + 2 * bands))            # per block: sum w, sum w x1, sum w x2
    map_two(lambda span: _block_means(x1, x2, w, span[0], span[1], partial), *_halves(n_blocks))
    total = _sum_rows(partial)
    sw = total[0]
    return total[1:1 + bands] / sw, total[1 + bands:] / sw, sw


def weighted_moments(x1, x2, w, m1, m2, sw):
    """Compiled :func:`weighted_moments_numpy`."""
    x1, x2, w, m1, m2 = _as_rows(x1, x2, w, m1, m2)
    bands = x1.shape[1]
    n_blocks = -(-x1.shape[0] // BLOCK)
    partial = np.empty((n_blocks, 3, bands, bands))         # per block: S11, S22, S12 (upper of S11, S22)
    kernel = _block_moments4 if bands <= 4 else _block_moments8 if bands <= 8 else _block_moments
    map_two(lambda span: kernel(x1, x2, w, m1, m2, span[0], span[1], partial), *_halves(n_blocks))
    s11, s22, s12 = _sum_rows(partial.reshape(n_blocks, -1)).reshape(3, bands, bands) / sw
    lower = np.tril_indices(bands, -1)
    s11[lower] = s11.T[lower]
    s22[lower] = s22.T[lower]
    return s11, s22, s12


def mad_scores(x1, x2, m1, m2, a, b, zero, sigma2, with_mad=True):
    """Compiled :func:`mad_scores_numpy`; each pixel's values depend on that
    pixel alone (no sums across pixels). With ``with_mad=False`` only Z is
    computed (``mad`` is returned as None): an IRMAD iteration that is not
    the last needs no more."""
    x1, x2, m1, m2, a, b, sigma2 = _as_rows(x1, x2, m1, m2, a, b, sigma2)   # eigh's vectors are F-ordered
    mad = np.empty(x1.shape if with_mad else (0, 0))
    z = np.empty(x1.shape[0])
    keep = (~np.asarray(zero)).astype(np.float64)
    bands = x1.shape[1]
    kernel = _pixel_scores4 if bands <= 4 else _pixel_scores8 if bands <= 8 else _pixel_scores
    map_two(lambda span: kernel(x1, x2, m1, m2, a, b, keep, sigma2, span[0], span[1], mad, z, with_mad),
            *_halves(x1.shape[0]))
    return (mad if with_mad else None), z


def no_change_probability(z, df):
    """Compiled :func:`no_change_probability_numpy`, by the closed forms of
    :func:`_chi2_tail` for up to :data:`TAIL_MAX_DF` degrees of freedom
    (scipy's general incomplete gamma takes ~60 ns a pixel, these 5-30 ns);
    equal to scipy to ~1e-13 relative, or 1e-290 absolute where the tail
    underflows."""
    if df > TAIL_MAX_DF:
        return chi2_sf(z, df)
    z, = _as_rows(z)
    out = np.empty(z.shape[0])
    map_two(lambda span: _chi2_tail(z, df, span[0], span[1], out), *_halves(z.shape[0]))
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _chi2_tail(z, df, first, stop, out):
    """``out[p] = 1 - F(z[p]; df)`` for the pixels ``first .. stop - 1``.

    With ``y = z / 2`` the tail is the regularised upper incomplete gamma
    ``Q(df / 2, y)``, a finite sum for whole and half-whole ``df / 2``:
    ``Q(k, y) = sum_{i<k} e^-y y^i / i!`` (the chance that a Poisson(y) count
    stays below k) for ``df = 2k``, and ``Q(k + 1/2, y) = erfc(sqrt y) +
    sum_{i<k} e^-y y^(i+1/2) / Gamma(i + 3/2)`` for ``df = 2k + 1``. Every
    term is positive (no cancellation), each from the one before.
    """
    half = df // 2
    for p in range(first, stop):
        y = 0.5 * z[p]
        if y < 0.0:                    # no chi-square value; as scipy's chdtrc
            out[p] = math.nan
            continue
        if y == math.inf:
            out[p] = 0.0
            continue
        if df % 2 == 0:
            term = math.exp(-y)
            total = term
            for i in range(1, half):
                term = term * y / i
                total += term
        else:
            total = math.erfc(math.sqrt(y))
            term = 2.0 * math.sqrt(y / math.pi) * math.exp(-y)      # e^-y y^(1/2) / Gamma(3/2)
            for i in range(half):
                total += term
                term = term * y / (i + 1.5)
        out[p] = total


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _sum_rows(partial):
    """The column sums of ``partial``, row after row (the blocks in order)."""
    total = np.zeros(partial.shape[1])
    for k in range(partial.shape[0]):
        for j in range(partial.shape[1]):
            total[j] += partial[k, j]
    return total


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _block_means(x1, x2, w, first, stop, partial):
    """``partial[k] = [sum w, sum w x1, sum w x2]`` over block ``k``, for the
    blocks ``first .. stop - 1``."""
    n_pixels, bands = x1.shape
    for k in range(first, stop):
        s = partial[k]
        s[:] = 0.0
        for p in range(k * BLOCK, min(n_pixels, (k + 1) * BLOCK)):
            wp = w[p]
            s[0] += wp
            for j in range(bands):
                s[1 + j] += wp * x1[p, j]
                s[1 + bands + j] += wp * x2[p, j]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _block_moments(x1, x2, w, m1, m2, first, stop, partial):
    """``partial[k] = [S11, S22, S12]`` unnormalised over block ``k`` (S11 and
    S22 on and above the diagonal only), for the blocks ``first .. stop - 1``."""
    n_pixels, bands = x1.shape
    c1 = np.empty(bands)
    c2 = np.empty(bands)
    for k in range(first, stop):
        s = partial[k]
        s[:] = 0.0
        for p in range(k * BLOCK, min(n_pixels, (k + 1) * BLOCK)):
            wp = w[p]
            for j in range(bands):
                c1[j] = x1[p, j] - m1[j]
                c2[j] = x2[p, j] - m2[j]
            for i in range(bands):
                wc1 = wp * c1[i]
                wc2 = wp * c2[i]
                for j in range(i, bands):
                    s[0, i, j] += wc1 * c1[j]
                    s[1, i, j] += wc2 * c2[j]
                for j in range(bands):
                    s[2, i, j] += wc1 * c2[j]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _pixel_scores(x1, x2, m1, m2, a, b, keep, sigma2, first, stop, mad, z, with_mad):
    """``z[p]``, and ``mad[p]`` if ``with_mad``, for the pixels ``first .. stop - 1``."""
    bands = x1.shape[1]
    c1 = np.empty(bands)
    c2 = np.empty(bands)
    for p in range(first, stop):
        for j in range(bands):
            c1[j] = x1[p, j] - m1[j]
            c2[j] = x2[p, j] - m2[j]
        zp = 0.0
        for j in range(bands):
            u = 0.0
            v = 0.0
            for i in range(bands):
                u += c1[i] * a[i, j]
                v += c2[i] * b[i, j]
            d = (u - v) if keep[j] else 0.0
            if with_mad:
                mad[p, j] = d
            zp += d * d / sigma2[j]
        z[p] = zp


# -- up to four bands: one pixel's bands in one float64x4 register -------------

@numba.njit(inline="always", error_model="numpy")
def _row_or_zero(matrix, i, bands):
    """Row ``i`` of ``matrix`` (bands x bands) as a vector, zeros past the
    last band; a zero vector for ``i >= bands``."""
    return vload_masked(matrix[i], 0, bands) if i < bands else vzero()


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _block_moments4(x1, x2, w, m1, m2, first, stop, partial):
    """:func:`_block_moments` for 1-4 bands. A pixel's centred bands are one
    vector (lanes past the last band 0), each row of S11, S22 and S12 a
    vector accumulator, twelve in registers for the whole block: one vector
    fma per row and pixel instead of a scalar sum in memory per entry
    (about 10x faster). Every row is complete; the caller mirrors S11 and
    S22 from their upper triangles, as for :func:`_block_moments`."""
    n_pixels, bands = x1.shape
    mean1 = vload_masked(m1, 0, bands)
    mean2 = vload_masked(m2, 0, bands)
    for k in range(first, stop):
        s11_0, s11_1, s11_2, s11_3 = vzero(), vzero(), vzero(), vzero()
        s22_0, s22_1, s22_2, s22_3 = vzero(), vzero(), vzero(), vzero()
        s12_0, s12_1, s12_2, s12_3 = vzero(), vzero(), vzero(), vzero()
        for p in range(k * BLOCK, min(n_pixels, (k + 1) * BLOCK)):
            c1 = vsub(vload_masked(x1[p], 0, bands), mean1)
            c2 = vsub(vload_masked(x2[p], 0, bands), mean2)
            wp = w[p]
            wc = wp * vget(c1, 0)
            s11_0 = vfma(wc, c1, s11_0)
            s12_0 = vfma(wc, c2, s12_0)
            wc = wp * vget(c1, 1)
            s11_1 = vfma(wc, c1, s11_1)
            s12_1 = vfma(wc, c2, s12_1)
            wc = wp * vget(c1, 2)
            s11_2 = vfma(wc, c1, s11_2)
            s12_2 = vfma(wc, c2, s12_2)
            wc = wp * vget(c1, 3)
            s11_3 = vfma(wc, c1, s11_3)
            s12_3 = vfma(wc, c2, s12_3)
            s22_0 = vfma(wp * vget(c2, 0), c2, s22_0)
            s22_1 = vfma(wp * vget(c2, 1), c2, s22_1)
            s22_2 = vfma(wp * vget(c2, 2), c2, s22_2)
            s22_3 = vfma(wp * vget(c2, 3), c2, s22_3)
        out = partial[k]
        for q, (r0, r1, r2, r3) in enumerate(((s11_0, s11_1, s11_2, s11_3), (s22_0, s22_1, s22_2, s22_3),
                                              (s12_0, s12_1, s12_2, s12_3))):
            vstore_masked(out[q, 0], 0, r0, bands)
            if bands > 1:
                vstore_masked(out[q, 1], 0, r1, bands)
            if bands > 2:
                vstore_masked(out[q, 2], 0, r2, bands)
            if bands > 3:
                vstore_masked(out[q, 3], 0, r3, bands)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _pixel_scores4(x1, x2, m1, m2, a, b, keep, sigma2, first, stop, mad, z, with_mad):
    """:func:`_pixel_scores` for 1-4 bands: the canonical variates of a pixel
    are ``u = sum_i c1_i a[i, :]`` and ``v = sum_i c2_i b[i, :]``, each one
    vector, summed row by row with vector fma."""
    bands = x1.shape[1]
    mean1 = vload_masked(m1, 0, bands)
    mean2 = vload_masked(m2, 0, bands)
    a0, a1, a2, a3 = _row_or_zero(a, 0, bands), _row_or_zero(a, 1, bands), _row_or_zero(a, 2, bands), \
        _row_or_zero(a, 3, bands)
    b0, b1, b2, b3 = _row_or_zero(b, 0, bands), _row_or_zero(b, 1, bands), _row_or_zero(b, 2, bands), \
        _row_or_zero(b, 3, bands)
    for p in range(first, stop):
        c1 = vsub(vload_masked(x1[p], 0, bands), mean1)
        c2 = vsub(vload_masked(x2[p], 0, bands), mean2)
        u = vfma(vget(c1, 3), a3, vfma(vget(c1, 2), a2, vfma(vget(c1, 1), a1, vfma(vget(c1, 0), a0, vzero()))))
        v = vfma(vget(c2, 3), b3, vfma(vget(c2, 2), b2, vfma(vget(c2, 1), b1, vfma(vget(c2, 0), b0, vzero()))))
        d = vsub(u, v)
        zp = 0.0
        for j in range(bands):
            dj = vget(d, j) if keep[j] else 0.0
            if with_mad:
                mad[p, j] = dj
            zp += dj * dj / sigma2[j]
        z[p] = zp


# -- five to eight bands: two float64x4 registers per pixel and row ------------

@numba.njit(inline="always", error_model="numpy")
def _cross8(xa, xb, w, ma, mb, first_pixel, stop_pixel, out):
    """``out (bands, bands) = sum_p w_p (xa_p - ma)(xb_p - mb)'`` over the
    pixels ``first_pixel .. stop_pixel - 1``, 5-8 bands: sixteen vector
    accumulators, two per row (lanes 0-3 and 4-7; rows and lanes past the
    last band stay 0)."""
    bands = xa.shape[1]
    hi = bands - 4
    ma_lo, ma_hi = vload(ma, 0), vload_masked(ma, 4, hi)
    mb_lo, mb_hi = vload(mb, 0), vload_masked(mb, 4, hi)
    r0l, r0h, r1l, r1h, r2l, r2h, r3l, r3h = vzero(), vzero(), vzero(), vzero(), vzero(), vzero(), vzero(), vzero()
    r4l, r4h, r5l, r5h, r6l, r6h, r7l, r7h = vzero(), vzero(), vzero(), vzero(), vzero(), vzero(), vzero(), vzero()
    for p in range(first_pixel, stop_pixel):
        a_lo = vsub(vload(xa[p], 0), ma_lo)
        a_hi = vsub(vload_masked(xa[p], 4, hi), ma_hi)
        b_lo = vsub(vload(xb[p], 0), mb_lo)
        b_hi = vsub(vload_masked(xb[p], 4, hi), mb_hi)
        wp = w[p]
        s = wp * vget(a_lo, 0)
        r0l, r0h = vfma(s, b_lo, r0l), vfma(s, b_hi, r0h)
        s = wp * vget(a_lo, 1)
        r1l, r1h = vfma(s, b_lo, r1l), vfma(s, b_hi, r1h)
        s = wp * vget(a_lo, 2)
        r2l, r2h = vfma(s, b_lo, r2l), vfma(s, b_hi, r2h)
        s = wp * vget(a_lo, 3)
        r3l, r3h = vfma(s, b_lo, r3l), vfma(s, b_hi, r3h)
        s = wp * vget(a_hi, 0)
        r4l, r4h = vfma(s, b_lo, r4l), vfma(s, b_hi, r4h)
        s = wp * vget(a_hi, 1)
        r5l, r5h = vfma(s, b_lo, r5l), vfma(s, b_hi, r5h)
        s = wp * vget(a_hi, 2)
        r6l, r6h = vfma(s, b_lo, r6l), vfma(s, b_hi, r6h)
        s = wp * vget(a_hi, 3)
        r7l, r7h = vfma(s, b_lo, r7l), vfma(s, b_hi, r7h)
    for i, (low, high) in enumerate(((r0l, r0h), (r1l, r1h), (r2l, r2h), (r3l, r3h),
                                     (r4l, r4h), (r5l, r5h), (r6l, r6h), (r7l, r7h))):
        if i < bands:
            vstore(out[i], 0, low)
            vstore_masked(out[i], 4, high, hi)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _block_moments8(x1, x2, w, m1, m2, first, stop, partial):
    """:func:`_block_moments` for 5-8 bands: per block three sweeps over its
    pixels (S11, S22, S12), each with its sixteen accumulators in registers
    (:func:`_cross8`)."""
    n_pixels = x1.shape[0]
    for k in range(first, stop):
        lo, hi = k * BLOCK, min(n_pixels, (k + 1) * BLOCK)
        _cross8(x1, x1, w, m1, m1, lo, hi, partial[k, 0])
        _cross8(x2, x2, w, m2, m2, lo, hi, partial[k, 1])
        _cross8(x1, x2, w, m1, m2, lo, hi, partial[k, 2])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _pixel_scores8(x1, x2, m1, m2, a, b, keep, sigma2, first, stop, mad, z, with_mad):
    """:func:`_pixel_scores` for 5-8 bands: ``u`` and ``v`` are two vectors
    each, summed row by row of ``a`` and ``b`` with vector fma."""
    bands = x1.shape[1]
    hi = bands - 4
    m1_lo, m1_hi = vload(m1, 0), vload_masked(m1, 4, hi)
    m2_lo, m2_hi = vload(m2, 0), vload_masked(m2, 4, hi)
    for p in range(first, stop):
        c1_lo = vsub(vload(x1[p], 0), m1_lo)
        c1_hi = vsub(vload_masked(x1[p], 4, hi), m1_hi)
        c2_lo = vsub(vload(x2[p], 0), m2_lo)
        c2_hi = vsub(vload_masked(x2[p], 4, hi), m2_hi)
        u_lo, u_hi, v_lo, v_hi = vzero(), vzero(), vzero(), vzero()
        for i in range(bands):
            c1_i = vget(c1_lo, i) if i < 4 else vget(c1_hi, i - 4)
            c2_i = vget(c2_lo, i) if i < 4 else vget(c2_hi, i - 4)
            u_lo = vfma(c1_i, vload(a[i], 0), u_lo)
            u_hi = vfma(c1_i, vload_masked(a[i], 4, hi), u_hi)
            v_lo = vfma(c2_i, vload(b[i], 0), v_lo)
            v_hi = vfma(c2_i, vload_masked(b[i], 4, hi), v_hi)
        d_lo = vsub(u_lo, v_lo)
        d_hi = vsub(u_hi, v_hi)
        zp = 0.0
        for j in range(bands):
            dj = (vget(d_lo, j) if j < 4 else vget(d_hi, j - 4)) if keep[j] else 0.0
            if with_mad:
                mad[p, j] = dj
            zp += dj * dj / sigma2[j]
        z[p] = zp
