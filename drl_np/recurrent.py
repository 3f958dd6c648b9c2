"""DRLnet's recurrent framework, Algorithm 2: the cluster schedule
K0 > K1 > ... > KT, each timestep one run of Algorithm 1
(:mod:`drl_np.algorithm1`), wrapped in the :class:`DRLnet` estimator.

The method is described in ``docs/method.md`` §5-§7; every **choice** is a
parameter of :class:`DRLnet` and is listed in ``docs/fidelity.md``.
"""
import logging
import time

import numpy as np
from sklearn.base import BaseEstimator

from ._validation import InputError, check_positive_int, check_samples, check_schedule
from .algorithm1 import ClusterState, epoch_function
from .clustering import change_types, init_centroids, kmeans, one_hot
from .decision import DECISION_RULES, THRESHOLD_STATISTICS, change_flags
from .drlnet import drnet_setup, forward_all, new_output_layer
from .pretrain import AutoencoderSettings, log_epoch, pretrain_autoencoders, pretrain_classifier
from .rng import check_random_state

__all__ = ["DRLnet", "VARIANTS"]

logger = logging.getLogger("drl_np")

VARIANTS = ("drlnet2", "drlnet1")


class DRLnet(BaseEstimator):
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
        """Check the parameters and the samples; facts only, the API and
        the command line add the remedy in their own words."""
        x1, x2 = check_samples(x1, x2)
        schedule = check_schedule(self.schedule)
        if self.variant not in VARIANTS:
            raise InputError(f"variant must be one of {', '.join(VARIANTS)}, got {self.variant!r}")
        if self.threshold not in DECISION_RULES:
            raise InputError(f"threshold must be one of {', '.join(DECISION_RULES)}, got {self.threshold!r}")
        if self.threshold_statistic not in THRESHOLD_STATISTICS:
            raise InputError(f"threshold_statistic must be one of {', '.join(THRESHOLD_STATISTICS)}, "
                             f"got {self.threshold_statistic!r}")
        check_positive_int(self.batchsize, "batchsize")
        if x1.shape[0] < schedule[0]:
            raise InputError(f"only {x1.shape[0]} samples for K0 = {schedule[0]} clusters")
        if x1.shape[0] < self.batchsize:
            raise InputError(f"only {x1.shape[0]} samples for a batch of {self.batchsize}")
        return x1, x2, schedule

    # -- Algorithm 2 -----------------------------------------------------------
    def fit(self, x1, x2):
        """Run Algorithm 2 on the sample pairs ``x1``, ``x2`` (n, d); returns self."""
        x1, x2, schedule = self._validate(x1, x2)
        rng = check_random_state(self.random_state)
        self.losses_, self.timings_, self.thresholds_, self.labels_per_step_ = {}, {}, {}, {}

        tic = time.perf_counter()
        s_prev, _ = kmeans(np.hstack([x1, x2]), schedule[0], rng, what="samples")   # s^0
        self.labels_per_step_[schedule[0]] = s_prev + 1     # all changed at K0
        self.timings_["overclustering"] = time.perf_counter() - tic

        tic = time.perf_counter()
        net = self._pretrain(x1, x2, s_prev, schedule[0], rng)
        self.timings_["pretrain"] = time.perf_counter() - tic

        self.timings_["finetune"] = self.timings_["clustering"] = 0.0
        forward = forward_all(net, x1, x2)                   # (dr, h1, h2) of the current net
        n_prev_classes = schedule[0]
        for k_t in schedule[1:]:                             # timesteps t = 1..T
            s_prev, forward = self._timestep(net, x1, x2, forward, s_prev, n_prev_classes, k_t, rng)
            n_prev_classes = k_t + 1

        _, h1, h2 = forward
        distance = np.sum((h1 - h2) ** 2, axis=1)
        span = distance.max() - distance.min()
        self.change_intensity_ = (distance - distance.min()) / span if span > 0 else np.zeros(x1.shape[0])
        self.labels_ = s_prev
        self.network_ = net
        self.n_change_types_ = int(s_prev.max())
        return self

    def _timestep(self, net, x1, x2, forward, s_prev, n_prev_classes, k_t, rng):
        """Timestep t (K_t types): flags and centroids from the current net,
        Algorithm 1 on the pseudo labels s^{t-1}, then s^t from the fine-tuned
        net. Returns ``(s^t, forward pass of the fine-tuned net)``."""
        tic = time.perf_counter()
        dr, h1, h2 = forward
        lam, _, tau = change_flags(h1, h2, self.threshold, self.threshold_statistic)
        assign, centres, counts = init_centroids(dr, lam, k_t, rng, self.count_init)
        state = ClusterState(lam.astype(np.float64), assign, centres, counts)
        self.timings_["clustering"] += time.perf_counter() - tic

        tic = time.perf_counter()
        if net.head_size[-1] != n_prev_classes:
            new_output_layer(net, n_prev_classes, rng)
        target = one_hot(s_prev, n_prev_classes)
        run_epoch = epoch_function(self.engine, net)
        losses = []
        for epoch in range(self.finetune_epochs):
            start = time.perf_counter()
            kk = rng.randperm(x1.shape[0])
            L = run_epoch(net, x1, x2, target, kk, self.batchsize, state, self.alpha,
                          self.variant == "drlnet2")
            losses.append(float(L.mean()))
            log_epoch(f"K={k_t} epoch", epoch, self.finetune_epochs, start, losses[-1])
        self.losses_[f"finetune K={k_t}"] = losses
        self.timings_["finetune"] += time.perf_counter() - tic

        tic = time.perf_counter()
        forward = forward_all(net, x1, x2)
        s_t, tau = self._relabel(forward, lam, tau, k_t, rng)
        self.thresholds_[f"K={k_t}"] = tau
        self.labels_per_step_[k_t] = s_t
        self.timings_["clustering"] += time.perf_counter() - tic
        logger.info("K=%d: %d of %d regions changed (tau = %.4g), loss %.4g -> %.4g",
                    k_t, int((s_t > 0).sum()), x1.shape[0], tau,
                    losses[0] if losses else float("nan"), losses[-1] if losses else float("nan"))
        return s_t, forward

    def _pretrain(self, x1, x2, s0, n_classes, rng):
        """Stacked sparse autoencoder on both dates' samples, then supervised
        training of the whole net on s^0 (classification only)."""
        sae = pretrain_autoencoders(x1, x2, AutoencoderSettings.of(self), self.engine, rng)
        net = drnet_setup(x1.shape[1], self.branch, self.head, n_classes, rng=rng,
                          branch_weights=[ae.W[0] for ae in sae.ae])
        net.momentum = self.momentum
        net.non_sparsity_penalty = self.non_sparsity_penalty
        net.sparsity_target = self.sparsity_target
        net.learning_rate = self.pretrain_learning_rate or self.learning_rate
        self.losses_["pretrain"] = pretrain_classifier(
            net, x1, x2, one_hot(s0, n_classes), self.pretrain_epochs, self.batchsize, self.engine, rng)
        net.learning_rate = self.learning_rate
        return net

    def _relabel(self, forward, lam, tau, k_t, rng):
        """s^t from the fine-tuned net's ``forward = (dr, h1, h2)``: unchanged
        -> 0, changed -> K-means of their DRs into K_t types."""
        dr, h1, h2 = forward
        if self.recompute_flags:
            lam, _, tau = change_flags(h1, h2, self.threshold, self.threshold_statistic)
        labels, _ = change_types(dr, lam, k_t, rng)
        return labels, tau

    def fit_predict(self, x1, x2):
        """Fit and return ``labels_``."""
        return self.fit(x1, x2).labels_
