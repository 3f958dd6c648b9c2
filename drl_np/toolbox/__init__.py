"""A bit-exact NumPy mirror of R. B. Palm's DeepLearnToolbox (``NN/``,
``SAE/`` and the helpers they use), with a fused Numba engine.

>>> from drl_np.rng import OctaveRandom
>>> from drl_np.toolbox import nnsetup, nntrain, nnpredict
>>> r = OctaveRandom(1)
>>> nn = nnsetup([4, 3, 2], rng=r)
"""
from .activations import sigm, tanh_opt
from .nn import (NN, nnapplygrads, nnbp, nnchecknumgrad, nneval, nnff,
                 nnpredict, nnsetup, nntest, nntrain)
from .sae import SAE, saesetup, saetrain

__all__ = ["NN", "SAE", "nnsetup", "nnff", "nnbp", "nnapplygrads", "nntrain",
           "nneval", "nnpredict", "nntest", "nnchecknumgrad", "saesetup",
           "saetrain", "sigm", "tanh_opt"]
