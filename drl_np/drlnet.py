"""The DRLnet network, its joint loss (Eq. 4/5) and the hand-written
gradient of that loss (Eq. 7), in the toolbox's conventions.

The network (paper Fig. 1, ``docs/method.md`` §2)::

    x1 --g--> h1 \\
                  [h1, h2] --merge--> ... --> d(x) --f--> output
    x2 --g--> h2 /

``g`` (the *branch*) is a stack of sigmoid layers shared by both dates;
the *head* is the merging layer, the upper layers whose top activation is the
difference representation d(x) (DR), and the sigmoid classifier ``f``.
Every layer is a toolbox layer: weights (n_out, 1 + n_in) with the bias as
the first column, sigmoid units, the sparsity penalty on hidden units with a
running average ``p``, and nnapplygrads' momentum step.

Loss of a minibatch of m pairs (Eq. 4/5 with the toolbox's 1/2 and 1/m)::

    J = 1/m sum_i [ 1/2 ||f(x_i) - s_i^{t-1}||^2
                    + alpha * lambda_i * 1/2 ||d(x_i) - M^t s_i^t||^2 ]

so that the gradient at the DR layer (Eq. 7) carries the term
``alpha * lambda_i * (d(x_i) - M^t s_i^t)`` beside the backpropagated
classification error. ``docs/backprop.md`` derives it layer by layer.
"""
import copy
from dataclasses import dataclass
from typing import List

import numpy as np

from .rng import check_random_state
from .toolbox.activations import sigm
from .toolbox.nn import apply_layer_gradient

__all__ = ["DRNetwork", "drnet_setup", "drnet_forward", "drnet_backward",
           "drnet_applygrads", "drnet_loss", "new_output_layer", "drnet_checknumgrad",
           "forward_all"]


def _toolbox_weights(rng, n_out, n_in):
    """nnsetup's initialisation of one layer (bias first)."""
    return (rng.rand(n_out, n_in + 1) - 0.5) * 2 * 4 * np.sqrt(6 / (n_out + n_in))


@dataclass
class DRNetwork:
    """Weights and training state of a DRLnet.

    Attributes
    ----------
    branch_size : list of int
        ``[d, g_1, ..., g_k]``: the branch g, applied to each date.
    head_size : list of int
        ``[2 g_k, merge, ..., dr, n_classes]``: merging layer, upper layers
        (the last hidden one is the DR layer) and the classifier.
    W, vW : list of ndarray
        Weights and momenta, branch layers first, then the head layers.
    p : list of ndarray
        Running mean activation of each hidden layer (same order as ``W``;
        the output layer's entry is unused).
    """

    branch_size: List[int]
    head_size: List[int]
    W: List[np.ndarray]
    vW: List[np.ndarray]
    p: List[np.ndarray]
    learning_rate: float = 0.005
    momentum: float = 0.5
    non_sparsity_penalty: float = 0.0
    sparsity_target: float = 0.05
    weight_penalty_l2: float = 0.0

    @property
    def n_branch(self):
        """Number of weight layers of the branch g."""
        return len(self.branch_size) - 1

    @property
    def n_layers(self):
        return len(self.W)

    def copy(self):
        twin = copy.copy(self)
        twin.W = [w.copy() for w in self.W]
        twin.vW = [v.copy() for v in self.vW]
        twin.p = [q.copy() for q in self.p]
        return twin


