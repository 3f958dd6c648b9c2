"""Numerical check of the hand-written gradient of DRLnet's joint loss (Eq. 7):
every layer, both dates' branch, lambda = 0 and lambda = 1 samples."""
import numpy as np
import pytest

from drl_np.drlnet import drnet_backward, drnet_checknumgrad, drnet_forward, drnet_setup
from drl_np.rng import OctaveRandom


def _problem(sparsity=0.0, l2=0.0, seed=3):
    r = OctaveRandom(seed)
    m, d = 6, 5
    x1, x2 = r.rand(m, d), r.rand(m, d)
    net = drnet_setup(d, branch=(4, 3), head=(4, 3), n_classes=4, rng=r)
    net.non_sparsity_penalty, net.weight_penalty_l2 = sparsity, l2
    target = np.eye(4)[[0, 1, 2, 3, 1, 0]]
    lam = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0])   # both kinds of sample
    centres = r.rand(m, 3)
    return net, x1, x2, target, lam, centres


@pytest.mark.parametrize("sparsity,l2", [(0.0, 0.0), (0.5, 0.0), (0.0, 1e-2), (0.5, 1e-2)])
@pytest.mark.parametrize("alpha", [0.0, 0.1, 2.0])
def test_joint_loss_gradient(alpha, sparsity, l2):
    net, x1, x2, target, lam, centres = _problem(sparsity, l2)
    drnet_checknumgrad(net, x1, x2, target, lam, centres, alpha)


def test_drlnet1_gradient_skips_the_branch_only():
    net, x1, x2, target, lam, centres = _problem()
    cache = drnet_forward(net, x1, x2)
    dW1 = drnet_backward(net, cache, target, lam, centres, 0.1, update_branch=False)
    dW2 = drnet_backward(net, cache, target, lam, centres, 0.1, update_branch=True)
    assert all(g is None for g in dW1[:net.n_branch])
    for a, b in zip(dW1[net.n_branch:], dW2[net.n_branch:]):
        np.testing.assert_array_equal(a, b)
    drnet_checknumgrad(net, x1, x2, target, lam, centres, 0.1, update_branch=False)


def test_both_dates_contribute_to_the_shared_branch():
    net, x1, x2, target, lam, centres = _problem()
    cache = drnet_forward(net, x1, x2)
    full = drnet_backward(net, cache, target, lam, centres, 0.1)
    # with identical dates the two halves of the merge input see the same h:
    # the branch gradient must then differ from the one-date contribution
    same = drnet_backward(net, drnet_forward(net, x1, x1), target, lam, centres, 0.1)
    assert not np.allclose(full[0], same[0])


def test_clustering_term_only_acts_on_changed_samples():
    net, x1, x2, target, _, centres = _problem()
    cache = drnet_forward(net, x1, x2)
    zero = np.zeros(6)
    a = drnet_backward(net, cache, target, zero, centres, 0.1)
    b = drnet_backward(net, cache, target, zero, centres + 5.0, 0.1)
    for ga, gb in zip(a, b):
        np.testing.assert_array_equal(ga, gb)


def test_check_catches_a_wrong_gradient(monkeypatch):
    net, x1, x2, target, lam, centres = _problem()
    import drl_np.drlnet as mod
    original = mod.drnet_backward

    def doubled(*args, **kw):  # a clustering gradient with the wrong constant
        args = list(args)
        args[5] = 2 * args[5]
        return original(*args, **kw)
    monkeypatch.setattr(mod, "drnet_backward", doubled)
    with pytest.raises(AssertionError, match="numerical gradient checking failed"):
        drnet_checknumgrad(net, x1, x2, target, lam, centres, 0.1)
