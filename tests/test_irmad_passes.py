"""IRMAD's compiled pixel passes against their NumPy twins."""
import numpy as np
import pytest
from scipy import special
from scipy.stats import chi2

from drl_np import _threads
from drl_np._validation import InputError
from drl_np.datasets import synthetic_pair
from drl_np.normalise import INVARIANT_PROBABILITY, invariant_pixels
from drl_np.peers import _irmad_passes as passes
from drl_np.peers.mad import cca, irmad, mad_chi2, mad_variates

#: three whole blocks and a part: the block sums and their order are exercised
N_PIXELS = 3 * passes.BLOCK + 123


def _dates(bands, seed=0):
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=(N_PIXELS, bands)) * rng.uniform(0.5, 3.0, bands) + rng.uniform(-2, 5, bands)
    x2 = 0.8 * x1 + rng.normal(scale=0.4, size=x1.shape) + 1.0
    w = rng.uniform(0.0, 1.0, N_PIXELS)
    return x1, x2, w


@pytest.mark.parametrize("bands", [1, 2, 3, 4, 5, 6, 7, 8, 9])   # 1-4, 5-8 in vector registers, then loops
def test_compiled_passes_equal_their_numpy_twins(bands):
    x1, x2, w = _dates(bands)
    means = passes.weighted_means(x1, x2, w)
    twin_means = passes.weighted_means_numpy(x1, x2, w)
    for got, want in zip(means, twin_means):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    moments = passes.weighted_moments(x1, x2, w, *twin_means)
    twin_moments = passes.weighted_moments_numpy(x1, x2, w, *twin_means)
    for got, want in zip(moments, twin_moments):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    rng = np.random.default_rng(bands)
    a, b = rng.normal(size=(2, bands, bands))
    zero = np.arange(bands) == bands - 1               # one pair flagged as rounding noise
    sigma2 = rng.uniform(0.1, 2.0, bands)
    mad, z = passes.mad_scores(x1, x2, *twin_means[:2], a, b, zero, sigma2)
    twin_mad, twin_z = passes.mad_scores_numpy(x1, x2, *twin_means[:2], a, b, zero, sigma2)
    np.testing.assert_allclose(mad, twin_mad, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(z, twin_z, rtol=1e-12)
    assert np.all(mad[:, -1] == 0.0)
    no_mad, same_z = passes.mad_scores(x1, x2, *twin_means[:2], a, b, zero, sigma2, with_mad=False)
    assert no_mad is None and np.array_equal(same_z, z)


def test_the_sums_do_not_depend_on_the_threads(monkeypatch):
    x1, x2, w = _dates(4)
    out = {}
    for two in (False, True):
        monkeypatch.setattr(_threads, "_two_threads", lambda two=two: two)
        m1, m2, sw = passes.weighted_means(x1, x2, w)
        out[two] = (m1, m2, *passes.weighted_moments(x1, x2, w, m1, m2, sw))
    for one, two in zip(out[False], out[True]):
        assert np.array_equal(one, two)


@pytest.mark.parametrize("bands", [3, 5, 9])
def test_moments_are_symmetric_where_they_must_be(bands):
    x1, x2, w = _dates(bands)
    s11, s22, s12 = passes.weighted_moments(x1, x2, w, *passes.weighted_means(x1, x2, w))
    assert np.array_equal(s11, s11.T) and np.array_equal(s22, s22.T)
    assert not np.allclose(s12, s12.T)                 # the cross-covariance is not


def test_irmad_engines_agree_and_pick_the_same_invariant_pixels():
    t1, t2, _ = synthetic_pair(shape=(160, 160), seed=2)
    x1, x2 = t1.reshape(-1, 4), t2.reshape(-1, 4)
    fast = irmad(x1, x2, max_iter=30, engine="numba")
    twin = irmad(x1, x2, max_iter=30, engine="numpy")
    assert fast["n_iter"] == twin["n_iter"] and fast["converged"] == twin["converged"]
    np.testing.assert_allclose(fast["rho"], twin["rho"], rtol=1e-10)
    np.testing.assert_allclose(fast["chi2"], twin["chi2"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fast["mad"], twin["mad"], rtol=1e-8, atol=1e-10)
    for key in ("a", "b", "m1", "m2"):
        np.testing.assert_allclose(fast[key], twin[key], rtol=1e-8, atol=1e-12)
    invariant = invariant_pixels(x1, x2)               # 30 iterations, tol 1e-6, compiled
    assert 0 < invariant.sum() < invariant.size
    assert np.array_equal(invariant, chi2.sf(twin["chi2"], 4) > INVARIANT_PROBABILITY)


def test_fitted_variates_repeat_the_fit_bit_for_bit():
    x1, x2, _ = _dates(3)
    for engine in ("numba", "numpy"):
        fit = irmad(x1, x2, max_iter=5, engine=engine)
        assert np.array_equal(mad_variates(x1, x2, fit, engine), fit["mad"])
        assert np.array_equal(mad_chi2(x1, x2, fit, engine), fit["chi2"])


def test_an_unknown_engine_is_named():
    x1, x2, _ = _dates(2)
    with pytest.raises(InputError, match="engine must be one of numba, numpy"):
        irmad(x1, x2, engine="cuda")


@pytest.mark.parametrize("df", list(range(1, passes.TAIL_MAX_DF + 1)) + [passes.TAIL_MAX_DF + 7])
def test_the_compiled_chi2_tail_is_scipys_to_rounding(df):
    rng = np.random.default_rng(df)
    z = np.concatenate([rng.chisquare(df, 20000) * rng.uniform(0.05, 40.0, 20000),
                        [0.0, 1e-300, 1e-12, 0.5, 1400.0, 5000.0, np.inf, np.nan, -1.0]])
    got = passes.no_change_probability(z, df)
    want = special.chdtrc(df, z)                       # the twin's; NaN at z < 0, as here
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=3e-13, atol=1e-290)
    if df > passes.TAIL_MAX_DF:                        # scipy's own, bit for bit
        assert np.array_equal(got, want, equal_nan=True)


@pytest.mark.parametrize("bands", [3, 6])
def test_any_layout_and_float_type_is_taken(bands):
    x1, x2, w = _dates(bands)
    strided1, strided2 = np.asfortranarray(x1[::2]).astype(np.float32), x2[::2, ::-1]
    fit = irmad(strided1, strided2, max_iter=3)
    twin = irmad(strided1, strided2, max_iter=3, engine="numpy")
    np.testing.assert_allclose(fit["chi2"], twin["chi2"], rtol=1e-9)
    from_cca = cca(strided1, strided2, w[::2])
    np.testing.assert_allclose(from_cca[0], cca(strided1, strided2, w[::2], engine="numpy")[0], rtol=1e-10)
    np.testing.assert_allclose(mad_chi2(strided1, strided2, fit), fit["chi2"], rtol=1e-12)
