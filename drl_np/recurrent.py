"""DRLnet's recurrent framework: Algorithm 1 (one timestep of joint
training, reassignment and online centroid updates) and Algorithm 2 (the
cluster schedule K0 > K1 > ... > KT), wrapped in the :class:`DRLnet`
estimator.

Spec: ``shared/specs/drlnet.md`` §5-§7; every **choice** is a parameter of
:class:`DRLnet` and is listed in ``docs/fidelity.md``.
"""
import logging
import time

import numpy as np

from ._validation import InputError, check_positive_int, check_samples, check_schedule
from .clustering import (assign_nearest, change_types, init_centroids, kmeans, one_hot,
                         update_centroids_online)
from .drlnet import (drnet_applygrads, drnet_backward, drnet_forward, drnet_loss, drnet_setup,
                     new_output_layer)
from .ggki import threshold_values
from .kernels import algorithm1_epoch_numba
from .kernels import supports as numba_supports
from .rng import check_random_state
from .toolbox import saesetup, saetrain

__all__ = ["DRLnet", "algorithm1_epoch", "change_flags", "difference_representation",
           "pretrain_autoencoders"]

logger = logging.getLogger("drl_np")

VARIANTS = ("drlnet2", "drlnet1")


def _dr_forward(net, x1, x2, block=4096):
    """DRs, h1 and h2 of all samples, in blocks (no change to ``p``)."""
    dr, h1, h2 = [], [], []
    for start in range(0, x1.shape[0], block):
        cache = drnet_forward(net, x1[start:start + block], x2[start:start + block])
        dr.append(cache["dr"]); h1.append(cache["h1"]); h2.append(cache["h2"])
    return np.vstack(dr), np.vstack(h1), np.vstack(h2)


def difference_representation(net, x1, x2):
    """d(x) of every sample pair, (n, r)."""
    return _dr_forward(net, x1, x2)[0]


def change_flags(h1, h2, rule="ggki", statistic="squared"):
    """Eq. 2: lambda_i = ||h1_i - h2_i||^2 >= tau, tau by ``rule`` (GGKI).

    Parameters
    ----------
    statistic : {'squared', 'magnitude'}
        Threshold the squared distances (Eq. 2, default) or their square
        roots (spec §4, **choice** ``threshold_statistic``); the flags are
        the same split of a monotone transform only when the rule is
        invariant to it, which GGKI is not.

    Returns
    -------
    flags : ndarray of bool (n,)
    distance : ndarray (n,)
        ||h1 - h2||^2.
    tau : float
        The threshold in units of ``distance`` (squared). When the rule
        finds no threshold (a constant or tiny set), Otsu's is used, and
        when that fails too, nothing is flagged.
    """
    distance = np.sum((h1 - h2) ** 2, axis=1)
    values = distance if statistic == "squared" else np.sqrt(distance)
    if rule == "kmeans":  # two-cluster K-means, as the peers use it
        tau = _kmeans_rule(values)
    else:
        tau = threshold_values(values, method=rule)
    if not np.isfinite(tau) and rule != "otsu":
        tau = threshold_values(values, method="otsu")
    if not np.isfinite(tau):
        return np.zeros(distance.shape[0], dtype=bool), distance, float("inf")
    flags = values >= tau
    tau_sq = tau if statistic == "squared" else tau ** 2
    return flags, distance, float(tau_sq)


def _kmeans_rule(values):
    """The two-cluster K-means threshold as a ``value >= tau`` rule (NaN when
    the values do not split)."""
    from .peers.decision import kmeans_threshold
    if np.unique(values).size < 2:
        return float("nan")
    return float(np.nextafter(kmeans_threshold(values), np.inf))


def algorithm1_epoch(net, x1, x2, target, lam, assign, centres, counts, kk, batchsize, alpha,
                     update_branch=True):
    """One epoch of Algorithm 1 (the NumPy twin of the Numba kernel).

    For each minibatch of the permutation ``kk`` (floor(n / batchsize) of
    them; the rest sit the epoch out, **choice** ``partial_epoch``):

    (a) one SGD step on the joint loss (Eq. 4/5, gradient Eq. 7) with the
        current assignments ``assign`` and centroids ``centres``;
    (b) the minibatch's DRs recomputed with the new weights, and its changed
        samples reassigned to the nearest change centroid (Eq. 8);
    (c) the centroids updated online, sample by sample in minibatch order
        (Eq. 9).

    ``assign``, ``centres`` and ``counts`` are updated in place.

    Returns
    -------
    L : ndarray (numbatches,)
        Joint loss of each minibatch before its step.
    """
    numbatches = x1.shape[0] // batchsize
    L = np.zeros(numbatches)
    for l in range(numbatches):
        idx = kk[l * batchsize:(l + 1) * batchsize]
        bx1, bx2, blam = x1[idx], x2[idx], lam[idx]
        cache = drnet_forward(net, bx1, bx2, training=True)
        L[l] = drnet_loss(cache, target[idx], blam, centres[assign[idx]], alpha)
        dW = drnet_backward(net, cache, target[idx], blam, centres[assign[idx]], alpha,
                            update_branch=update_branch)
        drnet_applygrads(net, dW)
        changed = idx[blam > 0]
        if changed.size:
            dr = drnet_forward(net, x1[changed], x2[changed])["dr"]      # (c, r)
            assign[changed] = assign_nearest(dr, centres)                # Eq. 8
            update_centroids_online(centres, counts, dr, assign[changed])  # Eq. 9
    return L


