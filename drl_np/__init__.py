"""drl_np: DRLnet (IJCAI-17) unsupervised change detection and change analysis.

The method stands on :mod:`drl_np.toolbox`, a bit-exact NumPy mirror of
R. B. Palm's DeepLearnToolbox with a Numba fast path, and on the random
stream of :mod:`drl_np.rng`, which reproduces GNU Octave's ``rand('state')``.

>>> import drl_np
>>> from drl_np.datasets import synthetic_pair
>>> t1, t2, gt = synthetic_pair()
>>> res = drl_np.analyse(t1, t2, method="drlnet2", schedule=(25, 15, 8, 4), random_state=0)
>>> sorted(res.maps)
[4, 8, 15, 25]
"""
__version__ = "0.1.0"

from .api import METHODS, analyse
from .recurrent import DRLnet
from .baselines import RawKM, SAEKM
from .result import AnalysisResult

__all__ = ["analyse", "METHODS", "DRLnet", "RawKM", "SAEKM", "AnalysisResult", "__version__"]
