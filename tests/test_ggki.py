"""Tests of drl_np.ggki against the test vectors of docs/ggki.md §5,
the edge cases of its §4 table, and a slow loop-based reference (below)."""
import warnings

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import gammaln
from scipy.stats import gennorm

from drl_np import _ggki_core as core
from drl_np._validation import InputError
from drl_np.decision import threshold
from drl_np.ggki import ggki_threshold, ki_threshold

LN_2PI = np.log(2 * np.pi)
TOL_J, TOL_T = 1e-6, 1e-9


# ====================================================================
# Slow loop reference (the oracle): two-pass moments per class, brentq on
# ln β, explicit loops for the data term. Data units throughout.
# ====================================================================

def _ref_beta(stat, shape, bmin=0.1, bmax=20.0):
    if shape == "kurtosis":
        f = lambda lb: (gammaln(np.exp(-lb)) + gammaln(5 * np.exp(-lb))   # noqa: E731
                        - 2 * gammaln(3 * np.exp(-lb)) - np.log(max(stat, 1.0)))
    else:
        f = lambda lb: (gammaln(2 * np.exp(-lb)) - 0.5 * gammaln(np.exp(-lb))  # noqa: E731
                        - 0.5 * gammaln(3 * np.exp(-lb)) - np.log(stat))
        if stat <= 0:
            return bmin
    fa, fb = f(np.log(bmin)), f(np.log(bmax))
    if shape == "kurtosis":   # f decreasing
        if fa <= 0:
            return bmin
        if fb >= 0:
            return bmax
    else:                     # f increasing
        if fa >= 0:
            return bmin
        if fb <= 0:
            return bmax
    return float(np.exp(brentq(f, np.log(bmin), np.log(bmax), xtol=1e-14, rtol=1e-15)))


def reference_criterion(counts, lo, hi, shape="kurtosis", form="exact", method="ggki"):
    """J(t) for t = 0..L-2 by explicit loops (docs/ggki.md §2–§3), +inf where invalid."""
    counts = np.asarray(counts, dtype=float)
    L = len(counts)
    width = (hi - lo) / L
    g = [lo + (k + 0.5) * width for k in range(L)]
    N = sum(counts)
    h = [c / N for c in counts]
    J = []
    for t in range(L - 1):
        total = 0.0
        ok = True
        for ks in (range(0, t + 1), range(t + 1, L)):
            ks = [k for k in ks if counts[k] > 0]
            if len(ks) < 2:
                ok = False
                break
            P = sum(h[k] for k in ks)
            m = sum(h[k] * g[k] for k in ks) / P
            var = sum(h[k] * (g[k] - m) ** 2 for k in ks) / P
            mu4 = sum(h[k] * (g[k] - m) ** 4 for k in ks) / P
            mad = sum(h[k] * abs(g[k] - m) for k in ks) / P
            sigma = np.sqrt(var)
            if method == "ki":
                total += 2 * P * np.log(sigma) - 2 * P * np.log(P)
                continue
            stat = mu4 / var ** 2 if shape == "kurtosis" else mad / sigma
            beta = _ref_beta(stat, shape)
            b = np.sqrt(np.exp(gammaln(3 / beta) - gammaln(1 / beta))) / sigma
            ln_a = np.log(beta) + np.log(b) - np.log(2) - gammaln(1 / beta)
            if form == "exact":
                D = sum(h[k] * (b * abs(g[k] - m)) ** beta for k in ks)
            else:
                D = P / beta
            total += D - P * ln_a - P * np.log(P)
        J.append(total + (1.0 if method == "ki" else 0.0) if ok else np.inf)
    return np.array(J)


# ====================================================================
# Fixtures: T0 and the seeded data sets (a), (b), (c) of docs/ggki.md §5
# ====================================================================

