"""Algorithm 1 of DRLnet: one timestep of joint training, Eq. 8 reassignment
and the Eq. 9 online centroid update, epoch by epoch (``docs/method.md`` §6).

:func:`algorithm1_epoch` is the readable NumPy epoch; its compiled twin is
:func:`drl_np.kernels.algorithm1_epoch_numba` (tested equal to 1e-10).
:func:`epoch_function` chooses between them. The clustering side of a
timestep is one small :class:`ClusterState`; without one an epoch is plain
classification on the pseudo labels (the supervised pre-training).
"""
from dataclasses import dataclass

import numpy as np

from ._validation import InputError
from .clustering import assign_nearest, update_centroids_online
from .drlnet import drnet_applygrads, drnet_backward, drnet_forward, drnet_loss
from .kernels import algorithm1_epoch_numba
from .kernels import supports as numba_supports

__all__ = ["ClusterState", "ENGINES", "algorithm1_epoch", "epoch_function"]

ENGINES = ("numpy", "numba")


@dataclass
class ClusterState:
    """The clustering state of one timestep t (updated in place by an epoch).

    Attributes
    ----------
    lam : ndarray of float (n,)
        Change flags lambda^t (Eq. 2), 0.0 or 1.0.
    assign : ndarray of int (n,)
        s^t: 0 unchanged, 1..K change types.
    centres : ndarray (1 + K, r)
        Centroids M^t, row 0 the unchanged samples' mean DR.
    counts : ndarray of float (1 + K,)
        Per-centroid counts of Eq. 9.
    """

    lam: np.ndarray
    assign: np.ndarray
    centres: np.ndarray
    counts: np.ndarray


def algorithm1_epoch(net, x1, x2, target, kk, batchsize, state=None, alpha=0.1,
                     update_branch=True):
    """One epoch of Algorithm 1 (the NumPy twin of the Numba kernel).

    For each minibatch of the permutation ``kk`` (floor(n / batchsize) of
    them; the rest sit the epoch out, **choice** ``partial_epoch``):

    (a) one SGD step on the joint loss (Eq. 4/5, gradient Eq. 7) with the
        current assignments and centroids of ``state``;
    (b) the minibatch's DRs recomputed with the new weights, and its changed
        samples reassigned to the nearest change centroid (Eq. 8);
    (c) the centroids updated online, sample by sample in minibatch order
        (Eq. 9).

    Parameters
    ----------
    net : DRNetwork
        Trained in place.
    x1, x2 : ndarray (n, d)
    target : ndarray (n, n_classes)
        One-hot pseudo labels s^{t-1}.
    kk : ndarray of int (n,)
        The epoch's permutation.
    batchsize : int
    state : ClusterState or None
        Updated in place. None: classification only (lambda = 0, Eq. 4's
        first term), as in the supervised pre-training.
    alpha : float, default 0.1
        Weight of the clustering term (Eq. 4).
    update_branch : bool, default True
        False (DRLnet1) leaves the branch g untouched.

    Returns
    -------
    L : ndarray (numbatches,)
        Joint loss of each minibatch before its step.
    """
    numbatches = x1.shape[0] // batchsize
    L = np.zeros(numbatches)
    no_change = np.zeros(batchsize)
    for l in range(numbatches):
        idx = kk[l * batchsize:(l + 1) * batchsize]
        cache = drnet_forward(net, x1[idx], x2[idx], training=True)
        if state is None:
            blam, bcentres, balpha = no_change, np.zeros_like(cache["dr"]), 0.0
        else:
            blam, bcentres, balpha = state.lam[idx], state.centres[state.assign[idx]], alpha
        L[l] = drnet_loss(cache, target[idx], blam, bcentres, balpha)
        dW = drnet_backward(net, cache, target[idx], blam, bcentres, balpha,
                            update_branch=update_branch)
        drnet_applygrads(net, dW)
        if state is None:
            continue
        changed = idx[blam > 0]
        if changed.size:
            dr = drnet_forward(net, x1[changed], x2[changed])["dr"]            # (c, r)
            state.assign[changed] = assign_nearest(dr, state.centres)          # Eq. 8
            update_centroids_online(state.centres, state.counts, dr, state.assign[changed])  # Eq. 9
    return L


def _numba_epoch(net, x1, x2, target, kk, batchsize, state=None, alpha=0.1, update_branch=True):
    """:func:`algorithm1_epoch`'s signature on the compiled kernel."""
    if state is None:   # the kernel always reads a state: lambda = 0 never touches it
        n, r = x1.shape[0], net.head_size[-2]
        state = ClusterState(np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros((1, r)), np.zeros(1))
        alpha = 0.0
    return algorithm1_epoch_numba(net, x1, x2, target, state.lam, state.assign, state.centres,
                                  state.counts, kk, batchsize, alpha, update_branch)


def epoch_function(engine, net):
    """Algorithm 1's epoch for ``engine``: the Numba kernel (``'numba'``, and
    ``None`` when it supports ``net``) or its NumPy twin (``'numpy'``)."""
    if engine not in (None,) + ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)} or None, got {engine!r}")
    if engine == "numpy":
        return algorithm1_epoch
    if numba_supports(net):
        return _numba_epoch
    if engine == "numba":
        raise InputError("engine='numba' does not support this network (it needs at least one "
                         "branch layer and one hidden head layer); use engine='numpy'")
    return algorithm1_epoch