def drnet_setup(n_features, branch=(100, 50), head=(50, 20), n_classes=25, rng=None,
                branch_weights=None):
    """Create a DRLnet with nnsetup's initialisation, layer by layer.

    Parameters
    ----------
    n_features : int
        d, the length of one date's sample (w * w * B).
    branch : sequence of int
        Hidden sizes of g (default 100, 50; ``docs/method.md`` §2).
    head : sequence of int
        Merging layer and upper layers; the last is the DR size (default
        50, 20; ``docs/method.md`` §2).
    n_classes : int
        Width of the classifier (the number of pseudo-label classes).
    rng : OctaveRandom or int
    branch_weights : list of ndarray, optional
        Pre-trained weights for g (e.g. from saetrain); when given, the
        branch layers are not drawn.
    """
    rng = check_random_state(0 if rng is None else rng)   # the toolbox's default: seed 0
    branch_size = [int(n_features)] + [int(s) for s in branch]
    head_size = [2 * branch_size[-1]] + [int(s) for s in head] + [int(n_classes)]
    if branch_weights is not None:
        W = [np.array(w, dtype=np.float64) for w in branch_weights]
        for i, w in enumerate(W):
            if w.shape != (branch_size[i + 1], branch_size[i] + 1):
                raise ValueError(f"branch weight {i} has shape {w.shape}, expected "
                                 f"{(branch_size[i + 1], branch_size[i] + 1)}")
    else:
        W = [_toolbox_weights(rng, branch_size[i + 1], branch_size[i]) for i in range(len(branch_size) - 1)]
    W += [_toolbox_weights(rng, head_size[i + 1], head_size[i]) for i in range(len(head_size) - 1)]
    sizes_out = branch_size[1:] + head_size[1:]
    return DRNetwork(branch_size=branch_size, head_size=head_size, W=W,
                     vW=[np.zeros_like(w) for w in W], p=[np.zeros(s) for s in sizes_out])


def new_output_layer(net, n_classes, rng):
    """Re-create the classifier for ``n_classes`` classes with nnsetup's
    initialisation (``docs/method.md`` §7, **choice** ``output_reinit``); lower layers keep
    their weights."""
    n_in = net.head_size[-2]
    net.head_size = net.head_size[:-1] + [int(n_classes)]
    net.W[-1] = _toolbox_weights(rng, n_classes, n_in)
    net.vW[-1] = np.zeros_like(net.W[-1])
    net.p[-1] = np.zeros(n_classes)
    return net


def _with_bias(a):
    return np.hstack([np.ones((a.shape[0], 1)), a])


def branch_forward(net, x):
    """g(x): the branch's activations, each with its bias column.

    Returns a list ``a`` with ``a[0] = [1, x]`` and ``a[k] = [1, h]``.
    """
    a = [_with_bias(x)]                                           # (m, 1 + d)
    for i in range(net.n_branch):
        a.append(_with_bias(sigm(a[i] @ net.W[i].T)))             # (m, 1 + g_i)
    return a


def drnet_forward(net, x1, x2, training=False):
    """Forward pass of both dates through g, the merge, the upper layers and f.

    With ``training`` the running activations ``p`` are updated as nnff
    does (branch layers over the samples of both dates together).

    Returns
    -------
    cache : dict
        ``a1``, ``a2`` (branch activations per date), ``ah`` (head
        activations, ``ah[0] = [1, h1, h2]``), ``h1``, ``h2``, ``dr``
        (m, dr) and ``out`` (m, n_classes).
    """
    a1 = branch_forward(net, x1)
    a2 = branch_forward(net, x2)
    nb = net.n_branch
    ah = [_with_bias(np.hstack([a1[-1][:, 1:], a2[-1][:, 1:]]))]  # (m, 1 + 2 g_k)
    n_head = len(net.head_size) - 1
    for j in range(n_head):
        a = sigm(ah[j] @ net.W[nb + j].T)
        ah.append(_with_bias(a) if j < n_head - 1 else a)
    if training and net.non_sparsity_penalty > 0:
        for i in range(nb):
            both = np.vstack([a1[i + 1][:, 1:], a2[i + 1][:, 1:]])  # (2m, g_i)
            net.p[i] = 0.99 * net.p[i] + 0.01 * both.mean(axis=0)
        for j in range(n_head - 1):
            net.p[nb + j] = 0.99 * net.p[nb + j] + 0.01 * ah[j + 1][:, 1:].mean(axis=0)
    return {"a1": a1, "a2": a2, "ah": ah, "h1": a1[-1][:, 1:], "h2": a2[-1][:, 1:],
            "dr": ah[-2][:, 1:], "out": ah[-1]}


def forward_all(net, x1, x2, block=4096):
    """``(dr, h1, h2)`` of every sample pair, in blocks of ``block`` rows;
    an evaluation pass (``p`` is not changed)."""
    dr, h1, h2 = [], [], []
    for start in range(0, x1.shape[0], block):
        cache = drnet_forward(net, x1[start:start + block], x2[start:start + block])
        dr.append(cache["dr"]); h1.append(cache["h1"]); h2.append(cache["h2"])
    return np.vstack(dr), np.vstack(h1), np.vstack(h2)


