"""The object :func:`drl_np.analyse` returns, shared by every method."""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np

__all__ = ["AnalysisResult"]


@dataclass
class AnalysisResult:
    """Result of one change analysis of a bi-temporal pair.

    Attributes
    ----------
    method : str
        ``drlnet2``, ``drlnet1``, ``sae-km``, ``raw-km``, ``cva``, ``c2va``,
        ``pca-kmeans``, ``mad``, ``irmad`` or ``isfa``.
    cda_map : ndarray of int, shape (M, N)
        Change-analysis map: 0 unchanged, 1..K change types, -1 masked.
    ci_map : ndarray of float, shape (M, N)
        Change intensity scaled to [0, 1]; NaN where masked.
    change_map : ndarray of bool, shape (M, N)
        Changed pixels (``cda_map > 0``).
    maps : dict of int to ndarray
        The map after each step of the cluster schedule, keyed by K_t
        (a single entry ``{K: cda_map}`` for one-step methods).
    thresholds : dict of str to float
        Decision thresholds used (e.g. ``{"K=15": 0.31, ...}`` for DRLnet's
        GGKI at every K_t, ``{"ci": 0.2}`` for one-step methods), in the
        units of the statistic each was applied to.
    regions : Regions or None
        The regions and samples (``None`` for pixel-based peers).
    losses : dict of str to list of float
        Per-epoch mean minibatch losses of each training stage.
    timings : dict of str to float
        Seconds per stage (``regions``, ``pretrain``, ``finetune``, ...).
    params : dict
        Every parameter of the run, the seed included.
    diagnostics : dict of str to dict
        DRLnet's fit of its pseudo labels per stage (training accuracy,
        loss against a constant output's, how far g moved; see
        :func:`drl_np.recurrent.fit_diagnostics`); empty for other methods.
    n_change_types : int
        Number of change types K of the final map.
    """

    method: str
    cda_map: np.ndarray
    ci_map: np.ndarray
    maps: Dict[int, np.ndarray] = field(default_factory=dict)
    thresholds: Dict[str, float] = field(default_factory=dict)
    regions: Optional[Any] = None
    losses: Dict[str, List[float]] = field(default_factory=dict)
    timings: Dict[str, float] = field(default_factory=dict)
    params: Dict[str, Any] = field(default_factory=dict)
    n_change_types: int = 0
    diagnostics: Dict[str, Dict[str, float]] = field(default_factory=dict)

    @property
    def change_map(self):
        return self.cda_map > 0

    @property
    def valid_mask(self):
        return self.cda_map >= 0
