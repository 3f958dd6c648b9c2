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

from ._validation import (InputError, check_choice, check_positive_int, check_sample_weight, check_samples,
                          check_schedule)
from .algorithm1 import ClusterState, epoch_function
from .clustering import change_types, init_centroids, kmeans, nearest_types, one_hot
from .decision import (CHANGE_SPACES, DECISION_RULES, THRESHOLD_STATISTICS, change_statistic,
                       check_member_windows, decide, scale_intensity)
from .drlnet import branch_features, classifier_outputs, drnet_setup, forward_all, new_output_layer
from .pretrain import (INPUT_SCALINGS, AutoencoderSettings, InputScaler, log_epoch, pretrain_autoencoders,
                       pretrain_classifier)
from .rng import check_random_state

__all__ = ["DRLnet", "VARIANTS"]

logger = logging.getLogger("drl_np")

VARIANTS = ("drlnet2", "drlnet1")


def fit_diagnostics(net, x1, x2, labels, n_classes, branch_before=None):
    """How well the classifier fits its pseudo labels, and how far g moved.

    Returns a dict: ``train_accuracy`` (argmax of f against ``labels``),
    ``loss`` (the classification term of Eq. 4, toolbox 1/2, per sample),
    ``trivial_loss`` (the same loss of the best constant output, the class
    frequencies: what a network that learned nothing reaches) and, given the
    branch weights before, ``branch_change`` (relative Frobenius change of g).
    """
    out = classifier_outputs(net, x1, x2)                         # (n, C)
    target = one_hot(labels, n_classes)
    freq = target.mean(axis=0)
    info = {"train_accuracy": float(np.mean(out.argmax(axis=1) == labels)),
            "loss": float(0.5 * np.sum((out - target) ** 2) / x1.shape[0]),
            "trivial_loss": float(0.5 * np.sum(freq * (1 - freq)))}
    if branch_before is not None:
        num = sum(float(np.sum((w - w0) ** 2)) for w, w0 in zip(net.W, branch_before))
        den = sum(float(np.sum(w0 ** 2)) for w0 in branch_before)
        info["branch_change"] = float(np.sqrt(num / den)) if den > 0 else 0.0
    return info


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
    learning_rate : float, default 1.0
        Learning rate of the supervised pre-training and of Algorithm 1's
        fine-tuning, the rate of the toolbox's own examples. The paper gives
        0.005; with the toolbox's minibatch-mean gradient of a sigmoid
        classifier on 1-of-K targets the classifier then never leaves the
        constant output's loss (**choice** ``learning_rate``,
        ``docs/fidelity.md``).
    momentum : float, default 0.5
    sparsity_target : float, default 0.05
    non_sparsity_penalty : float, default 0.1
        Weight of the toolbox's sparsity penalty on the autoencoders' hidden
        units (the paper gives the target only; **choice** ``sparsity_weight``).
    network_sparsity_penalty : float, default 0.0
        The same penalty on the hidden layers of the network trained on
        pseudo labels (**choice** ``network_sparsity``).
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
        Learning rate of the supervised pre-training on s^0 when it differs
        from ``learning_rate``; None means ``learning_rate``.
    input_scaling : {'standardise', 'none'}, default 'standardise'
        What the network sees of the samples: each feature standardised over
        both dates' samples, or the samples as they are (the paper; **choice**
        ``input_scaling``, :class:`~drl_np.pretrain.InputScaler`). The change
        flags of ``change_space='input'`` use the samples as they are.
    threshold : {'ggki', 'ki', 'otsu', 'kmeans'}, default 'ggki'
        Rule for the change flags (Eq. 2).
    threshold_statistic : {'magnitude', 'squared'}, default 'magnitude'
        Threshold the distance of Eq. 2 or its square (the paper; GGKI misfits
        the squared distances' unchanged class, **choice** ``threshold_statistic``).
    count_init : 'kmeans' or int, default 'kmeans'
        Initial counts of Eq. 9 (**choice**).
    recompute_flags : bool, default True
        Recompute lambda with the fine-tuned g before relabelling (**choice**).
    pretrain_branch : bool, default True
        Whether the supervised pre-training on s^0 also trains g (the
        paper trains the whole net) or keeps the autoencoders' g (**choice**
        ``pretrain_branch``).
    change_space : {'input', 'features'}, default 'input'
        Where Eq. 2's distance is measured: between the two dates' input
        windows (the flags are then Raw+KM's, and the network decides the
        change types) or between their features h = g(x) (the paper; on the
        real binary pairs a worse change detector than the windows
        themselves, see ``docs/fidelity.md``; **choice** ``change_space``).
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
    input_scaler_ : InputScaler
        The input scaling fitted on the samples, applied to new ones.
    change_intensity_ : ndarray (n,)
        The change statistic of the flags (of the input windows, or of the
        final g with ``change_space='features'``), scaled to [0, 1].
    thresholds_ : dict of str to float
        tau (squared distance) at each K_t and for the final map.
    losses_ : dict of str to list of float
        Mean minibatch loss per epoch, per stage.
    diagnostics_ : dict of str to dict
        Per stage ('pretrain', 'K=k'): how well f fits the pseudo labels it
        was trained on, against a constant output, and how far g moved
        (:func:`fit_diagnostics`).
    timings_ : dict of str to float
    network_ : DRNetwork
    threshold_ : float
        tau of the final change flags, in the units of the change statistic
        (``threshold_statistic``); :meth:`predict` flags ``value > tau``.
    centroids_ : ndarray (K, r)
        Centroids of the final change types 1..K in the DR space (the
        K-means centres of s^T; row k - 1 is type k).
    intensity_range_ : (float, float)
        Smallest and largest change statistic of the fitted samples, the
        span :meth:`predict` scales new intensities by.
    """

    def __init__(self, schedule=(25, 15, 8, 5), variant="drlnet2", branch=(100, 50), head=(50, 20),
                 alpha=0.1, learning_rate=1.0, momentum=0.5, sparsity_target=0.05,
                 non_sparsity_penalty=0.1, network_sparsity_penalty=0.0, batchsize=10, sae_epochs=5,
                 pretrain_epochs=20, finetune_epochs=10, sae_learning_rate=1.0, pretrain_learning_rate=None,
                 input_scaling="standardise", threshold="ggki", threshold_statistic="magnitude",
                 count_init="kmeans", recompute_flags=True, change_space="input", pretrain_branch=True,
                 engine=None, random_state=None):
        self.schedule = schedule
        self.variant = variant
        self.branch = branch
        self.head = head
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.sparsity_target = sparsity_target
        self.non_sparsity_penalty = non_sparsity_penalty
        self.network_sparsity_penalty = network_sparsity_penalty
        self.batchsize = batchsize
        self.sae_epochs = sae_epochs
        self.pretrain_epochs = pretrain_epochs
        self.finetune_epochs = finetune_epochs
        self.sae_learning_rate = sae_learning_rate
        self.pretrain_learning_rate = pretrain_learning_rate
        self.input_scaling = input_scaling
        self.threshold = threshold
        self.threshold_statistic = threshold_statistic
        self.count_init = count_init
        self.recompute_flags = recompute_flags
        self.change_space = change_space
        self.pretrain_branch = pretrain_branch
        self.engine = engine
        self.random_state = random_state

    # -- validation ------------------------------------------------------------
    def _validate(self, x1, x2, members=None):
        """Check the parameters and the samples; facts only, the API and
        the command line add the remedy in their own words."""
        x1, x2 = check_samples(x1, x2)
        schedule = check_schedule(self.schedule)
        check_choice(self.variant, VARIANTS, "variant")
        check_choice(self.threshold, DECISION_RULES, "threshold")
        check_choice(self.change_space, CHANGE_SPACES, "change_space")
        check_choice(self.input_scaling, INPUT_SCALINGS, "input_scaling")
        check_member_windows(members, self.change_space, x1.shape[1])
        check_choice(self.threshold_statistic, THRESHOLD_STATISTICS, "threshold_statistic")
        check_positive_int(self.batchsize, "batchsize")
        if x1.shape[0] < schedule[0]:
            raise InputError(f"only {x1.shape[0]} samples for K0 = {schedule[0]} clusters")
        if x1.shape[0] < self.batchsize:
            raise InputError(f"only {x1.shape[0]} samples for a batch of {self.batchsize}")
        return x1, x2, schedule

    # -- Algorithm 2 -----------------------------------------------------------
    def fit(self, x1, x2, members=None, sample_weight=None):
        """Run Algorithm 2 on the sample pairs ``x1``, ``x2`` (n, d); returns self.

        ``members`` (:class:`drl_np.regions.Members`, optional): the member
        pixels of each sample's region; the change statistic of a region is
        then the mean over its members (**choice** ``region_statistic``),
        else its own sample's. ``sample_weight`` (n,), optional: what each
        sample weighs in every K-means of the run (**choice**
        ``region_weight``; :func:`drl_np.analyse` gives each region its
        pixel count)."""
        x1, x2, schedule = self._validate(x1, x2, members)
        weight = check_sample_weight(sample_weight, x1.shape[0])
        rng = check_random_state(self.random_state)
        if self.change_space == "input":
            self._input_values = self._input_statistic(x1, x2, members)
        self.input_scaler_ = InputScaler.fit(x1, x2, self.input_scaling)
        x1, x2 = self.input_scaler_.apply(x1), self.input_scaler_.apply(x2)
        self.losses_, self.timings_, self.thresholds_, self.labels_per_step_ = {}, {}, {}, {}
        self.diagnostics_ = {}

        tic = time.perf_counter()
        s_prev, _ = kmeans(np.hstack([x1, x2]), schedule[0], rng, what="samples",  # s^0
                           sample_weight=weight)
        self.labels_per_step_[schedule[0]] = s_prev + 1     # all changed at K0
        self.timings_["overclustering"] = time.perf_counter() - tic

        tic = time.perf_counter()
        net = self._pretrain(x1, x2, s_prev, schedule[0], rng)
        self.timings_["pretrain"] = time.perf_counter() - tic

        self.timings_["finetune"] = self.timings_["clustering"] = 0.0
        forward = forward_all(net, x1, x2)                   # (dr, h1, h2) of the current net
        n_prev_classes = schedule[0]
        for k_t in schedule[1:]:                             # timesteps t = 1..T
            s_prev, forward = self._timestep(net, x1, x2, forward, members, weight, s_prev,
                                             n_prev_classes, k_t, rng)
            n_prev_classes = k_t + 1

        values = self._change_values(net, forward, members)
        self.intensity_range_ = (float(values.min()), float(values.max()))
        self.change_intensity_ = scale_intensity(values, self.intensity_range_)
        self.labels_ = s_prev
        self.network_ = net
        self.n_change_types_ = int(s_prev.max())
        return self

    def _change_values(self, net, forward, members):
        """Eq. 2's change statistic of every sample with the current g: of
        its own pair (``forward = (dr, h1, h2)``) or the mean over its
        region's ``members``. With ``change_space='input'`` the statistic is
        that of the input windows themselves, as Raw+KM's."""
        if self.change_space == "input":
            return self._input_values
        if members is None:
            return change_statistic(forward[1], forward[2], self.threshold_statistic)
        scale = self.input_scaler_.apply
        return members.region_mean_of(lambda w1, w2: change_statistic(
            branch_features(net, scale(w1)), branch_features(net, scale(w2)), self.threshold_statistic))

    def _input_statistic(self, x1, x2, members):
        """Eq. 2's statistic of the input windows (``change_space='input'``):
        of each sample's own pair, or the mean over its region's members."""
        if members is None:
            return change_statistic(x1, x2, self.threshold_statistic)
        return members.region_mean_of(lambda w1, w2: change_statistic(w1, w2, self.threshold_statistic))

    def _timestep(self, net, x1, x2, forward, members, weight, s_prev, n_prev_classes, k_t, rng):
        """Timestep t (K_t types): flags and centroids from the current net,
        Algorithm 1 on the pseudo labels s^{t-1}, then s^t from the fine-tuned
        net. Returns ``(s^t, forward pass of the fine-tuned net)``."""
        tic = time.perf_counter()
        lam, tau = decide(self._change_values(net, forward, members), self.threshold)
        assign, centres, counts = init_centroids(forward[0], lam, k_t, rng, self.count_init, weight)
        state = ClusterState(lam.astype(np.float64), assign, centres, counts)
        self.timings_["clustering"] += time.perf_counter() - tic

        tic = time.perf_counter()
        if net.head_size[-1] != n_prev_classes:
            new_output_layer(net, n_prev_classes, rng)
        target = one_hot(s_prev, n_prev_classes)
        run_epoch = epoch_function(self.engine, net)
        branch_before = [w.copy() for w in net.W[:net.n_branch]]
        losses = []
        for epoch in range(self.finetune_epochs):
            start = time.perf_counter()
            kk = rng.randperm(x1.shape[0])
            L = run_epoch(net, x1, x2, target, kk, self.batchsize, state, self.alpha,
                          self.variant == "drlnet2")
            losses.append(float(L.mean()))
            log_epoch(f"K={k_t} epoch", epoch, self.finetune_epochs, start, losses[-1])
        self.losses_[f"finetune K={k_t}"] = losses
        self.diagnostics_[f"K={k_t}"] = fit_diagnostics(net, x1, x2, s_prev, n_prev_classes, branch_before)
        self.timings_["finetune"] += time.perf_counter() - tic

        tic = time.perf_counter()
        forward = forward_all(net, x1, x2)
        if self.recompute_flags:        # lambda with the fine-tuned g (**choice** recompute_flags)
            lam, tau = decide(self._change_values(net, forward, members), self.threshold)
        s_t, centres = change_types(forward[0], lam, k_t, rng, weight)   # s^t: K-means of the changed DRs
        self.thresholds_[f"K={k_t}"] = tau
        self.threshold_, self.centroids_ = tau, centres
        self.labels_per_step_[k_t] = s_t
        self.timings_["clustering"] += time.perf_counter() - tic
        diag = self.diagnostics_[f"K={k_t}"]
        logger.info("K=%d: %d of %d regions changed (tau = %.4g); fit of s^(t-1): accuracy %.3f, "
                    "loss %.4g (a constant output: %.4g), g moved %.2g", k_t, int((s_t > 0).sum()),
                    x1.shape[0], tau, diag["train_accuracy"], diag["loss"], diag["trivial_loss"],
                    diag["branch_change"])
        return s_t, forward

    def _pretrain(self, x1, x2, s0, n_classes, rng):
        """Stacked sparse autoencoder on both dates' samples, then supervised
        training of the whole net on s^0 (classification only)."""
        sae = pretrain_autoencoders(x1, x2, AutoencoderSettings.of(self), self.engine, rng)
        net = drnet_setup(x1.shape[1], self.branch, self.head, n_classes, rng=rng,
                          branch_weights=[ae.W[0] for ae in sae.ae])
        net.momentum = self.momentum
        net.non_sparsity_penalty = self.network_sparsity_penalty
        net.sparsity_target = self.sparsity_target
        net.learning_rate = self.pretrain_learning_rate or self.learning_rate
        self.losses_["pretrain"] = pretrain_classifier(
            net, x1, x2, one_hot(s0, n_classes), self.pretrain_epochs, self.batchsize, self.engine, rng,
            self.pretrain_branch)
        self.diagnostics_["pretrain"] = diag = fit_diagnostics(net, x1, x2, s0, n_classes)
        logger.info("pre-training: fit of s^0: accuracy %.3f, loss %.4g (a constant output: %.4g)",
                    diag["train_accuracy"], diag["loss"], diag["trivial_loss"])
        net.learning_rate = self.learning_rate
        return net

    def fit_predict(self, x1, x2, members=None, sample_weight=None):
        """Fit and return ``labels_``."""
        return self.fit(x1, x2, members, sample_weight).labels_

    # -- new samples -----------------------------------------------------------
    def predict(self, x1, x2, members=None, return_intensity=False):
        """Change types of new sample pairs with the fitted network.

        Parameters
        ----------
        x1, x2 : array_like (n, d)
            Samples built as the fitted ones were (same window, bands and
            front end).
        members : Members, optional
            Member pixels of each new sample's region (see :meth:`fit`).
        return_intensity : bool, default False
            Also return the change intensity, scaled by ``intensity_range_``
            and clipped to [0, 1].

        Returns
        -------
        labels : ndarray of int (n,)
            0 unchanged (Eq. 2 with the fitted tau: the change statistic of
            the final g at most ``threshold_``), else 1 + the nearest of
            ``centroids_`` to the sample's difference representation (Eq. 8).
        intensity : ndarray (n,), with ``return_intensity``

        Notes
        -----
        On the fitted samples themselves this gives ``labels_`` back: the
        final flags are ``value > threshold_`` of the final g, and s^T is the
        K-means assignment, which is the nearest centre (Eq. 8).
        With ``recompute_flags=False`` the final flags of :meth:`fit` come from
        g before the last fine-tuning; :meth:`predict` always uses the final g.
        """
        if not hasattr(self, "network_"):
            raise InputError("this DRLnet is not fitted yet; call fit(x1, x2) first")
        x1, x2 = check_samples(x1, x2)
        if x1.shape[1] != self.network_.W[0].shape[1] - 1:
            raise InputError(f"samples have {x1.shape[1]} features; the network was fitted on "
                             f"{self.network_.W[0].shape[1] - 1}")
        check_member_windows(members, self.change_space, x1.shape[1])
        scale = self.input_scaler_.apply
        if self.change_space == "input":
            values = self._input_statistic(x1, x2, members)
            dr = forward_all(self.network_, scale(x1), scale(x2))[0]
        else:
            forward = forward_all(self.network_, scale(x1), scale(x2))         # (dr, h1, h2)
            values = self._change_values(self.network_, forward, members)
            dr = forward[0]
        labels = nearest_types(dr, values > self.threshold_, self.centroids_)
        if return_intensity:
            return labels, scale_intensity(values, self.intensity_range_)
        return labels