def drnet_loss(cache, target, lam, centres, alpha):
    """The joint loss J of Eq. 4/5 (minibatch mean, toolbox 1/2).

    Parameters
    ----------
    cache : dict from :func:`drnet_forward`
    target : ndarray (m, n_classes)
        One-hot previous pseudo labels s^{t-1}.
    lam : ndarray (m,)
        Change flags lambda^t (0 or 1).
    centres : ndarray (m, dr)
        ``M^t s_i^t``: the centroid of each sample's current cluster.
    alpha : float
    """
    m = target.shape[0]
    e = target - cache["out"]
    classification = 0.5 * np.sum(e ** 2) / m
    clustering = 0.5 * alpha * np.sum(lam[:, None] * (cache["dr"] - centres) ** 2) / m
    return float(classification + clustering)


def _sparsity_term(net, layer, m, share=1.0):
    """nnbp's sparsity term ``beta * (-rho/p + (1 - rho)/(1 - p))`` for a hidden layer."""
    rho, p = net.sparsity_target, net.p[layer]
    kl = share * net.non_sparsity_penalty * (-rho / p + (1 - rho) / (1 - p))
    return np.broadcast_to(kl, (m, p.shape[0]))


def drnet_backward(net, cache, target, lam, centres, alpha, update_branch=True):
    """Gradient of the joint loss for every layer (Eq. 7).

    Parameters as :func:`drnet_loss`; ``update_branch=False`` (DRLnet1)
    skips the gradient of g.

    Returns
    -------
    dW : list of ndarray or None
        dJ/dW for each layer (``None`` for a frozen branch layer), without
        the L2 term, which :func:`drnet_applygrads` adds as nnapplygrads.

    Notes
    -----
    Let ``delta`` be dJ/dz of a layer times m (the toolbox's ``d``):

    * output (sigmoid, 1/2 squared error): ``delta = -(s - f) .* f .* (1 - f)``;
    * DR layer: ``delta = (delta_out W_out(:, 2:) + beta KL' + alpha lambda (d - M s)) .* d .* (1 - d)``,
      the clustering gradient of Eq. 7 added beside the sparsity term, before
      the sigmoid derivative, as nnbp adds its sparsity term;
    * lower head layers: ``delta = (delta_up W_up(:, 2:) + beta KL') .* a .* (1 - a)``;
    * merge input: ``dJ/d[h1, h2] = delta_merge W_merge(:, 2:)`` splits into the
      two dates' halves, each flowing down its copy of g;
    * g's weights get the sum of both dates' contributions,
      ``dW = (delta1' a1 + delta2' a2) / m``; its sparsity term is halved per
      date, so that the total is the gradient of one penalty on the mean
      activation over the 2m samples (**choice** ``branch_sparsity``).
    """
    nb = net.n_branch
    m = target.shape[0]
    ah = cache["ah"]
    n_head = len(ah) - 1
    dW = [None] * net.n_layers
    sparse = net.non_sparsity_penalty > 0
    # head: output layer, then down to the merging layer
    delta = -(target - ah[-1]) * (ah[-1] * (1 - ah[-1]))            # (m, n_classes)
    for j in range(n_head - 1, -1, -1):
        layer = nb + j
        dW[layer] = (delta.T @ ah[j]) / m                            # (n_out, 1 + n_in)
        if j == 0:
            break
        a = ah[j][:, 1:]                                             # (m, n_j)
        back = delta @ net.W[layer][:, 1:]                           # (m, n_j)
        if sparse:
            back = back + _sparsity_term(net, layer - 1, m)
        if j == n_head - 1:  # the DR layer: Eq. 7's clustering term
            back = back + alpha * lam[:, None] * (a - centres)
        delta = back * (a * (1 - a))
    if not update_branch:
        return dW
    # into g, once per date; the two contributions add
    dh = delta @ net.W[nb][:, 1:]                                    # (m, 2 g_k)
    gk = net.branch_size[-1]
    for a, dh_date in ((cache["a1"], dh[:, :gk]), (cache["a2"], dh[:, gk:])):
        back = dh_date
        for i in range(nb - 1, -1, -1):
            h = a[i + 1][:, 1:]                                      # (m, g_i)
            if sparse:
                back = back + _sparsity_term(net, i, m, share=0.5)
            delta_i = back * (h * (1 - h))
            contribution = (delta_i.T @ a[i]) / m                   # (g_i, 1 + g_{i-1})
            dW[i] = contribution if dW[i] is None else dW[i] + contribution
            if i > 0:
                back = delta_i @ net.W[i][:, 1:]
    return dW


