"""Algorithms 1 and 2 and the methods end to end on the synthetic scene."""
import numpy as np
import pytest

import drl_np
from drl_np._validation import InputError
from drl_np.clustering import one_hot
from drl_np.datasets import synthetic_pair
from drl_np.drlnet import drnet_forward, drnet_setup
from drl_np.metrics import binary_change_accuracy, change_analysis_accuracy
from drl_np.algorithm1 import ClusterState, algorithm1_epoch
from drl_np.decision import change_flags
from drl_np.recurrent import DRLnet
from drl_np.rng import OctaveRandom


def _toy(n=43, d=9, seed=0):
    r = OctaveRandom(seed)
    x1 = r.rand(n, d)
    x2 = x1.copy()
    x2[: n // 3] = r.rand(n // 3, d)          # a third of the pairs change
    return r, x1, x2


def test_algorithm1_epoch_follows_eq8_and_eq9():
    r, x1, x2 = _toy()
    net = drnet_setup(9, branch=(6, 5), head=(5, 4), n_classes=3, rng=r)
    lam = np.zeros(43); lam[:14] = 1
    dr = drnet_forward(net, x1, x2)["dr"]
    # every changed sample starts in type 2, whose centroid is far away: Eq. 8
    # must move each one that takes a step to type 1, the near centroid
    centres = np.vstack([dr[lam == 0].mean(axis=0), dr[lam > 0].mean(axis=0), np.full(4, 100.0)])
    assign = np.where(lam > 0, 2, 0)
    counts = np.array([29.0, 0.0, 14.0])
    state = ClusterState(lam, assign, centres, counts)
    target = one_hot(np.arange(43) % 3, 3)
    kk = r.randperm(43)
    L = algorithm1_epoch(net, x1, x2, target, kk, 10, state, alpha=0.1)
    assert L.shape == (4,)                      # floor(43 / 10) minibatches
    used, left = kk[:40], kk[40:]
    used_changed = used[lam[used] > 0]
    np.testing.assert_array_equal(assign[used_changed], 1)            # Eq. 8
    # Eq. 9: every changed sample of a minibatch counted once, into type 1
    assert counts[1] == used_changed.size and counts[2] == 14.0 and counts[0] == 29.0
    np.testing.assert_array_equal(centres[2], 100.0)
    assert np.all(assign[lam == 0] == 0)
    # the samples left out of this epoch keep their initial assignment
    np.testing.assert_array_equal(assign[left[lam[left] > 0]], 2)


def test_training_lowers_the_joint_loss():
    r, x1, x2 = _toy(n=60)
    net = drnet_setup(9, branch=(6, 5), head=(5, 4), n_classes=3, rng=r)
    net.learning_rate = 0.5
    target = one_hot(np.arange(60) % 3, 3)
    first = algorithm1_epoch(net, x1, x2, target, r.randperm(60), 10).mean()
    for _ in range(30):
        last = algorithm1_epoch(net, x1, x2, target, r.randperm(60), 10).mean()
    assert last < first


def test_change_flags_split_changed_pairs():
    rng = np.random.default_rng(0)
    h1 = rng.random((400, 5))
    h2 = h1 + rng.normal(0, 0.01, h1.shape)
    h2[:80] += rng.normal(0, 0.5, (80, 5))
    flags, distance, tau = change_flags(h1, h2)
    assert flags[:80].mean() > 0.95 and flags[80:].mean() < 0.05
    np.testing.assert_array_equal(flags, distance > tau)


def test_schedule_must_decrease():
    r, x1, x2 = _toy()
    with pytest.raises(InputError, match="strictly decreasing"):
        DRLnet(schedule=(8, 8, 4)).fit(x1, x2)
    with pytest.raises(InputError, match="only 43 samples for K0 = 50"):
        DRLnet(schedule=(50, 4)).fit(x1, x2)


@pytest.fixture(scope="module")
def scenes():
    return {seed: synthetic_pair(seed=seed) for seed in (0, 1, 2)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_drlnet2_recovers_the_planted_change_types(scenes, seed):
    t1, t2, gt = scenes[seed]
    res = drl_np.analyse(t1, t2, method="drlnet2", random_state=seed, schedule=(25, 15, 8, 4))
    score = change_analysis_accuracy(gt, res.cda_map)
    assert score.acc >= 0.90 and score.kappa >= 0.75, (score.acc, score.kappa)
    assert binary_change_accuracy(gt, res.cda_map).kappa >= 0.8
    assert set(res.maps) == {25, 15, 8, 4}
    assert np.nanmin(res.ci_map) == 0 and np.nanmax(res.ci_map) == 1
    # the change-intensity map ranks changed pixels above unchanged ones
    assert np.nanmean(res.ci_map[gt > 0]) > 3 * np.nanmean(res.ci_map[gt == 0])


@pytest.mark.parametrize("method", ["drlnet1", "sae-km", "raw-km"])
def test_every_method_runs_end_to_end(scenes, method):
    t1, t2, gt = scenes[0]
    res = drl_np.analyse(t1, t2, method=method, random_state=0, schedule=(25, 15, 8, 4))
    assert res.cda_map.shape == gt.shape
    assert res.cda_map.min() >= 0 and res.cda_map.max() == 4
    assert change_analysis_accuracy(gt, res.cda_map).acc > 0.8


def test_same_seed_same_maps_bit_for_bit(scenes):
    t1, t2, _ = (a[:96, :96] for a in scenes[1])
    kw = dict(method="drlnet2", schedule=(12, 6, 3), finetune_epochs=2, pretrain_epochs=2, sae_epochs=1)
    a = drl_np.analyse(t1, t2, random_state=5, **kw)
    b = drl_np.analyse(t1, t2, random_state=5, **kw)
    for k in a.maps:
        np.testing.assert_array_equal(a.maps[k], b.maps[k])
    np.testing.assert_array_equal(a.ci_map, b.ci_map)
    assert a.losses == b.losses
    c = drl_np.analyse(t1, t2, random_state=6, **kw)
    assert c.losses != a.losses


def test_unknown_parameter_is_named(scenes):
    t1, t2, _ = scenes[0]
    with pytest.raises(InputError, match="unknown parameter"):
        drl_np.analyse(t1, t2, method="raw-km", n_epochs=3)


def test_numba_and_numpy_engines_give_the_same_maps(scenes):
    t1, t2, _ = (a[:96, :96] for a in scenes[2])
    kw = dict(method="drlnet2", schedule=(12, 6, 3), finetune_epochs=2, pretrain_epochs=2,
              sae_epochs=1, random_state=3)
    a = drl_np.analyse(t1, t2, engine="numpy", **kw)
    b = drl_np.analyse(t1, t2, engine="numba", **kw)
    for k in a.maps:
        np.testing.assert_array_equal(a.maps[k], b.maps[k])
    # each engine matches the other to ~1e-15 per step (tests/test_kernels.py,
    # tests/test_toolbox_numba.py); over a whole run, the autoencoder stage at
    # learning rate 1 amplifies those last-bit differences to ~1e-9
    for stage in a.losses:
        np.testing.assert_allclose(a.losses[stage], b.losses[stage], rtol=1e-7, atol=0)


def test_unknown_engine_is_named():
    r, x1, x2 = _toy()
    with pytest.raises(InputError, match="engine must be"):
        DRLnet(schedule=(8, 4), engine="cuda", pretrain_epochs=1, sae_epochs=0).fit(x1, x2)


def test_little_change_gives_fewer_types_not_an_error():
    r = OctaveRandom(8)
    x1 = r.rand(60, 9)
    x2 = x1.copy()
    x2[:3] += 0.8                                   # three changed pairs for K_T = 4
    model = DRLnet(schedule=(10, 6, 4), pretrain_epochs=2, finetune_epochs=1, sae_epochs=1,
                   random_state=0).fit(x1, x2)
    assert model.n_change_types_ == int(model.labels_.max()) <= 4
    assert (model.labels_ > 0).sum() < 60
