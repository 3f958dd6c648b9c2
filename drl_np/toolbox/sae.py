"""A NumPy mirror of DeepLearnToolbox's ``SAE/`` folder: stacked
autoencoders built from toolbox networks and trained greedily, layer by
layer (``saesetup.m``, ``saetrain.m``)."""
import logging
from dataclasses import dataclass
from typing import List


from ..rng import check_random_state
from .nn import NN, _evaluation_copy, nnff, nnsetup, nntrain

__all__ = ["SAE", "saesetup", "saetrain"]

logger = logging.getLogger("drl_np.toolbox")


@dataclass
class SAE:
    """A stacked autoencoder: ``ae[i]`` is the [size[i], size[i+1], size[i]]
    toolbox network that learns layer ``i + 1`` (toolbox ``sae.ae{i+1}``)."""

    ae: List[NN]


def saesetup(size, rng=None):
    """One autoencoder per consecutive pair of ``size`` (``saesetup.m``).

    Their weights are drawn from ``rng`` in order, as nnsetup draws them.
    """
    rng = check_random_state(0 if rng is None else rng)   # the toolbox's default: seed 0
    return SAE(ae=[nnsetup([size[u - 1], size[u], size[u - 1]], rng=rng)
                   for u in range(1, len(size))])


def saetrain(sae, x, batchsize=100, numepochs=1, engine=None, rng=None, opts=None, drop_last=False):
    """Train each autoencoder on the codes of the one below (``saetrain.m``).

    Autoencoder ``i`` is trained with :func:`nntrain` to reproduce its input;
    the input of autoencoder ``i + 1`` is the hidden activation (bias column
    removed) of autoencoder ``i`` on the whole data set. That forward pass
    works on a copy, so the trained autoencoder's running activations ``p``
    are the ones nntrain left. ``drop_last`` is passed to :func:`nntrain`.
    """
    for i, ae in enumerate(sae.ae):
        logger.info("Training AE %d/%d", i + 1, len(sae.ae))
        nntrain(ae, x, x, batchsize=batchsize, numepochs=numepochs, engine=engine, rng=rng, opts=opts,
                 drop_last=drop_last)
        t = _evaluation_copy(ae)
        t.testing = ae.testing   # saetrain's nnff runs in training mode
        x = nnff(t, x, x).a[1][:, 1:]                              # (m, size[i+1])
    return sae