def drnet_applygrads(net, dW):
    """nnapplygrads on every layer with a gradient (frozen layers are ``None``)."""
    for i, g in enumerate(dW):
        if g is not None:
            net.W[i], net.vW[i] = apply_layer_gradient(net.W[i], net.vW[i], g, net.learning_rate,
                                                       net.momentum, net.weight_penalty_l2)
    return net


def _penalised_loss(net, x1, x2, target, lam, centres, alpha):
    """J plus the penalties whose gradients drnet_backward/applygrads add."""
    cache = drnet_forward(net, x1, x2)
    total = drnet_loss(cache, target, lam, centres, alpha)
    if net.weight_penalty_l2 > 0:
        total += 0.5 * net.weight_penalty_l2 * sum(np.sum(w[:, 1:] ** 2) for w in net.W)
    if net.non_sparsity_penalty > 0:
        rho = net.sparsity_target
        rho_hats = [np.vstack([cache["a1"][i + 1][:, 1:], cache["a2"][i + 1][:, 1:]]).mean(axis=0)
                    for i in range(net.n_branch)]
        rho_hats += [cache["ah"][j + 1][:, 1:].mean(axis=0) for j in range(len(cache["ah"]) - 2)]
        for rho_hat in rho_hats:  # KL(rho || rho_hat) up to a constant
            total += net.non_sparsity_penalty * np.sum(-rho * np.log(rho_hat) - (1 - rho) * np.log(1 - rho_hat))
    return total


def drnet_checknumgrad(net, x1, x2, target, lam, centres, alpha, epsilon=1e-6, er=1e-7,
                       update_branch=True):
    """Central-difference check of :func:`drnet_backward` for every weight.

    As the toolbox's nnchecknumgrad, extended to the penalties: the loss is J
    plus the L2 and sparsity terms, and ``p`` is set to the minibatch means
    (where the running average and the batch mean coincide).

    Raises
    ------
    AssertionError
        Naming the first weight whose gradient disagrees.
    """
    base = net.copy()
    cache = drnet_forward(base, x1, x2)
    if base.non_sparsity_penalty > 0:
        for i in range(base.n_branch):
            base.p[i] = np.vstack([cache["a1"][i + 1][:, 1:], cache["a2"][i + 1][:, 1:]]).mean(axis=0)
        for j in range(len(cache["ah"]) - 2):
            base.p[base.n_branch + j] = cache["ah"][j + 1][:, 1:].mean(axis=0)
    dW = drnet_backward(base, cache, target, lam, centres, alpha, update_branch=update_branch)
    for layer, g in enumerate(dW):
        if g is None:
            continue
        analytic = g.copy()
        if net.weight_penalty_l2 > 0:
            analytic[:, 1:] += net.weight_penalty_l2 * net.W[layer][:, 1:]
        for i in range(g.shape[0]):
            for j in range(g.shape[1]):
                plus, minus = base.copy(), base.copy()
                plus.W[layer][i, j] += epsilon
                minus.W[layer][i, j] -= epsilon
                numeric = (_penalised_loss(plus, x1, x2, target, lam, centres, alpha)
                           - _penalised_loss(minus, x1, x2, target, lam, centres, alpha)) / (2 * epsilon)
                err = abs(numeric - analytic[i, j])
                assert err < er, (f"numerical gradient checking failed: layer {layer} W[{i}, {j}] "
                                  f"analytic {analytic[i, j]:.3e}, numeric {numeric:.3e}")
