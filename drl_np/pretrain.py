"""Pre-training shared by DRLnet and SAE+KM (``docs/method.md`` §7.2):
layer-wise sparse autoencoders of the branch g on both dates' samples, and
the supervised pre-training of the whole network on the pseudo labels s^0.
"""
import logging
import time
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from .algorithm1 import epoch_function
from .toolbox import saesetup, saetrain
from .toolbox.activations import sigm

__all__ = ["INPUT_SCALINGS", "AutoencoderSettings", "InputScaler", "encode", "pretrain_autoencoders",
           "pretrain_classifier"]

logger = logging.getLogger("drl_np")


#: What the networks (DRLnet's, SAE+KM's autoencoder) see of the samples
#: (**choice** ``input_scaling``): the samples as scaled by the front end
#: (the paper), or each feature standardised over both dates' samples
INPUT_SCALINGS = ("standardise", "none")


@dataclass(frozen=True)
class InputScaler:
    """The input scaling of a network, fitted once on both dates' samples
    and applied alike to every later sample (**choice** ``input_scaling``).

    With ``'standardise'`` every feature is shifted and scaled to zero mean
    and unit variance over the stacked samples [x1; x2]; a constant feature
    is only shifted. Sigmoid units then start where they are steep: the
    front end's joint min-max scaling leaves bands of bright-outlier scenes
    in a sliver of [0, 1] (OSCD Rennes: feature standard deviation 0.017),
    where every unit of the first layer sees almost the same input.

    Attributes
    ----------
    mean, scale : ndarray (d,)
        ``apply(x) = (x - mean) / scale``; zeros and ones for ``'none'``.
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x1, x2, how="standardise"):
        """The scaler of ``how`` for samples ``x1``, ``x2`` (n, d)."""
        d = x1.shape[1]
        if how == "none":
            return cls(np.zeros(d), np.ones(d))
        both = np.vstack([x1, x2])                                   # (2n, d)
        mean, std = both.mean(axis=0), both.std(axis=0)
        return cls(mean, np.where(std > 0, std, 1.0))

    def apply(self, x):
        """``(x - mean) / scale`` of samples (n, d)."""
        return (x - self.mean) / self.scale


@dataclass(frozen=True)
class AutoencoderSettings:
    """How the stacked sparse autoencoder of the branch g is trained; one
    object for DRLnet and SAE+KM, so the two pre-train alike.

    Attributes
    ----------
    branch : tuple of int
        Hidden sizes of g (the autoencoders' code sizes).
    epochs : int
        Epochs per autoencoder (``sae_epochs``).
    learning_rate : float
        ``sae_learning_rate``.
    momentum, non_sparsity_penalty, sparsity_target : float
        As the toolbox's ``nn`` fields.
    batchsize : int
    """

    branch: Tuple[int, ...] = (100, 50)
    epochs: int = 5
    learning_rate: float = 1.0
    momentum: float = 0.5
    non_sparsity_penalty: float = 0.1
    sparsity_target: float = 0.05
    batchsize: int = 10

    @classmethod
    def of(cls, estimator):
        """The settings held by an estimator's parameters (``branch``,
        ``sae_epochs``, ``sae_learning_rate``, ``momentum``,
        ``non_sparsity_penalty``, ``sparsity_target``, ``batchsize``)."""
        return cls(branch=tuple(estimator.branch), epochs=estimator.sae_epochs,
                   learning_rate=estimator.sae_learning_rate, momentum=estimator.momentum,
                   non_sparsity_penalty=estimator.non_sparsity_penalty,
                   sparsity_target=estimator.sparsity_target, batchsize=estimator.batchsize)


def pretrain_autoencoders(x1, x2, settings, engine, rng):
    """Train ``saesetup([d, *branch])`` with sigmoid units on the stacked
    samples [x1; x2] (floor(2n / batchsize) minibatches an epoch, **choice**
    ``partial_epoch``).

    Returns
    -------
    SAE
        ``sae.ae[i].W[0]`` is the trained weight of branch layer ``i``.
    """
    sae = saesetup([x1.shape[1]] + list(settings.branch), rng=rng)
    for ae in sae.ae:
        ae.activation_function = "sigm"
        ae.learning_rate = settings.learning_rate
        ae.momentum = settings.momentum
        ae.non_sparsity_penalty = settings.non_sparsity_penalty
        ae.sparsity_target = settings.sparsity_target
    if settings.epochs > 0:
        saetrain(sae, np.vstack([x1, x2]), batchsize=settings.batchsize,  # (2n, d)
                 numepochs=settings.epochs, engine=engine, rng=rng, drop_last=True)
    return sae


def encode(sae, x):
    """The top code of the stacked autoencoder, (n, branch[-1]): each
    autoencoder's hidden layer ``sigm([1, x] W^T)`` as nnff computes it."""
    for ae in sae.ae:
        x = sigm(np.hstack([np.ones((x.shape[0], 1)), x]) @ ae.W[0].T)   # (n, size[i+1])
    return x


def pretrain_classifier(net, x1, x2, target, epochs, batchsize, engine, rng, update_branch=True):
    """Supervised pre-training on the one-hot pseudo labels ``target``:
    Algorithm 1's epoch without a clustering state (Eq. 4's first term only).
    ``update_branch=False`` keeps the autoencoders' g and trains the head.

    Returns
    -------
    losses : list of float
        Mean minibatch loss of every epoch.
    """
    run_epoch = epoch_function(engine, net)
    losses = []
    for epoch in range(epochs):
        start = time.perf_counter()
        kk = rng.randperm(x1.shape[0])
        L = run_epoch(net, x1, x2, target, kk, batchsize, None, 0.0, update_branch)
        losses.append(float(L.mean()))
        log_epoch("pre-training epoch", epoch, epochs, start, losses[-1])
    return losses


def log_epoch(stage, epoch, n_epochs, start, loss):
    """One line per epoch, modelled on the toolbox's nntrain line."""
    logger.info("%s %d/%d. Took %.3g seconds. Mini-batch mean joint loss is %.6g",
                stage, epoch + 1, n_epochs, time.perf_counter() - start, loss,
                extra={"progress": (epoch + 1, n_epochs)})
