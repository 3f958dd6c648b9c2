"""Replays of ``reference/dlt/make_golden.m``: each case rebuilt from its seed
alone, every draw taken from ``OctaveRandom(seed)`` in the driver's order."""
from pathlib import Path

import numpy as np
import scipy.io

from drl_np.rng import OctaveRandom
from drl_np.toolbox import nnpredict, nnsetup, nntrain, saesetup, saetrain

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "reference" / "dlt"
CASES = ["case1_sigm_sparse", "case2_paper_hparams", "case3_tanh_softmax_l2",
         "case4_dropout_denoise_linear", "case5_sae_then_finetune"]


def load_golden(case):
    return scipy.io.loadmat(GOLDEN_DIR / f"{case}.mat")


def cell(g, key):
    """A MATLAB cell array of matrices as a list."""
    return [np.asarray(c) for c in g[key][0]]


def one_hot_labels(r, m, k):
    """``double(bsxfun(@eq, ceil(rand(m, 1) * k), 1:k))``."""
    return (np.ceil(r.rand(m, 1) * k) == np.arange(1, k + 1)).astype(np.float64)


def _setup(r, sizes, **fields):
    nn = nnsetup(sizes, rng=r)
    for name, value in fields.items():
        setattr(nn, name, value)
    return nn


def replay(case, engine="numpy"):
    """Run ``case`` as make_golden.m does; return a dict of the same arrays."""
    out = {}
    if case == "case1_sigm_sparse":
        r = OctaveRandom(1)
        x = r.rand(200, 36); y = one_hot_labels(r, 200, 5); tx = r.rand(50, 36)
        nn = _setup(r, [36, 20, 8, 5], activation_function="sigm", learning_rate=0.5,
                    momentum=0.5, non_sparsity_penalty=0.1, sparsity_target=0.05)
        batchsize, numepochs = 10, 3
    elif case == "case2_paper_hparams":
        r = OctaveRandom(2)
        x = r.rand(100, 36); y = one_hot_labels(r, 100, 25); tx = r.rand(30, 36)
        nn = _setup(r, [36, 50, 25], activation_function="sigm", learning_rate=0.005,
                    momentum=0.5, non_sparsity_penalty=1, sparsity_target=0.05)
        batchsize, numepochs = 10, 5
    elif case == "case3_tanh_softmax_l2":
        r = OctaveRandom(3)
        x = r.rand(120, 12); y = one_hot_labels(r, 120, 4); tx = r.rand(40, 12)
        nn = _setup(r, [12, 16, 4], output="softmax", learning_rate=0.1, momentum=0.5,
                    weight_penalty_l2=1e-3, scaling_learning_rate=0.9)
        batchsize, numepochs = 20, 4
    elif case == "case4_dropout_denoise_linear":
        r = OctaveRandom(4)
        x = r.rand(60, 10); y = r.rand(60, 3); tx = r.rand(20, 10)
        nn = _setup(r, [10, 14, 9, 3], activation_function="sigm", output="linear",
                    learning_rate=0.2, momentum=0.5, dropout_fraction=0.3,
                    input_zero_masked_fraction=0.2)
        batchsize, numepochs = 6, 2
    elif case == "case5_sae_then_finetune":
        r = OctaveRandom(5)
        x = r.rand(100, 36); y = one_hot_labels(r, 100, 6); tx = r.rand(25, 36)
        sae = saesetup([36, 20, 10], rng=r)
        for ae in sae.ae:
            ae.activation_function = "sigm"; ae.learning_rate = 0.5; ae.momentum = 0.5
            ae.non_sparsity_penalty = 0.1; ae.sparsity_target = 0.05
        out["sae_W0_1"] = [w.copy() for w in sae.ae[0].W]
        out["sae_W0_2"] = [w.copy() for w in sae.ae[1].W]
        saetrain(sae, x, batchsize=10, numepochs=2, engine=engine)
        out["sae_W_1"], out["sae_W_2"] = sae.ae[0].W, sae.ae[1].W
        nn = _setup(r, [36, 20, 10, 6], activation_function="sigm", learning_rate=0.5, momentum=0.5)
        nn.W[0] = sae.ae[0].W[0].copy(); nn.W[1] = sae.ae[1].W[0].copy()
        batchsize, numepochs = 10, 2
    else:
        raise KeyError(case)
    out.update(x=x, y=y, tx=tx, W0=[w.copy() for w in nn.W])
    nn, L = nntrain(nn, x, y, batchsize=batchsize, numepochs=numepochs, engine=engine)
    out.update(W=nn.W, vW=nn.vW, p=nn.p[1:], L=L, labels=nnpredict(nn, tx))
    return out
