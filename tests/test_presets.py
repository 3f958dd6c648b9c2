"""preset='paper' is the paper's configuration exactly: the maps drl_np made
before its defaults changed, bit for bit; and the default preset's front end."""
from pathlib import Path

import numpy as np
import pytest

import drl_np
from drl_np._validation import InputError
from drl_np.datasets import synthetic_pair

GOLDEN = Path(__file__).parent / "data" / "paper_preset_synthetic0.npz"


@pytest.fixture(scope="module")
def scene():
    return synthetic_pair(seed=0)


@pytest.mark.parametrize("method", ["drlnet2", "drlnet1", "sae-km", "raw-km"])
def test_paper_preset_reproduces_the_first_release_bit_for_bit(scene, method):
    t1, t2, _ = scene
    golden = np.load(GOLDEN)
    res = drl_np.analyse(t1, t2, method=method, random_state=0, schedule=(25, 15, 8, 4), preset="paper")
    np.testing.assert_array_equal(res.cda_map, golden[f"{method}_cda"])
    for k, m in res.maps.items():
        np.testing.assert_array_equal(m, golden[f"{method}_K{k}"])


def test_explicit_parameters_win_over_the_preset(scene):
    t1, t2, _ = (a[:96, :96] for a in scene)
    kw = dict(method="raw-km", schedule=(12, 6, 3), random_state=0)
    paper = drl_np.analyse(t1, t2, preset="paper", **kw)
    assert paper.params["scaling"] == "joint" and paper.params["region_statistic"] == "centre"
    assert paper.params["region_sample"] == "centre" and paper.params["region_weight"] == "none"
    mixed = drl_np.analyse(t1, t2, preset="paper", scaling="auto", region_statistic="pixels",
                           region_sample="mean", region_weight="pixels", threshold_statistic="magnitude",
                           **kw)
    default = drl_np.analyse(t1, t2, **kw)
    np.testing.assert_array_equal(mixed.cda_map, default.cda_map)
    assert default.params["scaling"] == "auto" and default.params["region_statistic"] == "pixels"
    assert default.params["region_sample"] == "mean" and default.params["region_weight"] == "pixels"


def test_unknown_preset_is_an_input_error(scene):
    t1, t2, _ = scene
    with pytest.raises(InputError, match="preset must be one of"):
        drl_np.analyse(t1, t2, method="raw-km", preset="fast")


def test_default_drlnet_flags_are_raw_km_flags(scene):
    """The default decides changed/unchanged on the input windows
    (change_space='input'), so DRLnet2's binary map is Raw+KM's."""
    t1, t2, _ = (a[:128, :128] for a in scene)
    kw = dict(schedule=(12, 6, 3), random_state=0)
    drl = drl_np.analyse(t1, t2, method="drlnet2", sae_epochs=1, pretrain_epochs=2, finetune_epochs=2, **kw)
    raw = drl_np.analyse(t1, t2, method="raw-km", **kw)
    np.testing.assert_array_equal(drl.cda_map > 0, raw.cda_map > 0)


def test_pixels_statistic_with_feature_flags_is_refused_before_the_work(scene, monkeypatch):
    from drl_np import api

    def never(*args, **kwargs):
        raise AssertionError("regions were built before the check")
    monkeypatch.setattr(api, "build_regions", never)
    t1, t2, _ = scene
    with pytest.raises(InputError, match="region_statistic 'pixels'.*interior"):
        drl_np.analyse(t1, t2, method="sae-km", change_space="features")
    with pytest.raises(InputError, match="region_statistic 'pixels'"):
        drl_np.analyse(t1, t2, method="drlnet2", preset="paper", region_statistic="pixels")


def test_regions_weigh_their_pixels_in_the_types(scene):
    """analyse hands each region's pixel count to the estimator
    (region_weight='pixels'); 'none' gives every region one vote."""
    from drl_np import RawKM
    from drl_np.regions import build_regions

    t1, t2, _ = (a[:128, :128] for a in scene)
    kw = dict(method="raw-km", schedule=(12, 8), random_state=0)           # more types than classes
    weighted = drl_np.analyse(t1, t2, **kw)
    votes = drl_np.analyse(t1, t2, region_weight="none", **kw)
    r = weighted.regions
    direct = RawKM(n_types=8, random_state=0).fit(r.x1, r.x2, r.members("pixels"), r.sizes)
    np.testing.assert_array_equal(weighted.cda_map, r.paint(direct.labels_))
    assert not np.array_equal(weighted.cda_map, votes.cda_map)
    np.testing.assert_array_equal(weighted.cda_map > 0, votes.cda_map > 0)   # the flags do not weigh
    again = build_regions(t1, t2, scaling="auto", sample="mean")
    np.testing.assert_array_equal(again.x1, r.x1)                          # the default samples
