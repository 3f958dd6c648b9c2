"""drl_np: DRLnet (IJCAI-17) unsupervised change detection and change analysis.

The method stands on :mod:`drl_np.toolbox`, a bit-exact NumPy mirror of
R. B. Palm's DeepLearnToolbox with a Numba fast path, and on the random
stream of :mod:`drl_np.rng`, which reproduces GNU Octave's ``rand('state')``.

The public names are loaded on first use (PEP 562 module ``__getattr__``),
so that ``import drl_np.cli`` and ``drl-np --help`` do not pay for SciPy,
scikit-learn and Numba.

>>> import drl_np
>>> from drl_np.datasets import synthetic_pair
>>> t1, t2, gt = synthetic_pair()
>>> res = drl_np.analyse(t1, t2, method="drlnet2", schedule=(25, 15, 8, 4), random_state=0)
>>> sorted(res.maps)
[4, 8, 15, 25]
"""
import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {"analyse": "api", "METHODS": "api", "DRLnet": "recurrent",
         "RawKM": "baselines", "SAEKM": "baselines", "AnalysisResult": "result"}

__all__ = ["analyse", "METHODS", "DRLnet", "RawKM", "SAEKM", "AnalysisResult", "__version__"]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'drl_np' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
