"""Tests that pin DRLnet's wiring: each part of the method, broken, turns a
test red (the alpha term of Eq. 4/7, DRLnet1's frozen branch, DRLnet2's
trained one, the flags recomputed with the fine-tuned branch), and the
estimators behave as scikit-learn estimators."""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import (check_get_params_invariance,
                                            check_no_attributes_set_in_init,
                                            check_parameters_default_constructible,
                                            check_set_params)

from drl_np import DRLnet, RawKM, SAEKM
from drl_np.decision import change_statistic, decide
from drl_np.drlnet import forward_all
from drl_np.rng import OctaveRandom

SMALL = dict(schedule=(6, 4, 2), branch=(6, 5), head=(5, 4), sae_epochs=1, pretrain_epochs=2,
             finetune_epochs=2, batchsize=5, random_state=0)


def _pairs(n=60, d=9, seed=0):
    r = OctaveRandom(seed)
    x1 = r.rand(n, d)
    x2 = x1 + 0.01 * r.rand(n, d)
    x2[: n // 3] = r.rand(n // 3, d)            # a third of the pairs change
    return x1, x2


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_alpha_shapes_the_losses_and_the_network(engine):
    x1, x2 = _pairs()
    with_alpha = DRLnet(**SMALL, alpha=0.1, engine=engine).fit(x1, x2)
    without = DRLnet(**SMALL, alpha=0.0, engine=engine).fit(x1, x2)
    # the pre-training has no clustering term: identical up to the first timestep
    assert with_alpha.losses_["pretrain"] == without.losses_["pretrain"]
    assert with_alpha.losses_["finetune K=4"] != without.losses_["finetune K=4"]     # Eq. 4
    dr_a = forward_all(with_alpha.network_, x1, x2)[0]
    dr_0 = forward_all(without.network_, x1, x2)[0]
    assert not np.array_equal(dr_a, dr_0)                                            # Eq. 7


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_drlnet1_keeps_the_pretrained_branch_and_drlnet2_trains_it(engine):
    x1, x2 = _pairs()
    pretrained = DRLnet(**{**SMALL, "finetune_epochs": 0}, engine=engine).fit(x1, x2).network_
    nb = pretrained.n_branch
    frozen = DRLnet(**SMALL, variant="drlnet1", engine=engine).fit(x1, x2).network_
    trained = DRLnet(**SMALL, variant="drlnet2", engine=engine).fit(x1, x2).network_
    for i in range(nb):
        np.testing.assert_array_equal(frozen.W[i], pretrained.W[i])
        assert not np.array_equal(trained.W[i], pretrained.W[i])
    # both fine-tune the head
    assert not np.array_equal(frozen.W[nb], pretrained.W[nb])


def test_relabelling_recomputes_the_flags_with_the_finetuned_branch():
    x1, x2 = _pairs()
    model = DRLnet(**SMALL, change_space="features").fit(x1, x2)
    scale = model.input_scaler_.apply                # the network sees standardised samples
    _, h1, h2 = forward_all(model.network_, scale(x1), scale(x2))
    flags, tau = decide(change_statistic(h1, h2, model.threshold_statistic), model.threshold)
    assert model.thresholds_["K=2"] == tau
    np.testing.assert_array_equal(model.labels_ > 0, flags)
    kept = DRLnet(**SMALL, change_space="features", recompute_flags=False).fit(x1, x2)
    assert kept.thresholds_["K=2"] != tau          # the flags of the branch before fine-tuning


@pytest.mark.parametrize("estimator", [DRLnet(), SAEKM(), RawKM()], ids=lambda e: type(e).__name__)
def test_scikit_learn_estimator_checks(estimator):
    name = type(estimator).__name__
    check_parameters_default_constructible(name, estimator)
    check_no_attributes_set_in_init(name, estimator)
    check_get_params_invariance(name, estimator)
    check_set_params(name, estimator)
    twin = clone(estimator.set_params(random_state=3))
    assert twin.get_params() == estimator.get_params() and twin is not estimator
    assert repr(type(estimator)(random_state=3)).startswith(f"{name}(")


@pytest.mark.parametrize("cls", [DRLnet, SAEKM, RawKM])
def test_random_state_forms_and_fit_returns_self(cls):
    x1, x2 = _pairs()
    kw = SMALL if cls is DRLnet else {"n_types": 2, **({"sae_epochs": 1, "branch": (6, 5)} if cls is SAEKM else {})}
    kw = {k: v for k, v in kw.items() if k != "random_state"}
    model = cls(**kw, random_state=7)
    assert model.fit(x1, x2) is model
    again = cls(**kw, random_state=OctaveRandom(7)).fit_predict(x1, x2)
    np.testing.assert_array_equal(model.labels_, again)
    for state in (np.random.RandomState(1), np.random.default_rng(1), None):
        labels = cls(**kw, random_state=state).fit_predict(x1, x2)
        assert labels.shape == (x1.shape[0],)


def test_change_space_input_flags_as_raw_km():
    from drl_np import RawKM
    x1, x2 = _pairs()
    model = DRLnet(**SMALL, change_space="input").fit(x1, x2)
    raw = RawKM(n_types=2, random_state=0).fit(x1, x2)
    np.testing.assert_array_equal(model.labels_ > 0, raw.labels_ > 0)
    assert model.thresholds_["K=2"] == raw.thresholds_["ci"]
    with pytest.raises(Exception, match="change_space"):
        DRLnet(**SMALL, change_space="pixels").fit(x1, x2)


def test_fit_diagnostics_report_the_fit_of_the_pseudo_labels():
    x1, x2 = _pairs()
    # the NumPy engine: 200 epochs at learning rate 2 amplify the last bits,
    # so the Numba engines (equal to it to rounding per step) land anywhere
    # between 0.73 and 0.92 train accuracy as their sums change order; this
    # test is about the diagnostics, the engines' agreement is tested apart
    learns = DRLnet(**{**SMALL, "pretrain_epochs": 200}, pretrain_learning_rate=2.0,
                    engine="numpy").fit(x1, x2)
    idle = DRLnet(**{**SMALL, "pretrain_epochs": 1}, pretrain_learning_rate=1e-6, engine="numpy").fit(x1, x2)
    d, d0 = learns.diagnostics_["pretrain"], idle.diagnostics_["pretrain"]
    # the trivial loss is that of the class frequencies: 1/2 sum_c p_c (1 - p_c)
    freq = np.bincount(learns.labels_per_step_[6] - 1, minlength=6) / x1.shape[0]
    assert d["trivial_loss"] == pytest.approx(0.5 * np.sum(freq * (1 - freq)))
    assert d["loss"] < 0.5 * d["trivial_loss"] and d["train_accuracy"] > 0.8
    assert d0["loss"] > d0["trivial_loss"]                   # an untrained net is worse than constant
    for k in ("K=4", "K=2"):
        assert set(learns.diagnostics_[k]) == {"train_accuracy", "loss", "trivial_loss", "branch_change"}
        assert learns.diagnostics_[k]["branch_change"] > 0


def test_input_scaling_standardises_what_the_networks_see():
    from drl_np.pretrain import InputScaler

    x1, x2 = _pairs()
    x1[:, 0] = 0.25                                   # a constant feature is only shifted
    x2[:, 0] = 0.25
    scaler = InputScaler.fit(x1, x2)
    both = np.vstack([scaler.apply(x1), scaler.apply(x2)])
    np.testing.assert_allclose(both.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(both.std(axis=0)[1:], 1)
    assert scaler.scale[0] == 1.0 and np.all(both[:, 0] == 0)
    np.testing.assert_array_equal(InputScaler.fit(x1, x2, "none").apply(x1), x1)
    model = DRLnet(**SMALL).fit(x1, x2)
    np.testing.assert_allclose(model.input_scaler_.mean, scaler.mean)
    # predict scales new samples with the fitted scaler: the fitted samples give labels_ back
    np.testing.assert_array_equal(model.predict(x1, x2), model.labels_)
    with pytest.raises(Exception, match="input_scaling"):
        DRLnet(**SMALL, input_scaling="minmax").fit(x1, x2)


def test_pixel_members_cannot_feed_a_feature_space_statistic():
    from drl_np.regions import Members
    from drl_np._validation import InputError

    x1, x2 = _pairs(d=9)
    pixels = Members(x1[:, :1], x2[:, :1], np.arange(x1.shape[0]), x1.shape[0])   # 1 band, 1 x 1
    with pytest.raises(InputError, match="region_statistic 'pixels'"):
        DRLnet(**SMALL, change_space="features").fit(x1, x2, pixels)
    with pytest.raises(InputError, match="region_statistic 'pixels'"):
        SAEKM(n_types=2, branch=(6, 5), sae_epochs=1, change_space="features").fit(x1, x2, pixels)
    DRLnet(**SMALL, change_space="input").fit(x1, x2, pixels)                      # the input space: fine


def test_the_default_network_fits_its_pseudo_labels_and_the_paper_rates_do_not():
    """The default learning rates take the classifier well below a constant
    output's loss on s^0; the paper's 0.005 leaves it there (docs/fidelity.md,
    choice learning_rate)."""
    r = OctaveRandom(5)
    centres = r.rand(6, 9)                                          # six well-separated kinds of pair
    kind = np.arange(300) % 6
    x1 = centres[kind] + 0.03 * r.rand(300, 9)
    x2 = x1 + 0.01 * r.rand(300, 9)
    x2[kind >= 4] = centres[(kind[kind >= 4] + 1) % 6]             # two kinds change
    small = dict(SMALL, schedule=(6, 4, 2), pretrain_epochs=10)
    fits = DRLnet(**small).fit(x1, x2).diagnostics_
    paper = DRLnet(**small, learning_rate=0.005, pretrain_learning_rate=None,
                   input_scaling="none").fit(x1, x2).diagnostics_
    for stage in ("pretrain", "K=4"):             # s^0, then s^0 again while Algorithm 1 runs
        assert fits[stage]["loss"] < 0.3 * fits[stage]["trivial_loss"], stage
        assert fits[stage]["train_accuracy"] > 0.9, stage
        assert paper[stage]["loss"] > 0.9 * paper[stage]["trivial_loss"], stage
    assert fits["K=4"]["branch_change"] > 3 * paper["K=4"]["branch_change"]   # g moves
