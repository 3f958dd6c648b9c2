"""A readable NumPy mirror of DeepLearnToolbox's ``NN/`` folder.

One function per toolbox file, in the toolbox's order of operations, so that
under the same random stream it reproduces the original run under GNU Octave
to a few units in the last place (``tests/test_toolbox_golden.py``).

Conventions kept from the toolbox (see ``docs/fidelity.md``):

* ``W[i]`` is the (size[i+1], size[i] + 1) weight matrix from layer ``i`` to
  layer ``i + 1`` with the **bias as its first column**; activations ``a[i]``
  of the input and hidden layers carry a leading column of ones.
* Layers are numbered from 0 here (the toolbox numbers them from 1): ``p[i]``
  is the running mean activation of layer ``i`` (``p[0]`` is empty).
* The loss is ``1/2 * sum(e.^2) / m`` (sigm, linear output) or the
  cross-entropy ``-sum(y .* log(a)) / m`` (softmax), and ``dW`` is averaged
  over the minibatch.
"""
import copy
import logging
import time
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from .._validation import InputError
from ..rng import OctaveRandom, check_random_state
from . import _numba
from .activations import ACTIVATIONS, DERIVATIVES, HIDDEN_ACTIVATIONS, OUTPUTS, sigm

__all__ = ["NN", "ENGINES", "nnsetup", "nnff", "nnbp", "nnapplygrads", "nntrain",
           "nneval", "nnpredict", "nntest", "nnchecknumgrad", "epoch_function"]

logger = logging.getLogger("drl_np.toolbox")

# ``numpy`` is the readable mirror (:func:`_numpy_epoch`), ``numba`` the fused
# kernel of :mod:`drl_np.toolbox._numba`, tested equal to it
ENGINES = ("numpy", "numba")


@dataclass
class NN:
    """A toolbox network: the ``nn`` struct with snake_case field names.

    The mapping to the toolbox's fields is one to one (``docs/fidelity.md``):
    ``activation_function`` = ``activation_function``, ``learning_rate`` =
    ``learningRate``, ``momentum``, ``scaling_learning_rate`` =
    ``scaling_learningRate``, ``weight_penalty_l2`` = ``weightPenaltyL2``,
    ``non_sparsity_penalty`` = ``nonSparsityPenalty``, ``sparsity_target`` =
    ``sparsityTarget``, ``input_zero_masked_fraction`` =
    ``inputZeroMaskedFraction``, ``dropout_fraction`` = ``dropoutFraction``,
    ``testing``, ``output``, ``W``, ``vW``, ``p``, ``a``, ``e``, ``L``,
    ``dW``, ``dropout_mask`` = ``dropOutMask``.
    """

    size: List[int]
    W: List[np.ndarray]
    vW: List[np.ndarray]
    p: List[np.ndarray]
    activation_function: str = "tanh_opt"   # hidden units: 'sigm' or 'tanh_opt'
    learning_rate: float = 2.0               # typically lower for sigm
    momentum: float = 0.5
    scaling_learning_rate: float = 1.0       # multiplies the rate after each epoch
    weight_penalty_l2: float = 0.0
    non_sparsity_penalty: float = 0.0
    sparsity_target: float = 0.05
    input_zero_masked_fraction: float = 0.0  # denoising autoencoder masking
    dropout_fraction: float = 0.0
    testing: bool = False                    # set by nnpredict/nneval
    output: str = "sigm"                     # 'sigm', 'linear' or 'softmax'
    rng: Optional[OctaveRandom] = field(default=None, repr=False)
    a: List[np.ndarray] = field(default_factory=list, repr=False)
    e: Optional[np.ndarray] = field(default=None, repr=False)
    L: float = float("nan")
    dW: List[np.ndarray] = field(default_factory=list, repr=False)
    dropout_mask: List[Optional[np.ndarray]] = field(default_factory=list, repr=False)

    @property
    def n(self):
        """Number of layers, input and output included (toolbox ``nn.n``)."""
        return len(self.size)


