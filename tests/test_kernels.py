"""The Numba kernel of Algorithm 1 against its NumPy twin
(``algorithm1.algorithm1_epoch``): same weights, momenta, running
activations, losses, assignments, centroids and counts after several epochs,
on a fixed seed, for every training option."""
import numpy as np
import pytest

from drl_np.drlnet import drnet_setup
from drl_np.kernels import algorithm1_epoch_numba, supports
from drl_np.algorithm1 import ClusterState
from drl_np.algorithm1 import algorithm1_epoch as _numpy_epoch
from drl_np.rng import OctaveRandom

TOL = 1e-10


def algorithm1_epoch(net, x1, x2, target, lam, assign, centres, counts, kk, batchsize, alpha,
                     update_branch=True):
    """The NumPy twin called with the kernel's arguments (the state's arrays
    are shared, so its in-place updates reach the caller's)."""
    state = ClusterState(lam, assign, centres, counts)
    return _numpy_epoch(net, x1, x2, target, kk, batchsize, state, alpha, update_branch)
SMALL = dict(d=12, branch=(8, 6), head=(6, 4), n_classes=5, n=53)
DEFAULT = dict(d=36, branch=(100, 50), head=(50, 20), n_classes=25, n=503)


def _problem(d, branch, head, n_classes, n, sparsity=0.0, l2=0.0, momentum=0.5, n_types=4, seed=5):
    """A network and an Algorithm 1 state drawn from one OctaveRandom stream."""
    rng = OctaveRandom(seed)
    net = drnet_setup(d, branch, head, n_classes, rng=rng)
    net.non_sparsity_penalty, net.weight_penalty_l2, net.momentum = sparsity, l2, momentum
    x1, x2 = rng.rand(n, d), rng.rand(n, d)
    labels = np.minimum((rng.uniform(n) * n_classes).astype(np.int64), n_classes - 1)
    target = np.eye(n_classes)[labels]                                   # (n, n_classes)
    lam = (rng.uniform(n) > 0.5).astype(np.float64)
    types = 1 + np.minimum((rng.uniform(n) * n_types).astype(np.int64), n_types - 1)
    assign = np.where(lam > 0, types, 0)
    centres = rng.rand(n_types + 1, head[-1])                            # (1 + K, r)
    counts = np.bincount(assign, minlength=n_types + 1).astype(np.float64)
    return rng, net, (x1, x2, target, lam), (assign, centres, counts)


def _run_both(sizes, alpha, update_branch, epochs=3, batchsize=10, **options):
    """Train twin copies for ``epochs`` epochs on the same permutations."""
    rng, net, data, state = _problem(**sizes, **options)
    twins = {}
    for name in ("numpy", "numba"):
        twins[name] = (net.copy(), *[a.copy() for a in state], [])
    for _ in range(epochs):
        kk = rng.randperm(data[0].shape[0])
        for name, epoch in (("numpy", algorithm1_epoch), ("numba", algorithm1_epoch_numba)):
            tnet, assign, centres, counts, losses = twins[name]
            losses.append(epoch(tnet, *data, assign, centres, counts, kk, batchsize, alpha,
                                update_branch))
    return net, data, state, twins


def _assert_twins_agree(twins):
    a_net, a_assign, a_centres, a_counts, a_losses = twins["numpy"]
    b_net, b_assign, b_centres, b_counts, b_losses = twins["numba"]
    for name in ("W", "vW", "p"):
        for layer, (a, b) in enumerate(zip(getattr(a_net, name), getattr(b_net, name))):
            np.testing.assert_allclose(b, a, rtol=0, atol=TOL, err_msg=f"{name}[{layer}]")
    np.testing.assert_array_equal(b_assign, a_assign)
    np.testing.assert_allclose(b_centres, a_centres, rtol=0, atol=TOL)
    np.testing.assert_allclose(b_counts, a_counts, rtol=0, atol=TOL)
    np.testing.assert_allclose(np.concatenate(b_losses), np.concatenate(a_losses), rtol=0, atol=TOL)


def _assert_something_moved(net, state, twins, update_branch):
    """Guard against a vacuous agreement: the epochs really trained."""
    b_net, _, _, b_counts, _ = twins["numba"]
    assert not np.array_equal(b_net.W[-1], net.W[-1])
    assert np.array_equal(b_net.W[0], net.W[0]) != update_branch
    assert b_counts.sum() > state[2].sum()          # Eq. 9 counted the changed samples


@pytest.mark.parametrize("l2", [0.0, 1e-3])
@pytest.mark.parametrize("sparsity", [0.0, 0.1])
@pytest.mark.parametrize("alpha", [0.0, 0.1])
@pytest.mark.parametrize("update_branch", [True, False])
def test_small_net_matches_numpy_twin(update_branch, alpha, sparsity, l2):
    net, _, state, twins = _run_both(SMALL, alpha, update_branch, sparsity=sparsity, l2=l2)
    _assert_twins_agree(twins)
    _assert_something_moved(net, state, twins, update_branch)


