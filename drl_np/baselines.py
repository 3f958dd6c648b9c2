"""The paper's baselines (spec §8): Raw+KM and SAE+KM.

Both share DRLnet's regions, change flags (GGKI) and K-means code: a change
intensity per sample pair, a threshold, and K-means of the changed samples'
difference vectors into K_T types.
"""
import time

import numpy as np

from ._validation import check_positive_int, check_samples
from .clustering import change_types
from .recurrent import change_flags, pretrain_autoencoders
from .rng import check_random_state
from .toolbox.nn import _evaluation_copy, nnff

__all__ = ["RawKM", "SAEKM"]


class _DifferenceKMeans:
    """Threshold ||u1 - u2||^2 and cluster (u1 - u2) of the changed samples,
    for representations u of each date given by :meth:`_represent`."""

    def __init__(self, n_types=5, threshold="ggki", threshold_statistic="squared", random_state=None):
        self.n_types = n_types
        self.threshold = threshold
        self.threshold_statistic = threshold_statistic
        self.random_state = random_state

    def _check(self, x1, x2):
        x1, x2 = check_samples(x1, x2)
        check_positive_int(self.n_types, "n_types")
        return x1, x2

    def fit(self, x1, x2):
        """Change flags and change types of the sample pairs (n, d)."""
        x1, x2 = self._check(x1, x2)
        rng = check_random_state(self.random_state)
        self.timings_, self.losses_ = {}, {}
        tic = time.perf_counter()
        u1, u2 = self._represent(x1, x2, rng)
        self.timings_["represent"] = time.perf_counter() - tic
        tic = time.perf_counter()
        changed, distance, tau = change_flags(u1, u2, self.threshold, self.threshold_statistic)
        labels, _ = change_types(u1 - u2, changed, self.n_types, rng)
        self.timings_["clustering"] = time.perf_counter() - tic
        span = distance.max() - distance.min()
        self.change_intensity_ = (distance - distance.min()) / span if span > 0 else np.zeros_like(distance)
        self.labels_ = labels
        self.thresholds_ = {"ci": tau}
        self.labels_per_step_ = {self.n_types: labels}
        self.n_change_types_ = int(labels.max())
        return self

    def fit_predict(self, x1, x2):
        return self.fit(x1, x2).labels_


class RawKM(_DifferenceKMeans):
    """Raw+KM: CI = ||x1 - x2||^2 of the raw samples -> GGKI -> K-means of
    x1 - x2 of the changed samples into ``n_types`` types (spec §8)."""

    def _represent(self, x1, x2, rng):
        return x1, x2


class SAEKM(_DifferenceKMeans):
    """SAE+KM: a stacked sparse autoencoder trained on both dates' samples;
    CI = ||h1 - h2||^2 -> GGKI -> K-means of h1 - h2 (spec §8).

    The autoencoder is pre-trained exactly as DRLnet's branch g (same sizes,
    learning rate, sparsity and epochs), so the two methods differ only in
    what DRLnet adds on top.
    """

    def __init__(self, n_types=5, branch=(100, 50), sae_epochs=5, sae_learning_rate=1.0,
                 momentum=0.5, non_sparsity_penalty=0.1, sparsity_target=0.05, batchsize=10,
                 threshold="ggki", threshold_statistic="squared", engine=None, random_state=None):
        super().__init__(n_types, threshold, threshold_statistic, random_state)
        self.branch = branch
        self.sae_epochs = sae_epochs
        self.sae_learning_rate = sae_learning_rate
        self.momentum = momentum
        self.non_sparsity_penalty = non_sparsity_penalty
        self.sparsity_target = sparsity_target
        self.batchsize = batchsize
        self.engine = engine

    def _represent(self, x1, x2, rng):
        sae = pretrain_autoencoders(x1, x2, self.branch, self.sae_learning_rate, self.momentum,
                                    self.non_sparsity_penalty, self.sparsity_target,
                                    self.batchsize, self.sae_epochs, self.engine, rng)
        self.sae_ = sae
        return _encode(sae, x1), _encode(sae, x2)


def _encode(sae, x):
    """The top code of the stacked autoencoder (bias removed), (n, h)."""
    for ae in sae.ae:
        x = nnff(_evaluation_copy(ae), x, x).a[1][:, 1:]
    return x