def nnsetup(architecture, rng=None):
    """Create a feed-forward network with the toolbox's defaults (``nnsetup.m``).

    Parameters
    ----------
    architecture : sequence of int
        Layer sizes, input first, e.g. ``[784, 100, 10]``.
    rng : OctaveRandom, int or None
        The stream the weights are drawn from (and, later, nntrain's
        permutations and masks). ``None`` means ``OctaveRandom(0)``.

    Returns
    -------
    nn : NN

    Notes
    -----
    For each layer, in order, ``W = (rand(n_out, n_in + 1) - 0.5) * 2 * 4 *
    sqrt(6 / (n_out + n_in))`` -- the toolbox draws the sigmoid-sized range
    whatever the activation -- with zero momenta and running activations.
    """
    size = [int(s) for s in architecture]
    if len(size) < 2 or min(size) < 1:
        raise InputError(f"architecture must list at least two positive layer sizes, got {list(architecture)!r}")
    rng = check_random_state(0 if rng is None else rng)   # the toolbox's default: seed 0
    W, vW, p = [], [], [np.zeros(0)]
    for i in range(1, len(size)):
        W.append((rng.rand(size[i], size[i - 1] + 1) - 0.5) * 2 * 4 * np.sqrt(6 / (size[i] + size[i - 1])))
        vW.append(np.zeros_like(W[-1]))
        p.append(np.zeros(size[i]))
    return NN(size=size, W=W, vW=vW, p=p, rng=rng)


def _check_config(nn):
    if nn.activation_function not in HIDDEN_ACTIVATIONS:
        raise InputError(f"activation_function must be one of {HIDDEN_ACTIVATIONS}, got {nn.activation_function!r}")
    if nn.output not in OUTPUTS:
        raise InputError(f"output must be one of {OUTPUTS}, got {nn.output!r}")


def nnff(nn, x, y):
    """Forward pass (``nnff.m``): activations ``a``, error ``e`` and loss ``L``.

    Updates ``nn`` in place and returns it. Draws one dropout mask per hidden
    layer from ``nn.rng`` when ``dropout_fraction > 0`` and not testing, and
    updates the running activations ``p`` when the sparsity penalty is on.
    """
    n = nn.n
    m = x.shape[0]
    ones = np.ones((m, 1))
    a = [np.hstack([ones, x])]                                    # (m, 1 + size[0])
    dropout_mask = [None] * n
    for i in range(1, n - 1):
        a_i = ACTIVATIONS[nn.activation_function](a[i - 1] @ nn.W[i - 1].T)  # (m, size[i])
        if nn.dropout_fraction > 0:
            if nn.testing:
                a_i = a_i * (1 - nn.dropout_fraction)
            else:
                dropout_mask[i] = (nn.rng.rand(m, nn.size[i]) > nn.dropout_fraction).astype(np.float64)
                a_i = a_i * dropout_mask[i]
        if nn.non_sparsity_penalty > 0:
            # running exponential average, for the sparsity penalty of nnbp
            nn.p[i] = 0.99 * nn.p[i] + 0.01 * a_i.mean(axis=0)
        a.append(np.hstack([ones, a_i]))                          # (m, 1 + size[i])
    z = a[n - 2] @ nn.W[n - 2].T                                  # (m, size[-1])
    if nn.output == "sigm":
        a_out = sigm(z)
    elif nn.output == "linear":
        a_out = z
    else:  # softmax, shifted by the row maximum for stability
        a_out = np.exp(z - z.max(axis=1, keepdims=True))
        a_out = a_out / a_out.sum(axis=1, keepdims=True)
    a.append(a_out)
    nn.a, nn.dropout_mask = a, dropout_mask
    nn.e = y - a_out
    if nn.output == "softmax":
        nn.L = float(-np.sum(y * np.log(a_out)) / m)
    else:
        nn.L = float(0.5 * np.sum(nn.e**2) / m)
    return nn


