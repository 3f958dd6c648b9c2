"""drl_np: DRLnet (IJCAI-17) unsupervised change detection and change analysis.

The method stands on :mod:`drl_np.toolbox`, a bit-exact NumPy mirror of
R. B. Palm's DeepLearnToolbox with a Numba fast path, and on the random
stream of :mod:`drl_np.rng`, which reproduces GNU Octave's ``rand('state')``.
"""
__version__ = "0.1.0"
