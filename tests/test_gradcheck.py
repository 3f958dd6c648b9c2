"""Central-difference checks of nnbp (as the toolbox's nnchecknumgrad), for
every hidden activation x output x penalty combination."""
import itertools

import numpy as np
import pytest

from drl_np.rng import OctaveRandom
from drl_np.toolbox import nnchecknumgrad, nnsetup

PENALTIES = {
    "none": {},
    "l2": {"weight_penalty_l2": 1e-2},
    "sparsity": {"non_sparsity_penalty": 0.3, "sparsity_target": 0.1},
    "l2+sparsity": {"weight_penalty_l2": 1e-2, "non_sparsity_penalty": 0.3},
    "dropout": {"dropout_fraction": 0.25},
}


def _problem(activation, output, penalty):
    r = OctaveRandom(11)
    x = r.rand(6, 5)
    if output == "softmax":
        y = np.eye(3)[np.arange(6) % 3]
    else:
        y = r.rand(6, 3)
    nn = nnsetup([5, 4, 3, 3], rng=r)
    nn.activation_function, nn.output = activation, output
    for name, value in PENALTIES[penalty].items():
        setattr(nn, name, value)
    nn.p = [np.full_like(p, 0.2) for p in nn.p]
    return nn, x, y


@pytest.mark.parametrize("activation,output,penalty", list(itertools.product(
    ["sigm", "tanh_opt"], ["sigm", "linear", "softmax"], sorted(PENALTIES))))
def test_backprop_matches_central_differences(activation, output, penalty):
    nn, x, y = _problem(activation, output, penalty)
    nnchecknumgrad(nn, x, y)


def test_check_detects_a_wrong_gradient():
    nn, x, y = _problem("sigm", "sigm", "none")
    import drl_np.toolbox.nn as nnmod
    original = nnmod._output_delta
    try:  # a backprop that forgets the sigmoid derivative must be caught
        nnmod._output_delta = lambda net: -net.e
        with pytest.raises(AssertionError, match="numerical gradient checking failed"):
            nnchecknumgrad(nn, x, y)
    finally:
        nnmod._output_delta = original


def test_sparsity_gradient_is_checked():
    # without the penalty terms in the loss, the sparsity gradient disagrees:
    # proof that the check above really exercises the sparsity path
    nn, x, y = _problem("sigm", "sigm", "sparsity")
    with pytest.raises(AssertionError):
        nnchecknumgrad(nn, x, y, with_penalties=False)
