"""The one registry of change-analysis methods, read by the API, the command
line and the benchmarks. It imports nothing heavy, so the command line can
list the methods without loading scikit-learn or Numba.
"""
from dataclasses import dataclass

__all__ = ["Method", "REGISTRY", "METHODS", "REGION_METHODS", "PEER_METHODS", "PAPER_METHODS"]


@dataclass(frozen=True)
class Method:
    """One method of :func:`drl_np.analyse`.

    Attributes
    ----------
    name : str
        The name ``analyse`` and ``--method`` take.
    label : str
        How tables and figures print it.
    kind : {'region', 'peer'}
        'region': an estimator on the superpixel regions' samples
        (:mod:`drl_np.recurrent`, :mod:`drl_np.baselines`); 'peer': a
        pixel-based comparison method (:mod:`drl_np.peers`).
    paper : bool
        One of the four methods of the DRLnet paper's Table 1.
    seeded : bool
        Its result depends on the random seed.
    summary : str
        One line for ``--help``.
    """

    name: str
    label: str
    kind: str
    paper: bool
    seeded: bool
    summary: str


REGISTRY = {m.name: m for m in (
    Method("drlnet2", "DRLnet2", "region", True, True, "DRLnet, every layer fine-tuned (the paper's method)"),
    Method("drlnet1", "DRLnet1", "region", True, True, "DRLnet with the feature branch frozen"),
    Method("sae-km", "SAE+KM", "region", True, True, "stacked sparse autoencoder codes + K-means"),
    Method("raw-km", "Raw+KM", "region", True, True, "the raw window difference + K-means"),
    Method("cva", "CVA", "peer", False, False, "change vector analysis"),
    Method("c2va", "C2VA", "peer", False, False, "compressed change vector analysis (direction sectors)"),
    Method("pca-kmeans", "PCA-KMeans", "peer", False, True, "Celik's PCA of difference blocks + K-means"),
    Method("mad", "MAD", "peer", False, False, "multivariate alteration detection"),
    Method("irmad", "IRMAD", "peer", False, False, "iteratively reweighted MAD"),
    Method("isfa", "ISFA", "peer", False, False, "iterative slow feature analysis"),
)}

METHODS = tuple(REGISTRY)
REGION_METHODS = tuple(m for m in METHODS if REGISTRY[m].kind == "region")
PEER_METHODS = tuple(m for m in METHODS if REGISTRY[m].kind == "peer")
PAPER_METHODS = tuple(m for m in METHODS if REGISTRY[m].paper)