def pretrain_autoencoders(x1, x2, branch, learning_rate, momentum, non_sparsity_penalty,
                          sparsity_target, batchsize, numepochs, engine, rng):
    """Layer-wise sparse autoencoders of the branch g on the samples of both
    dates (spec §7.2): ``saesetup([d, *branch])`` with sigmoid units, then
    ``saetrain`` on the stacked [x1; x2] (floor(2n / batchsize) minibatches
    an epoch, **choice** ``partial_epoch``). Shared by DRLnet and SAE+KM.

    Returns
    -------
    SAE
        ``sae.ae[i].W[0]`` is the trained weight of branch layer ``i``.
    """
    sae = saesetup([x1.shape[1]] + list(branch), rng=rng)
    for ae in sae.ae:
        ae.activation_function = "sigm"
        ae.learning_rate = learning_rate
        ae.momentum = momentum
        ae.non_sparsity_penalty = non_sparsity_penalty
        ae.sparsity_target = sparsity_target
    if numepochs > 0:
        saetrain(sae, np.vstack([x1, x2]), batchsize=batchsize, numepochs=numepochs,  # (2n, d)
                 engine=engine, rng=rng, drop_last=True)
    return sae


def _epoch_function(engine, net):
    """Algorithm 1's epoch: the Numba kernel (default when it supports the
    network) or its NumPy twin (``engine='numpy'``)."""
    if engine not in (None, "numba", "numpy"):
        raise InputError(f"engine must be 'numpy', 'numba' or None, got {engine!r}")
    if engine == "numpy":
        return algorithm1_epoch
    if numba_supports(net):
        return algorithm1_epoch_numba
    if engine == "numba":
        raise InputError("engine='numba' does not support this network (it needs at least one "
                         "branch layer and one hidden head layer); use engine='numpy'")
    return algorithm1_epoch


def _log_epoch(stage, epoch, n_epochs, start, loss):
    """One line per epoch, modelled on the toolbox's nntrain line."""
    logger.info("%s %d/%d. Took %.3g seconds. Mini-batch mean joint loss is %.6g",
                stage, epoch + 1, n_epochs, time.perf_counter() - start, loss,
                extra={"progress": (epoch + 1, n_epochs)})