def _output_delta(nn):
    """dL/dz of the output layer times m: ``-e .* a .* (1 - a)`` for sigm,
    ``-e`` for linear and for softmax with cross-entropy."""
    if nn.output == "sigm":
        return -nn.e * (nn.a[-1] * (1 - nn.a[-1]))
    return -nn.e


def _sparsity_error(nn, i, m):
    """The sparsity term of nnbp for hidden layer ``i``, with a zero bias column:
    ``beta * (-rho ./ p + (1 - rho) ./ (1 - p))`` (derivative of the KL penalty)."""
    p = np.broadcast_to(nn.p[i], (m, nn.size[i]))
    rho = nn.sparsity_target
    kl = nn.non_sparsity_penalty * (-rho / p + (1 - rho) / (1 - p))
    return np.hstack([np.zeros((m, 1)), kl])                     # (m, 1 + size[i])


def nnbp(nn):
    """Backward pass (``nnbp.m``): the gradients ``dW`` of the last nnff.

    Notes
    -----
    Bishop (5.56): ``d[i] = (d[i+1] W[i] + sparsity) .* f'(a[i])`` with the
    bias column of ``d[i+1]`` dropped above the output layer, the sparsity
    term added *before* the activation derivative, the dropout mask applied
    after; ``dW[i] = d[i+1]' a[i] / m``.
    """
    n = nn.n
    m = nn.a[0].shape[0]
    d = [None] * n
    d[n - 1] = _output_delta(nn)                                  # (m, size[-1])
    d_act_fn = DERIVATIVES[nn.activation_function]
    for i in range(n - 2, 0, -1):
        d_act = d_act_fn(nn.a[i])                                 # (m, 1 + size[i])
        sparsity_error = _sparsity_error(nn, i, m) if nn.non_sparsity_penalty > 0 else 0
        d_next = d[i + 1] if i + 1 == n - 1 else d[i + 1][:, 1:]  # drop the bias column
        d[i] = (d_next @ nn.W[i] + sparsity_error) * d_act
        if nn.dropout_fraction > 0:
            d[i] = d[i] * np.hstack([np.ones((m, 1)), nn.dropout_mask[i]])
    nn.dW = []
    for i in range(n - 1):
        d_next = d[i + 1] if i + 1 == n - 1 else d[i + 1][:, 1:]
        nn.dW.append((d_next.T @ nn.a[i]) / m)                    # (size[i+1], 1 + size[i])
    return nn


def nnapplygrads(nn):
    """SGD step with L2 penalty and momentum (``nnapplygrads.m``).

    ``dW <- rate * (dW + l2 * [0, W(:, 2:end)])``; with momentum
    ``vW <- momentum * vW + dW`` and the step is ``vW``; ``W <- W - step``.
    """
    for i in range(nn.n - 1):
        nn.W[i], nn.vW[i] = apply_layer_gradient(nn.W[i], nn.vW[i], nn.dW[i], nn.learning_rate,
                                                 nn.momentum, nn.weight_penalty_l2)
    return nn


def apply_layer_gradient(W, vW, dW, learning_rate, momentum, weight_penalty_l2):
    """nnapplygrads for one layer; returns the new ``(W, vW)``."""
    if weight_penalty_l2 > 0:
        dW = dW + weight_penalty_l2 * np.hstack([np.zeros((W.shape[0], 1)), W[:, 1:]])
    dW = learning_rate * dW
    if momentum > 0:
        vW = momentum * vW + dW
        dW = vW
    return W - dW, vW


