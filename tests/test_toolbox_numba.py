"""The Numba engine against its NumPy twin (``_numpy_epoch``): same weights,
momenta, running activations and losses to 1e-10, and the same random draws."""
import copy

import numpy as np
import pytest

from drl_np._validation import InputError
from drl_np.rng import OctaveRandom
from drl_np.toolbox import nnsetup, nntrain
from drl_np.toolbox import _numba
from drl_np.toolbox.nn import epoch_function

TOL = 1e-10

VARIANTS = {
    "plain": {},
    "sparsity": {"non_sparsity_penalty": 0.5, "sparsity_target": 0.1},
    "l2": {"weight_penalty_l2": 0.01},
    "dropout": {"dropout_fraction": 0.3},
    "input_mask": {"input_zero_masked_fraction": 0.25},
    "momentum0": {"momentum": 0.0},
}


def _problem(seed, sizes, output, m=20):
    """Data and a fresh net, all drawn from OctaveRandom(seed)."""
    r = OctaveRandom(seed)
    x = r.rand(m, sizes[0])
    if output == "softmax":
        y = (np.ceil(r.rand(m, 1) * sizes[-1]) == np.arange(1, sizes[-1] + 1)).astype(float)
    else:
        y = r.rand(m, sizes[-1])
    nn = nnsetup(sizes, rng=r)
    return nn, x, y


def _train_both(nn, x, y, batchsize, numepochs):
    """Train two copies of ``nn`` (one per engine); return them and their losses."""
    nets, losses = {}, {}
    for engine in ("numpy", "numba"):
        twin = copy.deepcopy(nn)   # copies the random stream too
        twin, L = nntrain(twin, x, y, batchsize=batchsize, numepochs=numepochs, engine=engine)
        nets[engine], losses[engine] = twin, L
    return nets, losses


def _assert_same(nets, losses):
    a, b = nets["numpy"], nets["numba"]
    assert len(a.W) == len(b.W)
    for name in ("W", "vW"):
        for u, v in zip(getattr(a, name), getattr(b, name)):
            assert u.shape == v.shape
            np.testing.assert_allclose(v, u, rtol=0, atol=TOL)
    assert b.p[0].shape == (0,)
    for u, v in zip(a.p[1:], b.p[1:]):
        np.testing.assert_allclose(v, u, rtol=0, atol=TOL)
    np.testing.assert_allclose(losses["numba"], losses["numpy"], rtol=0, atol=TOL)
    assert abs(a.L - b.L) <= TOL and b.L == losses["numba"][-1]
    # both engines drew the same numbers: the streams continue identically
    assert a.rng.uniform(1)[0] == b.rng.uniform(1)[0]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("output", ["sigm", "linear", "softmax"])
@pytest.mark.parametrize("activation", ["sigm", "tanh_opt"])
def test_numba_equals_numpy(activation, output, variant):
    nn, x, y = _problem(7, [6, 7, 5, 3], output)
    nn.activation_function, nn.output = activation, output
    nn.learning_rate = 0.3 if activation == "sigm" else 0.05   # tanh_opt diverges at 0.3
    for name, value in VARIANTS[variant].items():
        setattr(nn, name, value)
    nets, losses = _train_both(nn, x, y, batchsize=5, numepochs=2)
    _assert_same(nets, losses)
    assert max(np.abs(w).max() for w in nets["numpy"].W) < 20    # a stable run
    # the comparison is not vacuous: training moved the weights
    assert max(np.abs(w - w0).max() for w, w0 in zip(nets["numba"].W, nn.W)) > 1e-4


@pytest.mark.parametrize("sizes", [[4, 3], [5, 6, 4, 5, 2]])
def test_numba_equals_numpy_all_options_any_depth(sizes):
    # no hidden layer, and three hidden layers, with every option switched on
    nn, x, y = _problem(11, sizes, "sigm", m=24)
    nn.activation_function = "tanh_opt"
    nn.learning_rate, nn.scaling_learning_rate = 0.2, 0.8
    nn.non_sparsity_penalty, nn.weight_penalty_l2 = 0.1, 1e-3
    nn.dropout_fraction, nn.input_zero_masked_fraction = 0.2, 0.1
    nets, losses = _train_both(nn, x, y, batchsize=4, numepochs=3)
    _assert_same(nets, losses)


def test_epoch_split_into_several_kernel_calls(monkeypatch):
    # a small draw budget forces one kernel call per 2 minibatches
    nn, x, y = _problem(3, [6, 7, 5, 3], "sigm")
    nn.activation_function, nn.dropout_fraction = "sigm", 0.4
    nn.input_zero_masked_fraction = 0.3
    per_batch = 5 * (6 + 7 + 5)
    monkeypatch.setattr(_numba, "_MAX_DRAWS_PER_CALL", 2 * per_batch + 1)
    nets, losses = _train_both(nn, x, y, batchsize=5, numepochs=2)
    _assert_same(nets, losses)


def test_input_mask_zeroes_the_drawn_entries():
    # hand-worked: one sample, one epoch, input mask 1.0 -> every input is
    # zeroed (draws are < 1), so only the bias reaches the output; with lr 0
    # the loss is 1/2 sum((y - sigm(W(:, 1)))^2)
    nn, x, y = _problem(5, [3, 2], "sigm", m=1)
    nn.input_zero_masked_fraction = 1.0
    nn.learning_rate = 0.0
    nn, L = nntrain(nn, x, y, batchsize=1, numepochs=1, engine="numba")
    expected = 0.5 * np.sum((y[0] - 1 / (1 + np.exp(-nn.W[0][:, 0]))) ** 2)
    assert L[0] == pytest.approx(expected, abs=1e-15)


def test_supports_and_engine_choice():
    nn, _, _ = _problem(1, [4, 3, 2], "sigm")
    assert _numba.supports(nn)
    assert epoch_function(nn, None) is _numba.numba_epoch
    nn.testing, nn.dropout_fraction = True, 0.5     # the NumPy nnbp cannot train this either
    assert not _numba.supports(nn)
    with pytest.raises(InputError, match="engine='numpy'"):
        epoch_function(nn, "numba")
    nn.testing, nn.dropout_fraction = False, 0.0
    nn.activation_function = "relu"
    assert not _numba.supports(nn)
    nn.activation_function = "sigm"
    nn.W[0] = nn.W[0][:, 1:]                          # a weight matrix of the wrong shape
    assert not _numba.supports(nn)