class DRLnet:
    """Deep difference representation learning (DRLnet, IJCAI-17).

    Unsupervised change analysis of sample pairs: which pairs changed, and
    into which change type. Build samples with
    :func:`drl_np.regions.build_regions` or bring your own.

    Parameters
    ----------
    schedule : sequence of int, default (25, 15, 8, 5)
        The cluster schedule K0 > K1 > ... > KT of Algorithm 2; KT is the
        number of change types of the final map.
    variant : {'drlnet2', 'drlnet1'}, default 'drlnet2'
        DRLnet2 fine-tunes every layer, DRLnet1 only the layers above the
        merge (g stays as pre-trained).
    branch : sequence of int, default (100, 50)
        Hidden sizes of the shared feature branch g (**choice**).
    head : sequence of int, default (50, 20)
        Merging layer and upper layers; the last is the DR size (**choice**).
    alpha : float, default 0.1
        Weight of the clustering term (Eq. 4).
    learning_rate : float, default 0.005
    momentum : float, default 0.5
    sparsity_target : float, default 0.05
    non_sparsity_penalty : float, default 0.1
        Weight of the toolbox's sparsity penalty on hidden units (the paper
        gives the target only; **choice** ``sparsity_weight``).
    batchsize : int, default 10
    sae_epochs, pretrain_epochs, finetune_epochs : int
        Epochs of the autoencoder pre-training (per layer), of the
        supervised pre-training on s^0, and of Algorithm 1 at each K_t
        (the paper does not give them; **choice** ``epochs``).
    sae_learning_rate : float, default 1.0
        Learning rate of the autoencoder pre-training (the toolbox's SAE
        example uses 1; at 0.005 the autoencoders barely move in a few
        epochs; **choice** ``sae_learning_rate``).
    pretrain_learning_rate : float or None
        Learning rate of the supervised pre-training; None means
        ``learning_rate``.
    threshold : {'ggki', 'ki', 'otsu', 'kmeans'}, default 'ggki'
        Rule for the change flags (Eq. 2).
    threshold_statistic : {'squared', 'magnitude'}, default 'squared'
    count_init : 'kmeans' or int, default 'kmeans'
        Initial counts of Eq. 9 (**choice**).
    recompute_flags : bool, default True
        Recompute lambda with the fine-tuned g before relabelling (**choice**).
    engine : {None, 'numba', 'numpy'}
        Engine of Algorithm 1 and of the autoencoder pre-training: the Numba
        kernels (default when they support the network) or their readable
        NumPy twins, equal to 1e-10.
    random_state : None, int or OctaveRandom
        The one stream all draws come from (weights, permutations, K-means
        seeds).

    Attributes
    ----------
    labels_ : ndarray of int (n,)
        Final s^T: 0 unchanged, 1..KT change types (fewer types when fewer
        regions changed, see :func:`drl_np.clustering.change_types`).
    n_change_types_ : int
        Number of change types of ``labels_``.
    labels_per_step_ : dict of int to ndarray
        s^t for each K_t of the schedule (K0: the over-clustering).
    change_intensity_ : ndarray (n,)
        ||h1 - h2||^2 of the final g, scaled to [0, 1].
    thresholds_ : dict of str to float
        tau (squared distance) at each K_t and for the final map.
    losses_ : dict of str to list of float
        Mean minibatch loss per epoch, per stage.
    timings_ : dict of str to float
    network_ : DRNetwork
    """

    def __init__(self, schedule=(25, 15, 8, 5), variant="drlnet2", branch=(100, 50), head=(50, 20),
                 alpha=0.1, learning_rate=0.005, momentum=0.5, sparsity_target=0.05,
                 non_sparsity_penalty=0.1, batchsize=10, sae_epochs=5, pretrain_epochs=20,
                 finetune_epochs=10, sae_learning_rate=1.0, pretrain_learning_rate=None,
                 threshold="ggki", threshold_statistic="squared", count_init="kmeans",
                 recompute_flags=True, engine=None, random_state=None):
        self.schedule = schedule
        self.variant = variant
        self.branch = branch
        self.head = head
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.sparsity_target = sparsity_target
        self.non_sparsity_penalty = non_sparsity_penalty
        self.batchsize = batchsize
        self.sae_epochs = sae_epochs
        self.pretrain_epochs = pretrain_epochs
        self.finetune_epochs = finetune_epochs
        self.sae_learning_rate = sae_learning_rate
        self.pretrain_learning_rate = pretrain_learning_rate
        self.threshold = threshold
        self.threshold_statistic = threshold_statistic
        self.count_init = count_init
        self.recompute_flags = recompute_flags
        self.engine = engine
        self.random_state = random_state

    # -- validation ------------------------------------------------------------
    def _validate(self, x1, x2):
        x1, x2 = check_samples(x1, x2)
        schedule = check_schedule(self.schedule)
        if self.variant not in VARIANTS:
            raise InputError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.threshold_statistic not in ("squared", "magnitude"):
            raise InputError(f"threshold_statistic must be 'squared' or 'magnitude', got {self.threshold_statistic!r}")
        check_positive_int(self.batchsize, "batchsize")
        if x1.shape[0] < schedule[0]:
            raise InputError(
                f"only {x1.shape[0]} valid regions for K0 = {schedule[0]} clusters; use more "
                "regions (a larger n_segments, -p n_segments=N on the command line; or unit='pixel', "
                "--unit pixel) or a smaller schedule")
        if x1.shape[0] < self.batchsize:
            raise InputError(f"only {x1.shape[0]} samples for a batch of {self.batchsize}; lower batchsize")
        return x1, x2, schedule

    # -- Algorithm 2 -----------------------------------------------------------
    def fit(self, x1, x2):
        """Run Algorithm 2 on the sample pairs ``x1``, ``x2`` (n, d)."""
        x1, x2, schedule = self._validate(x1, x2)
        rng = check_random_state(self.random_state)
        n, d = x1.shape
        self.losses_, self.timings_, self.thresholds_, self.labels_per_step_ = {}, {}, {}, {}

        tic = time.perf_counter()
        s_prev, _ = kmeans(np.hstack([x1, x2]), schedule[0], rng, what="regions")   # s^0
        self.labels_per_step_[schedule[0]] = s_prev + 1     # all changed at K0
        n_prev_classes = schedule[0]
        self.timings_["overclustering"] = time.perf_counter() - tic

        tic = time.perf_counter()
        net = self._pretrain(x1, x2, s_prev, n_prev_classes, rng)
        self.timings_["pretrain"] = time.perf_counter() - tic

        update_branch = self.variant == "drlnet2"
        self.timings_["finetune"] = self.timings_["clustering"] = 0.0
        forward = _dr_forward(net, x1, x2)                   # (dr, h1, h2) of the current net
        for k_t in schedule[1:]:                             # timesteps t = 1..T
            tic = time.perf_counter()
            dr, h1, h2 = forward
            lam, _, tau = change_flags(h1, h2, self.threshold, self.threshold_statistic)
            assign, centres, counts = init_centroids(dr, lam, k_t, rng, self.count_init)
            self.timings_["clustering"] += time.perf_counter() - tic
            tic = time.perf_counter()
            if net.head_size[-1] != n_prev_classes:
                new_output_layer(net, n_prev_classes, rng)
            target = one_hot(s_prev, n_prev_classes)
            lam_f = lam.astype(np.float64)
            run_epoch = _epoch_function(self.engine, net)
            epoch_losses = []
            for epoch in range(self.finetune_epochs):
                start = time.perf_counter()
                kk = rng.randperm(n)
                L = run_epoch(net, x1, x2, target, lam_f, assign, centres, counts, kk,
                              self.batchsize, self.alpha, update_branch)
                epoch_losses.append(float(L.mean()))
                _log_epoch(f"K={k_t} epoch", epoch, self.finetune_epochs, start, epoch_losses[-1])
            self.losses_[f"finetune K={k_t}"] = epoch_losses
            self.timings_["finetune"] += time.perf_counter() - tic
            tic = time.perf_counter()
            forward = _dr_forward(net, x1, x2)
            s_prev, tau = self._relabel(forward, lam, tau, k_t, rng)
            self.thresholds_[f"K={k_t}"] = tau
            self.labels_per_step_[k_t] = s_prev
            n_prev_classes = k_t + 1
            self.timings_["clustering"] += time.perf_counter() - tic
            logger.info("K=%d: %d of %d regions changed (tau = %.4g), loss %.4g -> %.4g",
                        k_t, int((s_prev > 0).sum()), n, tau,
                        epoch_losses[0] if epoch_losses else float("nan"),
                        epoch_losses[-1] if epoch_losses else float("nan"))

        _, h1, h2 = forward
        distance = np.sum((h1 - h2) ** 2, axis=1)
        span = distance.max() - distance.min()
        self.change_intensity_ = (distance - distance.min()) / span if span > 0 else np.zeros(n)
        self.labels_ = s_prev
        self.network_ = net
        self.n_change_types_ = int(s_prev.max())
        return self

    def _pretrain(self, x1, x2, s0, n_classes, rng):
        """Spec §7.2: stacked sparse autoencoder on both dates' samples, then
        supervised training of the whole net on s^0 (classification only)."""
        d = x1.shape[1]
        sae = pretrain_autoencoders(x1, x2, self.branch, self.sae_learning_rate, self.momentum,
                                    self.non_sparsity_penalty, self.sparsity_target,
                                    self.batchsize, self.sae_epochs, self.engine, rng)
        net = drnet_setup(d, self.branch, self.head, n_classes, rng=rng,
                          branch_weights=[ae.W[0] for ae in sae.ae])
        net.momentum = self.momentum
        net.non_sparsity_penalty = self.non_sparsity_penalty
        net.sparsity_target = self.sparsity_target
        net.learning_rate = self.pretrain_learning_rate or self.learning_rate
        target = one_hot(s0, n_classes)
        zeros = np.zeros(x1.shape[0])
        losses = []
        assign = np.zeros(x1.shape[0], dtype=np.int64)
        centres = np.zeros((1, self.head[-1]))
        counts = np.zeros(1)
        run_epoch = _epoch_function(self.engine, net)
        for epoch in range(self.pretrain_epochs):
            start = time.perf_counter()
            kk = rng.randperm(x1.shape[0])
            L = run_epoch(net, x1, x2, target, zeros, assign, centres, counts, kk,
                          self.batchsize, 0.0, True)
            losses.append(float(L.mean()))
            _log_epoch("pre-training epoch", epoch, self.pretrain_epochs, start, losses[-1])
        self.losses_["pretrain"] = losses
        net.learning_rate = self.learning_rate
        return net

    def _relabel(self, forward, lam, tau, k_t, rng):
        """Spec §7.3: s^t from the fine-tuned net's ``forward = (dr, h1, h2)``:
        unchanged -> 0, changed -> K-means of their DRs into K_t types."""
        dr, h1, h2 = forward
        if self.recompute_flags:
            lam, _, tau = change_flags(h1, h2, self.threshold, self.threshold_statistic)
        labels, _ = change_types(dr, lam, k_t, rng)
        return labels, tau

    def fit_predict(self, x1, x2):
        """Fit and return ``labels_``."""
        return self.fit(x1, x2).labels_
