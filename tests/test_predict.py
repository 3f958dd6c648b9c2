"""predict of the region estimators and the peers fitted on a sample: on
the fitted samples they give the fit's own labels back (two routes to one
result), and new samples are mapped with the fitted threshold and centres."""
import numpy as np
import pytest

from drl_np import DRLnet
from drl_np._validation import InputError
from drl_np.baselines import RawKM, SAEKM
from drl_np.clustering import nearest_types
from drl_np.datasets import synthetic_pair
from drl_np.frontend import BandStats
from drl_np.peers import detect_changes
from drl_np.peers.fitted import TILED_PEERS, fit_peer
from drl_np.regions import build_regions
from drl_np.rng import check_random_state


@pytest.fixture(scope="module")
def regions():
    t1, t2, _ = synthetic_pair(shape=(64, 64))
    return build_regions(t1, t2, scaling="auto")


def test_nearest_types_by_hand():
    x = np.array([[0.0, 0.0], [1.0, 1.0], [9.0, 9.0], [10.0, 10.0]])
    centres = np.array([[10.0, 10.0], [0.0, 0.0]])                 # type 1, type 2
    labels = nearest_types(x, np.array([True, True, False, True]), centres, block=1)
    assert labels.tolist() == [2, 2, 0, 1]
    assert nearest_types(x, np.ones(4, bool), np.zeros((0, 2))).tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("make", [
    lambda: RawKM(n_types=4, random_state=0),
    lambda: SAEKM(n_types=4, sae_epochs=1, random_state=0),
    lambda: DRLnet(schedule=(8, 6, 4), sae_epochs=1, pretrain_epochs=1, finetune_epochs=1, random_state=0),
])
def test_predict_on_fitted_samples_gives_labels(regions, make):
    members = regions.members("interior")
    est = make().fit(regions.x1, regions.x2, members)
    labels, ci = est.predict(regions.x1, regions.x2, members, return_intensity=True)
    np.testing.assert_array_equal(labels, est.labels_)
    np.testing.assert_allclose(ci, est.change_intensity_, atol=1e-12)
    assert labels.max() == est.n_change_types_ > 0


def test_predict_new_samples_use_fitted_threshold(regions):
    est = RawKM(n_types=3, random_state=0).fit(regions.x1, regions.x2)
    # a pair that did not change at all, and one shifted far beyond every fitted change
    x1 = regions.x1[:2].copy()
    x2 = np.vstack([x1[0], x1[1] + 5.0])
    labels, ci = est.predict(x1, x2, return_intensity=True)
    assert labels[0] == 0 and labels[1] > 0
    assert ci.tolist() == [0.0, 1.0]                               # clipped to the fitted range


def test_predict_before_fit_is_one_clear_error():
    with pytest.raises(InputError, match="not fitted"):
        DRLnet().predict(np.zeros((3, 9)), np.zeros((3, 9)))
    with pytest.raises(InputError, match="not fitted"):
        RawKM().predict(np.zeros((3, 9)), np.zeros((3, 9)))


@pytest.mark.parametrize("method", TILED_PEERS)
def test_fitted_peer_on_all_pixels_is_detect_changes(method):
    t1, t2, _ = synthetic_pair(shape=(48, 48))
    t1, t2 = t1.astype(float), t2.astype(float)
    valid = np.ones(t1.shape[:2], bool)
    valid[:3, :5] = False
    ref = detect_changes(t1, t2, method, mask=valid, n_types=4, random_state=0)
    windows = [(t1, t2, valid, (slice(None), slice(None)))]
    model = fit_peer(t1[valid], t2[valid], method, check_random_state(0), n_types=4,
                     stats=BandStats.of(t1, t2, valid), windows=windows)
    cda, ci = model.apply(t1, t2, valid)
    np.testing.assert_array_equal(cda, ref.type_map)
    assert model.threshold == pytest.approx(ref.threshold, rel=1e-9)
    assert np.isnan(ci[~valid]).all() and np.nanmin(ci) == 0 and np.nanmax(ci) == 1


def test_fit_peer_refuses_what_it_cannot_fit():
    with pytest.raises(InputError, match="sample windows"):
        fit_peer(np.zeros((4, 2)), np.zeros((4, 2)), "pca-kmeans", check_random_state(0))
    with pytest.raises(InputError, match="unknown"):
        fit_peer(np.zeros((4, 2)), np.zeros((4, 2)), "cva", check_random_state(0), block_size=3)