def _check_training_data(nn, train_x, train_y, batchsize, numepochs, drop_last=False):
    if not (isinstance(train_x, np.ndarray) and np.issubdtype(train_x.dtype, np.floating)):
        raise InputError("train_x must be a float array (as nntrain asserts); convert it with x.astype(float)")
    if train_x.ndim != 2 or train_x.shape[1] != nn.size[0]:
        raise InputError(f"train_x has shape {train_x.shape}; expected (m, {nn.size[0]}) for this network")
    if train_y.ndim != 2 or train_y.shape != (train_x.shape[0], nn.size[-1]):
        raise InputError(f"train_y has shape {train_y.shape}; expected ({train_x.shape[0]}, {nn.size[-1]})")
    if batchsize < 1 or numepochs < 0:
        raise InputError(f"batchsize must be >= 1 and numepochs >= 0, got {batchsize}, {numepochs}")
    if drop_last and train_x.shape[0] < batchsize:
        raise InputError(f"{train_x.shape[0]} samples are fewer than one batch of {batchsize}; "
                         "use a smaller batch size or more samples")
    if not drop_last and train_x.shape[0] % batchsize != 0:
        raise InputError(
            f"numbatches must be an integer: {train_x.shape[0]} samples do not divide into "
            f"batches of {batchsize}; choose a batch size that divides the sample count "
            "(or drop_last=True)")


def nntrain(nn, train_x, train_y, batchsize=100, numepochs=1, val_x=None, val_y=None,
            engine=None, rng=None, opts=None, drop_last=False):
    """Train with minibatch SGD (``nntrain.m``).

    Parameters
    ----------
    nn : NN
    train_x : ndarray of float, shape (m, size[0])
    train_y : ndarray, shape (m, size[-1])
    batchsize, numepochs : int
        As the toolbox's ``opts``; ``batchsize`` must divide ``m``.
    val_x, val_y : ndarray, optional
        Validation data for the per-epoch report (``nneval``).
    engine : {None, 'numpy', 'numba'}
        ``'numpy'`` is this readable mirror, ``'numba'`` the fused kernel of
        :mod:`drl_np.toolbox._numba`; ``None`` picks Numba when it supports
        the configuration.
    rng : OctaveRandom, optional
        Stream for the permutations and masks; defaults to ``nn.rng``.
    opts : dict, optional
        The toolbox's ``opts`` struct (``batchsize``, ``numepochs``), which
        overrides the keywords.
    drop_last : bool, default False
        The toolbox asserts that ``batchsize`` divides ``m``. With
        ``drop_last`` each epoch runs ``floor(m / batchsize)`` minibatches
        over its fresh permutation and the ``m mod batchsize`` samples left
        at its end sit that epoch out (``docs/method.md`` §6, **choice** ``partial_epoch``).

    Returns
    -------
    nn : NN
        The trained network (updated in place).
    L : ndarray, shape (numepochs * floor(m / batchsize),)
        The loss of every minibatch, before its update.

    Notes
    -----
    Per epoch: one ``randperm(m)``; per minibatch: the input zero-mask
    ``rand(batchsize, size[0]) > input_zero_masked_fraction`` (only when that
    fraction is non-zero), then nnff (dropout masks), nnbp, nnapplygrads.
    After each epoch the learning rate is multiplied by
    ``scaling_learning_rate``.
    """
    if opts is not None:
        batchsize = opts.get("batchsize", batchsize)
        numepochs = opts.get("numepochs", numepochs)
    train_y = np.asarray(train_y, dtype=np.float64)
    _check_config(nn)
    _check_training_data(nn, train_x, train_y, batchsize, numepochs, drop_last)
    if rng is not None:
        nn.rng = check_random_state(0 if rng is None else rng)   # the toolbox's default: seed 0
    elif nn.rng is None:
        nn.rng = check_random_state(0)
    run_epoch = epoch_function(nn, engine)
    m = train_x.shape[0]
    numbatches = m // batchsize
    L = np.zeros(numepochs * numbatches)
    for epoch in range(numepochs):
        tic = time.perf_counter()
        kk = nn.rng.randperm(m)
        L[epoch * numbatches:(epoch + 1) * numbatches] = run_epoch(nn, train_x, train_y, kk, batchsize)
        seconds = time.perf_counter() - tic
        if logger.isEnabledFor(logging.INFO):
            _log_epoch(nn, epoch, numepochs, seconds, L[epoch * numbatches:(epoch + 1) * numbatches],
                       train_x, train_y, val_x, val_y)
        nn.learning_rate = nn.learning_rate * nn.scaling_learning_rate
    return nn, L


_NUMBA_NOTED = False