T0_COUNTS = np.array([0, 3, 7, 12, 7, 3, 1, 0, 0, 2, 5, 8, 5, 2, 0, 1])
T0_VALUES = np.repeat(np.arange(16.0), T0_COUNTS)    # bin centres g_k = k
T0_KW = dict(bins=16, range=(-0.5, 15.5))            # edges -0.5..15.5, Δ = 1
N_ = None   # an invalid t (J = +inf)
T0_J = {
    ("kurtosis", "exact"): [N_, N_, 2.798921631, 2.598695847, 2.483111398, 2.328481086,
                            2.312353102, 2.312353102, 2.312353102, 2.478119754,
                            2.752965642, 2.773030022, 2.735517903, N_, N_],
    ("kurtosis", "approx"): [N_, N_, 2.735612778, 2.604812362, 2.489135887, 2.3448779,
                             2.312076771, 2.312076771, 2.312076771, 2.465076194,
                             2.744689584, 2.797935549, 2.779386763, N_, N_],
    ("ratio", "exact"): [N_, N_, 2.798921631, 2.97245854, 2.478679738, 2.317069785,
                         2.310384132, 2.310384132, 2.310384132, 2.473964078,
                         2.745791386, 2.772585836, 2.735517903, N_, N_],
    "ki": [N_, N_, 3.897571915, 3.547627578, 3.1659144, 2.903737801, 2.799662898,
           2.799662898, 2.799662898, 3.198749209, 3.679831839, 3.990360516,
           3.985119885, N_, N_],
}


def _expected_curve(vals):
    return np.array([np.inf if v is None else v for v in vals])


def _make(name):
    if name == "a":
        rng = np.random.default_rng(20240601)
        x = np.concatenate([rng.normal(4.0, 0.7, size=90000), rng.normal(8.0, 1.0, size=10000)])
        return x, 90000
    if name == "b":
        rng = np.random.default_rng(20240602)
        x = np.concatenate([rng.laplace(5.0, 0.4, size=90000),
                            rng.laplace(9.0, 0.8, size=10000)])
        return x, 90000
    rng = np.random.default_rng(20240603)
    x1 = 0.05 * rng.chisquare(6, size=95000)
    x2 = 0.05 * rng.noncentral_chisquare(6, 40.0, size=5000)
    return np.concatenate([x1, x2]), 95000


DATA_CHECKS = {
    "a": (439838.4635628875, [4.45353434292, 4.32852455607, 3.54988557248],
          0.720443498211, 11.8039874896),
    "b": (539938.8081193970, [4.23829078474, 5.33337635704, 4.7850014159],
          0.722906040019, 17.9638836689),
    "c": (40054.8902134504, [0.251211909058, 0.102793245852, 0.228092900393],
          0.00290474171813, 4.90385004048),
}


@pytest.fixture(scope="module", params=["a", "b", "c"])
def dataset(request):
    return request.param, _seeded(request.param)


_CACHE = {}


def _seeded(name):
    """The data set and its labels; skip (docs/ggki.md §5.7) if the RNG stream moved."""
    if name not in _CACHE:
        _CACHE[name] = _make(name)
    x, n_unchanged = _CACHE[name]
    total, first3, lo, hi = DATA_CHECKS[name]
    if not (np.isclose(x.sum(), total, rtol=1e-12) and np.allclose(x[:3], first3, rtol=1e-10)
            and np.isclose(x.min(), lo, rtol=1e-10) and np.isclose(x.max(), hi, rtol=1e-10)):
        pytest.skip(f"numpy's Generator stream differs from the one of docs/ggki.md for data set {name}")
    return x, n_unchanged


# variant -> (t*, T, J_min, beta1, beta2, errors); docs/ggki.md §5.2–§5.4
VECTORS = {
    "a": {("kurtosis", "exact"): (124, 6.132330213, 1.413007686, 2.051808, 2.396242, 405),
          ("kurtosis", "approx"): (124, 6.132330213, 1.412968675, 2.051808, 2.396242, 405),
          ("ratio", "exact"): (124, 6.132330213, 1.413003949, 2.028521, 2.346798, 405),
          ("ratio", "approx"): (124, 6.132330213, 1.41306892, 2.028521, 2.346798, 405),
          "ki": (124, 6.132330213, 0.9887540635, 2.0, 2.0, 405)},
    "b": {("kurtosis", "exact"): (94, 7.120925082, 1.158070824, 1.101353, 1.072933, 735),
          ("kurtosis", "approx"): (92, 6.986229944, 1.166618279, 1.116387, 1.111739, 754),
          ("ratio", "exact"): (94, 7.120925082, 1.156748549, 1.033499, 1.202836, 735),
          ("ratio", "approx"): (94, 7.120925082, 1.156414457, 1.033499, 1.202836, 735),
          "ki": (88, 6.716839669, 0.5857273775, 2.0, 2.0, 945)},
    "c": {("kurtosis", "exact"): (41, 0.8069660798, -0.09044739961, 1.873638, 2.773749, 1236),
          ("kurtosis", "approx"): (89, 1.725893323, -0.1706858764, 0.6530113, 1.540803, 998),
          ("ratio", "exact"): (42, 0.8261103974, -0.09049206187, 2.096839, 2.461711, 1081),
          ("ratio", "approx"): (35, 0.6921001744, -0.09164685368, 2.51883, 20.0, 3028),
          "ki": (42, 0.8261103974, -2.019017125, 2.0, 2.0, 1081)},
}
VARIANTS = [("kurtosis", "exact"), ("kurtosis", "approx"), ("ratio", "exact"),
            ("ratio", "approx"), "ki"]