@pytest.mark.parametrize("update_branch,alpha,sparsity,l2", [
    (True, 0.1, 0.1, 1e-3), (False, 0.1, 0.1, 0.0), (True, 0.0, 0.0, 0.0), (False, 0.0, 0.0, 1e-3)])
def test_default_sizes_match_numpy_twin(update_branch, alpha, sparsity, l2):
    net, _, state, twins = _run_both(DEFAULT, alpha, update_branch, sparsity=sparsity, l2=l2)
    _assert_twins_agree(twins)
    _assert_something_moved(net, state, twins, update_branch)


@pytest.mark.parametrize("branch,head,batchsize,momentum", [
    ((9,), (5, 4), 10, 0.5),                  # one branch layer
    ((8, 7, 6), (6, 5, 4), 4, 0.5),           # three branch and three head layers, batch 4
    ((8, 6), (6, 4), 10, 0.0),                # no momentum
])
def test_other_architectures_match_numpy_twin(branch, head, batchsize, momentum):
    sizes = dict(SMALL, branch=branch, head=head)
    _, _, _, twins = _run_both(sizes, 0.1, True, batchsize=batchsize, sparsity=0.1, l2=1e-3,
                               momentum=momentum)
    _assert_twins_agree(twins)


def test_samples_that_sit_out_keep_their_state():
    # n = 53, batch 10: the last 3 entries of kk take no step (choice partial_epoch)
    rng, net, data, (assign, centres, counts) = _problem(**SMALL)
    kk = rng.randperm(SMALL["n"])
    before = assign.copy()
    losses = algorithm1_epoch_numba(net, *data, assign, centres, counts, kk, 10, 0.1)
    assert losses.shape == (5,)
    np.testing.assert_array_equal(assign[kk[50:]], before[kk[50:]])
    lam = data[3]
    assert counts.sum() == np.bincount(before, minlength=5).sum() + lam[kk[:50]].sum()


def test_eq8_ties_go_to_the_first_centroid_and_eq9_counts():
    # centroids 1 and 2 coincide, 3 is far: every changed sample must go to
    # type 1 (np.argmin's first minimum); row 0 is never chosen
    rng, net, data, (assign, centres, counts) = _problem(**SMALL, n_types=3)
    centres[2] = centres[1]
    centres[3] = 100.0
    centres[0] = 0.5                              # nearer than any change centroid
    c2, c3 = centres[2].copy(), centres[3].copy()
    counts_before = counts.copy()
    kk = rng.randperm(SMALL["n"])
    algorithm1_epoch_numba(net, *data, assign, centres, counts, kk, 10, 0.1)
    used_changed = kk[:50][data[3][kk[:50]] > 0]
    np.testing.assert_array_equal(assign[used_changed], 1)
    assert counts[1] == counts_before[1] + used_changed.size
    np.testing.assert_array_equal(counts[2:], counts_before[2:])
    np.testing.assert_array_equal(centres[2], c2)
    np.testing.assert_array_equal(centres[3], c3)


def test_updates_the_callers_arrays_in_place():
    rng, net, data, (assign, centres, counts) = _problem(**SMALL)
    twin, twin_state = net.copy(), (assign.copy(), centres.copy(), counts.copy())
    assign32 = assign.astype(np.int32)            # not the kernel's dtype: written back
    W_list, centres_id = net.W, id(centres)
    kk = rng.randperm(SMALL["n"])
    algorithm1_epoch_numba(net, *data, assign32, centres, counts, kk, 10, 0.1)
    algorithm1_epoch(twin, *data, *twin_state, kk, 10, 0.1)
    assert net.W is W_list and id(centres) == centres_id
    assert not np.array_equal(assign32, assign)   # Eq. 8 moved some changed samples
    np.testing.assert_array_equal(assign32, twin_state[0])
    np.testing.assert_allclose(centres, twin_state[1], rtol=0, atol=TOL)
    np.testing.assert_array_equal(counts, twin_state[2])


def test_supports_and_errors():
    rng, net, data, (assign, centres, counts) = _problem(**SMALL)
    assert supports(net)
    no_dr = drnet_setup(12, (8, 6), (), 5, rng=OctaveRandom(0))   # classifier right on the merge
    assert not supports(no_dr)
    kk = rng.randperm(SMALL["n"])
    with pytest.raises(ValueError, match="does not support"):
        algorithm1_epoch_numba(no_dr, *data, assign, centres, counts, kk, 10, 0.1)
    with pytest.raises(ValueError, match="target must be"):
        algorithm1_epoch_numba(net, data[0], data[1], data[2][:, :3], data[3], assign, centres,
                               counts, kk, 10, 0.1)
    with pytest.raises(ValueError, match="change centroid"):
        algorithm1_epoch_numba(net, *data, np.zeros_like(assign), centres[:1], counts[:1], kk, 10, 0.1)
    with pytest.raises(ValueError, match="kk must hold"):
        algorithm1_epoch_numba(net, *data, assign, centres, counts, np.full_like(kk, SMALL["n"]), 10, 0.1)