def _note_numba_use():
    """Say once per process that the Numba kernels are being loaded (compiled
    on the very first run, which takes about half a minute)."""
    global _NUMBA_NOTED
    if not _NUMBA_NOTED:
        _NUMBA_NOTED = True
        logging.getLogger("drl_np").info(
            "first use of the Numba kernels in this process: loading them (compiling "
            "them on the very first run takes about half a minute)")


def epoch_function(nn, engine=None):
    """The function ``(nn, x, y, kk, batchsize) -> L`` that runs one epoch.

    ``engine=None`` picks the Numba kernel when it supports ``nn``'s
    configuration (:func:`drl_np.toolbox._numba.supports`), else NumPy.
    """
    if engine not in (None,) + ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)} or None, got {engine!r}")
    if engine == "numpy":
        return _numpy_epoch
    if _numba.supports(nn):
        _note_numba_use()
        return _numba.numba_epoch
    if engine == "numba":
        raise InputError("engine='numba' does not support this network's configuration; "
                         "use engine='numpy' (or engine=None to choose automatically)")
    return _numpy_epoch


def _numpy_epoch(nn, train_x, train_y, kk, batchsize):
    """One epoch of nntrain's inner loop in NumPy: the readable twin of the
    Numba kernel. Returns the minibatch losses (numbatches,)."""
    numbatches = train_x.shape[0] // batchsize
    L = np.zeros(numbatches)
    for l in range(numbatches):
        idx = kk[l * batchsize:(l + 1) * batchsize]
        batch_x = train_x[idx]                                    # (batchsize, size[0])
        if nn.input_zero_masked_fraction != 0:
            batch_x = batch_x * (nn.rng.rand(*batch_x.shape) > nn.input_zero_masked_fraction)
        batch_y = train_y[idx]
        nnff(nn, batch_x, batch_y)
        nnbp(nn)
        nnapplygrads(nn)
        L[l] = nn.L
    return L


def _log_epoch(nn, epoch, numepochs, seconds, L_epoch, train_x, train_y, val_x, val_y):
    """The toolbox's per-epoch line (``nntrain.m``), via logging."""
    loss = nneval(nn, train_x, train_y, val_x, val_y)
    if val_x is not None:
        perf = f"; Full-batch train mse = {loss['train_e']:f}, val mse = {loss['val_e']:f}"
    else:
        perf = f"; Full-batch train err = {loss['train_e']:f}"
    logger.info("epoch %d/%d. Took %.4g seconds. Mini-batch mean squared error on training set is %.6g%s",
                epoch + 1, numepochs, seconds, float(np.mean(L_epoch)), perf)


def _evaluation_copy(nn):
    """A copy for nneval/nnpredict: their passes must not change the caller's
    ``p`` (MATLAB passes the struct by value)."""
    twin = copy.copy(nn)
    twin.p = list(nn.p)
    twin.testing = True
    return twin


def nneval(nn, train_x, train_y, val_x=None, val_y=None):
    """Full-batch losses in testing mode (``nneval.m``).

    Returns a dict with ``train_e`` (and ``val_e``), plus the
    misclassification rates ``train_e_frac`` (``val_e_frac``) for softmax
    output. The caller's ``nn`` is not changed.
    """
    loss = {"train_e": nnff(_evaluation_copy(nn), train_x, np.asarray(train_y, float)).L}
    if val_x is not None:
        loss["val_e"] = nnff(_evaluation_copy(nn), val_x, np.asarray(val_y, float)).L
    if nn.output == "softmax":
        loss["train_e_frac"] = nntest(nn, train_x, train_y)[0]
        if val_x is not None:
            loss["val_e_frac"] = nntest(nn, val_x, val_y)[0]
    return loss


def nnpredict(nn, x):
    """Predicted class of each row of ``x``: 0-based index of the largest
    output (``nnpredict.m`` minus one). The caller's ``nn`` is not changed."""
    twin = nnff(_evaluation_copy(nn), x, np.zeros((x.shape[0], nn.size[-1])))
    return np.argmax(twin.a[-1], axis=1)