def _variant_id(v):
    return v if isinstance(v, str) else "-".join(v)


def _run(x, variant, **kw):
    if variant == "ki":
        return ki_threshold(x, **kw)
    shape, form = variant
    return ggki_threshold(x, shape=shape, form=form, **kw)


# ====================================================================
# §5.1 T0
# ====================================================================

@pytest.mark.parametrize("variant", [("kurtosis", "exact"), ("kurtosis", "approx"),
                                     ("ratio", "exact"), "ki"])
def test_t0_criterion_table(variant):
    res = _run(T0_VALUES, variant, **T0_KW)
    expected = _expected_curve(T0_J[variant])
    assert res.criterion.shape == (15,)
    np.testing.assert_array_equal(np.isinf(res.criterion), np.isinf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(res.criterion[finite], expected[finite], rtol=0, atol=TOL_J)
    # t* = 6 on the plateau 6, 7, 8 (bins 7 and 8 are empty): the lowest t wins.
    assert res.index == 6 and res.threshold == 6.5 and res.valid


def test_t0_ratio_approx_minimum():
    res = ggki_threshold(T0_VALUES, shape="ratio", form="approx", **T0_KW)
    assert res.index == 6 and res.threshold == 6.5
    assert abs(res.criterion_min - 2.3034547002) <= TOL_J


def test_t0_class_parameters_at_optimum():
    res = ggki_threshold(T0_VALUES, **T0_KW)
    for cls, (P, m, s, kurt, beta, ln_a) in [
            (res.unchanged_class, (0.5892857143, 3.0909090909, 1.1899487222, 2.7734636406,
                                   2.2697281234, -1.1507754880)),
            (res.changed_class, (0.4107142857, 11.1739130435, 1.3400900006, 3.9505617729,
                                 1.4243187847, -0.9954292709))]:
        np.testing.assert_allclose([cls.prior, cls.mean, cls.std, cls.kurtosis, cls.beta],
                                   [P, m, s, kurt, beta], rtol=0, atol=1e-9)
        # -ln a = ln σ + c(β) (docs/ggki.md §1)
        assert abs(-(np.log(cls.std) + core.c_of_beta(cls.beta)) - ln_a) <= 1e-9
        # α is scipy gennorm's scale: its std must be σ
        assert abs(gennorm(cls.beta, scale=cls.alpha).std() - cls.std) <= 1e-9
    # data terms D_i at t = 6
    c1, c2 = core.class_moments(T0_COUNTS.astype(float))
    beta = np.full(15, np.nan)
    beta[6] = res.unchanged_class.beta
    assert abs(core.data_term(T0_COUNTS.astype(float), c1, beta)[6] - 0.2616858594) <= 1e-9
    beta[6] = res.changed_class.beta
    assert abs(core.data_term(T0_COUNTS.astype(float), c2, beta)[6] - 0.2865771975) <= 1e-9


def test_t0_ratio_estimates_at_optimum():
    res = ggki_threshold(T0_VALUES, shape="ratio", **T0_KW)
    c1, c2 = core.class_moments(T0_COUNTS.astype(float))
    np.testing.assert_allclose([c1.ratio[6], c2.ratio[6]], [0.7639748605, 0.7532716425],
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose([res.unchanged_class.beta, res.changed_class.beta],
                               [1.459312, 1.344626], rtol=0, atol=1e-6)


def test_t0_clamp_checks():
    counts = T0_COUNTS.astype(float)
    _, c1, c2, b1k, b2k = core.gg_criterion(counts, "kurtosis")
    _, _, _, b1r, _ = core.gg_criterion(counts, "ratio")
    # t = 2, class 1 = bins {1, 2}: two-point distribution -> β = 20 under both
    assert abs(c1.kurtosis[2] - 1.761905) <= 1e-6 and abs(c1.ratio[2] - 0.916515) <= 1e-6
    assert b1k[2] == 20.0 and b1r[2] == 20.0
    assert abs(c2.kurtosis[3] - 1.763795) <= 1e-6 and b2k[3] == 20.0     # t = 3, class 2
    assert abs(c2.kurtosis[12] - 1.5) <= 1e-9 and b2k[12] == 20.0       # t = 12, class 2


def test_shape_function_check_values():
    """K, R and c at the check points of docs/ggki.md (§1), and the solver inverts them."""
    betas = np.array([0.1, 0.2, 0.5, 1, 2, 5, 10, 20])
    K = [2.82352e6, 1959.3, 25.2, 6, 3, 2.0701, 1.88416, 1.82444]
    np.testing.assert_allclose(np.exp(core.ln_kurtosis(betas)), K, rtol=5e-5)
    rb = np.array([0.1, 0.5, 1, 2, 10, 20])
    R = [0.067912, 0.547723, 0.707107, 0.797885, 0.860543, 0.864474]
    np.testing.assert_allclose(np.exp(core.ln_ratio(rb)), R, rtol=0, atol=5e-7)
    assert abs(core.c_of_beta(2.0) - 0.5 * LN_2PI) <= 1e-12
    inner = np.array([0.13, 0.5, 1.0, 2.0, 3.7, 10.0, 19.0])
    np.testing.assert_allclose(core.solve_beta(np.exp(core.ln_kurtosis(inner)), "kurtosis"),
                               inner, rtol=1e-9)
    np.testing.assert_allclose(core.solve_beta(np.exp(core.ln_ratio(inner)), "ratio"),
                               inner, rtol=1e-8)


def test_solver_clamps_out_of_range_statistics():
    # kurtosis: spiky -> β_min; bimodal (< 1.8) and rounding below 1 -> β_max; NaN stays NaN
    kb = core.solve_beta(np.array([1e9, 1.5, 0.999, np.nan]), "kurtosis")
    np.testing.assert_array_equal(kb[:3], [0.1, 20.0, 20.0])
    assert np.isnan(kb[3])
    rb = core.solve_beta(np.array([0.0, 0.01, 0.95]), "ratio")
    np.testing.assert_array_equal(rb, [0.1, 0.1, 20.0])


# ====================================================================
# §5.2–§5.4 seeded data sets
# ====================================================================

@pytest.mark.parametrize("variant", VARIANTS, ids=_variant_id)
def test_dataset_vectors(dataset, variant):
    name, (x, n_unchanged) = dataset
    t, T, J, b1, b2, errors = VECTORS[name][variant]
    res = _run(x, variant)
    assert res.index == t
    assert abs(res.threshold - T) <= TOL_T
    assert abs(res.criterion_min - J) <= TOL_J
    assert abs(res.unchanged_class.beta - b1) <= 1e-6
    assert abs(res.changed_class.beta - b2) <= 1e-6
    truth = np.arange(x.size) >= n_unchanged
    assert np.count_nonzero(res.change_mask != truth) == errors


FINITE_RANGE = {"a": (8, 252), "b": (2, 217), "c": (1, 244)}
CURVES = {
    "a": {114: 1.42033737, 134: 1.41821455, 64: 1.88284912, 128: 1.41383206, 192: 1.60448622},
    "b": {84: 1.17409178, 104: 1.17035163, 64: 1.81936070, 128: 1.40529328, 192: 1.52360456},
    "c": {31: -0.06170993, 51: -0.08235564, 64: -0.06004190, 128: 0.18897128,
          192: 0.30743107, 1: 0.34641},
}
CLASSES = {  # default variant at t*: (P, m, σ, κ̂) per class
    "a": [(0.90213000, 4.00091490, 0.70145717, 2.950011),
          (0.09787000, 8.06284592, 0.93948568, 2.690692)],
    "b": [(0.90259, 5.00017731, 0.56192669, 5.268303),
          (0.09741, 9.09837236, 0.99921297, 5.450081)],
    "c": [(0.93796, 0.29250898, 0.15845105, 3.138587),
          (0.06204, 2.03416189, 0.80017109, 2.502065)],
}


def test_dataset_curve_and_classes(dataset):
    name, (x, _) = dataset
    res = ggki_threshold(x)
    lo, hi = FINITE_RANGE[name]
    finite = np.flatnonzero(np.isfinite(res.criterion))
    np.testing.assert_array_equal(finite, np.arange(lo, hi + 1))
    for t, J in CURVES[name].items():
        assert abs(res.criterion[t] - J) <= 10 ** -(len(repr(J).split(".")[1])) / 2 + 1e-12
    for cls, (P, m, s, kurt) in zip((res.unchanged_class, res.changed_class), CLASSES[name]):
        np.testing.assert_allclose([cls.prior, cls.mean, cls.std, cls.kurtosis],
                                   [P, m, s, kurt], rtol=0, atol=1e-6)
    assert res.counts.sum() == x.size and np.count_nonzero(res.counts) == {
        "a": 236, "b": 196, "c": 238}[name]


def test_dataset_a_ki_curve_samples():
    x, _ = _seeded("a")
    res = ki_threshold(x)
    assert abs(res.criterion[114] - 1.00464767) <= 5e-9
    assert abs(res.criterion[134] - 1.00052046) <= 5e-9


def test_dataset_c_on_magnitudes():
    """§5.5: thresholding √x of data set (c)."""
    x, _ = _seeded("c")
    r = np.sqrt(x)
    res = ggki_threshold(r)
    assert res.index == 114 and abs(res.threshold - 1.0244633889) <= TOL_T
    assert abs(res.criterion_min - (-0.23500448)) <= 5e-9
    assert abs(ggki_threshold(r, shape="ratio").criterion_min - (-0.23498937)) <= 5e-9
    ki = ki_threshold(r)
    assert ki.index == 116 and abs(ki.threshold - 1.0413428278) <= TOL_T
    assert abs(ki.criterion_min - (-2.30687921)) <= 5e-9


@pytest.mark.parametrize("name,method,expected", [
    ("a", "ggki", [6.0890, 6.0890, 6.1323, 6.1323, 6.1323]),
    ("a", "ki", [6.0890, 6.1756, 6.1323, 6.1323, 6.1323]),
    ("b", "ggki", [6.9189, 6.9189, 7.1209, 7.0873, 7.0873]),
    ("b", "ki", [6.6495, 6.6495, 6.7168, 6.6832, 6.7000]),
    ("c", "ggki", [0.8453, 0.8070, 0.8070, 0.8070, 0.8022]),
    ("c", "ki", [0.8453, 0.8453, 0.8261, 0.8261, 0.8261]),
])
def test_bin_count_sensitivity(name, method, expected):
    """§5.6: T* for L = 64 .. 1024 (also exercises the chunked data term)."""
    x, _ = _seeded(name)
    fn = ggki_threshold if method == "ggki" else ki_threshold
    got = [fn(x, bins=L).threshold for L in (64, 128, 256, 512, 1024)]
    np.testing.assert_allclose(got, expected, rtol=0, atol=5e-5 + 1e-12)


# ====================================================================
# β = 2 reduction and the oracle
# ====================================================================

def _random_counts(seed):
    rng = np.random.default_rng(seed)
    L = int(rng.integers(8, 40))
    counts = rng.poisson(rng.uniform(0.5, 30.0), size=L) * (rng.uniform(size=L) > 0.2)
    return counts.astype(float), L


@pytest.mark.parametrize("seed", range(6))
def test_beta_two_reduces_to_ki(seed):
    counts, L = _random_counts(seed)
    J_gg, *_ = core.gg_criterion(counts, beta=(2.0, 2.0))
    J_gg_approx, *_ = core.gg_criterion(counts, form="approx", beta=(2.0, 2.0))
    J_ki, *_ = core.ki_criterion(counts)
    np.testing.assert_array_equal(np.isfinite(J_gg), np.isfinite(J_ki))
    f = np.isfinite(J_ki)
    assert f.any()
    np.testing.assert_allclose(J_gg[f], (J_ki[f] + LN_2PI) / 2, rtol=0, atol=1e-12)
    np.testing.assert_allclose(J_gg_approx[f], J_gg[f], rtol=0, atol=1e-12)   # D_i = P_i/2


def test_beta_two_reduction_on_dataset_a():
    x, _ = _seeded("a")
    counts, _ = np.histogram(x, bins=256, range=(x.min(), x.max()))
    J_gg, *_ = core.gg_criterion(counts.astype(float), beta=(2.0, 2.0))
    J_ki = ki_threshold(x).criterion - 2 * np.log((x.max() - x.min()) / 256)
    f = np.isfinite(J_ki)
    np.testing.assert_allclose(J_gg[f], (J_ki[f] + LN_2PI) / 2, rtol=0, atol=1e-12)
    # the ½ + ½ ln 2π offset of docs/ggki.md §3.3 in data units
    assert abs(ki_threshold(x).criterion_min - (2 * 1.41331556 - LN_2PI)) <= 1e-7


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("variant", VARIANTS, ids=_variant_id)
def test_matches_loop_reference(seed, variant):
    counts, L = _random_counts(seed)
    lo, hi = -3.0 + seed, 2.0 + 3 * seed            # non-unit width, offset range
    width = (hi - lo) / L
    centres = lo + (np.arange(L) + 0.5) * width
    x = np.repeat(centres, counts.astype(int))
    np.random.default_rng(seed).shuffle(x)
    res = _run(x, variant, bins=L, range=(lo, hi))
    np.testing.assert_array_equal(res.counts, counts)
    if variant == "ki":
        ref = reference_criterion(counts, lo, hi, method="ki")
    else:
        ref = reference_criterion(counts, lo, hi, *variant)
    np.testing.assert_array_equal(np.isfinite(res.criterion), np.isfinite(ref))
    f = np.isfinite(ref)
    assert f.any()
    np.testing.assert_allclose(res.criterion[f], ref[f], rtol=0, atol=2e-8)
    assert res.index == int(np.argmin(ref))
    assert abs(res.threshold - (lo + (res.index + 1) * width)) <= 1e-12


# ====================================================================
# §4 edge cases
# ====================================================================

def _assert_no_threshold(res, shape):
    assert not res.valid and np.isnan(res.threshold) and res.index == -1
    assert np.isnan(res.criterion_min) and np.isnan(res.unchanged_class.beta)
    assert res.change_mask.shape == shape and not res.change_mask.any()
    assert np.all(np.isinf(res.criterion))


def test_nonfinite_values_are_dropped_and_never_changed():
    x, _ = _seeded("a")
    y = x.copy()
    y[[3, 50, 95000, 99999]] = [np.nan, np.inf, -np.inf, np.nan]
    for fn in (ggki_threshold, ki_threshold):
        res = fn(y)
        ref = fn(np.delete(x, [3, 50, 95000, 99999]))
        assert res.n_nonfinite == 4 and ref.n_nonfinite == 0
        assert res.threshold == ref.threshold and res.index == ref.index
        assert not res.change_mask[[3, 50, 95000, 99999]].any()
        assert not res.used_mask[[3, 50, 95000, 99999]].any() and res.used_mask.sum() == x.size - 4
        np.testing.assert_array_equal(res.change_mask, res.used_mask & (y >= res.threshold))


@pytest.mark.parametrize("values", [np.array([]), np.array([1.0, 2.0, 3.0]),
                                    np.array([np.nan, 1.0, 2.0, np.inf, 5.0]),
                                    np.full((3, 4), np.nan)])
def test_empty_or_fewer_than_four_finite_values(values):
    for fn in (ggki_threshold, ki_threshold):
        res = fn(values)
        _assert_no_threshold(res, values.shape)
        assert res.criterion.shape == (255,)
        assert np.isnan(threshold(values, "ggki"))
        assert np.isnan(threshold(values, "otsu"))


def test_constant_input_is_caught_before_histogram():
    values = np.full((5, 6), 2.5)
    for fn in (ggki_threshold, ki_threshold):
        res = fn(values)
        _assert_no_threshold(res, (5, 6))
        assert res.edges.size == 0          # no widened (c - 0.5, c + 0.5) histogram
    assert np.isnan(threshold(values, "otsu"))


@pytest.mark.parametrize("values", [[0.0, 0.0, 1.0, 1.0, 1.0],               # two values
                                    [0.0, 0.0, 5.0, 9.0, 9.0, 9.0]])          # three values
def test_fewer_than_four_nonempty_bins_gives_no_threshold(values):
    values = np.array(values)
    for fn in (ggki_threshold, ki_threshold):
        res = fn(values)
        _assert_no_threshold(res, values.shape)
        assert res.counts.sum() == values.size     # the histogram was built


def test_single_bin_class_is_invalid_even_with_spurious_variance():
    """A class in one bin far from the centre: raw moments give var ≈ ±1e-12,
    which must not create a -inf-like minimum (docs/ggki.md §4)."""
    counts = np.zeros(256)
    counts[[250]] = 1e6           # class 2 at t < 250 ... single bin at the top
    counts[[0, 1, 2, 3]] = [5, 9, 7, 2]
    counts[[251]] = 0
    c1, c2 = core.class_moments(counts)
    J, *_ = core.gg_criterion(counts)
    Jk, *_ = core.ki_criterion(counts)
    # for t = 3..249 class 2 is the single bin 250
    assert np.all(np.isinf(J[3:250])) and np.all(np.isinf(Jk[3:250]))
    assert np.all(c2.nonempty[3:250] == 1)
    assert np.all(np.isinf(J[:1])) and np.all(np.isinf(J[250:]))
    assert np.isfinite(J[1]) and np.isfinite(J[2])


def test_empty_bin_plateau_takes_lowest_t():
    # gap of empty bins between the two groups: every t in the gap is one partition
    x = np.concatenate([np.repeat([0.0, 1.0, 2.0], [3, 6, 3]),
                        np.repeat([7.0, 8.0, 9.0], [2, 5, 2])])
    for fn in (ggki_threshold, ki_threshold):
        res = fn(x, bins=10, range=(-0.5, 9.5))
        J = res.criterion
        assert np.all(J[2:7] == J[2])            # t = 2..6 plateau
        assert res.index == 2 and res.threshold == 2.5
        np.testing.assert_array_equal(res.change_mask, x >= 7)


def test_every_candidate_considered_including_ends():
    """(c): a boundary local minimum at t = 1, the global one at t = 41."""
    x, _ = _seeded("c")
    J = ggki_threshold(x).criterion
    assert np.isfinite(J[1]) and J[1] < J[0] and J[1] < J[2]
    assert int(np.argmin(J)) == 41


def test_overflow_in_data_term_gives_inf_without_warnings(monkeypatch):
    """(b|u - m|)^β overflowing float64 gives D = +inf, then J = +inf (docs/ggki.md §4)."""
    import dataclasses
    counts = T0_COUNTS.astype(float)
    c1, _ = core.class_moments(counts)
    tiny = dataclasses.replace(c1, var=np.full(15, 1e-300))   # σ_1 = 1e-150 in u units
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        D = core.data_term(counts, tiny, np.full(15, 20.0))
    assert np.all(np.isinf(D[2:]))          # every row with >= 2 occupied bins overflows
    assert np.all(D[:2] == 0)               # t = 0, 1: one occupied bin, at the mean
    real = core.data_term

    def overflowing(counts, cm, beta):      # force an overflow at t = 6 only
        D = real(counts, cm, beta)
        D[6] = np.inf
        return D

    monkeypatch.setattr(core, "data_term", overflowing)
    res = ggki_threshold(T0_VALUES, **T0_KW)
    assert np.isinf(res.criterion[6]) and res.index == 7      # next plateau member
    assert res.threshold == 7.5


def test_ratio_clamped_bimodal_class_is_penalised():
    """(c) ratio/exact: J[32] = 76.59 with class 2 clamped to β = 20."""
    x, _ = _seeded("c")
    counts, _ = np.histogram(x, bins=256, range=(x.min(), x.max()))
    J, c1, c2, b1, b2 = core.gg_criterion(counts.astype(float), "ratio")
    assert c2.ratio[32] > np.sqrt(3) / 2 and b2[32] == 20.0
    assert abs(J[32] + np.log((x.max() - x.min()) / 256) - 76.59) <= 0.005


def test_long_tail_and_upper_quantile():
    x, n = _seeded("a")
    y = np.append(x, 1000.0)
    truth = np.append(np.arange(x.size) >= n, True)
    res = ggki_threshold(y)
    assert np.count_nonzero(res.counts) == 4
    assert abs(res.threshold - 8.53) <= 0.005
    assert np.count_nonzero(res.change_mask != truth) == 6952
    capped = ggki_threshold(y, upper_quantile=0.999)
    assert abs(capped.threshold - 6.156) <= 0.0005
    assert np.count_nonzero(capped.change_mask != truth) == 424
    assert capped.change_mask[-1]              # the clipped outlier is "changed"


def test_negative_values_shift_and_scale():
    x, _ = _seeded("b")
    base = ggki_threshold(x)
    shifted = ggki_threshold(3.0 * x - 40.0)    # all negative-to-positive, scaled
    assert shifted.index == base.index
    assert abs(shifted.threshold - (3.0 * base.threshold - 40.0)) <= 1e-9
    f = np.isfinite(base.criterion)
    np.testing.assert_allclose(shifted.criterion[f], base.criterion[f] + np.log(3.0),
                               rtol=0, atol=1e-8)


def test_float32_and_integer_inputs_are_computed_in_float64():
    x = T0_VALUES
    ref = ggki_threshold(x, **T0_KW)
    for v in (x.astype(np.float32), x.astype(np.int16)):
        res = ggki_threshold(v, **T0_KW)
        assert res.index == ref.index and res.criterion.dtype == np.float64
        np.testing.assert_array_equal(res.criterion, ref.criterion)


def test_change_mask_reproduces_histogram_partition_on_edges():
    # values that sit exactly on bin edges -0.5 + k
    x = np.concatenate([T0_VALUES, [6.5, 6.5, 2.5, 10.5, 15.5]])
    res = ggki_threshold(x, **T0_KW)
    assert res.change_mask.sum() == res.counts[res.index + 1:].sum()


def test_mask_restricts_the_samples():
    x, _ = _seeded("a")
    x2 = x.reshape(400, 250)
    mask = np.ones_like(x2, dtype=bool)
    mask[:, :10] = False
    x2 = x2.copy()
    x2[:, :10] = 1e6                            # would wreck the range if used
    res = ggki_threshold(x2, mask=mask)
    ref = ggki_threshold(x2[mask])
    assert res.threshold == ref.threshold and res.change_mask.shape == (400, 250)
    assert not res.change_mask[:, :10].any()
    np.testing.assert_array_equal(res.change_mask[mask], ref.change_mask)


def test_ki_class_parameters_are_gaussian():
    x, _ = _seeded("a")
    res = ki_threshold(x)
    for cls in (res.unchanged_class, res.changed_class):
        assert cls.beta == 2.0
        assert abs(cls.alpha - np.sqrt(2.0) * cls.std) <= 1e-12


# ====================================================================
# dispatcher and input errors
# ====================================================================

def test_decision_threshold_keeps_each_rules_split():
    """drl_np.decision.threshold turns GGKI/KI's ``>= T`` into ``> tau`` with
    the same split, and passes the rules' options through."""
    from skimage.filters import threshold_otsu
    x, _ = _seeded("b")
    for rule, opts, res in (("ggki", {}, ggki_threshold(x)),
                            ("ggki", {"shape": "ratio"}, ggki_threshold(x, shape="ratio")),
                            ("ki", {"bins": 128}, ki_threshold(x, bins=128))):
        tau = threshold(x, rule, **opts)
        np.testing.assert_array_equal(x > tau, x >= res.threshold)
        assert tau in x                                # a value of the data, no ulp shift
    assert threshold(x, "otsu") == threshold_otsu(x)
    y = np.append(x, threshold_otsu(x))                # an exact hit stays unchanged
    np.testing.assert_array_equal(y > threshold(y, "otsu"), y > threshold_otsu(y))


@pytest.mark.parametrize("call", [
    lambda: ggki_threshold([1.0, 2.0, 3.0, 4.0], shape="mad"),
    lambda: ggki_threshold([1.0, 2.0, 3.0, 4.0], form="fast"),
    lambda: ggki_threshold([1.0, 2.0, 3.0, 4.0], bins=3),
    lambda: ki_threshold([1.0, 2.0, 3.0, 4.0], bins=25.5),
    lambda: ggki_threshold(np.array([1j, 2j, 3, 4])),
    lambda: ggki_threshold(np.array(["a", "b"])),
    lambda: ggki_threshold(np.ones(5), mask=np.ones(4, dtype=bool)),
    lambda: ggki_threshold(np.ones(5), mask=np.ones(5)),
    lambda: ggki_threshold(np.arange(5.0), range=(3.0, 1.0)),
    lambda: ggki_threshold(np.arange(5.0), range=(0.0, np.inf)),
    lambda: ggki_threshold(np.arange(5.0), range=3.0),
    lambda: ggki_threshold(np.arange(5.0), upper_quantile=1.5),
    lambda: ggki_threshold(np.arange(5.0), range=(0, 4), upper_quantile=0.9),
    lambda: threshold(np.arange(5.0), "kmeans", bins=3),
    lambda: threshold(np.arange(5.0), "otsu", shape="ratio"),
    lambda: threshold(np.arange(5.0), "mean"),
])
def test_input_errors_are_one_line(call):
    with pytest.raises(InputError) as err:
        call()
    assert "\n" not in str(err.value) and len(str(err.value)) > 20
