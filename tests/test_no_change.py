"""No change in, no change out: every method on identical dates (and on an
affine copy, for the methods that are invariant to one) reports nothing changed."""
import warnings

import numpy as np
import pytest

import drl_np
from drl_np.datasets import synthetic_pair

FAST = {"drlnet2": dict(sae_epochs=1, pretrain_epochs=1, finetune_epochs=1),
        "drlnet1": dict(sae_epochs=1, pretrain_epochs=1, finetune_epochs=1),
        "sae-km": dict(sae_epochs=1)}


@pytest.fixture(scope="module")
def scene():
    t1, _, _ = synthetic_pair(shape=(48, 48), bands=4, n_change_types=4, seed=1)
    return np.asarray(t1, np.float64)


@pytest.mark.parametrize("method", drl_np.METHODS)
def test_identical_dates_give_no_change(scene, method):
    res = drl_np.analyse(scene, scene.copy(), method=method, schedule=(6, 4),
                         **FAST.get(method, {}))
    assert (res.cda_map == 0).all(), f"{method}: {np.mean(res.cda_map > 0):.1%} changed"


@pytest.mark.parametrize("method", ["mad", "irmad"])
def test_affine_copy_is_no_change_for_mad(scene, method):
    # MAD is invariant to a gain and offset per band: such a pair is unchanged
    res = drl_np.analyse(scene, 2.0 * scene + 3.0, method=method, schedule=(6, 4))
    assert (res.cda_map == 0).all()


def test_identical_dates_are_quiet_for_pca_kmeans(scene):
    # one distinct feature vector is the expected case here, not a warning to the user
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = drl_np.analyse(scene, scene.copy(), method="pca-kmeans", schedule=(6, 4))
    assert (res.cda_map == 0).all()