def nntest(nn, x, y):
    """Misclassification rate and the indices of misclassified rows (``nntest.m``)."""
    labels = nnpredict(nn, x)
    expected = np.argmax(y, axis=1)
    bad = np.flatnonzero(labels != expected)
    return bad.size / x.shape[0], bad


def nnchecknumgrad(nn, x, y, epsilon=1e-6, er=1e-7, with_penalties=True):
    """Compare nnbp's gradients with central differences (``nnchecknumgrad.m``).

    Call after ``nnff`` and ``nnbp`` on ``(x, y)``. For every weight, the loss
    is evaluated at ``W +- epsilon`` with the dropout masks redrawn from
    ``OctaveRandom(0)`` for both passes (the toolbox's ``rand('state', 0)``),
    and the difference quotient must agree with ``dW`` to within ``er``.

    The toolbox's own check covers the plain loss only. With
    ``with_penalties`` the loss also holds the terms whose gradients drl_np
    adds: ``l2/2 * ||W(:, 2:end)||^2`` (nnapplygrads adds its gradient to
    ``dW``) and ``beta * sum KL(rho || mean(a))`` of each hidden layer. The
    toolbox's sparsity gradient uses the running average ``p``; the check
    therefore sets ``p`` to the minibatch mean before nnbp, where the two
    coincide, and so tests every line of the sparsity path.

    Raises
    ------
    AssertionError
        Naming the layer and weight whose gradient disagrees.
    """
    def loss(net):
        net.rng = OctaveRandom(0)
        nnff(net, x, y)
        total = net.L
        if with_penalties:
            total += _penalty_loss(net)
        return total

    base = _gradient_copy(nn)
    loss(base)
    if with_penalties and base.non_sparsity_penalty > 0:
        for i in range(1, base.n - 1):
            base.p[i] = base.a[i][:, 1:].mean(axis=0)
    nnbp(base)
    for l in range(nn.n - 1):
        analytic = base.dW[l].copy()
        if with_penalties and nn.weight_penalty_l2 > 0:
            analytic[:, 1:] += nn.weight_penalty_l2 * nn.W[l][:, 1:]
        for i in range(nn.W[l].shape[0]):
            for j in range(nn.W[l].shape[1]):
                nn_m, nn_p = _gradient_copy(nn), _gradient_copy(nn)
                nn_m.W[l][i, j] -= epsilon
                nn_p.W[l][i, j] += epsilon
                numeric = (loss(nn_p) - loss(nn_m)) / (2 * epsilon)
                e = abs(numeric - analytic[i, j])
                assert e < er, (f"numerical gradient checking failed: W[{l}][{i}, {j}] "
                                f"analytic {analytic[i, j]:.3e}, numeric {numeric:.3e}")


def _gradient_copy(nn):
    twin = copy.copy(nn)
    twin.W = [w.copy() for w in nn.W]
    twin.p = list(nn.p)
    return twin


def _penalty_loss(nn):
    """``l2/2 ||W(:, 2:end)||^2 + beta * sum_j KL(rho || mean_i a_ij)`` of the last nnff
    (the KL up to an additive constant)."""
    total = 0.0
    if nn.weight_penalty_l2 > 0:
        total += 0.5 * nn.weight_penalty_l2 * sum(np.sum(w[:, 1:] ** 2) for w in nn.W)
    if nn.non_sparsity_penalty > 0:
        rho = nn.sparsity_target
        for i in range(1, nn.n - 1):
            rho_hat = nn.a[i][:, 1:].mean(axis=0)
            # KL(rho || rho_hat) up to a constant; the absolute values extend it
            # to tanh_opt's activations outside (0, 1), where nnbp still applies
            # the same derivative -rho/rho_hat + (1 - rho)/(1 - rho_hat)
            kl = -rho * np.log(np.abs(rho_hat)) - (1 - rho) * np.log(np.abs(1 - rho_hat))
            total += nn.non_sparsity_penalty * np.sum(kl)
    return total
