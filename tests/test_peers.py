"""Tests of drl_np.peers on tiny synthetic pairs (no real data)."""

import numpy as np
import pytest
from scipy import linalg
from sklearn.cluster import KMeans

import drl_np
from drl_np._validation import InputError
from drl_np.peers import PEER_METHODS, detect_changes
from drl_np.peers.c2va import c2va_polar, sector_types, valley_bounds
from drl_np.peers.cva import cva, cva_direction
from drl_np.decision import kmeans_threshold
from drl_np.peers.isfa import sfa_eig
from drl_np.peers.mad import cca, irmad
from drl_np.rng import check_random_state


def _kappa(truth, pred):
    n = truth.size
    tp = np.sum(truth & pred); tn = np.sum(~truth & ~pred)
    fp = np.sum(~truth & pred); fn = np.sum(truth & ~pred)
    oa = (tp + tn) / n
    pe = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / n ** 2
    return (oa - pe) / (1 - pe)


def _pair(seed=0, m=48, n=48, b=4, shift=None):
    """t2 = per-band affine(t1) + noise, with a 16x16 block of new land cover.

    The block's change vector is ``shift`` (B,) when given, else a random
    vector of length 6 per 4x4 cell (several kinds of change).
    """
    rng = np.random.default_rng(seed)
    cells = lambda a: np.kron(a, np.ones((4, 4, 1)))          # (m/4, n/4, b) -> (m, n, b)
    t1 = cells(rng.normal(size=(m // 4, n // 4, b))) + 0.3 * rng.normal(size=(m, n, b))
    t2 = 2.0 * t1 + 5.0 + 0.3 * rng.normal(size=(m, n, b))
    truth = np.zeros((m, n), dtype=bool)
    truth[8:24, 16:32] = True
    if shift is None:
        d = rng.normal(size=(m // 4, n // 4, b))
        change = cells(6.0 * d / np.linalg.norm(d, axis=2, keepdims=True))
        t2[truth] += change[truth]
    else:
        t2[truth] += shift
    return t1, t2, truth


# -- CVA ----------------------------------------------------------------------
def test_cva_magnitude_hand_values():
    x1 = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, -1.0]])
    x2 = np.array([[3.0, 4.0], [1.0, 2.0], [2.0, -1.0]])
    mag, diff = cva(x1, x2, scale=False)
    np.testing.assert_allclose(mag, [5.0, 1.0, 0.0])
    np.testing.assert_allclose(diff, [[3, 4], [0, 1], [0, 0]])


def test_cva_scaled_is_difference_of_zscores():
    x1 = np.array([[0.0], [2.0]])            # mean 1, std 1 -> z = -1, 1
    x2 = np.array([[10.0], [30.0]])          # mean 20, std 10 -> z = -1, 1
    mag, _ = cva(x1, x2, scale=True)
    np.testing.assert_allclose(mag, [0.0, 0.0], atol=1e-12)
    mag, _ = cva(x1, np.array([[30.0], [10.0]]), scale=True)
    np.testing.assert_allclose(mag, [2.0, 2.0])


def test_cva_direction_hand_values():
    ang = cva_direction(np.array([[3.0, 4.0], [-1.0, 0.0]]))
    np.testing.assert_allclose(ang[:, 0], [np.arctan2(4, 3), np.pi])
    # 3 bands: first angle acos(d1/||d||), second atan2(d3, d2)
    ang = cva_direction(np.array([[1.0, 1.0, 1.0]]))
    np.testing.assert_allclose(ang[0], [np.arccos(1 / np.sqrt(3)), np.pi / 4])


# -- C2VA ---------------------------------------------------------------------
def test_c2va_polar_hand_values():
    d = np.array([[1.0, 1.0, 1.0, 1.0],      # all bands up: theta 0
                  [1.0, -1.0, 1.0, -1.0],    # sums to 0: theta pi/2
                  [-2.0, 0.0, 0.0, 0.0],     # cos = -2 / (2 * 2): theta 2pi/3
                  [-1.0, -1.0, -1.0, -1.0],  # all down: theta pi
                  [0.0, 0.0, 0.0, 0.0]])     # no change: rho 0, theta pi/2
    rho, theta = c2va_polar(d)
    np.testing.assert_allclose(rho, [2.0, 2.0, 2.0, 2.0, 0.0])
    np.testing.assert_allclose(theta, [0.0, np.pi / 2, 2 * np.pi / 3, np.pi, np.pi / 2],
                               atol=1e-7)


def _three_directions(seed=0):
    """4-band pair: still background (noise 0.01) and three blocks changed
    along (1,1,1,1) (theta 0), (1,-1,1,-1) (pi/2), (-1,-1,-1,-1) (pi), with
    lengths 2..3; blocks of 36, 25, 16 pixels, so types 1, 2, 3."""
    rng = np.random.default_rng(seed)
    t1 = rng.normal(size=(20, 21, 4))
    t2 = t1 + 0.01 * rng.normal(size=t1.shape)
    expected = np.zeros((20, 21), dtype=np.int64)
    blocks = [((slice(1, 7), slice(1, 7)), [1, 1, 1, 1]),
              ((slice(10, 15), slice(2, 7)), [1, -1, 1, -1]),
              ((slice(12, 16), slice(12, 16)), [-1, -1, -1, -1])]
    for k, (where, direction) in enumerate(blocks, start=1):
        length = rng.uniform(2.0, 3.0, size=expected[where].shape)[..., None]
        t2[where] += length * np.array(direction, float) / 2.0     # unit vector * length
        expected[where] = k
    return t1, t2, expected


@pytest.mark.parametrize("scale", [False, True])
@pytest.mark.parametrize("sectors", ["valleys", "kmeans"])
def test_c2va_recovers_three_direction_sectors(scale, sectors):
    t1, t2, expected = _three_directions()
    res = detect_changes(t1, t2, "c2va", n_types=3, random_state=0, scale=scale,
                         sectors=sectors)
    np.testing.assert_array_equal(res.type_map, expected)
    assert res.rule == "ki" and res.info["sectors"] == sectors
    assert len(res.info["sector_bounds"]) == 2
    if not scale:                        # true directions 0, pi/2, pi: bounds in the gaps
        lo, hi = res.info["sector_bounds"]
        assert 0.1 < lo < np.pi / 2 - 0.1 and np.pi / 2 + 0.1 < hi < np.pi - 0.1
        # type 1 (theta 0) has the first sector, type 3 (theta pi) the last
        assert res.info["type_sectors"][0] == [0.0, lo]
        assert res.info["type_sectors"][2] == [hi, np.pi]


def test_c2va_identical_dates_change_nothing():
    t1, _, _ = _three_directions()
    res = detect_changes(t1, t1.copy(), "c2va", n_types=3)
    assert not res.change_map.any() and np.all(res.type_map == 0)
    np.testing.assert_allclose(res.ci_map, 0.0, atol=1e-12)
    assert res.info["type_sectors"] == []


def test_c2va_valleys_hand_histogram_and_kmeans_fallback():
    theta = np.radians(np.repeat([10.0, 11.0, 90.0, 170.0], [5, 5, 8, 3]))
    bounds = valley_bounds(theta, 3)       # two empty gaps: 12..89 and 91..169 degrees
    assert bounds.size == 2
    assert np.radians(12) < bounds[0] < np.radians(89)
    assert np.radians(91) < bounds[1] < np.radians(169)
    assert valley_bounds(theta, 4) is None          # 10 and 11 degrees smooth into one mode
    changed = np.ones(theta.size, dtype=bool)
    labels, info = sector_types(theta, changed, 4, check_random_state(0))
    assert info["sectors"] == "kmeans" and sorted(np.unique(labels)) == [1, 2, 3, 4]
    labels, info = sector_types(theta, changed, 3, check_random_state(0))
    np.testing.assert_array_equal(labels, np.repeat([1, 2, 3], [10, 8, 3]))


def test_c2va_bad_sector_rule():
    t1, t2, _ = _three_directions()
    with pytest.raises(InputError, match="sectors"):
        detect_changes(t1, t2, "c2va", sectors="peaks")
    with pytest.raises(InputError, match="n_bins"):
        detect_changes(t1, t2, "c2va", n_bins=1)


def test_c2va_through_analyse():
    t1, t2, expected = _three_directions()
    res = drl_np.analyse(t1, t2, method="c2va", schedule=(4, 3))
    assert res.n_change_types == 3 and res.params["threshold"] == "ki"
    np.testing.assert_array_equal(res.cda_map, expected)


# -- MAD / IRMAD --------------------------------------------------------------
def _correlated(seed, p=500, b=3):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(p, b))
    x1 = z @ rng.normal(size=(b, b)) + 0.5 * rng.normal(size=(p, b))
    x2 = z @ rng.normal(size=(b, b)) + 0.8 * rng.normal(size=(p, b))
    return x1, x2


def _cca_by_svd(x1, x2, w):
    """Canonical correlations: singular values of S11^-1/2 S12 S22^-1/2."""
    cov = np.cov(np.hstack([x1, x2]), rowvar=False, aweights=w, bias=True)
    b = x1.shape[1]
    s11, s22, s12 = cov[:b, :b], cov[b:, b:], cov[:b, b:]
    inv_sqrt = lambda s: linalg.inv(linalg.sqrtm(s)).real
    return np.sort(linalg.svdvals(inv_sqrt(s11) @ s12 @ inv_sqrt(s22)))


@pytest.mark.parametrize("weighted", [False, True])
def test_cca_correlations_match_whitening_svd(weighted):
    x1, x2 = _correlated(1)
    w = np.random.default_rng(2).uniform(0.1, 1.0, x1.shape[0]) if weighted else np.ones(x1.shape[0])
    rho, a, b, m1, m2 = cca(x1, x2, w)
    np.testing.assert_allclose(rho, _cca_by_svd(x1, x2, w), rtol=1e-9)
    # the variates themselves have unit variance and correlation rho
    u, v = (x1 - m1) @ a, (x2 - m2) @ b
    wn = w / w.sum()
    np.testing.assert_allclose((wn[:, None] * u * u).sum(0), 1.0, rtol=1e-9)
    np.testing.assert_allclose((wn[:, None] * u * v).sum(0), rho, rtol=1e-9)


def test_mad_chi2_is_sum_of_standardised_variates():
    x1, x2 = _correlated(3)
    out = irmad(x1, x2, max_iter=1)
    np.testing.assert_allclose(out["sigma2"], 2 * (1 - out["rho"]))
    np.testing.assert_allclose(out["mad"].var(axis=0), out["sigma2"], rtol=1e-9)
    np.testing.assert_allclose(out["chi2"], (out["mad"] ** 2 / out["sigma2"]).sum(1))


def test_irmad_invariant_to_per_band_affine_transforms():
    t1, t2, _ = _pair(4)
    gain1, off1 = np.array([3.0, -0.5, 10.0, 1.0]), np.array([100.0, -3.0, 0.0, 7.0])
    gain2, off2 = np.array([-2.0, 0.1, 1.0, 4.0]), np.array([0.0, 50.0, -9.0, 1.0])
    ref = detect_changes(t1, t2, "irmad")
    out = detect_changes(t1 * gain1 + off1, t2 * gain2 + off2, "irmad")
    np.testing.assert_allclose(out.ci_map, ref.ci_map, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(out.info["canonical_correlations"],
                               ref.info["canonical_correlations"], atol=1e-9)
    assert np.array_equal(out.change_map, ref.change_map)


def test_irmad_reweighting_raises_no_change_correlations():
    t1, t2, _ = _pair(5)
    mad = detect_changes(t1, t2, "mad")
    ir = detect_changes(t1, t2, "irmad")
    assert ir.info["n_iter"] > 1
    # down-weighting the changed block makes the no-change relation tighter
    assert ir.info["canonical_correlations"][0] > mad.info["canonical_correlations"][0]


# -- ISFA ---------------------------------------------------------------------
def test_sfa_eig_solves_generalised_problem_b_orthonormal():
    rng = np.random.default_rng(6)
    g = rng.normal(size=(5, 5)); h = rng.normal(size=(5, 5))
    mat_a, mat_b = g @ g.T, h @ h.T + 5 * np.eye(5)
    lam, w = sfa_eig(mat_a, mat_b)
    np.testing.assert_allclose(mat_a @ w, mat_b @ w * lam, atol=1e-10)
    np.testing.assert_allclose(w.T @ mat_b @ w, np.eye(5), atol=1e-10)
    assert np.all(np.diff(lam) >= 0)


def test_isfa_variates_have_variance_lambda():
    from drl_np.peers.isfa import isfa
    x1, x2 = _correlated(7)
    out = isfa(x1, x2, max_iter=1)
    np.testing.assert_allclose(out["sfa"].var(axis=0), out["lam"], rtol=1e-9)


# -- all peers ----------------------------------------------------------------
_DEFAULT_RULES = {"cva": "otsu", "c2va": "ki", "pca-kmeans": "kmeans", "mad": "kmeans",
                  "irmad": "kmeans", "isfa": "otsu"}


@pytest.mark.parametrize("method", PEER_METHODS)
def test_each_peer_finds_planted_block_deterministically(method):
    t1, t2, truth = _pair(8)
    res = detect_changes(t1, t2, method, random_state=3)
    assert _kappa(truth, res.change_map) > 0.8
    assert res.rule == _DEFAULT_RULES[method]
    again = detect_changes(t1, t2, method, random_state=3)
    assert np.array_equal(res.type_map, again.type_map)
    assert np.array_equal(res.ci_map, again.ci_map)
    assert res.ci_map.shape == truth.shape and res.type_map.shape == truth.shape
    assert np.array_equal(res.change_map, res.type_map > 0)
    assert np.array_equal(res.change_map, res.ci_map > res.threshold)


@pytest.mark.parametrize("method", PEER_METHODS)
def test_masked_pixels_are_nan_and_minus_one(method):
    t1, t2, _ = _pair(9)
    mask = np.ones(t1.shape[:2], dtype=bool)
    mask[40:, :] = False
    res = detect_changes(t1, t2, method, mask=mask)
    assert np.all(np.isnan(res.ci_map[~mask])) and np.all(np.isfinite(res.ci_map[mask]))
    assert np.all(res.type_map[~mask] == -1) and not res.change_map[~mask].any()


@pytest.mark.parametrize("method", ["cva", "c2va", "mad", "irmad", "isfa"])
def test_statistics_use_valid_pixels_only(method):
    t1, t2, _ = _pair(10)
    mask = np.ones(t1.shape[:2], dtype=bool)
    mask[40:, :] = False
    a = detect_changes(t1, t2, method, mask=mask)
    t1b, t2b = t1.copy(), t2.copy()
    t1b[~mask] = 1e6                              # garbage where masked
    t2b[~mask] = -1e6
    b = detect_changes(t1b, t2b, method, mask=mask)
    np.testing.assert_allclose(a.ci_map[mask], b.ci_map[mask], rtol=1e-9)


def test_change_types_separate_two_kinds_of_change():
    t1, t2, _ = _pair(11, shift=np.array([4.0, -4.0, 3.0, -3.0]))
    t2[30:40, 2:12] += np.array([-4.0, 4.0, -3.0, 3.0])     # the opposite change
    res = detect_changes(t1, t2, "cva", n_types=2, random_state=0)
    kinds = {int(np.median(res.type_map[8:24, 16:32])), int(np.median(res.type_map[30:40, 2:12]))}
    assert kinds == {1, 2}
    assert np.all(res.type_map[10:22, 18:30] == 1)     # bigger block is type 1


# -- decision rules -----------------------------------------------------------
def test_kmeans_threshold_hand_values_and_sklearn():
    assert kmeans_threshold(np.array([0.0, 1.0, 2.0, 10.0, 11.0])) == 5.75
    v = np.concatenate([np.random.default_rng(0).normal(0, 1, 3000),
                        np.random.default_rng(1).normal(6, 2, 600)])
    centres = KMeans(n_clusters=2, n_init=10, random_state=0).fit(v[:, None]).cluster_centers_
    assert kmeans_threshold(v) == pytest.approx(centres.mean(), rel=1e-9)


def test_chi_square_rules_threshold_sqrt_and_square_back(monkeypatch):
    import drl_np.peers as peers
    monkeypatch.setattr(peers, "threshold", lambda values, rule: 2.0)
    t1, t2, _ = _pair(13)
    res = detect_changes(t1, t2, "irmad", threshold="ki")
    assert res.threshold == pytest.approx(4.0) and res.rule == "ki"
    res = detect_changes(t1, t2, "cva", threshold="ggki")
    assert res.threshold == pytest.approx(2.0)
    np.testing.assert_array_equal(res.change_map, res.ci_map > 2.0)


@pytest.mark.parametrize("kwargs, word", [
    ({"method": "pca"}, "method"),
    ({"method": "cva", "threshold": "mean"}, "threshold"),
    ({"method": "cva", "block_size": 3}, "block_size"),
    ({"method": "cva", "mask": np.ones((3, 3), dtype=bool)}, "mask"),
    ({"method": "cva", "n_types": 0}, "n_types"),
])
def test_bad_input_names_the_value(kwargs, word):
    t1, t2, _ = _pair(15)
    with pytest.raises(InputError, match=word):
        detect_changes(t1, t2, **kwargs)


def test_constant_band_is_an_input_error():
    t1, t2, _ = _pair(16)
    t1[:, :, 2] = 7.0
    with pytest.raises(InputError, match="constant"):
        detect_changes(t1, t2, "irmad")


def test_pca_kmeans_on_a_tiny_image_is_a_clear_error():
    t = np.random.default_rng(0).random((5, 5, 3))
    with pytest.raises(InputError, match="fewer than two 5x5 blocks"):
        detect_changes(t, t + 1, "pca-kmeans")


def test_constant_band_is_counted_from_one():
    t = np.random.default_rng(0).random((8, 8, 3))
    t[:, :, 0] = 1.0
    with pytest.raises(InputError, match="t1 band 1 "):
        detect_changes(t, t[:, :, ::-1].copy() + 0.5, "mad")
