"""The paper's baselines (``docs/method.md`` §8): Raw+KM and SAE+KM.

Both share DRLnet's regions, change flags and K-means code: a change
intensity per sample pair, a threshold, and K-means of the changed samples'
difference vectors into K_T types.
"""
import time

from sklearn.base import BaseEstimator

from ._validation import InputError, check_choice, check_positive_int, check_sample_weight, check_samples
from .clustering import change_types, nearest_types
from .decision import (CHANGE_SPACES, DECISION_RULES, THRESHOLD_STATISTICS, change_statistic,
                       check_member_windows, decide, scale_intensity)
from .pretrain import INPUT_SCALINGS, AutoencoderSettings, InputScaler, encode, pretrain_autoencoders
from .rng import check_random_state

__all__ = ["RawKM", "SAEKM"]


class _DifferenceKMeans(BaseEstimator):
    """Threshold ||u1 - u2||^2 and cluster (u1 - u2) of the changed samples,
    for representations u of each date given by :meth:`_represent`.

    The change statistic is measured in the space :meth:`_flag_space`
    names: ``'input'`` (the samples themselves, as Raw+KM) or
    ``'features'`` (the representation u)."""

    def _check(self, x1, x2, members):
        x1, x2 = check_samples(x1, x2)
        check_positive_int(self.n_types, "n_types")
        check_choice(self.threshold, DECISION_RULES, "threshold")
        check_choice(self.threshold_statistic, THRESHOLD_STATISTICS, "threshold_statistic")
        check_member_windows(members, self._flag_space(), x1.shape[1])
        return x1, x2

    def fit(self, x1, x2, members=None, sample_weight=None):
        """Change flags and change types of the sample pairs (n, d); returns self.

        ``members`` (:class:`drl_np.regions.Members`, optional): a region's
        change statistic is the mean over its member pixels (**choice**
        ``region_statistic``), as DRLnet's. ``sample_weight`` (n,),
        optional: each sample's weight in the K-means of the change types
        (**choice** ``region_weight``)."""
        x1, x2 = self._check(x1, x2, members)
        weight = check_sample_weight(sample_weight, x1.shape[0])
        rng = check_random_state(self.random_state)
        self.timings_, self.losses_ = {}, {}
        tic = time.perf_counter()
        u1, u2 = self._represent(x1, x2, rng)
        self.timings_["represent"] = time.perf_counter() - tic
        tic = time.perf_counter()
        values = self._values(x1, x2, u1, u2, members)
        changed, tau = decide(values, self.threshold)
        labels, centres = change_types(u1 - u2, changed, self.n_types, rng, weight)
        self.timings_["clustering"] = time.perf_counter() - tic
        self.intensity_range_ = (float(values.min()), float(values.max()))
        self.change_intensity_ = scale_intensity(values, self.intensity_range_)
        self.labels_ = labels
        self.threshold_, self.centroids_ = tau, centres
        self.thresholds_ = {"ci": tau}
        self.labels_per_step_ = {self.n_types: labels}
        self.n_change_types_ = int(labels.max())
        return self

    def _flag_space(self):
        return "input"

    def _values(self, x1, x2, u1, u2, members):
        """Eq. 2's statistic of every sample (of u or of the samples, by
        :meth:`_flag_space`), or of its region's ``members``."""
        features = self._flag_space() == "features"
        if members is None:
            return change_statistic(*((u1, u2) if features else (x1, x2)), self.threshold_statistic)
        encode = self._encode if features else (lambda x: x)
        return members.region_mean_of(lambda w1, w2: change_statistic(encode(w1), encode(w2),
                                                                      self.threshold_statistic))

    def fit_predict(self, x1, x2, members=None, sample_weight=None):
        """Fit and return ``labels_``."""
        return self.fit(x1, x2, members, sample_weight).labels_

    def predict(self, x1, x2, members=None, return_intensity=False):
        """Change types of new sample pairs (n, d) with the fitted threshold
        ``threshold_`` and type centres ``centroids_`` (the nearest centre of
        u1 - u2); with ``return_intensity`` also the change intensity scaled
        by ``intensity_range_`` and clipped to [0, 1]. On the fitted samples
        it gives ``labels_`` back."""
        if not hasattr(self, "centroids_"):
            raise InputError(f"this {type(self).__name__} is not fitted yet; call fit(x1, x2) first")
        x1, x2 = check_samples(x1, x2)
        check_member_windows(members, self._flag_space(), x1.shape[1])
        u1, u2 = self._encode(x1), self._encode(x2)
        values = self._values(x1, x2, u1, u2, members)
        labels = nearest_types(u1 - u2, values > self.threshold_, self.centroids_)
        if return_intensity:
            return labels, scale_intensity(values, self.intensity_range_)
        return labels


class RawKM(_DifferenceKMeans):
    """Raw+KM: CI = ||x1 - x2||^2 of the raw samples -> threshold -> K-means
    of x1 - x2 of the changed samples into ``n_types`` types."""

    def __init__(self, n_types=5, threshold="ggki", threshold_statistic="magnitude", random_state=None):
        self.n_types = n_types
        self.threshold = threshold
        self.threshold_statistic = threshold_statistic
        self.random_state = random_state

    def _represent(self, x1, x2, rng):
        return x1, x2

    def _encode(self, x):
        return x


class SAEKM(_DifferenceKMeans):
    """SAE+KM: a stacked sparse autoencoder trained on both dates' samples;
    change flags from the input samples (as Raw+KM and DRLnet's default) or
    from ||h1 - h2||^2 (``change_space='features'``, the paper); K-means of
    h1 - h2 of the changed samples.

    The autoencoder is pre-trained exactly as DRLnet's branch g (one
    :class:`~drl_np.pretrain.AutoencoderSettings`: same sizes, learning
    rate, sparsity and epochs, on the same ``input_scaling``), so the two
    methods differ only in what DRLnet adds on top.
    """

    def __init__(self, n_types=5, branch=(100, 50), sae_epochs=5, sae_learning_rate=1.0,
                 momentum=0.5, non_sparsity_penalty=0.1, sparsity_target=0.05, batchsize=10,
                 input_scaling="standardise", threshold="ggki", threshold_statistic="magnitude",
                 change_space="input", engine=None, random_state=None):
        self.n_types = n_types
        self.branch = branch
        self.sae_epochs = sae_epochs
        self.sae_learning_rate = sae_learning_rate
        self.momentum = momentum
        self.non_sparsity_penalty = non_sparsity_penalty
        self.sparsity_target = sparsity_target
        self.batchsize = batchsize
        self.input_scaling = input_scaling
        self.threshold = threshold
        self.threshold_statistic = threshold_statistic
        self.change_space = change_space
        self.engine = engine
        self.random_state = random_state

    def _check(self, x1, x2, members):
        check_choice(self.change_space, CHANGE_SPACES, "change_space")
        check_choice(self.input_scaling, INPUT_SCALINGS, "input_scaling")
        return super()._check(x1, x2, members)

    def _flag_space(self):
        return self.change_space

    def _represent(self, x1, x2, rng):
        self.input_scaler_ = InputScaler.fit(x1, x2, self.input_scaling)
        scaled1, scaled2 = self.input_scaler_.apply(x1), self.input_scaler_.apply(x2)
        self.sae_ = pretrain_autoencoders(scaled1, scaled2, AutoencoderSettings.of(self), self.engine, rng)
        return encode(self.sae_, scaled1), encode(self.sae_, scaled2)

    def _encode(self, x):
        return encode(self.sae_, self.input_scaler_.apply(x))
