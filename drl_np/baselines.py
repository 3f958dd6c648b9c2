"""The paper's baselines (``docs/method.md`` §8): Raw+KM and SAE+KM.

Both share DRLnet's regions, change flags and K-means code: a change
intensity per sample pair, a threshold, and K-means of the changed samples'
difference vectors into K_T types.
"""
import time

import numpy as np
from sklearn.base import BaseEstimator

from ._validation import InputError, check_positive_int, check_samples
from .clustering import change_types
from .decision import DECISION_RULES, THRESHOLD_STATISTICS, change_flags
from .pretrain import AutoencoderSettings, encode, pretrain_autoencoders
from .rng import check_random_state

__all__ = ["RawKM", "SAEKM"]


class _DifferenceKMeans(BaseEstimator):
    """Threshold ||u1 - u2||^2 and cluster (u1 - u2) of the changed samples,
    for representations u of each date given by :meth:`_represent`."""

    def _check(self, x1, x2):
        x1, x2 = check_samples(x1, x2)
        check_positive_int(self.n_types, "n_types")
        if self.threshold not in DECISION_RULES:
            raise InputError(f"threshold must be one of {', '.join(DECISION_RULES)}, got {self.threshold!r}")
        if self.threshold_statistic not in THRESHOLD_STATISTICS:
            raise InputError(f"threshold_statistic must be one of {', '.join(THRESHOLD_STATISTICS)}, "
                             f"got {self.threshold_statistic!r}")
        return x1, x2

    def fit(self, x1, x2):
        """Change flags and change types of the sample pairs (n, d); returns self."""
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
        """Fit and return ``labels_``."""
        return self.fit(x1, x2).labels_


class RawKM(_DifferenceKMeans):
    """Raw+KM: CI = ||x1 - x2||^2 of the raw samples -> threshold -> K-means
    of x1 - x2 of the changed samples into ``n_types`` types."""

    def __init__(self, n_types=5, threshold="ggki", threshold_statistic="squared", random_state=None):
        self.n_types = n_types
        self.threshold = threshold
        self.threshold_statistic = threshold_statistic
        self.random_state = random_state

    def _represent(self, x1, x2, rng):
        return x1, x2


class SAEKM(_DifferenceKMeans):
    """SAE+KM: a stacked sparse autoencoder trained on both dates' samples;
    CI = ||h1 - h2||^2 -> threshold -> K-means of h1 - h2.

    The autoencoder is pre-trained exactly as DRLnet's branch g (one
    :class:`~drl_np.pretrain.AutoencoderSettings`: same sizes, learning
    rate, sparsity and epochs), so the two methods differ only in what
    DRLnet adds on top.
    """

    def __init__(self, n_types=5, branch=(100, 50), sae_epochs=5, sae_learning_rate=1.0,
                 momentum=0.5, non_sparsity_penalty=0.1, sparsity_target=0.05, batchsize=10,
                 threshold="ggki", threshold_statistic="squared", engine=None, random_state=None):
        self.n_types = n_types
        self.branch = branch
        self.sae_epochs = sae_epochs
        self.sae_learning_rate = sae_learning_rate
        self.momentum = momentum
        self.non_sparsity_penalty = non_sparsity_penalty
        self.sparsity_target = sparsity_target
        self.batchsize = batchsize
        self.threshold = threshold
        self.threshold_statistic = threshold_statistic
        self.engine = engine
        self.random_state = random_state

    def _represent(self, x1, x2, rng):
        self.sae_ = pretrain_autoencoders(x1, x2, AutoencoderSettings.of(self), self.engine, rng)
        return encode(self.sae_, x1), encode(self.sae_, x2)
